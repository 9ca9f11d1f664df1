/**
 * Layer records: which unpacked directory holds which layer, keyed by chain ID so a layer
 * is stored and unpacked once whatever image or import brought it.
 *
 * On-disk layout (owned by this file; version 1):
 *
 *   <root>/layerdb/sha256/<chain-hex>.json
 *       { "version": 1, "chainId", "diffId", "parent"?: chainId, "cacheId", "size", "created" }
 *
 * `cacheId` names the directory under overlay2/ (see snapshots/overlay.ts). A record is
 * written (atomically) only after its directory is committed, so a record always points at
 * a complete layer; directories without records are removed at start-up.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isSetAside, setAside, writeJsonAtomic } from '../../lib/atomic.ts';
import { sha256 } from '../../lib/digest.ts';
import { failpoint } from '../../lib/failpoint.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import { log } from '../../lib/log.ts';
import { invalidParameter, messageOf, notFound } from '../../errdefs/index.ts';
import type { OverlaySnapshotter } from '../snapshots/overlay.ts';
import { applyTar } from './apply.ts';
import type { FsOps } from './fsops.ts';

export interface LayerRecord {
  version: 1;
  chainId: string;
  diffId: string;
  parent?: string;
  cacheId: string;
  size: number;
  created: string;
}

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainId(parent: string | undefined, diffId: string): string {
  return parent ? sha256(`${parent} ${diffId}`) : diffId;
}

/** docker's limit on layers per image (overlayfs's lower-dir stack). */
export const MAX_LAYERS = 127;

/** docker's "max depth exceeded" for an image of more than 127 layers. */
export function checkDepth(layers: number): void {
  if (layers > MAX_LAYERS) throw invalidParameter(`max depth exceeded: an image can have at most ${MAX_LAYERS} layers, this one would have ${layers}`);
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  let parent: string | undefined;
  for (const d of diffIds) {
    parent = chainId(parent, d);
    out.push(parent);
  }
  return out;
}

/** A layer unpacked into a staging directory, not yet recorded. */
export interface StagedLayer {
  staging: string;
  diffId: string;
  size: number;
}

export class LayerStore {
  private readonly dir: string;
  private readonly layers = new Map<string, LayerRecord>();
  private readonly mutex = new KeyedMutex();
  private readonly snapshots: OverlaySnapshotter;
  private readonly fsops: FsOps;

  constructor(dataRoot: string, snapshots: OverlaySnapshotter, fsops: FsOps) {
    this.dir = join(dataRoot, 'layerdb', 'sha256');
    this.snapshots = snapshots;
    this.fsops = fsops;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (isSetAside(name)) {
        // Set aside at an earlier start: still unknown state, so no layer directory is collected.
        this.problems.push(`WARNING: the layer record ${join(this.dir, name)} was set aside (unreadable); unreferenced layers are kept until that file is removed`);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as LayerRecord;
        if (rec.version !== 1 || typeof rec.chainId !== 'string' || typeof rec.cacheId !== 'string') {
          throw new Error('unknown record version');
        }
        if (!(await this.snapshots.exists(rec.cacheId))) throw new Error(`directory ${rec.cacheId} is missing`);
        this.layers.set(rec.chainId, rec);
      } catch (e) {
        if (/directory .* is missing/.test(messageOf(e))) {
          // A record whose layer is gone describes nothing: keep it out, keep the file.
          this.problems.push(`WARNING: layer record ${join(this.dir, name)} names a directory that is missing; the layer is left out`);
          log.warn('layer record without its directory', { file: name, error: e });
          continue;
        }
        const file = join(this.dir, name);
        const moved = await setAside(file).catch(() => file);
        this.problems.push(`WARNING: the layer record ${file} is unreadable (${messageOf(e)}); it was moved to ${moved}`);
        log.warn('unreadable layer record set aside', { file: moved, error: e });
      }
    }
  }

  /** Records init() set aside or left out, for `info` warnings. */
  readonly problems: string[] = [];

  get(chain: string): LayerRecord | undefined {
    return this.layers.get(chain);
  }

  mustGet(chain: string): LayerRecord {
    const l = this.layers.get(chain);
    if (!l) throw notFound(`layer ${chain} does not exist`);
    return l;
  }

  all(): LayerRecord[] {
    return [...this.layers.values()];
  }

  /** The cache IDs of every layer that is referenced by a record, for start-up cleanup. */
  cacheIds(): Set<string> {
    return new Set([...this.layers.values()].map((l) => l.cacheId));
  }

  /**
   * Unpacks an uncompressed layer tar on top of `parent` and records it. If the resulting
   * chain already exists, the new copy is dropped and the existing record returned.
   */
  async register(tarStream: Readable, parent: string | undefined): Promise<LayerRecord> {
    if (parent) this.mustGet(parent);
    return this.commit(await this.unpack(tarStream), parent);
  }

  /**
   * Unpacks a layer into a staging directory. A layer's own directory does not depend on its
   * parents, so several can be unpacked at once (a pull does, while downloading); `commit`
   * then records them in order. The caller must commit or `discard` the result.
   */
  async unpack(tarStream: Readable): Promise<StagedLayer> {
    const staging = await this.snapshots.stageLayer();
    try {
      const res = await applyTar(tarStream, join(staging, 'diff'), this.fsops);
      return { staging, diffId: res.diffId, size: res.size };
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * An empty staging directory for a layer unpacked elsewhere (a worker thread): unpack into
   * `diffDir`, then pass `{ staging, diffId, size }` to `commit`, or `discard` it.
   */
  async stage(): Promise<{ staging: string; diffDir: string }> {
    const staging = await this.snapshots.stageLayer();
    return { staging, diffDir: join(staging, 'diff') };
  }

  async discard(staged: StagedLayer): Promise<void> {
    await rm(staged.staging, { recursive: true, force: true });
  }

  /** Records a staged layer on top of `parent` (which must exist), or reuses an identical one. */
  async commit(staged: StagedLayer, parent: string | undefined): Promise<LayerRecord> {
    const chain = chainId(parent, staged.diffId);
    try {
      return await this.mutex.with(chain, async () => {
        const existing = this.layers.get(chain);
        if (existing) {
          await this.discard(staged);
          return existing;
        }
        const cacheId = randomBytes(32).toString('hex');
        await this.snapshots.commitLayer(staged.staging, cacheId, parent ? this.mustGet(parent).cacheId : undefined);
        failpoint('layer-after-dir');
        const rec: LayerRecord = {
          version: 1,
          chainId: chain,
          diffId: staged.diffId,
          ...(parent ? { parent } : {}),
          cacheId,
          size: staged.size,
          created: new Date().toISOString(),
        };
        await writeJsonAtomic(join(this.dir, `${chain.slice(7)}.json`), rec);
        failpoint('layer-after-record');
        this.layers.set(chain, rec);
        return rec;
      });
    } catch (e) {
      await this.discard(staged);
      throw e;
    }
  }

  /** Removes a layer that nothing references any more (the caller decides that). */
  async remove(chain: string): Promise<void> {
    await this.mutex.with(chain, async () => {
      const rec = this.layers.get(chain);
      if (!rec) return;
      if ([...this.layers.values()].some((l) => l.parent === chain)) return; // still a parent
      await rm(join(this.dir, `${chain.slice(7)}.json`), { force: true });
      this.layers.delete(chain);
      await this.snapshots.remove(rec.cacheId).catch((e: unknown) => log.warn('removing layer directory', { id: rec.cacheId, error: e }));
    });
  }
}
