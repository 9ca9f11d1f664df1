/**
 * Sniffs the compression of a stream (gzip, zstd, bzip2, xz or none) from its first bytes
 * and returns the decompressed stream, as docker's `archive.DecompressStream` does.
 */
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { invalidParameter } from '../errdefs/index.ts';

export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/**
 * Reads at least `n` bytes (or to the end) without losing them: returns them and the same
 * stream with them put back (unshift), so the data path keeps no extra stage per chunk.
 */
export async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const c = src.read() as Buffer | null;
    if (c !== null) {
      chunks.push(c);
      len += c.length;
      continue;
    }
    if (src.readableEnded || src.destroyed) break;
    const more = await new Promise<boolean>((resolve, reject) => {
      const onReadable = () => done(true);
      const onEnd = () => done(false);
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      // Destroyed without an error: nothing more will come, and no 'end' either.
      const onClose = () => onError(src.errored ?? new Error('the stream was closed before its first bytes'));
      const cleanup = () => {
        src.off('readable', onReadable);
        src.off('end', onEnd);
        src.off('error', onError);
        src.off('close', onClose);
      };
      const done = (v: boolean) => {
        cleanup();
        resolve(v);
      };
      src.on('readable', onReadable);
      src.on('end', onEnd);
      src.on('error', onError);
      src.on('close', onClose);
    });
    if (!more) {
      ended = true;
      break;
    }
  }
  const head = Buffer.concat(chunks);
  // A stream shorter than n has ended: its bytes cannot go back into it (unshift after 'end'
  // loses them), so they become a stream of their own.
  if (ended || src.readableEnded) return { head, stream: Readable.from(head.length ? [head] : [], { objectMode: false }) };
  if (head.length) src.unshift(head);
  return { head, stream: src };
}

/**
 * A decompressed stream its reader stops early (an error, no space left) stops its source:
 * piped into a stage no one reads, the source would otherwise wait for ever on backpressure.
 */
function stopsSource(out: Readable, src: Readable): void {
  out.on('close', () => {
    if (!out.readableEnded && !src.destroyed) src.destroy(out.errored ?? new Error('the decompressed stream was closed early'));
  });
}

function external(cmd: string, src: Readable): Readable {
  const p = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  src.pipe(p.stdin);
  p.stdin.on('error', () => {});
  const out = p.stdout;
  out.on('close', () => {
    if (!out.readableEnded) p.kill();
  });
  stopsSource(out, src);
  p.on('error', (e) => out.destroy(invalidParameter(`${cmd} is needed to read this archive: ${e.message}`)));
  p.on('close', (code) => {
    if (code !== 0) out.destroy(invalidParameter(`${cmd}: ${err.trim() || `exit status ${code}`}`));
  });
  return out;
}

export async function decompressStream(src: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(src, 6);
  const compression = detectCompression(head);
  switch (compression) {
    case 'gzip': {
      const gz = createGunzip({ chunkSize: 1 << 20 });
      stream.on('error', (e) => gz.destroy(e));
      gz.on('error', () => {});
      stopsSource(gz, stream);
      return { stream: stream.pipe(gz), compression };
    }
    case 'zstd': {
      const z = createZstdDecompress({ chunkSize: 1 << 20 });
      stream.on('error', (e) => z.destroy(e));
      stopsSource(z, stream);
      return { stream: stream.pipe(z), compression };
    }
    case 'bzip2':
      return { stream: external('bzip2', stream), compression };
    case 'xz':
      return { stream: external('xz', stream), compression };
    default:
      return { stream, compression };
  }
}
