/**
 * Content digests (`<algorithm>:<hex>`), the names of everything content-addressed.
 *
 * Two algorithms are known: sha256, the canonical one (everything Berth itself creates is
 * named by it), and sha512, which OCI content may be named by (image-spec's registered
 * algorithms). Content named by a digest is always hashed with that digest's algorithm, so a
 * sha512 name is verified with sha512. Any other algorithm is refused as unsupported rather
 * than accepted unverified.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidParameter } from '../errdefs/index.ts';

/** Supported algorithms and the length of their hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;
export const CANONICAL_ALGORITHM: DigestAlgorithm = 'sha256';
export const ALGORITHMS = Object.keys(DIGEST_ALGORITHMS) as DigestAlgorithm[];

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
// go-digest's grammar: anything shaped like a digest, known algorithm or not.
const DIGEST_SHAPE_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(s: string): s is DigestAlgorithm {
  return Object.hasOwn(DIGEST_ALGORITHMS, s);
}

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** The digest itself if valid; InvalidParameter naming what is wrong otherwise. */
export function parseDigest(s: string): string {
  if (isDigest(s)) return s;
  const alg = s.slice(0, Math.max(0, s.indexOf(':')));
  if (DIGEST_SHAPE_RE.test(s) && !isDigestAlgorithm(alg)) throw invalidParameter(`unsupported digest algorithm: ${s}`);
  throw invalidParameter(`invalid digest format: ${s}`);
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  return parseDigest(digest).slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: string): string {
  return parseDigest(digest).slice(digest.indexOf(':') + 1);
}

/** The digest of `data` with `algorithm`. */
export function digestOf(data: string | Uint8Array, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

export function sha256(data: string | Uint8Array): string {
  return digestOf(data, 'sha256');
}

/** Whether `data` hashes to `digest` with the digest's own algorithm. */
export function matchesDigest(data: string | Uint8Array, digest: string): boolean {
  return isDigest(digest) && digestOf(data, digestAlgorithm(digest)) === digest;
}

/**
 * A pass-through stream that hashes and counts what flows through it; read `digest()` and
 * `size` after the stream ends. The algorithm must be known before the first byte, so callers
 * verifying against an expected digest pass `digestAlgorithm(expected)`.
 */
export class DigestTap extends Transform {
  size = 0;
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private result: string | undefined;

  constructor(algorithm: DigestAlgorithm = CANONICAL_ALGORITHM) {
    super();
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    this.result ??= `${this.algorithm}:${this.hash.digest('hex')}`;
    return this.result;
  }
}
