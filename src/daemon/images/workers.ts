/**
 * A small pool of worker threads for layer jobs, one per core (at most 4), started on the
 * first pull and kept (unreferenced, so they never hold berthd open). A job runs on the
 * worker with the fewest jobs; a worker that dies fails its jobs and is replaced. When the
 * worker script is missing (running from sources), jobs run on the event loop instead.
 */
import { layerIdMapping } from '../../lib/idmap.ts';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError, cancelled, type ErrorKind } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { runLayerJob, runFeed, JobHttpError, type LayerJob, type LocalLayerJob, type PackLayerJob, type PackLayerResult, type LayerJobResult, type FeedLayerJob, type FeedLayerResult } from './layerjob.ts';
import type { WorkerReply, WorkerRequest } from './layerworker.ts';

interface Pending {
  resolve: (r: LayerJobResult) => void;
  reject: (e: unknown) => void;
  onBytes: (n: number) => void;
  onAck?: (n: number) => void;
}

/** A blob being fed to a worker chunk by chunk (see FeedLayerJob). */
export interface Feed {
  /** Sends a chunk; resolves when the worker has room for more. */
  write(chunk: Buffer): Promise<void>;
  end(): void;
  /** Stops the job (the caller gave up on the archive). */
  abort(): void;
  readonly result: Promise<FeedLayerResult>;
}

/** Bytes a feed may have in flight to its worker before write() waits. */
const FEED_WINDOW = 8 << 20;

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
}

function workerScript(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  // Bundled: dist/layer-worker.js beside berthd.js (this code may sit in dist/chunks/).
  // From sources: layerworker.ts beside this file.
  for (const p of [join(here, 'layer-worker.js'), join(here, '..', 'layer-worker.js'), join(here, 'layerworker.ts')]) if (existsSync(p)) return p;
  return undefined;
}

export class LayerWorkers {
  private readonly slots: Slot[] = [];
  private readonly size: number;
  private nextId = 1;
  private readonly script: string | undefined;

  /** `BERTH_PULL_WORKERS` overrides the size; 0 runs jobs on the event loop. */
  constructor(size = Number(process.env.BERTH_PULL_WORKERS ?? Math.min(4, availableParallelism()))) {
    this.size = Math.max(1, Number.isFinite(size) ? size : 1);
    this.script = size === 0 ? undefined : workerScript();
  }

  private spawn(): Slot {
    // A pull allocates a chunk per network read; a larger young generation means far fewer scavenges.
    // Workers store layers with the daemon's userns-remap mapping, if any (workerData).
    const worker = new Worker(this.script!, { resourceLimits: { maxYoungGenerationSizeMb: 64 }, workerData: { idmap: layerIdMapping()?.spec } });
    worker.unref();
    const slot: Slot = { worker, jobs: new Map() };
    worker.on('message', (m: WorkerReply) => {
      const p = slot.jobs.get(m.id);
      if (!p) return;
      if (m.type === 'progress') return p.onBytes(m.current);
      if (m.type === 'ack') return p.onAck?.(m.bytes);
      slot.jobs.delete(m.id);
      // Results come back as the job made them; each caller knows its own job's shape.
      if (m.type === 'done') p.resolve(m.result as LayerJobResult);
      else {
        const err = new EngineError((m.error.kind ?? 'System') as ErrorKind, m.error.message);
        p.reject(m.error.status !== undefined ? new JobHttpError(err, m.error.status) : err);
      }
    });
    const fail = (e: unknown) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const p of slot.jobs.values()) p.reject(new EngineError('System', `layer worker failed: ${e instanceof Error ? e.message : String(e)}`));
      slot.jobs.clear();
    };
    worker.on('error', (e) => {
      log.warn('layer worker died', { error: e, stack: (e as Error).stack });
      fail(e);
    });
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private pick(): Slot {
    if (this.slots.length < this.size) {
      const idle = this.slots.find((s) => s.jobs.size === 0);
      return idle ?? this.spawn();
    }
    return this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  /** Starts the workers ahead of their first jobs (while a pull still resolves its manifest). */
  warm(): void {
    if (!this.script) return;
    while (this.slots.length < this.size) this.spawn();
  }

  /** Makes a layer from a directory (commit): the blob's digest and size, the layer's diff ID and size. */
  pack(job: PackLayerJob): Promise<PackLayerResult> {
    return this.run(job, () => {}) as Promise<PackLayerResult>;
  }

  run(job: LayerJob | LocalLayerJob | PackLayerJob, onBytes: (n: number) => void, signal?: AbortSignal): Promise<LayerJobResult> {
    if (!this.script) return runLayerJob(job, onBytes, signal);
    if (signal?.aborted) return Promise.reject(cancelled('pull cancelled'));
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<LayerJobResult>((resolve, reject) => {
      const onAbort = () => slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      slot.jobs.set(id, {
        resolve: (r) => { done(); resolve(r); },
        reject: (e) => { done(); reject(e); },
        onBytes,
      });
      slot.worker.postMessage({ type: 'run', id, job } satisfies WorkerRequest);
    });
  }

  /** Starts a feed job: the caller streams the blob in with write() and end(). */
  feed(job: FeedLayerJob): Feed {
    if (!this.script) {
      const input = new PassThrough({ highWaterMark: 1 << 20 });
      const result = runFeed(job, input);
      return {
        write: async (c) => {
          if (!input.write(c)) await once(input, 'drain');
        },
        end: () => input.end(),
        abort: () => input.destroy(new Error('load cancelled')),
        result,
      };
    }
    const slot = this.pick();
    const id = this.nextId++;
    let inFlight = 0;
    let wake: (() => void) | undefined;
    let failed: unknown;
    const result = new Promise<FeedLayerResult>((resolve, reject) => {
      slot.jobs.set(id, {
        resolve: (r) => resolve(r as unknown as FeedLayerResult),
        reject: (e) => {
          failed = e;
          wake?.();
          reject(e);
        },
        onBytes: () => {},
        onAck: (n) => {
          inFlight -= n;
          if (inFlight <= FEED_WINDOW / 2) wake?.();
        },
      });
    });
    result.catch(() => {});
    slot.worker.postMessage({ type: 'run', id, job } satisfies WorkerRequest);
    return {
      write: async (c) => {
        if (failed) throw failed;
        inFlight += c.length;
        // A copy goes over (the chunk may share its memory with others).
        slot.worker.postMessage({ type: 'chunk', id, data: c } satisfies WorkerRequest);
        while (inFlight > FEED_WINDOW && !failed) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (failed) throw failed;
      },
      end: () => slot.worker.postMessage({ type: 'end', id } satisfies WorkerRequest),
      abort: () => slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest),
      result,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}

/** The daemon's pool, shared by pull and load. */
export const layerWorkers = new LayerWorkers();
