/**
 * Writing a tar into a Node stream: each write waits for the reader (memory stays bounded) and
 * fails once the reader has gone, so a producer walking a tree stops with its consumer.
 */
import { PassThrough, type Readable } from 'node:stream';
import { END, padding } from './header.ts';

export interface TarSink {
  out: PassThrough;
  write(b: Buffer): Promise<void>;
}

export function tarSink(highWaterMark = 1 << 20): TarSink {
  const out = new PassThrough({ highWaterMark });
  const write = async (b: Buffer): Promise<void> => {
    if (out.destroyed) throw new Error('archive reader went away');
    if (out.write(b)) return;
    await new Promise<void>((resolve, reject) => {
      const drained = () => {
        out.off('close', closed);
        resolve();
      };
      const closed = () => {
        out.off('drain', drained);
        reject(new Error('archive reader went away'));
      };
      out.once('drain', drained);
      out.once('close', closed);
    });
  };
  return { out, write };
}

/**
 * A regular file's body after its header: exactly `size` bytes, as the header promised (a file
 * that grows or shrinks while it is read is cut or zero-filled, keeping the archive valid), then
 * the block padding.
 */
export async function writeBody(write: (b: Buffer) => Promise<void>, chunks: AsyncIterable<Buffer>, size: number): Promise<void> {
  let sent = 0;
  for await (const c of chunks) {
    const part = c.subarray(0, size - sent);
    if (part.length) await write(part);
    sent += part.length;
    if (sent >= size) break;
  }
  if (sent < size) await write(Buffer.alloc(size - sent));
  await write(padding(size));
}

/**
 * Writes a body's chunks to a file, one write per MiB rather than one per socket read (64 KiB),
 * and each write overlapping the reading of the next MiB: a write is a trip through the thread
 * pool, and waiting for it before reading on would leave the socket idle meanwhile.
 */
export async function writeChunks(fh: { writev(b: Buffer[]): Promise<unknown> }, chunks: AsyncIterable<Buffer>, batchBytes = 1 << 20): Promise<void> {
  let batch: Buffer[] = [];
  let size = 0;
  let inFlight: Promise<unknown> | undefined;
  try {
    for await (const chunk of chunks) {
      batch.push(chunk);
      size += chunk.length;
      if (size < batchBytes) continue;
      await inFlight;
      inFlight = fh.writev(batch);
      batch = [];
      size = 0;
    }
    await inFlight;
    inFlight = undefined;
    if (batch.length) await fh.writev(batch);
  } finally {
    // Never leave a write running on a handle the caller is about to close.
    await inFlight?.catch(() => {});
  }
}

/** A file body is read in buffers this big, at most this many in flight per writer. */
const FILE_BUFFER = 4 << 20;
const FILE_BUFFERS = 3;

/** Where a file's body is read from: an open handle. */
export interface BodySource {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Writes a tar straight into a destination stream (an HTTP response, say). With `reuse`, a
 * file's body goes through a few buffers reused once the destination has written them out,
 * rather than a fresh MiB per read: fresh buffers cost a page fault per page and a full GC per
 * 64 MiB, which made serving a large file ~2× slower (a PassThrough, which hands its chunks on
 * without saying when they are done with, needs `reuse` off).
 */
export class TarWriter {
  private readonly free: Buffer[] = [];
  private made = 0;
  private readonly waiters: { resolve(b: Buffer): void; reject(e: Error): void }[] = [];
  private drainWait: { resolve(): void; reject(e: Error): void } | undefined;
  private closed = false;
  private readonly onClose = () => {
    this.closed = true;
    const e = gone();
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.drainWait?.reject(e);
  };
  private readonly onDrain = () => this.drainWait?.resolve();

  private readonly dest: NodeJS.WritableStream & { destroyed?: boolean };
  private readonly reuse: boolean;

  private readonly count?: (n: number) => void;

  constructor(dest: NodeJS.WritableStream & { destroyed?: boolean }, reuse: boolean, count?: (n: number) => void) {
    this.dest = dest;
    this.reuse = reuse;
    if (count) this.count = count;
    dest.on('close', this.onClose);
    dest.on('error', this.onClose);
    dest.on('drain', this.onDrain);
  }

  /** Stops listening to the destination (the writer is done with it). */
  release(): void {
    this.dest.off('close', this.onClose);
    this.dest.off('error', this.onClose);
    this.dest.off('drain', this.onDrain);
  }

  write(b: Buffer, done?: () => void): Promise<void> {
    if (this.closed || this.dest.destroyed) return Promise.reject(gone());
    this.count?.(b.length);
    if (this.dest.write(b, done ? () => done() : undefined)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.drainWait = {
        resolve: () => { this.drainWait = undefined; resolve(); },
        reject: (e) => { this.drainWait = undefined; reject(e); },
      };
    });
  }

  /** A regular file's body (exactly `size` bytes, as writeBody) and its padding. */
  async file(src: BodySource, size: number): Promise<void> {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(FILE_BUFFER, size - pos);
      const pooled = this.reuse && size > FILE_BUFFER / 4;
      const b = pooled ? await this.take() : Buffer.allocUnsafeSlow(want);
      let n: number;
      try {
        ({ bytesRead: n } = await src.read(b, 0, want, pos));
      } catch (e) {
        if (pooled) this.give(b);
        throw e;
      }
      if (n === 0) {
        // The file shrank as it was read: zeros keep the archive as long as its header said.
        if (pooled) this.give(b);
        await this.write(Buffer.alloc(size - pos));
        break;
      }
      pos += n;
      await this.write(b.subarray(0, n), pooled ? () => this.give(b) : undefined);
    }
    await this.write(padding(size));
  }

  private take(): Promise<Buffer> {
    if (this.closed) return Promise.reject(gone());
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.made < FILE_BUFFERS) {
      this.made++;
      return Promise.resolve(Buffer.allocUnsafeSlow(FILE_BUFFER));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private give(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w.resolve(b);
    else this.free.push(b);
  }
}

function gone(): Error {
  return new Error('archive reader went away');
}

/** A tar made on demand: written straight into a stream, or read as one. */
export interface TarSource {
  /**
   * Writes the whole tar into `dest`, leaving it open; rejects if `dest` goes away first. `dest`
   * must call a write's callback only once it is done with the buffer (a socket, a file; not a
   * PassThrough). `count` sees the size of each write (progress).
   */
  writeTo(dest: NodeJS.WritableStream, count?: (n: number) => void): Promise<void>;
  /** The tar as a stream (for consumers that read it rather than being written to). */
  stream(): Readable;
}

/**
 * A TarSource over `produce`, run once by whichever of writeTo/stream is called; `finish` runs
 * after it either way (and if neither is ever called, when `abandon` is).
 */
export function tarSource(produce: (w: TarWriter) => Promise<void>, finish: () => Promise<void>): TarSource & { abandon(): Promise<void> } {
  let started = false;
  const once = () => {
    if (started) throw new Error('a tar source is read once');
    started = true;
  };
  const run = async (dest: NodeJS.WritableStream, reuse: boolean, count?: (n: number) => void) => {
    const w = new TarWriter(dest, reuse, count);
    try {
      await produce(w);
      await w.write(END);
    } finally {
      w.release();
      await finish();
    }
  };
  return {
    writeTo: (dest, count) => {
      once();
      return run(dest, true, count);
    },
    stream: () => {
      once();
      const out = new PassThrough({ highWaterMark: 1 << 20 });
      run(out, false).then(() => out.end(), (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
      return out;
    },
    abandon: async () => {
      if (started) return;
      started = true;
      await finish();
    },
  };
}
