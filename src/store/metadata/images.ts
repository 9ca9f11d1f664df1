/**
 * Image records and tags.
 *
 * On-disk layout (owned by this file; version 1):
 *
 *   <data-root>/image/
 *     images/<id-hex>.json   { "version": 1, "id": "sha256:…", "manifest"?: "sha256:…",
 *                              "parent"?: "sha256:…", "added": RFC3339, "lastTagTime"?: RFC3339 }
 *     repositories.json      { "version": 1, "refs": { "docker.io/library/busybox:latest": "sha256:…" } }
 *
 * The image ID is the digest of its config blob, which lives in the content store with the
 * manifest; records are written atomically and the maps here are rebuilt from them at start.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSetAside, setAside, writeJsonAtomic } from '../../lib/atomic.ts';
import { log } from '../../lib/log.ts';
import { notFound, invalidParameter, messageOf } from '../../errdefs/index.ts';
import type { ImageConfigFile } from '../../api/types.ts';
import type { ContentStore } from '../content/store.ts';

export interface ImageRecord {
  version: 1;
  id: string;
  manifest?: string;
  parent?: string;
  added: string;
  lastTagTime?: string;
}

export interface Image {
  rec: ImageRecord;
  config: ImageConfigFile;
  /** Size of the config blob, for manifests. */
  configSize: number;
}

export class ImageStore {
  private readonly dir: string;
  private readonly reposFile: string;
  private readonly content: ContentStore;
  private readonly images = new Map<string, Image>();
  private readonly refs = new Map<string, string>();
  /** The refs of each image, so listings stay linear in the number of images. */
  private readonly refsById = new Map<string, Set<string>>();

  private indexRef(ref: string, id: string | undefined): void {
    const prev = this.refs.get(ref);
    if (prev !== undefined) this.refsById.get(prev)?.delete(ref);
    if (id === undefined) {
      this.refs.delete(ref);
      return;
    }
    this.refs.set(ref, id);
    let set = this.refsById.get(id);
    if (!set) this.refsById.set(id, (set = new Set()));
    set.add(ref);
  }

  constructor(dataRoot: string, content: ContentStore) {
    this.dir = join(dataRoot, 'image');
    this.reposFile = join(this.dir, 'repositories.json');
    this.content = content;
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'images'), { recursive: true });
    for (const name of await readdir(join(this.dir, 'images'))) {
      if (isSetAside(name)) {
        // Set aside at an earlier start: still unknown state, so still nothing is collected.
        this.problems.push(`WARNING: the image record ${join(this.dir, 'images', name)} was set aside (unreadable); unreferenced content is kept until that file is removed`);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(await readFile(join(this.dir, 'images', name), 'utf8')) as ImageRecord;
        if (rec.version !== 1) throw new Error('unknown record version');
        const blob = await this.content.read(rec.id);
        this.images.set(rec.id, { rec, config: parseImageConfig(blob), configSize: blob.length });
      } catch (e) {
        // Set aside, never deleted; and nothing it might hold (layers, blobs) is collected.
        const file = join(this.dir, 'images', name);
        const moved = await setAside(file).catch(() => file);
        this.problems.push(`WARNING: the image record ${file} is unreadable (${messageOf(e)}); it was moved to ${moved}`);
        log.warn('unreadable image record set aside', { file: moved, error: e });
      }
    }
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('repositories.json.') && isSetAside(name)) this.problems.push(`WARNING: ${join(this.dir, name)} was set aside (unreadable); the tags it held are missing`);
    }
    try {
      const repos = JSON.parse(await readFile(this.reposFile, 'utf8')) as { version: number; refs: Record<string, string> };
      for (const [ref, id] of Object.entries(repos.refs ?? {})) {
        if (this.images.has(id)) this.indexRef(ref, id);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        const moved = await setAside(this.reposFile).catch(() => this.reposFile);
        this.problems.push(`WARNING: ${this.reposFile} is unreadable (${messageOf(e)}); it was moved to ${moved} and the tags it held are missing`);
        log.warn('unreadable repositories.json set aside', { file: moved, error: e });
      }
    }
  }

  /** Records init() set aside, for `info` warnings; none means everything was read. */
  readonly problems: string[] = [];

  get(id: string): Image | undefined {
    return this.images.get(id);
  }

  all(): Image[] {
    return [...this.images.values()];
  }

  /** Registers an image whose config blob is already in the content store. */
  async add(id: string, extra: { manifest?: string; parent?: string } = {}): Promise<Image> {
    const existing = this.images.get(id);
    if (existing) return existing;
    const blob = await this.content.read(id);
    const rec: ImageRecord = { version: 1, id, ...extra, added: new Date().toISOString() };
    await writeJsonAtomic(join(this.dir, 'images', `${id.slice(7)}.json`), rec);
    const img = { rec, config: parseImageConfig(blob), configSize: blob.length };
    this.images.set(id, img);
    return img;
  }

  async update(img: Image): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'images', `${img.rec.id.slice(7)}.json`), img.rec);
  }

  async delete(id: string): Promise<void> {
    await rm(join(this.dir, 'images', `${id.slice(7)}.json`), { force: true });
    this.images.delete(id);
    let changed = false;
    for (const [ref, target] of this.refs) {
      if (target === id) {
        this.indexRef(ref, undefined);
        changed = true;
      }
    }
    this.refsById.delete(id);
    if (changed) await this.saveRefs();
  }

  /**
   * Resolves an ID prefix: with its algorithm ("sha256:ab…", "sha512:…") among those IDs, without
   * one among every ID's hex; throws the ambiguity error.
   */
  searchPrefix(prefix: string): Image | undefined {
    const withAlg = /^sha(256|512):/.test(prefix);
    const matches = [...this.images.keys()].filter((id) => (withAlg ? id : id.slice(id.indexOf(':') + 1)).startsWith(prefix));
    if (matches.length > 1) throw invalidParameter(`multiple IDs found with provided prefix: ${prefix}`);
    return matches.length ? this.images.get(matches[0]) : undefined;
  }

  // --- tags (full reference strings: docker.io/library/busybox:latest) ---

  resolveRef(ref: string): string | undefined {
    return this.refs.get(ref);
  }

  refsOf(id: string): string[] {
    return [...(this.refsById.get(id) ?? [])].sort();
  }

  allRefs(): [string, string][] {
    return [...this.refs];
  }

  /** Points `ref` at `id`; returns the image it pointed at before, if another. */
  async setRef(ref: string, id: string): Promise<string | undefined> {
    const img = this.images.get(id);
    if (!img) throw notFound(`No such image: ${id}`);
    const prev = this.refs.get(ref);
    if (prev !== id) {
      this.indexRef(ref, id);
      await this.saveRefs();
    }
    img.rec.lastTagTime = new Date().toISOString();
    await this.update(img);
    return prev !== id ? prev : undefined;
  }

  async deleteRef(ref: string): Promise<void> {
    if (this.refs.has(ref)) {
      this.indexRef(ref, undefined);
      await this.saveRefs();
    }
  }

  private async saveRefs(): Promise<void> {
    const refs: Record<string, string> = {};
    for (const [r, id] of [...this.refs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) refs[r] = id;
    await writeJsonAtomic(this.reposFile, { version: 1, refs });
  }
}

export function parseImageConfig(blob: Buffer): ImageConfigFile {
  let v: unknown;
  try {
    v = JSON.parse(blob.toString('utf8'));
  } catch (e) {
    throw invalidParameter('image config is not valid JSON', e);
  }
  const c = v as ImageConfigFile;
  if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids)) {
    throw invalidParameter('image config has no rootfs.diff_ids');
  }
  return c;
}
