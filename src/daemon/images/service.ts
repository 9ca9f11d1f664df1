/**
 * Image service: import, lookup, list, inspect, tag and delete, with docker's semantics for
 * what "rmi" untags and deletes and when it refuses.
 */
import { boolFilter, matchLabel, parseUntil, pruneUntil } from '../../lib/filters.ts';
import { unmountUnder } from '../../lib/mounts.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import type { Readable } from 'node:stream';
import { rm } from 'node:fs/promises';
import type { ImageConfigFile, ImageInspect, ImageSummary, ContainerConfig, ImageHistoryItem } from '../../api/types.ts';
import { conflict, invalidParameter, notFound } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { failpoint } from '../../lib/failpoint.ts';
import { shortId } from '../../lib/idprefix.ts';
import { decompressStream, type Compression } from '../../lib/decompress.ts';
import {
  parseNormalizedNamed, withDefaultTag, familiarString, referenceString, familiarName, fullName, type Reference,
} from '../../lib/reference.ts';
import type { ContentStore, Descriptor } from '../../store/content/store.ts';
import type { Image, ImageStore } from '../../store/metadata/images.ts';
import { chainIds, type LayerStore } from '../../store/layer/store.ts';
import type { OverlaySnapshotter } from '../../store/snapshots/overlay.ts';
import type { EventSink } from '../events/service.ts';

export { MEDIA } from '../../distribution/media.ts';
import { MEDIA } from '../../distribution/media.ts';
import { childConfig, writeChild } from './childimage.ts';
import { goArch } from '../../lib/platform.ts';

/** moby's zero container.Config as image inspect shows it (omitempty fields left out). */
const EMPTY_CONTAINER_CONFIG: Readonly<Record<string, unknown>> = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
  Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
  WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
};

/** What the image service needs to know about containers (for delete conflicts). */
export interface ImageUsers {
  /** Containers using image `id`: their short IDs and whether they run. */
  containersUsing(id: string): { id: string; running: boolean }[];
  /** Chain IDs that containers' writable layers sit on. */
  chainsInUse(): Set<string>;
}

export type DeleteRecord = { Untagged: string } | { Deleted: string };

export interface ImportOptions {
  repo?: string;
  tag?: string;
  message?: string;
  /** Config produced from `--change` instructions (parsed by the caller). */
  config?: Partial<ContainerConfig>;
  /** Shown as "Imported from <source>" when no message is given. */
  source?: string;
  platform?: { os: string; architecture: string };
}

export { shortId };

function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MEDIA.ociLayerGzip : c === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerTar;
}

/** The stand-in blobs of layers (by diffID), computed at most once per collection or push. */
export interface StandIns {
  byDiffId?: Map<string, Descriptor>;
}

export class ImageService {
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly layers: LayerStore;
  readonly snapshots: OverlaySnapshotter;
  /** Held while a container is being created from an image, and while an image is deleted. */
  readonly usage = new KeyedMutex();
  private users: ImageUsers = { containersUsing: () => [], chainsInUse: () => new Set() };

  constructor(content: ContentStore, images: ImageStore, layers: LayerStore, snapshots: OverlaySnapshotter) {
    this.content = content;
    this.images = images;
    this.layers = layers;
    this.snapshots = snapshots;
  }

  /** Where image events go (the daemon's event log). */
  events: EventSink = () => {};

  setUsers(users: ImageUsers): void {
    this.users = users;
  }

  /** The chain ID of the image's top layer ('' for an image without layers). */
  topChain(img: Image): string {
    const chains = chainIds(img.config.rootfs.diff_ids);
    return chains.length ? chains[chains.length - 1] : '';
  }

  /** Unpacked size of the image: the sum of its layers. */
  size(img: Image): number {
    let total = 0;
    for (const c of chainIds(img.config.rootfs.diff_ids)) total += this.layers.get(c)?.size ?? 0;
    return total;
  }

  /**
   * Finds an image by ID, ID prefix, or reference, in docker's order. The error names the
   * normalized reference ("No such image: busybox:latest").
   */
  /** Whether other images were built on `id` (its children: they name it as their parent). */
  private hasChildren(id: string): boolean {
    return this.images.all().some((o) => o.rec.parent === id);
  }

  /** The labels of the image `ref` names (an ID or a reference), for its events; none when it is gone. */
  labelsOf(ref: string): Record<string, string> {
    try {
      return { ...(this.lookup(ref).config.config?.Labels ?? {}) };
    } catch {
      return {};
    }
  }

  lookup(name: string): Image {
    if (!name) throw invalidParameter('image name cannot be blank');
    const idLike = name.startsWith('sha256:') ? name.slice(7) : name;
    if (/^[a-f0-9]{64}$/.test(idLike) || /^sha512:[a-f0-9]{128}$/.test(name)) {
      // A full ID: sha256 by default, sha512 when it says so (images whose config is named so).
      const img = this.images.get(name.startsWith('sha512:') ? name : `sha256:${idLike}`);
      if (img) return img;
      throw notFound(`No such image: ${name}`);
    }
    let ref: Reference | undefined;
    try {
      ref = parseNormalizedNamed(name);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const full = withDefaultTag(ref);
      const id = this.images.resolveRef(referenceString(full));
      if (id) {
        const img = this.images.get(id);
        if (img) return img;
      }
    }
    if (/^(sha256:|sha512:)?[a-f0-9]+$/.test(name)) {
      const img = this.images.searchPrefix(name);
      if (img) return img;
    }
    if (!ref) throw invalidParameter('invalid reference format');
    throw notFound(`No such image: ${familiarString(withDefaultTag(ref))}`);
  }

  /** `docker import`: one tar (plain or compressed) becomes a one-layer image. */
  async importImage(src: Readable, opts: ImportOptions): Promise<string> {
    let ref: Reference | undefined;
    if (opts.repo) {
      ref = parseNormalizedNamed(opts.repo);
      if (opts.tag) {
        if (ref.tag || ref.digest) throw invalidParameter('cannot import digest reference');
        ref = parseNormalizedNamed(`${opts.repo}:${opts.tag}`);
      }
      if (ref.digest) throw invalidParameter('cannot import digest reference');
      ref = withDefaultTag(ref);
    }
    // 1. Keep the archive as it came, as the layer blob.
    const blob = await this.content.ingest(src);
    failpoint('import-after-blob');
    let layerChain: string | undefined;
    try {
      // 2. Unpack it (verifying it is a tar) into a layer directory.
      const { stream, compression } = await decompressStream(this.content.openVerified(blob.digest));
      const layer = await this.layers.register(stream, undefined);
      layerChain = layer.chainId;
      // 3. Config and manifest.
      const created = new Date().toISOString();
      const config: ImageConfigFile = {
        architecture: opts.platform?.architecture ?? goArch(),
        os: opts.platform?.os ?? 'linux',
        created,
        config: opts.config ?? {},
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created, comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
      };
      if (opts.message) config.comment = opts.message;
      const made = await writeChild(this.content, undefined, config, { mediaType: layerMediaType(compression), digest: blob.digest, size: blob.size });
      await this.images.add(made.config, { manifest: made.manifest });
      // 4. Tag it; a tag moved away from another image leaves that one dangling, as in docker.
      if (ref) await this.images.setRef(referenceString(ref), made.config);
      return made.config;
    } catch (e) {
      await this.content.delete(blob.digest);
      if (layerChain && !this.layerReferenced(layerChain)) await this.layers.remove(layerChain);
      throw e;
    }
  }

  /**
   * The builder's COPY: a tar (made by the builder, uncompressed) becomes a new layer over
   * `parentId`'s, with `config`, `container_config` and a history line; the image's parent is
   * `parentId`.
   */
  async commitLayer(parentId: string | undefined, src: Readable, config: Partial<ContainerConfig>, containerConfig: Partial<ContainerConfig>, createdBy: string, author?: string): Promise<string> {
    const parent = parentId ? this.images.get(parentId) : undefined;
    const blob = await this.content.ingest(src);
    let layerChain: string | undefined;
    try {
      const layer = await this.layers.register(this.content.openVerified(blob.digest), parent ? this.topChain(parent) || undefined : undefined);
      layerChain = layer.chainId;
      const file = childConfig(parent?.config, { created: new Date().toISOString(), ...(author ? { author } : {}), config, containerConfig, createdBy, diffId: layer.diffId });
      const made = await writeChild(this.content, parent?.rec.manifest, file, { mediaType: MEDIA.ociLayerTar, digest: blob.digest, size: blob.size });
      await this.images.add(made.config, { manifest: made.manifest, ...(parentId ? { parent: parentId } : {}) });
      return made.config;
    } catch (e) {
      await this.content.delete(blob.digest).catch(() => {});
      if (layerChain && !this.layerReferenced(layerChain)) await this.layers.remove(layerChain);
      throw e;
    }
  }

  private layerReferenced(chain: string): boolean {
    for (const img of this.images.all()) if (chainIds(img.config.rootfs.diff_ids).includes(chain)) return true;
    for (const c of this.users.chainsInUse()) if (c === chain || this.chainHasAncestor(c, chain)) return true;
    return false;
  }

  private chainHasAncestor(chain: string, ancestor: string): boolean {
    for (let c: string | undefined = chain; c; c = this.layers.get(c)?.parent) if (c === ancestor) return true;
    return false;
  }

  /** `docker tag`. */
  async tag(source: string, repo: string, tag?: string): Promise<void> {
    const img = this.lookup(source);
    let ref = parseNormalizedNamed(tag ? `${repo}:${tag}` : repo);
    if (ref.digest) throw invalidParameter('refusing to create a tag with a digest reference');
    ref = withDefaultTag(ref);
    await this.images.setRef(referenceString(ref), img.rec.id);
    this.events('image', 'tag', img.rec.id, { name: familiarString(ref) });
  }

  /** The tag event of an image named as it was made (commit, import), before its own event (moby). */
  announceTag(id: string, repo: string | undefined, tag: string | undefined): void {
    if (!repo) return;
    const ref = withDefaultTag(parseNormalizedNamed(tag ? `${repo}:${tag}` : repo));
    this.events('image', 'tag', id, { name: familiarString(ref) });
  }

  familiarRefs(id: string): { tags: string[]; digests: string[] } {
    const tags: string[] = [];
    const digests: string[] = [];
    for (const r of this.images.refsOf(id)) {
      const ref = parseNormalizedNamed(r);
      if (ref.digest) digests.push(familiarString(ref));
      else tags.push(familiarString(ref));
    }
    return { tags, digests };
  }

  list(opts: { all?: boolean; filters?: Map<string, string[]>; sharedSize?: boolean } = {}): ImageSummary[] {
    const f = opts.filters ?? new Map<string, string[]>();
    for (const k of f.keys()) if (!IMAGE_FILTERS.includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    const out: ImageSummary[] = [];
    const wantDangling = boolFilter(f, 'dangling');
    const refFilters = f.get('reference') ?? [];
    const labelFilters = f.get('label') ?? [];
    const createdOf = (img: Image) => Math.floor(Date.parse(img.config.created ?? img.rec.added) / 1000);
    const before = f.get('before')?.map((n) => createdOf(this.lookup(n)));
    const since = f.get('since')?.map((n) => createdOf(this.lookup(n)));
    const children = new Set(this.images.all().map((i) => i.rec.parent).filter(Boolean));
    const shared = opts.sharedSize ? this.sharedLayers() : undefined;
    for (const img of this.images.all()) {
      const { tags, digests } = this.familiarRefs(img.rec.id);
      const isDangling = tags.length === 0 && digests.length === 0;
      // Untagged parents of other images are intermediate: shown with -a only.
      if (isDangling && !opts.all && children.has(img.rec.id)) continue;
      if (wantDangling === true && !isDangling) continue;
      if (wantDangling === false && isDangling) continue;
      if (refFilters.length) {
        // As moby: an image matches through some of its names, and only those are listed.
        const keptTags = tags.filter((t) => refFilters.some((p) => matchReference(p, t)));
        if (!keptTags.length) continue;
        const repos = new Set(keptTags.map((t) => t.slice(0, t.lastIndexOf(':') > t.lastIndexOf('/') ? t.lastIndexOf(':') : t.length)));
        tags.splice(0, tags.length, ...keptTags);
        digests.splice(0, digests.length, ...digests.filter((d) => repos.has(d.slice(0, d.indexOf('@')))));
      }
      const labels = img.config.config?.Labels ?? null;
      if (labelFilters.length && !labelFilters.every((lf) => matchLabel(labels ?? {}, lf))) continue;
      const created = createdOf(img);
      if (before && !before.every((b) => created < b)) continue;
      if (since && !since.every((b) => created > b)) continue;
      const chains = chainIds(img.config.rootfs.diff_ids);
      out.push({
        Id: img.rec.id,
        ParentId: img.rec.parent ?? '',
        RepoTags: tags,
        RepoDigests: digests,
        Created: created,
        Size: this.size(img),
        SharedSize: shared ? chains.filter((c) => (shared.get(c) ?? 0) > 1).reduce((a, c) => a + (this.layers.get(c)?.size ?? 0), 0) : -1,
        Labels: labels,
        Containers: opts.sharedSize ? this.users.containersUsing(img.rec.id).length : -1,
      });
    }
    out.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0));
    return out;
  }

  /**
   * `manifests=1`: each image's one platform manifest (the one stored with it; none for a record
   * without one): its descriptor, content size (manifest, config and compressed layers),
   * unpacked size, platform and the containers using it.
   */
  async manifestSummaries(list: ImageSummary[]): Promise<void> {
    for (const s of list) {
      const img = this.images.get(s.Id);
      const digest = img?.rec.manifest;
      s.Manifests = [];
      if (!img || !digest) continue;
      const m = (await this.content.readJson(digest).catch(() => undefined)) as { mediaType?: string; config?: { size?: number }; layers?: { size?: number }[] } | undefined;
      if (!m) continue;
      const size = await this.content.size(digest).catch(() => 0);
      const content = size + (m.config?.size ?? img.configSize) + (m.layers ?? []).reduce((a, l) => a + (l.size ?? 0), 0);
      const unpacked = this.size(img);
      s.Manifests.push({
        ID: digest,
        Descriptor: { mediaType: m.mediaType ?? 'application/vnd.docker.distribution.manifest.v2+json', digest, size },
        Available: true,
        Size: { Total: content + unpacked, Content: content },
        Kind: 'image',
        ImageData: {
          Platform: { architecture: img.config.architecture, os: img.config.os, ...(img.config.variant ? { variant: img.config.variant } : {}) },
          Containers: this.users.containersUsing(img.rec.id).map((c) => c.id),
          Size: { Unpacked: unpacked },
        },
      });
    }
  }

  private async manifestLayers(manifest: string): Promise<string[]> {
    const m = (await this.content.readJson(manifest).catch(() => ({}))) as { layers?: { digest?: string }[] };
    return (m.layers ?? []).map((l) => l.digest).filter((d): d is string => typeof d === 'string');
  }

  /** How many images use each layer chain. */
  private sharedLayers(): Map<string, number> {
    const n = new Map<string, number>();
    for (const img of this.images.all()) for (const c of chainIds(img.config.rootfs.diff_ids)) n.set(c, (n.get(c) ?? 0) + 1);
    return n;
  }

  /** Bytes of every image layer, each counted once (docker's LayersSize). */
  layersSize(): number {
    return this.layers.all().reduce((a, l) => a + l.size, 0);
  }

  /**
   * `docker image prune`: dangling images (untagged and no other image's parent), or with
   * `all` every image no container uses; `until` and `label` filters as docker reads them.
   */
  async prune(opts: { all: boolean; filters: Map<string, string[]> }): Promise<{ ImagesDeleted: DeleteRecord[] | null; SpaceReclaimed: number }> {
    for (const k of opts.filters.keys()) if (!['until', 'label', 'label!', 'dangling'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    const all = opts.all || boolFilter(opts.filters, 'dangling') === false;
    const until = pruneUntil(opts.filters);
    const labels = opts.filters.get('label') ?? [];
    const notLabels = opts.filters.get('label!') ?? [];
    const sizeBefore = this.layersSize();
    const records: DeleteRecord[] = [];
    // Children first, so a parent is free by the time it is considered.
    const candidates = this.images.all().sort((a, b) => Date.parse(b.config.created ?? b.rec.added) - Date.parse(a.config.created ?? a.rec.added));
    for (const img of candidates) {
      const id = img.rec.id;
      if (!this.images.get(id)) continue;
      if (this.users.containersUsing(id).length) continue;
      if (this.hasChildren(id)) continue;
      const refs = this.images.refsOf(id);
      if (!all && refs.length) continue;
      const created = Date.parse(img.config.created ?? img.rec.added);
      if (until !== undefined && created >= until) continue;
      const l = img.config.config?.Labels ?? {};
      if (labels.length && !labels.every((lf) => matchLabel(l, lf))) continue;
      if (notLabels.some((lf) => matchLabel(l, lf))) continue;
      if (records.length) failpoint('prune-after-first');
      try {
        for (const r of refs.slice(0, -1)) records.push(...(await this.remove(familiarString(parseNormalizedNamed(r)))));
        records.push(...(await this.remove(refs.length ? familiarString(parseNormalizedNamed(refs[refs.length - 1])) : id)));
      } catch (e) {
        log.warn('prune: could not remove image', { id, error: e });
      }
    }
    const reclaimed = Math.max(0, sizeBefore - this.layersSize());
    // And what nothing refers to at all (crash leftovers): `system prune` reclaims it too.
    const gc = await this.collectGarbage(this.users.chainsInUse());
    return { ImagesDeleted: records.length ? records : null, SpaceReclaimed: reclaimed + (gc?.bytes ?? 0) };
  }

  /**
   * `builder prune`: the classic builder's cache is its intermediate images. Those no tag,
   * child or container holds go, leaves first (each image a build committed: one with a
   * parent, or the empty base of a FROM scratch build). BuildKit's filters that mean something
   * for images apply: `until` (or `unused-for`) by creation time, `label`/`label!` on the
   * image's labels, `id` and `parent` by ID prefix; its record kinds (`type`, `description`,
   * `inuse`, `shared`, `private`) are refused by name.
   */
  async pruneBuildCache(filters: Map<string, string[]> = new Map()): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const k of filters.keys()) {
      if (['type', 'description', 'inuse', 'shared', 'private'].includes(k)) throw invalidParameter(`the build cache filter ${k} is not supported by Berth (its build cache is images)`);
      if (!['until', 'unused-for', 'label', 'label!', 'id', 'parent'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    }
    const until = [...(filters.get('until') ?? []), ...(filters.get('unused-for') ?? [])].map(parseUntil);
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const ids = (filters.get('id') ?? []).map((v) => v.replace(/^sha256:/, ''));
    const parents = (filters.get('parent') ?? []).map((v) => v.replace(/^sha256:/, ''));
    const wanted = (img: { rec: { id: string; added: string; parent?: string }; config: { created?: string; config?: { Labels?: Record<string, string> | null } } }): boolean => {
      const created = Date.parse(img.config.created ?? img.rec.added);
      if (!until.every((u) => created < u)) return false;
      const l = img.config.config?.Labels ?? {};
      if (!labels.every((lf) => matchLabel(l, lf)) || notLabels.some((lf) => matchLabel(l, lf))) return false;
      if (ids.length && !ids.some((p) => img.rec.id.slice(7).startsWith(p))) return false;
      return !parents.length || parents.some((p) => (img.rec.parent ?? '').slice(7).startsWith(p));
    };
    const sizeBefore = this.layersSize();
    const deleted: string[] = [];
    for (let again = true; again;) {
      again = false;
      for (const img of this.images.all()) {
        const id = img.rec.id;
        const built = !!img.rec.parent || (img.config.container_config?.Cmd ?? []).join(' ').includes('#(nop) FROM scratch');
        if (!built || this.images.refsOf(id).length || this.users.containersUsing(id).length || !wanted(img)) continue;
        if (this.hasChildren(id)) continue;
        try {
          await this.remove(id, { prune: false });
          deleted.push(id);
          again = true;
        } catch (e) {
          log.warn('builder prune: could not remove image', { id, error: e });
        }
      }
    }
    return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: Math.max(0, sizeBefore - this.layersSize()) };
  }

  async inspect(name: string): Promise<ImageInspect> {
    const img = this.lookup(name);
    const { tags, digests } = this.familiarRefs(img.rec.id);
    const c = img.config;
    const chains = chainIds(c.rootfs.diff_ids);
    const dirs = chains.map((ch) => this.layers.get(ch)).filter((l) => l !== undefined).map((l) => this.snapshots.diffDir(l.cacheId)).reverse();
    const graph: Record<string, string> = {};
    if (dirs.length) {
      const top = this.layers.get(chains[chains.length - 1]);
      graph.MergedDir = this.snapshots.dir(top!.cacheId) + '/merged';
      graph.UpperDir = dirs[0];
      graph.WorkDir = this.snapshots.dir(top!.cacheId) + '/work';
      if (dirs.length > 1) graph.LowerDir = dirs.slice(1).join(':');
    }
    return {
      Id: img.rec.id,
      RepoTags: tags,
      RepoDigests: digests,
      Parent: img.rec.parent ?? '',
      Comment: c.comment ?? (c.history?.length ? c.history[c.history.length - 1].comment ?? '' : ''),
      Created: c.created ?? img.rec.added,
      // Shown below API 1.45 only (the route drops them for newer clients, as moby does).
      Container: c.container ?? '',
      ContainerConfig: { ...EMPTY_CONTAINER_CONFIG, ...(c.container_config ?? {}) },
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: c.config ?? {},
      Architecture: c.architecture,
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os,
      Size: this.size(img),
      GraphDriver: { Name: 'overlay2', Data: graph },
      RootFS: { Type: 'layers', Layers: [...c.rootfs.diff_ids] },
      Metadata: { LastTagTime: img.rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  /**
   * `docker history`, as moby's ImageHistory: one entry per history step (a step with a layer
   * shows that layer's size), newest first; the newest entry carries the image's ID and tags,
   * each older one the next parent image's when it is here, else "<missing>".
   */
  history(name: string): ImageHistoryItem[] {
    const img = this.lookup(name);
    const chains = chainIds(img.config.rootfs.diff_ids);
    const steps = img.config.history?.length
      ? img.config.history
      : chains.map(() => ({ created: img.config.created, created_by: '', comment: '', empty_layer: false }));
    const out: ImageHistoryItem[] = [];
    let layer = 0;
    for (const h of steps) {
      let size = 0;
      if (!h.empty_layer && layer < chains.length) size = this.layers.get(chains[layer++])?.size ?? 0;
      out.unshift({ Id: '<missing>', Created: Math.floor(Date.parse(h.created ?? img.config.created ?? img.rec.added) / 1000) || 0, CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
    let cur: Image | undefined = img;
    for (const item of out) {
      if (!cur) break;
      item.Id = cur.rec.id;
      const tags = this.familiarRefs(cur.rec.id).tags;
      item.Tags = tags.length ? tags : null;
      cur = cur.rec.parent ? this.images.get(cur.rec.parent) : undefined;
    }
    return out;
  }

  /** `docker rmi`, following moby's ImageDelete decision by decision. */
  async remove(name: string, opts: { force?: boolean; prune?: boolean } = {}): Promise<DeleteRecord[]> {
    const id = this.lookup(name).rec.id;
    const records = await this.usage.with(id, () => this.removeLocked(name, opts));
    for (const r of records) {
      if ('Untagged' in r) this.events('image', 'untag', id, { name: r.Untagged });
      else if (r.Deleted === id) this.events('image', 'delete', id, { name: id });
    }
    return records;
  }

  private async removeLocked(name: string, opts: { force?: boolean; prune?: boolean }): Promise<DeleteRecord[]> {
    const force = opts.force === true;
    const img = this.lookup(name);
    const id = img.rec.id;
    const records: DeleteRecord[] = [];
    let refs = this.images.refsOf(id).map((r) => parseNormalizedNamed(r));
    const isIdPrefix = id.startsWith(name) || id.startsWith(`sha256:${name}`);

    if (!isIdPrefix) {
      if (!force && isSingleReference(refs)) {
        const using = this.users.containersUsing(id)[0];
        if (using) {
          throw conflict(`conflict: unable to remove repository reference "${name}" (must force) - container ${using.id.slice(0, 12)} is using its referenced image ${shortId(id)}`);
        }
      }
      let parsed = parseNormalizedNamed(name);
      if (!parsed.digest) parsed = withDefaultTag(parsed);
      const key = referenceString(parsed);
      if (this.images.resolveRef(key) !== id) throw notFound(`No such image: ${familiarString(parsed)}`);
      await this.images.deleteRef(key);
      records.push({ Untagged: familiarString(parsed) });
      refs = this.images.refsOf(id).map((r) => parseNormalizedNamed(r));
      if (!parsed.digest) {
        const sameRepoTag = refs.some((r) => !r.digest && fullName(r) === fullName(parsed));
        if (!sameRepoTag) {
          const remaining: Reference[] = [];
          for (const r of refs) {
            if (r.digest && fullName(r) === fullName(parsed)) {
              await this.images.deleteRef(referenceString(r));
              records.push({ Untagged: familiarString(r) });
            } else {
              remaining.push(r);
            }
          }
          refs = remaining;
        }
      }
      if (refs.length > 0) return records;
      // The last reference is gone: delete the image unless something still needs it, in
      // which case it stays (dangling) quietly, as docker does.
      const c = this.deleteConflict(img, force);
      if (c) {
        if (c.hard || this.images.refsOf(id).length === 0) return records;
      }
    } else if (isSingleReference(refs)) {
      const c = this.deleteConflict(img, force, true);
      if (c) throw conflict(c.message);
      for (const r of refs) {
        await this.images.deleteRef(referenceString(r));
        records.push({ Untagged: familiarString(r) });
      }
    }

    const c = this.deleteConflict(img, force);
    if (c) throw conflict(c.message);
    for (const r of this.images.refsOf(id)) {
      await this.images.deleteRef(r);
      records.push({ Untagged: familiarString(parseNormalizedNamed(r)) });
    }
    records.push(...await this.deleteImage(img));
    // Its untagged parents go too, as far as nothing else holds them (moby's prune; --no-prune keeps them).
    if (opts.prune) records.push(...await this.pruneParents(img.rec.parent));
    return records;
  }

  /** The image, its config, manifest and layer blobs (those no other image needs) and its layers. */
  private async deleteImage(img: Image): Promise<DeleteRecord[]> {
    const id = img.rec.id;
    const blobs = img.rec.manifest ? await this.manifestLayers(img.rec.manifest) : [];
    await this.images.delete(id);
    await this.dropUnreferencedBlobs([id, ...(img.rec.manifest ? [img.rec.manifest] : []), ...blobs]);
    const records: DeleteRecord[] = [{ Deleted: id }];
    for (const chain of await this.releaseLayers(chainIds(img.config.rootfs.diff_ids))) records.push({ Deleted: chain });
    return records;
  }

  /**
   * moby's parent pruning after a delete: each parent in turn goes while it has no reference,
   * no other child and no container; the first that is still held ends it, quietly.
   */
  private async pruneParents(parentId: string | undefined): Promise<DeleteRecord[]> {
    const records: DeleteRecord[] = [];
    for (let id = parentId; id;) {
      // Under the image's lock, as a create that found it holds it until its record names it.
      const next: string | undefined = await this.usage.with(id, async () => {
        const img = this.images.get(id!);
        if (!img || this.images.refsOf(id!).length || this.users.containersUsing(id!).length) return undefined;
        if (this.hasChildren(id!)) return undefined;
        records.push(...await this.deleteImage(img));
        this.events('image', 'delete', id!, { name: id! });
        return img.rec.parent ?? undefined;
      });
      id = next;
    }
    return records;
  }

  /**
   * moby's checkImageDeleteConflict. Hard conflicts (child images, running container) can't be forced;
   * soft ones (stopped container, other tags) can. `ignoreActiveRefs` skips the tag check.
   */
  private deleteConflict(img: Image, force: boolean, ignoreActiveRefs = false): { hard: boolean; message: string } | undefined {
    const sid = shortId(img.rec.id);
    // An image others were built on (their parent) stays, forced or not.
    if (this.hasChildren(img.rec.id)) {
      return { hard: true, message: `conflict: unable to delete ${sid} (cannot be forced) - image has dependent child images` };
    }
    const using = this.users.containersUsing(img.rec.id);
    const running = using.find((c) => c.running);
    if (running) {
      return { hard: true, message: `conflict: unable to delete ${sid} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}` };
    }
    if (force) return undefined;
    if (!ignoreActiveRefs && this.images.refsOf(img.rec.id).length > 1) {
      return { hard: false, message: `conflict: unable to delete ${sid} (must be forced) - image is referenced in multiple repositories` };
    }
    const stopped = using[0];
    if (stopped) {
      return { hard: false, message: `conflict: unable to delete ${sid} (must be forced) - image is being used by stopped container ${stopped.id.slice(0, 12)}` };
    }
    return undefined;
  }

  /** Removes the image's layers, top down, that no other image or container uses. */
  private async releaseLayers(chains: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (let i = chains.length - 1; i >= 0; i--) {
      const chain = chains[i];
      if (this.layerReferenced(chain)) break;
      try {
        await this.layers.remove(chain);
        removed.push(chain);
      } catch (e) {
        log.warn('could not remove layer', { chain, error: e });
        break;
      }
    }
    return removed;
  }

  /** Blobs some image needs: its config, its manifest and the layers the manifest lists. */
  private async referencedBlobs(): Promise<Set<string>> {
    const used = new Set<string>();
    const stand: StandIns = {};
    for (const img of this.images.all()) {
      used.add(img.rec.id);
      if (!img.rec.manifest) continue;
      used.add(img.rec.manifest);
      // Its layers' blobs, or those standing in for blobs a pull never fetched.
      for (const d of await this.layerBlobs(img, stand)) if (d) used.add(d.digest);
    }
    return used;
  }

  /**
   * Every stored blob that holds a layer, by the layer's diffID: the uncompressed tar (named by
   * the diffID itself) first, then compressed copies from images' manifests.
   */
  private async standIns(): Promise<Map<string, Descriptor>> {
    const out = new Map<string, Descriptor>();
    for await (const [id, d] of this.storedLayerBlobs((id) => !out.has(id))) out.set(id, d);
    return out;
  }

  /**
   * Every stored blob of a layer, with its diff ID, image by image: the plain blob named by the
   * diff ID, then the one the image's manifest names. `want` picks the layers looked at (asked
   * again as the walk goes, so a caller can stop looking for one it has found).
   */
  private async *storedLayerBlobs(want: (diffId: string) => boolean): AsyncGenerator<[string, Descriptor]> {
    for (const img of this.images.all()) {
      const diffIds = img.config.rootfs.diff_ids;
      if (!diffIds.some(want)) continue;
      for (const id of diffIds) if (want(id) && (await this.content.has(id))) yield [id, { mediaType: MEDIA.ociLayerTar, digest: id, size: await this.content.size(id) }];
      const layers = await this.manifestDescriptors(img);
      if (layers.length !== diffIds.length) continue;
      for (let i = 0; i < layers.length; i++) if (want(diffIds[i]) && (await this.content.has(layers[i].digest))) yield [diffIds[i], layers[i]];
    }
  }

  /**
   * Stored compressed blobs of the given layers (by diff ID) in any image's manifest, of one
   * compression: a plain layer once pushed (its compressed copy kept) is not compressed and
   * uploaded again for another image that has it. Docker's own gzip media type is the same bytes.
   */
  async compressedBlobs(diffIds: Set<string>, compression: 'gzip' | 'zstd'): Promise<Map<string, Descriptor>> {
    const out = new Map<string, Descriptor>();
    const mediaType = compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerGzip;
    const types: string[] = compression === 'zstd' ? [mediaType] : [mediaType, MEDIA.dockerLayer];
    for await (const [id, l] of this.storedLayerBlobs((id) => diffIds.has(id) && !out.has(id))) {
      if (types.includes(l.mediaType)) out.set(id, { mediaType, digest: l.digest, size: l.size });
    }
    return out;
  }

  private async manifestDescriptors(img: Image): Promise<Descriptor[]> {
    if (!img.rec.manifest) return [];
    const m = (await this.content.readJson(img.rec.manifest).catch(() => ({}))) as { layers?: Descriptor[] };
    return m.layers ?? [];
  }

  /**
   * The blob of each of an image's layers: its manifest's own, or, where a pull found the layer
   * already unpacked and so never fetched that blob ("Already exists"), another stored blob of
   * the same content (looked for only then, once per `stand`). Undefined where there is none.
   */
  async layerBlobs(img: Image, stand: StandIns = {}): Promise<(Descriptor | undefined)[]> {
    const diffIds = img.config.rootfs.diff_ids;
    const layers = await this.manifestDescriptors(img);
    const out: (Descriptor | undefined)[] = [];
    for (let i = 0; i < diffIds.length; i++) {
      const own = layers.length === diffIds.length ? layers[i] : undefined;
      if (own && (await this.content.has(own.digest))) {
        out.push(own);
        continue;
      }
      stand.byDiffId ??= await this.standIns();
      out.push(stand.byDiffId.get(diffIds[i]));
    }
    return out;
  }

  /**
   * The image's stored manifest made to name a stored blob for every layer: as it is, or, where
   * a pull found layers already unpacked and never fetched their blobs, a copy naming the other
   * stored copies (`layerBlobs`). `use` (push, save) names the operation when a layer has none.
   */
  async manifestWithStoredLayers(img: Image, use: string): Promise<{ body: Buffer; layers: Descriptor[]; substituted: boolean }> {
    const stored = await this.content.read(img.rec.manifest!);
    const doc = JSON.parse(stored.toString('utf8')) as { layers?: Descriptor[] };
    const layers = doc.layers ?? [];
    if (layers.length !== img.config.rootfs.diff_ids.length) throw invalidParameter(`image ${img.rec.id}: its manifest and config disagree on the layers`);
    const blobs = await this.layerBlobs(img);
    if (blobs.every((b, i) => b?.digest === layers[i].digest)) return { body: stored, layers, substituted: false };
    const missing = blobs.findIndex((b) => !b);
    if (missing >= 0) throw invalidParameter(`layer ${img.config.rootfs.diff_ids[missing]} of image ${img.rec.id} has no stored blob to ${use}: it was unpacked from an image that is gone (remove this image and pull it again)`);
    doc.layers = blobs.map((l) => ({ mediaType: l!.mediaType, digest: l!.digest, size: l!.size }));
    return { body: Buffer.from(JSON.stringify(doc)), layers: doc.layers, substituted: true };
  }

  /** Deletes those of `candidates` no image needs any more (a replaced manifest, say). */
  async dropUnreferencedBlobs(candidates: string[]): Promise<void> {
    const used = await this.referencedBlobs();
    for (const d of candidates) if (!used.has(d)) await this.content.delete(d).catch(() => {});
  }

  /**
   * Operations that bring content (pull, push, load, import, commit) run counted, so that a
   * collection never takes blobs or layers that one of them has stored but not yet recorded.
   */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await work();
    } finally {
      this.inflight--;
    }
  }

  private inflight = 0;

  /**
   * What nothing refers to, left by operations cut short (a pull, load, import or commit
   * killed mid-way) or by older versions: blobs no image needs and layers no image or
   * container stands on. At start-up and in `system prune`; skipped while content is in flight
   * or when records were set aside at start (what they referred to cannot be known).
   */
  async collectGarbage(layersInUse: Set<string>): Promise<{ blobs: number; layers: number; bytes: number } | undefined> {
    if (this.inflight > 0 || this.images.problems.length || this.layers.problems.length) return undefined;
    const used = await this.referencedBlobs();
    let blobs = 0;
    let bytes = 0;
    for (const d of await this.content.list()) {
      if (used.has(d)) continue;
      bytes += await this.content.size(d).catch(() => 0);
      await this.content.delete(d).catch(() => {});
      blobs++;
    }
    const needed = new Set(layersInUse);
    for (const img of this.images.all()) for (const c of chainIds(img.config.rootfs.diff_ids)) needed.add(c);
    // Top-down, so a layer goes only after the layers above it.
    const doomed = this.layers.all().filter((l) => !needed.has(l.chainId)).sort((a, b) => depthOf(this.layers, b.chainId) - depthOf(this.layers, a.chainId));
    let layers = 0;
    for (const l of doomed) {
      if (this.layers.all().some((o) => o.parent === l.chainId)) continue;
      bytes += l.size;
      await this.layers.remove(l.chainId).then(() => layers++, (e: unknown) => log.warn('could not remove an unreferenced layer', { chain: l.chainId, error: e }));
    }
    if (blobs || layers) log.info('removed unreferenced content', { blobs, layers, bytes });
    return { blobs, layers, bytes };
  }

  /** Cleans overlay directories no record refers to (left by crashes). */
  async removeOrphanLayerDirs(keep: Set<string>, list: string[]): Promise<void> {
    for (const name of list) {
      if (keep.has(name)) continue;
      // A view of a root filesystem a crash left mounted in there must not stop the removal.
      await unmountUnder(this.snapshots.dir(name));
      await rm(this.snapshots.dir(name), { recursive: true, force: true });
    }
  }
}

/** How many layers a chain stands on. */
function depthOf(layers: LayerStore, chain: string): number {
  let n = 0;
  for (let c: string | undefined = chain; c; c = layers.get(c)?.parent) n++;
  return n;
}

/** moby's isSingleReference: all references belong to one repository. */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const canonical = new Set<string>();
  for (const r of refs) {
    if (r.digest) canonical.add(fullName(r));
    else if (!single) single = r;
    else return false;
  }
  single ??= refs[0];
  return canonical.size === 1 && canonical.has(fullName(single));
}

/** `reference=` filter: path.Match-style glob on the familiar name or name:tag. */
const IMAGE_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

export function matchReference(pattern: string, familiar: string): boolean {
  const re = new RegExp('^' + pattern.split('').map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('') + '$');
  const colon = familiar.lastIndexOf(':');
  const name = colon > familiar.lastIndexOf('/') ? familiar.slice(0, colon) : familiar;
  return re.test(familiar) || re.test(name);
}

export { familiarName, matchLabel, parseUntil };
