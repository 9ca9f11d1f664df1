/**
 * The registry's content-addressed storage (layout in paths.ts): blobs, upload sessions,
 * repository links, manifests, tags and the referrers index. Every blob is verified against
 * its digest, with that digest's algorithm, before it gets its name; nothing partial is ever
 * visible under `blobs/`.
 */
import { FileSink } from '../../lib/filesink.ts';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic, fsyncDir } from '../../lib/atomic.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import { CANONICAL_ALGORITHM, digestAlgorithm, isDigest, matchesDigest, type DigestAlgorithm } from '../../lib/digest.ts';
import { RegistryError } from '../errcode.ts';
import { parseManifest } from '../manifest.ts';
import { RegistryPaths } from './paths.ts';
import { ReferrersIndex, type ReferrerDescriptor } from './referrers.ts';
import { migrateLayout } from './layout.ts';

interface HashState {
  /** The algorithm the session hashes with as bytes arrive; a different final digest means hashing the file again. */
  algorithm: DigestAlgorithm;
  hash: Hash;
  size: number;
}

export interface UploadInfo {
  repo: string;
  startedAt: string;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

/** A validated manifest to store, with what the referrers index needs of it. */
export interface ManifestToPut {
  mediaType: string;
  body: Buffer;
  /** The body's digest, in the algorithm the client names it by. */
  digest: string;
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

const isENOENT = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

export class RegistryStorage {
  readonly paths: RegistryPaths;
  readonly referrers: ReferrersIndex;
  private readonly hashes = new Map<string, HashState>();
  private readonly locks = new KeyedMutex();

  constructor(root: string) {
    this.paths = new RegistryPaths(root);
    this.referrers = new ReferrersIndex(this.paths, (name, subject) => this.scanReferrers(name, subject));
  }

  /** Creates the layout, or brings an older one up to date (see layout.ts). */
  async init(): Promise<void> {
    const dirs = [...this.paths.algorithms.map((a) => this.paths.blobsDir(a)), this.paths.reposDir, this.paths.uploadsDir];
    for (const d of dirs) await mkdir(d, { recursive: true });
    await migrateLayout(this);
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** A blob linked into `name`: its size and file path. */
  async statBlob(name: string, digest: string): Promise<{ size: number; path: string }> {
    try {
      await stat(this.paths.layerLink(name, digest));
      const path = this.paths.blob(digest);
      const st = await stat(path);
      return { size: st.size, path };
    } catch (e) {
      if (isENOENT(e)) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
      throw e;
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.paths.blob(digest)).then(() => true, () => false);
  }

  async linkBlob(name: string, digest: string): Promise<void> {
    const link = this.paths.layerLink(name, digest);
    await mkdir(dirname(link), { recursive: true });
    await writeFile(link, '');
  }

  async unlinkBlob(name: string, digest: string): Promise<void> {
    try {
      await unlink(this.paths.layerLink(name, digest));
    } catch (e) {
      if (isENOENT(e)) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
      throw e;
    }
  }

  /** Stores small content (manifests) by digest, atomically; the digest is checked, not trusted. */
  async putContent(data: Buffer, digest: string): Promise<void> {
    if (!matchesDigest(data, digest)) throw new Error(`internal error: content stored as ${digest} does not hash to it`);
    if (!(await this.hasBlob(digest))) await writeFileAtomic(this.paths.blob(digest), data);
  }

  // ---- uploads ----------------------------------------------------------------------------

  /** Opens a session that hashes with `algorithm` as bytes arrive (the final digest's, when known). */
  async startUpload(name: string, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): Promise<string> {
    const uuid = randomUUID();
    const dir = this.paths.upload(uuid);
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/data`, '');
    const info: UploadInfo = { repo: name, startedAt: new Date().toISOString() };
    await writeFile(`${dir}/info.json`, JSON.stringify(info));
    this.hashes.set(uuid, { algorithm, hash: createHash(algorithm), size: 0 });
    return uuid;
  }

  /** Bytes received so far; BLOB_UPLOAD_UNKNOWN unless the session exists for this repository. */
  async uploadSize(name: string, uuid: string): Promise<number> {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
    try {
      const info = JSON.parse(await readFile(`${this.paths.upload(uuid)}/info.json`, 'utf8')) as UploadInfo;
      if (info.repo !== name) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
      return (await stat(`${this.paths.upload(uuid)}/data`)).size;
    } catch (e) {
      if (isENOENT(e) || e instanceof SyntaxError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
      throw e;
    }
  }

  /**
   * Appends a chunk. `start`, when the client sent a Content-Range, must equal the bytes
   * received so far (RANGE_INVALID otherwise, and nothing is written).
   */
  async appendUpload(name: string, uuid: string, body: Readable, start?: number): Promise<number> {
    return this.locks.with(uuid, async () => {
      const size = await this.uploadSize(name, uuid);
      if (start !== undefined && start !== size) {
        body.resume();
        throw new RegistryError('RANGE_INVALID', undefined, { expected: size, got: start });
      }
      return this.append(uuid, size, body);
    });
  }

  private async append(uuid: string, size: number, body: Readable): Promise<number> {
    let state = this.hashes.get(uuid);
    if (state && state.size !== size) {
      this.hashes.delete(uuid);
      state = undefined;
    }
    const st = state;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (st) {
          st.hash.update(chunk);
          st.size += chunk.length;
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tap, new FileSink(`${this.paths.upload(uuid)}/data`, { flags: 'a', keepPartial: true }));
    } catch (e) {
      // What reached the file is unknown now; the digest is recomputed from the file at the end.
      this.hashes.delete(uuid);
      throw new RegistryError('BLOB_UPLOAD_INVALID', `blob upload invalid: ${(e as Error).message}`);
    }
    return (await stat(`${this.paths.upload(uuid)}/data`)).size;
  }

  /**
   * Ends an upload: appends the last chunk, checks the digest, and only then gives the data
   * its content address and links it into the repository. A mismatch discards the session.
   */
  async finishUpload(name: string, uuid: string, digest: string, body?: Readable, start?: number): Promise<number> {
    return this.locks.with(uuid, async () => {
      let size = await this.uploadSize(name, uuid);
      if (body) {
        if (start !== undefined && start !== size) {
          body.resume();
          throw new RegistryError('RANGE_INVALID', undefined, { expected: size, got: start });
        }
        size = await this.append(uuid, size, body);
      }
      const data = `${this.paths.upload(uuid)}/data`;
      const alg = digestAlgorithm(digest);
      const state = this.hashes.get(uuid);
      // The running hash is used when it saw every byte and is of the right algorithm;
      // otherwise (a restart, a failed chunk, a digest of another algorithm) the file is read again.
      const actual = state && state.size === size && state.algorithm === alg ? `${alg}:${state.hash.digest('hex')}` : await hashFile(data, alg);
      this.hashes.delete(uuid);
      if (actual !== digest) {
        await rm(this.paths.upload(uuid), { recursive: true, force: true });
        throw new RegistryError('DIGEST_INVALID', undefined, { digest, actual });
      }
      const fh = await open(data, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(data, this.paths.blob(digest));
      await fsyncDir(this.paths.blobsDir(alg));
      await rm(this.paths.upload(uuid), { recursive: true, force: true });
      await this.linkBlob(name, digest);
      return size;
    });
  }

  async cancelUpload(name: string, uuid: string): Promise<void> {
    await this.locks.with(uuid, async () => {
      await this.uploadSize(name, uuid);
      this.hashes.delete(uuid);
      await rm(this.paths.upload(uuid), { recursive: true, force: true });
    });
  }

  // ---- manifests and tags ------------------------------------------------------------------

  /**
   * Stores a manifest in a repository and points `tags` at it. Its referrers entry is written
   * before the revision link, so a crash in between leaves an entry that readers drop, never a
   * referrer missing from its subject's list.
   */
  async putManifest(name: string, m: ManifestToPut, tags: string[] = []): Promise<void> {
    await this.putContent(m.body, m.digest);
    if (m.subject !== undefined) await this.referrers.add(name, m.subject, referrerEntry(m));
    const rev = this.paths.revision(name, m.digest);
    await mkdir(dirname(rev), { recursive: true });
    await writeFile(rev, m.mediaType);
    if (tags.length) await mkdir(this.paths.tagsDir(name), { recursive: true });
    for (const tag of tags) await writeFileAtomic(this.paths.tag(name, tag), m.digest);
  }

  async hasManifest(name: string, digest: string): Promise<boolean> {
    return stat(this.paths.revision(name, digest)).then(() => true, () => false);
  }

  async resolveTag(name: string, tag: string): Promise<string> {
    let digest: string;
    try {
      digest = (await readFile(this.paths.tag(name, tag), 'utf8')).trim();
    } catch (e) {
      if (isENOENT(e)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag });
      throw e;
    }
    if (!isDigest(digest)) throw new RegistryError('UNKNOWN', `tag ${tag} of ${name} holds no valid digest`);
    return digest;
  }

  /** A manifest by digest, verified: a corrupted file is reported, never served. */
  async getManifest(name: string, digest: string): Promise<StoredManifest> {
    let mediaType: string;
    let body: Buffer;
    try {
      mediaType = (await readFile(this.paths.revision(name, digest), 'utf8')).trim();
      body = await readFile(this.paths.blob(digest));
    } catch (e) {
      if (isENOENT(e)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { digest });
      throw e;
    }
    if (!matchesDigest(body, digest)) throw new RegistryError('UNKNOWN', `stored manifest ${digest} is corrupted`);
    return { digest, mediaType, body };
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    try {
      await unlink(this.paths.tag(name, tag));
    } catch (e) {
      if (isENOENT(e)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag });
      throw e;
    }
  }

  /** Removes a manifest from a repository, with every tag that points at it. */
  async deleteManifest(name: string, digest: string): Promise<void> {
    if (!(await this.hasManifest(name, digest))) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { digest });
    for (const t of await this.listTags(name).catch(() => [])) {
      if ((await this.resolveTag(name, t).catch(() => '')) === digest) await rm(this.paths.tag(name, t), { force: true });
    }
    await this.unlinkManifest(name, digest);
  }

  /**
   * Removes a manifest's revision link and then its entry among its subject's referrers (in
   * that order: a crash in between leaves an entry readers drop). Tags are the caller's.
   */
  async unlinkManifest(name: string, digest: string): Promise<void> {
    const ref = await this.referrerOf(name, digest).catch(() => undefined);
    await unlink(this.paths.revision(name, digest)).catch((e: unknown) => {
      if (!isENOENT(e)) throw e;
    });
    if (ref) await this.referrers.remove(name, ref.subject, digest);
  }

  /** Every manifest revision of a repository, all algorithms. */
  async listRevisions(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const alg of this.paths.algorithms) {
      for (const h of await readdir(this.paths.revisionsDir(name, alg)).catch(() => [] as string[])) {
        if (isDigest(`${alg}:${h}`)) out.push(`${alg}:${h}`);
      }
    }
    return out;
  }

  // ---- referrers ---------------------------------------------------------------------------

  /**
   * The referrers of `subject` in a repository, from the index. Entries whose manifest is no
   * longer in the repository (left by a crash between two writes) are dropped here.
   */
  async listReferrers(name: string, subject: string): Promise<ReferrerDescriptor[]> {
    const out: ReferrerDescriptor[] = [];
    for (const d of await this.referrers.list(name, subject)) if (await this.hasManifest(name, d.digest)) out.push(d);
    return out;
  }

  /** The subject a stored manifest refers to and its referrers entry; undefined without a subject. */
  async referrerOf(name: string, digest: string): Promise<{ subject: string; entry: ReferrerDescriptor } | undefined> {
    const m = await this.getManifest(name, digest);
    const p = parseManifest(m.body, m.mediaType);
    if (p.subject === undefined) return undefined;
    return { subject: p.subject, entry: referrerEntry({ ...p, body: m.body, digest }) };
  }

  /** The referrers of `subject` found by reading every manifest of the repository (the index's source of truth). */
  private async scanReferrers(name: string, subject: string): Promise<ReferrerDescriptor[]> {
    const out: ReferrerDescriptor[] = [];
    for (const d of await this.listRevisions(name)) {
      const r = await this.referrerOf(name, d).catch(() => undefined);
      if (r?.subject === subject) out.push(r.entry);
    }
    return out;
  }

  async repoExists(name: string): Promise<boolean> {
    return stat(this.paths.repo(name)).then((s) => s.isDirectory(), () => false);
  }

  async listTags(name: string): Promise<string[]> {
    try {
      return (await readdir(this.paths.tagsDir(name))).filter((t) => !t.startsWith('.')).sort();
    } catch (e) {
      if (!isENOENT(e)) throw e;
      if (await this.repoExists(name)) return [];
      throw new RegistryError('NAME_UNKNOWN', undefined, { name });
    }
  }

  /** Every repository holding manifests, sorted. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '_manifests') {
          if (prefix) out.push(prefix);
          continue;
        }
        if (e.name.startsWith('_')) continue;
        await walk(`${dir}/${e.name}`, prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(this.paths.reposDir, '');
    return out.sort();
  }
}

export async function hashFile(path: string, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `${algorithm}:${h.digest('hex')}`;
}

/** How a manifest is listed among the referrers of its subject (spec, "Listing Referrers"). */
function referrerEntry(m: Pick<ManifestToPut, 'mediaType' | 'body' | 'digest' | 'artifactType' | 'annotations'>): ReferrerDescriptor {
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.body.length,
    ...(m.artifactType !== undefined ? { artifactType: m.artifactType } : {}),
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
  };
}
