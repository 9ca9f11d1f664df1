/**
 * Writing a tar into a Node stream: each write waits for the reader (memory stays bounded) and
 * fails once the reader has gone, so a producer walking a tree stops with its consumer.
 */
import { PassThrough } from 'node:stream';
import { padding } from './header.ts';

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
