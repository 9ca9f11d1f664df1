/**
 * Worker-thread entry for layer jobs (layerjob.ts). Messages in: `{type:'run', id, job}`,
 * `{type:'cancel', id}`; out: `{type:'progress', id, current}`, `{type:'done', id, result}`,
 * `{type:'failed', id, error:{kind, message, status}}`. Bundled as dist/layer-worker.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IdMapping, setLayerIdMapping, type IdMapSpec } from '../../lib/idmap.ts';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { failpointDelay } from '../../lib/failpoint.ts';
import { kindOf, messageOf } from '../../errdefs/index.ts';
import { runLayerJob, runFeed, JobHttpError, type LayerJob, type LocalLayerJob, type PackLayerJob, type FeedLayerJob } from './layerjob.ts';

export type WorkerRequest =
  | { type: 'run'; id: number; job: LayerJob | LocalLayerJob | PackLayerJob | FeedLayerJob }
  | { type: 'cancel'; id: number }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number };
export type WorkerReply =
  | { type: 'progress'; id: number; current: number }
  | { type: 'ack'; id: number; bytes: number }
  | { type: 'done'; id: number; result: { diffId?: string; unpackedSize?: number; digest?: string; size?: number } }
  | { type: 'failed'; id: number; error: { kind: string | undefined; message: string; status?: number } };

const spec = (workerData as { idmap?: IdMapSpec } | null)?.idmap;
if (spec) setLayerIdMapping(new IdMapping(spec));

const port = parentPort;
if (port) {
  const running = new Map<number, AbortController>();
  const feeds = new Map<number, PassThrough>();
  // The load-unpack failpoint: the unpacker takes each chunk this late (a slow disk).
  const slowFeed = failpointDelay('load-unpack');
  let feedQueue = Promise.resolve();
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'cancel') {
      running.get(m.id)?.abort();
      feeds.get(m.id)?.destroy(new Error('load cancelled'));
      return;
    }
    const post = (r: WorkerReply) => port.postMessage(r);
    if (m.type === 'chunk') {
      const input = feeds.get(m.id);
      const n = m.data.byteLength;
      // Acknowledged once the stream takes it on: the sender's window for backpressure.
      const take = () => void input?.write(Buffer.from(m.data.buffer, m.data.byteOffset, n), () => post({ type: 'ack', id: m.id, bytes: n }));
      if (slowFeed) feedQueue = feedQueue.then(() => sleep(slowFeed)).then(take);
      else take();
      return;
    }
    if (m.type === 'end') {
      if (slowFeed) {
        void feedQueue.then(() => feeds.get(m.id)?.end());
        return;
      }
      feeds.get(m.id)?.end();
      return;
    }
    const ac = new AbortController();
    running.set(m.id, ac);
    const job = m.job;
    let work;
    if ('feed' in job) {
      const input = new PassThrough({ highWaterMark: 1 << 20 });
      feeds.set(m.id, input);
      work = runFeed(job, input).finally(() => feeds.delete(m.id));
    } else {
      work = runLayerJob(job, (current) => post({ type: 'progress', id: m.id, current }), ac.signal);
    }
    work.then(
      (result) => post({ type: 'done', id: m.id, result }),
      (e: unknown) => post({ type: 'failed', id: m.id, error: { kind: ac.signal.aborted ? 'Cancelled' : kindOf(e), message: messageOf(e), ...(e instanceof JobHttpError ? { status: e.status } : {}) } }),
    ).finally(() => running.delete(m.id));
  });
}
