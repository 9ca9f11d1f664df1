/**
 * Content-addressed blob store.
 *
 * On-disk layout (owned by this file; version 1):
 *
 *   <root>/
 *     blobs/sha256/<hex>     immutable blob whose sha256 is <hex>
 *     ingest/<random>        in-flight writes; renamed into blobs/ only after the digest
 *                            and size are verified, removed at start-up if left by a crash
 *
 * Every read of a blob through this store re-verifies its digest (small blobs on read, large
 * ones as the stream ends), so a corrupted disk is reported, never served.
 */
import { FileSink } from '../../lib/filesink.ts';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, unlink, readdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { DigestTap, digestHex, sha256 } from '../../lib/digest.ts';
import { fsyncDir } from '../../lib/atomic.ts';
import { invalidParameter, notFound, system } from '../../errdefs/index.ts';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export class ContentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await rm(join(this.root, 'ingest'), { recursive: true, force: true });
    await mkdir(join(this.root, 'ingest'), { recursive: true });
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
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
    if (sha256(data) !== digest) throw system(`content ${digest}: digest mismatch on disk (corrupted blob)`);
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

  /** A stream of the blob that fails at its end if the bytes do not match the digest. */
  openVerified(digest: string): Readable {
    const hash = createHash('sha256');
    const check = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        hash.update(chunk);
        cb(null, chunk);
      },
      flush(cb: TransformCallback) {
        const got = 'sha256:' + hash.digest('hex');
        cb(got === digest ? null : system(`content ${digest}: digest mismatch on disk (corrupted blob)`));
      },
    });
    const src = createReadStream(this.blobPath(digest));
    src.on('error', (e) => check.destroy(notFound(`content ${digest}: not found`, e)));
    return src.pipe(check);
  }

  async write(data: Uint8Array, expected?: string): Promise<{ digest: string; size: number }> {
    const digest = sha256(data);
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
   * Streams `src` into the store, hashing on the way; the blob becomes visible only once it
   * is complete and matches `expected` (when given). "Already exists" is success.
   */
  async ingest(src: Readable, expected?: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
    const tmp = join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const tap = new DigestTap();
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
    await fsyncDir(join(this.root, 'blobs', 'sha256'));
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(join(this.root, 'blobs', 'sha256'));
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}
