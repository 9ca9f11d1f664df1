/** Content digests (`sha256:<64 hex>`), the names of everything content-addressed. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidParameter } from '../errdefs/index.ts';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function parseDigest(s: string): string {
  if (!isDigest(s)) {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(s) && !s.startsWith('sha256:')) {
      throw invalidParameter(`unsupported digest algorithm: ${s}`);
    }
    throw invalidParameter(`invalid digest format: ${s}`);
  }
  return s;
}

export function digestHex(digest: string): string {
  return parseDigest(digest).slice('sha256:'.length);
}

export function sha256(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/**
 * A pass-through stream that hashes and counts what flows through it; read `digest()` and
 * `size` after the stream ends.
 */
export class DigestTap extends Transform {
  size = 0;
  private readonly hash: Hash = createHash('sha256');
  private result: string | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    this.result ??= 'sha256:' + this.hash.digest('hex');
    return this.result;
  }
}
