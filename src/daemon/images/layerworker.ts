/**
 * Worker-thread entry for layer jobs (layerjob.ts). Messages in: `{type:'run', id, job}`,
 * `{type:'cancel', id}`; out: `{type:'progress', id, current}`, `{type:'done', id, result}`,
 * `{type:'failed', id, error:{kind, message, status}}`. Bundled as dist/layer-worker.js.
 */
import { parentPort } from 'node:worker_threads';
import { kindOf, messageOf } from '../../errdefs/index.ts';
import { runLayerJob, JobHttpError, type LayerJob, type LocalLayerJob, type PackLayerJob } from './layerjob.ts';

export type WorkerRequest = { type: 'run'; id: number; job: LayerJob | LocalLayerJob | PackLayerJob } | { type: 'cancel'; id: number };
export type WorkerReply =
  | { type: 'progress'; id: number; current: number }
  | { type: 'done'; id: number; result: { diffId: string; unpackedSize: number; digest?: string; size?: number } }
  | { type: 'failed'; id: number; error: { kind: string | undefined; message: string; status?: number } };

const port = parentPort;
if (port) {
  const running = new Map<number, AbortController>();
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'cancel') {
      running.get(m.id)?.abort();
      return;
    }
    const ac = new AbortController();
    running.set(m.id, ac);
    const post = (r: WorkerReply) => port.postMessage(r);
    runLayerJob(m.job, (current) => post({ type: 'progress', id: m.id, current }), ac.signal).then(
      (result) => post({ type: 'done', id: m.id, result }),
      (e: unknown) => post({ type: 'failed', id: m.id, error: { kind: ac.signal.aborted ? 'Cancelled' : kindOf(e), message: messageOf(e), ...(e instanceof JobHttpError ? { status: e.status } : {}) } }),
    ).finally(() => running.delete(m.id));
  });
}
