/**
 * What lets Berth's CLI skip sending unchanged files: the bodies of the last few build
 * contexts, by the sender's stat key (device, inode, size, mtime and ctime of the file it was
 * read from), and the contexts laid out from a manifest that wait for their missing bodies.
 * All of it is in memory and in <data-root>/tmp: a restarted daemon starts with nothing, and
 * the CLI then sends every body, as a first build does.
 */
import { randomBytes } from 'node:crypto';
import { invalidParameter } from '../../errdefs/index.ts';
import type { ContextManifestEntry as ManifestEntry } from '../../api/types.ts';
import { SpooledContext, type KeptBody, type Spool } from './context.ts';

/** How many recent contexts' bodies are kept. */
const KEEP = 4;
/** Spool bytes past which leftovers are worth dropping. */
const COMPACT_BYTES = 64 * 1024 * 1024;
/** How long a prepared context waits for the build that sends its bodies. */
const PENDING_MS = 5 * 60_000;

export class ContextBodies {
  private readonly tmp: string;
  /** Oldest first; each holds one reference to every spool it names. */
  private readonly recent: { bodies: Map<string, KeptBody>; spools: Set<Spool> }[] = [];
  private readonly pending = new Map<string, { ctx: SpooledContext; timer: NodeJS.Timeout }>();

  constructor(tmp: string) {
    this.tmp = tmp;
  }

  private lookup(key: string): KeptBody | undefined {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const b = this.recent[i].bodies.get(key);
      if (b) return b;
    }
    return undefined;
  }

  /** Lays out a context from a manifest; the build that names the returned id sends the bodies in `need`. */
  async prepare(manifest: ManifestEntry[]): Promise<{ id: string; need: string[] }> {
    const { ctx, need } = await SpooledContext.fromManifest(manifest, (k) => this.lookup(k), this.tmp);
    const id = randomBytes(16).toString('hex');
    const timer = setTimeout(() => {
      this.pending.delete(id);
      void ctx.close();
    }, PENDING_MS);
    timer.unref();
    this.pending.set(id, { ctx, timer });
    return { id, need };
  }

  /** The prepared context `id`, taken: the caller fills it and closes it. */
  take(id: string): SpooledContext {
    const p = this.pending.get(id);
    if (!p) throw invalidParameter(`no prepared build context ${id} (it was used or it expired: send the whole context)`);
    this.pending.delete(id);
    clearTimeout(p.timer);
    return p.ctx;
  }

  /** Keeps a finished build's keyed bodies for the next builds, letting the oldest go. */
  async remember(ctx: SpooledContext): Promise<void> {
    const bodies = new Map<string, KeptBody>();
    const spools = new Set<Spool>();
    for (const [key, b] of ctx.keyedBodies()) {
      bodies.set(key, b);
      if (!spools.has(b.spool)) spools.add(b.spool.acquire());
    }
    // Bodies that stayed the same keep their first spool alive with whatever else came with
    // it. When such leftovers outweigh what is used, nothing is kept: the next build sends
    // every body again into one fresh spool.
    let used = 0;
    for (const b of bodies.values()) used += b.size;
    let held = 0;
    for (const s of spools) held += s.size;
    if (!bodies.size || (held > COMPACT_BYTES && held > 2 * used)) {
      for (const s of spools) await s.release();
      return;
    }
    this.recent.push({ bodies, spools });
    while (this.recent.length > KEEP) {
      for (const s of this.recent.shift()!.spools) await s.release();
    }
  }

  async close(): Promise<void> {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      await p.ctx.close();
    }
    for (const r of this.recent.splice(0)) for (const s of r.spools) await s.release();
  }
}
