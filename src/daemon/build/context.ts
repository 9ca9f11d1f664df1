/**
 * The build context, as it arrives: the request body (a tar, plain or compressed, streamed)
 * read once into an index of its entries, the file bodies appended to one spool file under
 * <data-root>/tmp/build-* and hashed on the way. Nothing is unpacked: a step reads the bytes it
 * needs from the spool, and a build that is all cache hits reads none (on this VM, writing a
 * 1,000-file context out as files cost 0.3–0.9 s per build). Entry names that climb out are
 * refused; the tree is the builder's to resolve, symlinks included (builder/context.ts).
 *
 * Berth's own CLI can send the tree first as a manifest (ContextManifest) with a stat key per
 * file; bodies the daemon still holds from a recent build under the same key are taken from
 * that build's spool, and only the others travel in the tar (ContextBodies, service.ts). A
 * spool is shared by reference count: the contexts that read from it and the recent-bodies
 * cache each hold one, and the last to let go removes it.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalidParameter } from '../../errdefs/index.ts';
import { cleanEntryName } from '../../lib/archivepath.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { readTar } from '../../lib/tar/reader.ts';
import type { ContextStat, ContextView } from '../../builder/context.ts';
import type { ContextManifestEntry as ManifestEntry } from '../../api/types.ts';

/** One spool file of context bodies (bodies in a <tmp>/build-XXXXXX directory), removed with its directory when the last holder lets go. */
export class Spool {
  readonly dir: string;
  readonly path: string;
  /** Bytes written, once filled. */
  size = 0;
  private refs = 1;
  private reader: Promise<FileHandle> | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, 'bodies');
  }

  acquire(): Spool {
    this.refs++;
    return this;
  }

  async release(): Promise<void> {
    if (--this.refs > 0) return;
    const r = this.reader;
    this.reader = undefined;
    if (r) await (await r).close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  handle(): Promise<FileHandle> {
    return (this.reader ??= open(this.path, 'r'));
  }
}

interface Entry extends ContextStat {
  offset: number;
  hash: string;
  linkname: string;
  /** Where the body is (files only). */
  spool?: Spool;
  /** The sender's stat key for this body: the same key means the same bytes (files only, may be ""). */
  key?: string;
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** A file body as the recent-bodies cache keeps it. */
export interface KeptBody {
  spool: Spool;
  offset: number;
  size: number;
  hash: string;
}

export class SpooledContext implements ContextView {
  readonly dir: string;
  private readonly spool: Spool;
  /** Every spool this context reads from, its own first; each holds one reference of ours. */
  private readonly spools = new Set<Spool>();
  private readonly entries = new Map<string, Entry>();
  private readonly kids = new Map<string, Set<string>>();
  /** Files a manifest named whose bodies must come in the tar, by name. */
  private readonly needed = new Map<string, number>();

  private constructor(dir: string) {
    this.dir = dir;
    this.spool = new Spool(dir);
    this.spools.add(this.spool);
    this.entries.set('', { type: 'dir', mode: 0o755, size: 0, mtime: new Date(), offset: 0, hash: '', linkname: '' });
  }

  private static async make(tmpRoot: string): Promise<SpooledContext> {
    await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
    return new SpooledContext(await mkdtemp(join(tmpRoot, 'build-')));
  }

  static async receive(body: Readable, tmpRoot: string): Promise<SpooledContext> {
    const ctx = await SpooledContext.make(tmpRoot);
    await ctx.fillOrClose(body, false);
    return ctx;
  }

  /** Fills from `body`; on failure the context is closed (nothing of it is left). */
  private async fillOrClose(body: Readable, onlyNeeded: boolean): Promise<void> {
    try {
      await this.fill(body, onlyNeeded);
      if (this.needed.size) throw invalidParameter(`invalid build context: the archive lacks ${[...this.needed.keys()].slice(0, 3).join(', ')}${this.needed.size > 3 ? ', …' : ''}, named by its manifest`);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /**
   * A context laid out from a manifest, with the bodies `kept` knows by stat key taken from
   * their spools. `need` lists, in manifest order, the files whose bodies must follow (fillNeeded).
   */
  static async fromManifest(manifest: ManifestEntry[], kept: (key: string) => KeptBody | undefined, tmpRoot: string): Promise<{ ctx: SpooledContext; need: string[] }> {
    const ctx = await SpooledContext.make(tmpRoot);
    const need: string[] = [];
    try {
      for (const [raw, type, mode, mtimeMs, size, linkname, key] of manifest) {
        const name = cleanEntryName(raw);
        if (name === undefined) throw invalidParameter(`invalid build context: the entry ${raw} is outside the context`);
        if (name === '') continue;
        if (ctx.entries.has(name)) throw invalidParameter(`invalid build context manifest: ${raw} is named twice`);
        ctx.parentsOf(name);
        const common = { mode: mode & 0o7777, mtime: new Date(mtimeMs), linkname: '' };
        if (type === 'dir') ctx.put(name, { ...common, type: 'dir', size: 0, offset: 0, hash: '' });
        else if (type === 'symlink') ctx.put(name, { ...common, type: 'symlink', size: 0, offset: 0, hash: '', linkname });
        else {
          const k = key ? kept(key) : undefined;
          if (size === 0) {
            ctx.put(name, { ...common, type: 'file', size, offset: 0, hash: EMPTY_SHA256, spool: ctx.spool, key });
          } else if (k && k.size === size) {
            if (!ctx.spools.has(k.spool)) ctx.spools.add(k.spool.acquire());
            ctx.put(name, { ...common, type: 'file', size, offset: k.offset, hash: k.hash, spool: k.spool, key });
          } else {
            // A placeholder until the body comes.
            ctx.put(name, { ...common, type: 'file', size, offset: 0, hash: '', key });
            need.push(name);
            ctx.needed.set(name, size);
          }
        }
      }
    } catch (e) {
      await ctx.close();
      throw e;
    }
    return { ctx, need };
  }

  /** The bodies a manifest left out, as a tar of exactly those files; on failure the context is closed. */
  fillNeeded(body: Readable): Promise<void> {
    return this.fillOrClose(body, true);
  }

  /** The files whose bodies are known by a stat key, for the recent-bodies cache. */
  *keyedBodies(): Iterable<[string, KeptBody]> {
    for (const e of this.entries.values()) if (e.type === 'file' && e.key && e.spool) yield [e.key, { spool: e.spool, offset: e.offset, size: e.size, hash: e.hash }];
  }

  private async fill(body: Readable, onlyNeeded: boolean): Promise<void> {
    const { stream } = await decompressStream(body);
    const out = await open(this.spool.path, 'wx', 0o600);
    let offset = 0;
    // Bodies are gathered into large writes.
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = async () => {
      if (!batched) return;
      await out.write(Buffer.concat(batch, batched));
      batch = [];
      batched = 0;
    };
    /** A file's body appended to the spool, hashed on the way. */
    const spoolBody = async (chunks: AsyncIterable<Buffer>): Promise<{ offset: number; size: number; hash: string }> => {
      const hash = createHash('sha256');
      const start = offset;
      for await (const c of chunks) {
        hash.update(c);
        batch.push(c);
        batched += c.length;
        offset += c.length;
        if (batched >= 1 << 20) await flush();
      }
      return { offset: start, size: offset - start, hash: hash.digest('hex') };
    };
    try {
      for await (const e of readTar(stream)) {
        const h = e.header;
        const name = cleanEntryName(h.name);
        if (name === undefined) throw invalidParameter(`invalid build context: the entry ${h.name} is outside the context`);
        if (name === '') continue;
        if (onlyNeeded) {
          const size = this.needed.get(name);
          if (size === undefined || (h.type !== 'file' && h.type !== 'contiguous-file')) throw invalidParameter(`invalid build context: ${h.name} is not a file its manifest left out`);
          const b = await spoolBody(e.chunks());
          if (b.size !== size) throw invalidParameter(`invalid build context: ${name} has ${b.size} bytes, its manifest said ${size} (it changed while being sent)`);
          const prev = this.entries.get(name)!;
          this.entries.set(name, { ...prev, offset: b.offset, hash: b.hash, spool: this.spool });
          this.needed.delete(name);
          continue;
        }
        this.parentsOf(name);
        const common = { mode: h.mode & 0o7777, mtime: h.mtime, linkname: '' };
        switch (h.type) {
          case 'directory':
            this.put(name, { ...common, type: 'dir', size: 0, offset: 0, hash: '' });
            break;
          case 'file':
          case 'contiguous-file': {
            this.put(name, { ...common, type: 'file', ...(await spoolBody(e.chunks())), spool: this.spool });
            break;
          }
          case 'symlink':
            this.put(name, { ...common, type: 'symlink', size: 0, offset: 0, hash: '', linkname: h.linkname });
            break;
          case 'link': {
            const target = cleanEntryName(h.linkname);
            const t = target === undefined ? undefined : this.entries.get(target);
            if (!t || t.type !== 'file') throw invalidParameter(`invalid build context: the link ${name} points to ${h.linkname}, which is not a file of the context`);
            this.put(name, { ...t });
            break;
          }
          default:
            // Devices and fifos have no place in a context.
            break;
        }
      }
      await flush();
      this.spool.size = offset;
    } finally {
      await out.close();
    }
  }

  /** Parent directories of an entry, made when the archive names none; a non-directory on the way is refused. */
  private parentsOf(name: string): void {
    const slash = name.lastIndexOf('/');
    // Archives name parents first: when the direct parent is a directory, so is every ancestor.
    if (slash < 0 || this.entries.get(name.slice(0, slash))?.type === 'dir') return;
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const cur = this.entries.get(p);
      if (!cur) this.put(p, { type: 'dir', mode: 0o755, size: 0, mtime: new Date(), offset: 0, hash: '', linkname: '' });
      else if (cur.type !== 'dir') throw invalidParameter(`invalid build context: ${name} is below a non-directory`);
    }
  }

  private put(name: string, e: Entry): void {
    const prev = this.entries.get(name);
    if (prev?.type === 'dir' && e.type === 'dir') {
      // A directory named again keeps what is below it.
      this.entries.set(name, e);
      return;
    }
    if (prev?.type === 'dir') this.drop(name);
    this.entries.set(name, e);
    const slash = name.lastIndexOf('/');
    const parent = slash < 0 ? '' : name.slice(0, slash);
    let set = this.kids.get(parent);
    if (!set) this.kids.set(parent, (set = new Set()));
    set.add(slash < 0 ? name : name.slice(slash + 1));
  }

  /** `rel` (and what is below it) is no longer part of the context. */
  forget(rel: string): void {
    const slash = rel.lastIndexOf('/');
    this.kids.get(slash < 0 ? '' : rel.slice(0, slash))?.delete(slash < 0 ? rel : rel.slice(slash + 1));
    this.drop(rel);
  }

  private drop(name: string): void {
    for (const k of this.kids.get(name) ?? []) this.drop(`${name}/${k}`);
    this.kids.delete(name);
    this.entries.delete(name);
  }

  lstat(rel: string): ContextStat | undefined {
    const e = this.entries.get(rel);
    return e ? { type: e.type, mode: e.mode, size: e.size, mtime: e.mtime } : undefined;
  }

  readdir(rel: string): string[] {
    return [...(this.kids.get(rel) ?? [])].sort();
  }

  readlink(rel: string): string {
    return this.entries.get(rel)?.linkname ?? '';
  }

  hash(rel: string): string {
    return this.entries.get(rel)?.hash ?? '';
  }

  async read(rel: string): Promise<Buffer> {
    const e = this.file(rel);
    const buf = Buffer.alloc(e.size);
    if (!e.size) return buf;
    const fh = await e.spool!.handle();
    let got = 0;
    while (got < e.size) {
      const { bytesRead } = await fh.read(buf, got, e.size - got, e.offset + got);
      if (!bytesRead) throw new Error(`the build context spool ended early at ${rel}`);
      got += bytesRead;
    }
    return buf;
  }

  async *chunks(rel: string): AsyncIterable<Buffer> {
    const e = this.file(rel);
    if (!e.size) return;
    for await (const c of createReadStream(e.spool!.path, { start: e.offset, end: e.offset + e.size - 1, highWaterMark: 1 << 20 })) yield c as Buffer;
  }

  private file(rel: string): Entry {
    const e = this.entries.get(rel);
    if (!e || e.type !== 'file' || !e.spool) throw invalidParameter(`${rel} is not a file of the build context`);
    return e;
  }

  async close(): Promise<void> {
    const held = [...this.spools];
    this.spools.clear();
    for (const s of held) await s.release();
  }
}
