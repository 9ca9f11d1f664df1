/**
 * docker's JSON progress messages for pull and push ({"status","id","progressDetail",
 * "progress"}), so the docker CLI renders our streams exactly as dockerd's, with throttled
 * byte counters.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { progressString } from '../../lib/progressbar.ts';

export type ProgressMessage = Record<string, unknown>;
export type ProgressSink = (m: ProgressMessage) => void;

export { shortId as shortDigest } from '../../lib/idprefix.ts';

export function status(id: string, text: string): ProgressMessage {
  return { status: text, progressDetail: {}, id };
}

/** Counts bytes through a stream and reports them at most every 100 ms (and at the end). */
export class ProgressTap extends Transform {
  private current = 0;
  private last = 0;
  private readonly report: (current: number) => void;

  constructor(report: (current: number) => void) {
    super({ highWaterMark: 1 << 20 });
    this.report = report;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.current += chunk.length;
    const now = Date.now();
    if (now - this.last >= 100) {
      this.last = now;
      this.report(this.current);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.report(this.current);
    cb();
  }
}

export function byteProgress(sink: ProgressSink, id: string, what: string, total: number | undefined): ProgressTap {
  return new ProgressTap((current) => sink(byteMessage(what, id, current, total)));
}

/** A byte-counter message: "Downloading [==>   ] 12MB/50MB". */
export function byteMessage(what: string, id: string, current: number, total: number | undefined): ProgressMessage {
  return { status: what, progressDetail: { current, ...(total ? { total } : {}) }, progress: progressString({ current, total }), id };
}

/**
 * Runs `tasks` with at most `limit` at a time; results in order. After a failure no task
 * starts, those under way are told through their signal, and the first error is thrown once
 * they have all settled: whatever they made is theirs to clean up before the caller goes on.
 */
export async function limitConcurrency<T>(limit: number, tasks: ((signal: AbortSignal) => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  const failed = new AbortController();
  let first: { e: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !first) {
      const i = next++;
      try {
        results[i] = await tasks[i](failed.signal);
      } catch (e) {
        if (!first) {
          first = { e };
          failed.abort();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (first) throw first.e;
  return results;
}
