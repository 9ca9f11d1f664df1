/**
 * The referrers index: per repository and subject digest, the descriptors the referrers API
 * answers with (layout in paths.ts). It exists so `GET /v2/<name>/referrers/<digest>` reads one
 * small file instead of parsing every manifest of the repository.
 *
 * Records are replaced atomically (temp file, fsync, rename, fsync of the directory) under a
 * per-record lock, so concurrent PUTs of two referrers of one subject both land. The record is
 * an index, not the truth: callers order their writes so that it can only hold too much
 * (an entry whose manifest is gone, which readers drop), and a record that cannot be read is
 * rebuilt from the manifests themselves.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic } from '../../lib/atomic.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import type { RegistryPaths } from './paths.ts';

/** One entry of a referrers response (an OCI descriptor). */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface ReferrersRecord {
  version: 1;
  subject: string;
  manifests: ReferrerDescriptor[];
}

const isENOENT = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/** Finds the referrers of `subject` among the repository's manifests (the slow truth). */
export type ReferrersScan = (name: string, subject: string) => Promise<ReferrerDescriptor[]>;

export class ReferrersIndex {
  private readonly paths: RegistryPaths;
  private readonly scan: ReferrersScan;
  private readonly locks = new KeyedMutex();

  constructor(paths: RegistryPaths, scan: ReferrersScan) {
    this.paths = paths;
    this.scan = scan;
  }

  /** The recorded referrers of `subject` (none without a record); an unreadable record is rebuilt. */
  async list(name: string, subject: string): Promise<ReferrerDescriptor[]> {
    const rec = await this.read(name, subject);
    if (rec) return rec;
    const truth = await this.scan(name, subject);
    await this.replace(name, subject, truth);
    return truth;
  }

  /** The record's entries; undefined when it exists but cannot be read. */
  private async read(name: string, subject: string): Promise<ReferrerDescriptor[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.paths.referrers(name, subject), 'utf8');
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
    try {
      const rec = JSON.parse(text) as ReferrersRecord;
      if (rec.version !== 1 || rec.subject !== subject || !Array.isArray(rec.manifests)) return undefined;
      return rec.manifests;
    } catch {
      return undefined;
    }
  }

  /** Adds (or replaces, by digest) the entry of one referrer. Idempotent. */
  async add(name: string, subject: string, entry: ReferrerDescriptor): Promise<void> {
    await this.update(name, subject, (list) => [...list.filter((d) => d.digest !== entry.digest), entry]);
  }

  /** Removes the entry of one referrer; the record goes when it is empty. */
  async remove(name: string, subject: string, digest: string): Promise<void> {
    await this.update(name, subject, (list) => list.filter((d) => d.digest !== digest));
  }

  /** Replaces the whole record (a rebuild); an empty list removes it. */
  async replace(name: string, subject: string, list: ReferrerDescriptor[]): Promise<void> {
    const file = this.paths.referrers(name, subject);
    await this.locks.with(file, () => this.write(file, subject, list));
  }

  /** Read, change, write back, under the record's lock; an unreadable record is rebuilt first. */
  private async update(name: string, subject: string, change: (list: ReferrerDescriptor[]) => ReferrerDescriptor[]): Promise<void> {
    const file = this.paths.referrers(name, subject);
    await this.locks.with(file, async () => {
      const before = (await this.read(name, subject)) ?? (await this.scan(name, subject));
      await this.write(file, subject, change(before));
    });
  }

  private async write(file: string, subject: string, list: ReferrerDescriptor[]): Promise<void> {
    if (list.length === 0) {
      await unlink(file).catch((e: unknown) => {
        if (!isENOENT(e)) throw e;
      });
      return;
    }
    await mkdir(dirname(file), { recursive: true });
    const rec: ReferrersRecord = { version: 1, subject, manifests: list };
    await writeJsonAtomic(file, rec);
  }
}
