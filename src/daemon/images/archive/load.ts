/**
 * `docker load`: reads an image archive — docker's (manifest.json with per-layer files, old
 * or new), or a bare OCI image layout (index.json + blobs) — streaming: small metadata files
 * are kept in memory, every other member goes into the content store (blobs named by digest
 * are verified against their names), and members that look like layers are unpacked by a
 * worker while they arrive. Then each image's layers are checked against the config's diff
 * IDs (layers not unpacked yet are unpacked now) and the image and its tags recorded. A bad
 * archive changes nothing: blobs it brought that no image uses and staged layers are removed
 * again, and its names are never used as paths.
 */
import { failpoint, failpointDelay } from '../../../lib/failpoint.ts';
import { PassThrough, Readable, Transform } from 'node:stream';
import { posix } from 'node:path';
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { readTar } from '../../../lib/tar/reader.ts';
import { TarFormatError } from '../../../lib/tar/header.ts';
import { invalidParameter } from '../../../errdefs/index.ts';
import { isDigest } from '../../../lib/digest.ts';
import { decompressStream, detectCompression } from '../../../lib/decompress.ts';
import { parseNormalizedNamed, withDefaultTag, referenceString, familiarString } from '../../../lib/reference.ts';
import { parseImageConfig } from '../../../store/metadata/images.ts';
import { chainIds, checkDepth } from '../../../store/layer/store.ts';
import { layerWorkers, type Feed } from '../workers.ts';
import { MEDIA, shortId, type ImageService } from '../service.ts';
import { byteMessage, shortDigest } from '../progress.ts';
import { platformMatches, type Platform } from '../../../lib/platform.ts';
import { legacyIds, legacyImages, legacyTags } from './legacy.ts';

const METADATA_MAX = 16 << 20;
const METADATA = /^(manifest\.json|index\.json|oci-layout|repositories|[^/]+\.json|[^/]+\/json|[^/]+\/VERSION)$/;
const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

export interface LoadOptions {
  /** Called with each line docker prints ("Loaded image: busybox:latest"). */
  onMessage: (line: string) => void;
  /** Called with docker's "Loading layer" progress messages, when wanted. */
  onProgress?: (m: Record<string, unknown>) => void;
  /** Load only the images made for this platform; the others are skipped, as dockerd does. */
  platform?: Platform;
}

interface ImageEntry {
  config: string;
  layers: string[];
  tags: string[];
  /** The config digest of the image it was built on (legacy archives record the chain). */
  parent?: string;
  /** A parent image of another in the archive, with no tag of its own: loaded silently. */
  intermediate?: boolean;
}

const bad = (why: string) => invalidParameter(`invalid archive: ${why}`);

/** An archive member name, normalised; `..` and absolute names are refused. */
export function memberName(raw: string): string {
  const n = posix.normalize(raw.replace(/^\.\//, '')).replace(/\/$/, '');
  if (raw.startsWith('/') || n === '..' || n.startsWith('../')) throw bad(`entry "${raw}" points outside the archive`);
  return n === '.' ? '' : n;
}

export async function loadImages(images: ImageService, src: Readable, opts: LoadOptions): Promise<string[]> {
  const files = new Map<string, { digest: string; size: number }>();
  const metadata = new Map<string, Buffer>();
  const links = new Map<string, string>();
  const brought = new Set<string>();
  const registered: string[] = [];
  const feeds: FeedMember[] = [];
  /** Blobs unpacked while they were read, by digest, until an image claims them. */
  const prestaged = new Map<string, { staging: string; diffId: string; size: number }>();
  // The workers start while the archive's first bytes arrive.
  layerWorkers.warm();
  /** A member into the content store; one named by a digest must hash to it. */
  const ingest = async (from: Readable, name: string, expected: string | undefined, existed: boolean) => {
    let got;
    try {
      got = await images.content.ingest(from, expected ? { digest: expected } : {});
    } catch (e) {
      if (expected) throw bad(`${name} does not match its digest: ${(e as Error).message}`);
      throw e;
    }
    if (!existed) brought.add(got.digest);
    files.set(name, got);
    return got;
  };
  try {
    const { stream } = await decompressStream(src);
    let count = 0;
    try {
      for await (const entry of readTar(stream)) {
        count++;
        const h = entry.header;
        const name = memberName(h.name);
        if (h.type === 'symlink' || h.type === 'link') {
          const target = memberName(h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname) : h.linkname);
          links.set(name, target);
          continue;
        }
        if (h.type !== 'file' && h.type !== 'contiguous-file') continue;
        if (METADATA.test(name) && !name.startsWith('blobs/')) {
          if (h.size > METADATA_MAX) throw bad(`${name} is larger than ${METADATA_MAX} bytes`);
          metadata.set(name, Buffer.from(await entry.read()));
          continue;
        }
        const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
        const expected = m && isDigest(`${m[1]}:${m[2]}`) ? `${m[1]}:${m[2]}` : undefined;
        const existed = expected ? await images.content.has(expected) : false;
        const it = entry.chunks();
        const first = await it.next();
        const head = first.done ? Buffer.alloc(0) : first.value;
        const rest = async function* (): AsyncGenerator<Buffer> {
          if (head.length) yield head;
          for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
        };
        if (h.size >= FEED_MIN && looksLikeLayer(head)) {
          // A worker unpacks the chunks as they arrive; whether this is a layer is settled once
          // the manifest has been read. Uncompressed, the worker stores the blob too, with one
          // hash (its digest is its diff ID); compressed, this thread stores it meanwhile.
          const { staging, diffDir } = await images.layers.stage();
          const ingestPath = detectCompression(head) === 'none' ? images.content.tempPath() : undefined;
          const feed = layerWorkers.feed({ feed: true, diffDir, ...(ingestPath ? { ingestPath } : {}) });
          const member: FeedMember = { name, expected, existed, staging, ingestPath, feed };
          feeds.push(member);
          const blobIn = ingestPath ? undefined : new PassThrough({ highWaterMark: 1 << 20 });
          const slow = failpointDelay('load-blob-store');
          const ingested = blobIn ? ingest(slow ? blobIn.pipe(slowly(slow)) : blobIn, name, expected, existed) : undefined;
          ingested?.catch(() => {});
          try {
            for await (const c of rest()) {
              // The wait for 'drain' starts with the write that may call for it: the feed's
              // write below yields, and a drain emitted meanwhile must not be missed (that
              // stalled a load for ever, the archive no longer read).
              const drained = blobIn && !blobIn.write(c) ? once(blobIn, 'drain') : undefined;
              drained?.catch(() => {});
              // The blob store failing (a full disk) ends the member at once, whatever the
              // unpacker is doing.
              await (ingested ? Promise.race([feed.write(c), ingested]) : feed.write(c));
              if (drained) await Promise.race([drained, ingested]);
            }
            blobIn?.end();
            feed.end();
            if (ingested) member.digest = (await ingested).digest;
          } catch (e) {
            feed.abort();
            blobIn?.destroy();
            throw e;
          }
          continue;
        }
        await ingest(Readable.from(rest(), { objectMode: false }), name, expected, existed);
      }
    } catch (e) {
      // What the feeds made is removed; the archive's own error is the one reported. The
      // stream is left alone: the server reads the rest of the upload before answering.
      await settleFeeds(images, feeds, files, brought, prestaged).catch(() => {});
      if (e instanceof TarFormatError) throw bad(e.message);
      throw e;
    }
    await settleFeeds(images, feeds, files, brought, prestaged);
    if (count === 0) throw bad('it is empty');

    const resolve = async (name: string, what: string): Promise<{ digest: string }> => {
      let n = memberName(name);
      for (let i = 0; i < 16 && links.has(n); i++) n = links.get(n)!;
      const f = files.get(n);
      if (f) return f;
      const md = metadata.get(n);
      if (!md) throw bad(`${what} ${name} is missing`);
      // Old archives keep the config as <id>.json beside manifest.json.
      const existed = await images.content.has('sha256:' + createHash('sha256').update(md).digest('hex'));
      const w = await images.content.write(md);
      if (!existed) brought.add(w.digest);
      return w;
    };
    const lookup = (name: string): string | undefined => {
      let n = memberName(name);
      for (let i = 0; i < 16 && links.has(n); i++) n = links.get(n)!;
      return files.get(n)?.digest;
    };
    const writeConfig = async (config: Buffer): Promise<string> => {
      const existed = await images.content.has('sha256:' + createHash('sha256').update(config).digest('hex'));
      const w = await images.content.write(config);
      if (!existed) brought.add(w.digest);
      return w.digest;
    };
    const entries = metadata.has('manifest.json') || metadata.has('index.json') || !legacyIds(metadata).length
      ? await imageEntries(images, metadata, resolve)
      : await legacyEntries(images, metadata, lookup, (d) => prestaged.get(d)?.diffId, writeConfig);
    if (!entries.length) throw bad('it holds no images');

    const loaded: string[] = [];
    for (const e of entries) {
      const configDigest = e.config;
      const config = parseImageConfig(await images.content.read(configDigest));
      if (opts.platform && !platformMatches({ os: config.os, architecture: config.architecture, variant: config.variant }, opts.platform)) continue;
      const diffIds = config.rootfs.diff_ids;
      checkDepth(diffIds.length);
      if (diffIds.length !== e.layers.length) throw bad(`image ${shortId(configDigest)} lists ${e.layers.length} layers but its config has ${diffIds.length}`);
      const chains = chainIds(diffIds);
      // Unpack the missing layers in parallel, then record them in order.
      const staged = await Promise.all(e.layers.map(async (digest, i) => {
        if (images.layers.get(chains[i])) return undefined;
        const pre = prestaged.get(digest);
        if (pre) {
          prestaged.delete(digest);
          if (pre.diffId !== diffIds[i]) {
            await images.layers.discard({ staging: pre.staging, diffId: '', size: 0 });
            throw bad(`layer ${digest} has diff ID ${pre.diffId}, the config says ${diffIds[i]}`);
          }
          const total = await images.content.size(digest);
          opts.onProgress?.(byteMessage('Loading layer', shortDigest(diffIds[i]), total, total));
          return { staging: pre.staging, diffId: pre.diffId, size: pre.size };
        }
        const { staging, diffDir } = await images.layers.stage();
        try {
          // As docker: the layer's short diff ID, bytes of the archived layer file read so far.
          const total = opts.onProgress ? await images.content.size(digest) : 0;
          const report = opts.onProgress ? (current: number) => opts.onProgress!(byteMessage('Loading layer', shortDigest(diffIds[i]), current, total)) : () => {};
          const r = await layerWorkers.run({ file: images.content.blobPath(digest), digest, diffDir }, report);
          if (r.diffId !== diffIds[i]) throw bad(`layer ${digest} has diff ID ${r.diffId}, the config says ${diffIds[i]}`);
          return { staging, diffId: r.diffId, size: r.unpackedSize };
        } catch (err) {
          await images.layers.discard({ staging, diffId: '', size: 0 });
          throw err;
        }
      }).map((p) => p.catch((err: unknown) => ({ error: err }))));
      const failure = staged.find((s): s is { error: unknown } => !!s && 'error' in s);
      if (failure) {
        for (const s of staged) if (s && !('error' in s)) await images.layers.discard(s);
        throw failure.error;
      }
      let parent: string | undefined;
      for (let i = 0; i < chains.length; i++) {
        const s = staged[i];
        if (s && !('error' in s)) {
          const rec = await images.layers.commit(s, parent);
          registered.push(rec.chainId);
        }
        parent = chains[i];
      }
      // A manifest for the image, describing the blobs as the archive had them.
      const layers = [];
      for (const digest of e.layers) {
        const head = await readHead(images, digest);
        const c = detectCompression(head);
        layers.push({ mediaType: c === 'gzip' ? MEDIA.ociLayerGzip : c === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerTar, digest, size: await images.content.size(digest) });
      }
      const manifest = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: await images.content.size(configDigest) }, layers };
      const man = await images.content.write(Buffer.from(JSON.stringify(manifest)));
      failpoint('load-before-image');
      await images.images.add(configDigest, { manifest: man.digest, ...(e.parent ? { parent: e.parent } : {}) });
      if (!e.tags.length) {
        if (e.intermediate) continue;
        opts.onMessage(`Loaded image ID: ${configDigest}`);
        loaded.push(configDigest);
        continue;
      }
      for (const t of e.tags) {
        const ref = withDefaultTag(parseNormalizedNamed(t));
        const prev = images.images.resolveRef(referenceString(ref));
        if (prev && prev !== configDigest) opts.onMessage(`The image ${familiarString(ref)} already exists, renaming the old one with ID ${prev} to empty string`);
        await images.images.setRef(referenceString(ref), configDigest);
        opts.onMessage(`Loaded image: ${familiarString(ref)}`);
        loaded.push(familiarString(ref));
      }
    }
    return loaded;
  } catch (e) {
    await cleanup(images, brought, registered);
    await drain(src);
    throw e;
  } finally {
    for (const p of prestaged.values()) await images.layers.discard({ staging: p.staging, diffId: '', size: 0 });
  }
}

/** Members at least this large that look like layers are stored and unpacked on a worker as they arrive. */
const FEED_MIN = 256 << 10;

interface FeedMember {
  name: string;
  expected: string | undefined;
  existed: boolean;
  staging: string;
  /** Where the worker stores the blob, when it does (uncompressed members). */
  ingestPath: string | undefined;
  feed: Feed;
  /** The blob's digest, once stored. */
  digest?: string;
}

/** A tar, or a compressed stream (which a layer is, if anything). */
function looksLikeLayer(head: Buffer): boolean {
  if (detectCompression(head) !== 'none') return true;
  return head.length >= 263 && head.toString('latin1', 257, 262) === 'ustar';
}

/**
 * Waits for every fed member, then keeps what they made: blobs the workers stored go into the
 * content store (a member named by a digest must hash to it), unpacked layers wait in
 * `prestaged`. On any failure everything the feeds made is removed and the first error is
 * thrown.
 */
async function settleFeeds(
  images: ImageService,
  feeds: FeedMember[],
  files: Map<string, { digest: string; size: number }>,
  brought: Set<string>,
  prestaged: Map<string, { staging: string; diffId: string; size: number }>,
): Promise<void> {
  let failure: unknown;
  for (const f of feeds.splice(0)) {
    let r;
    try {
      r = await f.feed.result;
      if (f.ingestPath) {
        if (r.digest === undefined || r.size === undefined) throw bad(`${f.name} was not stored`);
        if (f.expected && r.digest !== f.expected) throw bad(`${f.name} does not match its digest: digest mismatch: expected ${f.expected}, got ${r.digest}`);
      }
    } catch (e) {
      failure ??= e;
    }
    if (!r || failure || (!f.ingestPath && f.digest === undefined)) {
      if (f.ingestPath) await rm(f.ingestPath, { force: true });
      await images.layers.discard({ staging: f.staging, diffId: '', size: 0 });
      continue;
    }
    if (f.ingestPath && r.digest !== undefined && r.size !== undefined) {
      if (await images.content.has(r.digest)) await rm(f.ingestPath, { force: true });
      else await images.content.commit(f.ingestPath, r.digest);
      if (!f.existed) brought.add(r.digest);
      files.set(f.name, { digest: r.digest, size: r.size });
      f.digest = r.digest;
    }
    const digest = f.digest!;
    const diffId = r.sameAsBlob ? digest : r.diffId;
    if (r.layer && diffId && r.unpackedSize !== undefined && !prestaged.has(digest)) prestaged.set(digest, { staging: f.staging, diffId, size: r.unpackedSize });
    else await images.layers.discard({ staging: f.staging, diffId: '', size: 0 });
  }
  if (failure) throw failure;
}

/**
 * Reads what the client is still sending, so it can finish its upload and read our error
 * instead of failing with a broken pipe. Bounded: a client that never ends is cut off.
 */
/** A stage that holds each chunk for `ms` (the load-blob-store failpoint). */
function slowly(ms: number): Transform {
  return new Transform({ highWaterMark: 1 << 16, transform: (c: Buffer, _e, cb) => void setTimeout(() => cb(null, c), ms) });
}

async function drain(src: Readable, timeoutMs = 30_000): Promise<void> {
  if (src.readableEnded || src.destroyed) return;
  src.unpipe();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => resolve(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    src.once('end', done);
    src.once('error', done);
    src.once('close', done);
    // An abandoned async iterator leaves its 'readable' listener, and resume() does nothing
    // while one is attached: the rest of the upload would never be read.
    src.removeAllListeners('readable');
    src.on('data', () => {});
    src.resume();
  });
}

/** The first bytes of a stored blob (to tell its compression), read and closed at once. */
async function readHead(images: ImageService, digest: string): Promise<Buffer> {
  const fh = await open(images.content.blobPath(digest), 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The images an archive describes: docker's manifest.json first, else the OCI index. */
async function imageEntries(images: ImageService, metadata: Map<string, Buffer>, resolve: (name: string, what: string) => Promise<{ digest: string }>): Promise<ImageEntry[]> {
  const parse = (name: string): unknown => {
    try {
      return JSON.parse(metadata.get(name)!.toString('utf8'));
    } catch (e) {
      throw bad(`${name} is not valid JSON: ${(e as Error).message}`);
    }
  };
  if (metadata.has('manifest.json')) {
    const list = parse('manifest.json');
    if (!Array.isArray(list)) throw bad('manifest.json is not a list');
    const out: ImageEntry[] = [];
    for (const [i, raw] of list.entries()) {
      const m = raw as { Config?: unknown; Layers?: unknown; RepoTags?: unknown };
      if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string')) throw bad(`manifest.json entry ${i} needs Config and Layers`);
      const tags = Array.isArray(m.RepoTags) ? m.RepoTags.filter((t): t is string => typeof t === 'string') : [];
      for (const t of tags) checkTag(t);
      const layers: string[] = [];
      for (const l of m.Layers as string[]) layers.push((await resolve(l, 'layer')).digest);
      out.push({ config: (await resolve(m.Config, 'config')).digest, layers, tags });
    }
    return out;
  }
  if (metadata.has('index.json')) {
    const out: ImageEntry[] = [];
    const visit = async (desc: { digest?: string; mediaType?: string; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } }, tags: string[], depth: number): Promise<void> => {
      if (depth > 4 || typeof desc.digest !== 'string') throw bad('index.json has a malformed or too deeply nested entry');
      await resolve(blobName(desc.digest), 'manifest');
      const doc = (await images.content.readJson(desc.digest)) as { mediaType?: string; manifests?: typeof desc[]; config?: { digest: string }; layers?: { digest: string }[] };
      const type = doc.mediaType ?? desc.mediaType;
      if (Array.isArray(doc.manifests) || (type && INDEX_TYPES.includes(type))) {
        const children = doc.manifests ?? [];
        const pick = children.find((c) => c.platform?.os === 'linux' && c.platform?.architecture === goArch()) ?? children[0];
        if (!pick) throw bad(`index ${desc.digest} is empty`);
        await visit(pick, tags, depth + 1);
        return;
      }
      if (!doc.config?.digest || !Array.isArray(doc.layers)) throw bad(`manifest ${desc.digest} has no config or layers`);
      const layers: string[] = [];
      for (const l of doc.layers) layers.push((await resolve(blobName(l.digest), 'layer')).digest);
      out.push({ config: (await resolve(blobName(doc.config.digest), 'config')).digest, layers, tags });
    };
    const index = parse('index.json') as { manifests?: { digest?: string; mediaType?: string; annotations?: Record<string, string> }[] };
    if (!Array.isArray(index?.manifests)) throw bad('index.json has no manifests');
    for (const d of index.manifests) {
      const name = d.annotations?.['io.containerd.image.name'];
      if (name) checkTag(name);
      const tags = name ? [name] : [];
      await visit(d, tags, 0);
    }
    // Entries for the same image (one per tag) merge.
    const merged = new Map<string, ImageEntry>();
    for (const e of out) {
      const m = merged.get(e.config);
      if (m) m.tags.push(...e.tags.filter((t) => !m.tags.includes(t)));
      else merged.set(e.config, { ...e, tags: [...e.tags] });
    }
    return [...merged.values()];
  }
  throw bad('no manifest.json or index.json found');
}

/** docker's pre-1.10 layout: each v1 image becomes an image, tagged from `repositories`. */
async function legacyEntries(
  images: ImageService,
  metadata: Map<string, Buffer>,
  lookup: (name: string) => string | undefined,
  knownDiffId: (digest: string) => string | undefined,
  writeConfig: (config: Buffer) => Promise<string>,
): Promise<ImageEntry[]> {
  const tags = legacyTags(metadata);
  const built = await legacyImages(images, metadata, lookup, knownDiffId);
  const byV1 = new Map<string, ImageEntry>();
  const parents = new Set(built.map((b) => b.parent).filter(Boolean));
  for (const b of built) {
    byV1.set(b.v1Id, {
      config: await writeConfig(b.config),
      layers: b.layers,
      tags: [],
      ...(b.parent ? { parent: byV1.get(b.parent)!.config } : {}),
      ...(parents.has(b.v1Id) ? { intermediate: true } : {}),
    });
  }
  for (const [ref, id] of tags) {
    const e = byV1.get(id);
    if (!e) throw bad(`invalid target ID: ${id}`);
    checkTag(ref);
    e.tags.push(ref);
  }
  return [...byV1.values()];
}

/**
 * An archive names its images by tag only (moby: "invalid tag"): a digest it claims would
 * resolve locally as if pulled, though nothing checked it.
 */
function checkTag(t: string): void {
  const r = parseNormalizedNamed(t);
  if (r.digest || !r.tag) throw bad(`invalid tag ${JSON.stringify(t)}`);
}

/** An OCI layout's member for a blob: blobs/<algorithm>/<hex>. */
function blobName(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** Removes what a failed load brought: layers it registered and blobs no image uses. */
async function cleanup(images: ImageService, brought: Set<string>, registered: string[]): Promise<void> {
  const used = new Set<string>();
  for (const img of images.images.all()) {
    used.add(img.rec.id);
    if (img.rec.manifest) {
      used.add(img.rec.manifest);
      const m = (await images.content.readJson(img.rec.manifest).catch(() => ({}))) as { layers?: { digest: string }[] };
      for (const l of m.layers ?? []) used.add(l.digest);
    }
  }
  for (const chain of registered.reverse()) {
    if (![...images.images.all()].some((img) => chainIds(img.config.rootfs.diff_ids).includes(chain))) await images.layers.remove(chain);
  }
  for (const d of brought) if (!used.has(d)) await images.content.delete(d);
}
