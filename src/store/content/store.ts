/**
 * Content-addressed blob store.
 *
 * On-disk layout (owned by this file; version 1):
 *
 *   <root>/
 *     blobs/<alg>/<hex>      immutable blob whose <alg> digest is <hex>; <alg> is sha256 (what
 *                            Berth names its own content by) or sha512 (content a registry
 *                            names so); a blob lives under the algorithm its referrer names it by
 *     ingest/<random>        in-flight writes; renamed into blobs/ only after the digest
 *                            and size are verified, removed at start-up if left by a crash
 *
 * Every read of a blob through this store re-verifies its digest with the digest's own
 * algorithm (small blobs on read, large ones as the stream ends), so a corrupted disk is
 * reported, never served. Version 1 stores written before sha512 was known have only
 * blobs/sha256 and need no migration.
 */
import { FileSink } from '../../lib/filesink.ts';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, unlink, readdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { ALGORITHMS, DigestTap, digestAlgorithm, digestHex, digestOf, isDigest, matchesDigest, type DigestAlgorithm } from '../../lib/digest.ts';
import { fsyncDir } from '../../lib/atomic.ts';
import { invalidParameter, notFound, system, type EngineError } from '../../errdefs/index.ts';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

/** The error for a stored blob whose bytes no longer match its digest, naming its image. */
export function corruptedBlob(digest: string, image: string): EngineError {
  return system(`blob ${digest} of image ${image} is corrupted: its content no longer matches its digest (remove the image and pull or load it again)`);
}

export class ContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<void> {
    for (const alg of ALGORITHMS) await mkdir(this.blobsDir(alg), { recursive: true });
    await rm(join(this.root, 'ingest'), { recursive: true, force: true });
    await mkdir(join(this.root, 'ingest'), { recursive: true });
  }

  private blobsDir(alg: DigestAlgorithm): string {
    return join(this.root, 'blobs', alg);
  }

  /** Where the blob named `digest` lives; throws InvalidParameter for a malformed or unsupported digest. */
  blobPath(digest: string): string {
    return join(this.blobsDir(digestAlgorithm(digest)), digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
  }

  /** Reads a whole (small) blob and verifies it. */
  async read(digest: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.blobPath(digest));
    } catch {
      throw notFound(`content ${digest}: not found`);
    }
    if (!matchesDigest(data, digest)) throw system(`content ${digest}: digest mismatch on disk (corrupted blob)`);
    return data;
  }

  async readJson(digest: string): Promise<unknown> {
    const data = await this.read(digest);
    try {
      return JSON.parse(data.toString('utf8'));
    } catch (e) {
      throw invalidParameter(`content ${digest}: not valid JSON`, e);
    }
  }

  /**
   * A stream of the blob that fails at its end if the bytes do not match the digest (naming
   * `image`, when given, as the one damaged).
   */
  openVerified(digest: string, image?: string): Readable {
    const alg = digestAlgorithm(digest);
    const hash = createHash(alg);
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        hash.update(chunk);
        cb(null, chunk);
      },
      flush(cb: TransformCallback) {
        const got = `${alg}:${hash.digest('hex')}`;
        if (got === digest) return cb();
        cb(image ? corruptedBlob(digest, image) : system(`content ${digest}: digest mismatch on disk (corrupted blob)`));
      },
    });
    const src = createReadStream(this.blobPath(digest));
    src.on('error', (e) => check.destroy(notFound(`content ${digest}: not found`, e)));
    // A reader that stops early destroys the verifier; the file must close with it.
    check.on('close', () => src.destroy());
    return src.pipe(check);
  }

  /**
   * Stores a small blob. It is named by sha256 unless `expected` names it by another
   * algorithm, in which case it is hashed (and stored) with that one.
   */
  async write(data: Uint8Array, expected?: string): Promise<{ digest: string; size: number }> {
    const digest = digestOf(data, expected ? digestAlgorithm(expected) : undefined);
    if (expected && expected !== digest) {
      throw invalidParameter(`digest mismatch: expected ${expected}, got ${digest}`);
    }
    if (await this.has(digest)) return { digest, size: data.length };
    const tmp = join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commit(tmp, digest);
    return { digest, size: data.length };
  }

  /**
   * Streams `src` into the store, hashing on the way (with the algorithm of `expected.digest`,
   * sha256 without one); the blob becomes visible only once it is complete and matches
   * `expected` (when given). "Already exists" is success.
   */
  async ingest(src: Readable, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
    const tmp = join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const tap = new DigestTap(expected?.digest ? digestAlgorithm(expected.digest) : undefined);
    try {
      await pipeline(src, tap, new FileSink(tmp, { mode: 0o644, sync: true }));
      const digest = tap.digest();
      if (expected?.size !== undefined && expected.size !== tap.size) {
        throw invalidParameter(`size mismatch for ${expected.digest ?? digest}: expected ${expected.size} bytes, got ${tap.size}`);
      }
      if (expected?.digest && expected.digest !== digest) {
        throw invalidParameter(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      if (await this.has(digest)) {
        await unlink(tmp);
      } else {
        await this.commit(tmp, digest);
      }
      return { digest, size: tap.size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** A temp file path in the ingest area, for writers that produce a blob as a side effect. */
  tempPath(): string {
    return join(this.root, 'ingest', randomBytes(8).toString('hex'));
  }

  /** Moves a finished temp file (already verified to hash to `digest`) into place. */
  async commit(tmp: string, digest: string): Promise<void> {
    await rename(tmp, this.blobPath(digest));
    await fsyncDir(this.blobsDir(digestAlgorithm(digest)));
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** Every blob's digest, all algorithms. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of ALGORITHMS) {
      const names = await readdir(this.blobsDir(alg)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [] as string[];
        throw e;
      });
      for (const n of names) if (isDigest(`${alg}:${n}`)) out.push(`${alg}:${n}`);
    }
    return out;
  }
}
