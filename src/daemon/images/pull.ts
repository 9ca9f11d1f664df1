/**
 * `docker pull`: resolve the reference on the registry (mirrors first for docker.io), pick the
 * platform from an index, download layers in parallel into the content store (every byte
 * verified against its digest), unpack them in order, each layer once (a chain that already
 * exists is "Already exists"), and only then register the image and its tags. An interrupted
 * pull leaves blobs at most (the ingest area and staging layers are cleaned at start).
 */
import { failpoint } from '../../lib/failpoint.ts';
import { EngineError, kindOf, notFound, invalidParameter, system, messageOf } from '../../errdefs/index.ts';
import { digestAlgorithm, digestOf, matchesDigest, sha256 } from '../../lib/digest.ts';
import { familiarName, familiarString, referenceString, type Reference } from '../../lib/reference.ts';
import { log } from '../../lib/log.ts';
import { RegistryClient, type Endpoint } from '../../distribution/client.ts';
import type { Credentials } from '../../distribution/auth.ts';
import { parseManifest, parsePlatform, selectPlatform, type Descriptor, type ImageManifest } from '../../distribution/media.ts';
import { endpointsFor, type RegistrySettings } from '../../distribution/resolve.ts';
import { parseImageConfig } from '../../store/metadata/images.ts';
import { chainIds, checkDepth, type StagedLayer } from '../../store/layer/store.ts';
import { rm } from 'node:fs/promises';
import { layerWorkers } from './workers.ts';
import { JobHttpError } from './layerjob.ts';
import type { ImageService } from './service.ts';
import { byteMessage, limitConcurrency, shortDigest, status, type ProgressSink } from './progress.ts';
import { rememberSource } from './sources.ts';

export interface PullOptions {
  platform?: string;
  credentials?: Credentials;
  signal?: AbortSignal;
}

export interface RegistryAccess {
  settings: RegistrySettings;
  maxConcurrentDownloads: number;
  /** Endpoints that answered before (domain → endpoint URL), tried first next time. */
  preferred: Map<string, string>;
  /** Longest wait for an answer or for the next byte of a transfer. */
  timeoutMs: number;
}

function isNetworkError(e: unknown): boolean {
  return kindOf(e) === 'Unavailable';
}

/**
 * Runs `fn` against the endpoints of `domain` in order: a network failure before the endpoint
 * answered (or a mirror's error) moves to the next; the last error is the one reported.
 */
export async function withEndpoints<T>(access: RegistryAccess, domain: string, creds: Credentials | undefined, fn: (c: RegistryClient, e: Endpoint) => Promise<T>): Promise<T> {
  const all = endpointsFor(domain, access.settings);
  const pref = access.preferred.get(domain);
  const ordered = pref ? [...all.filter((e) => e.url === pref), ...all.filter((e) => e.url !== pref)] : all;
  let last: unknown;
  for (const e of ordered) {
    const client = new RegistryClient(e, { credentials: e.mirror ? {} : creds ?? {}, timeoutMs: access.timeoutMs });
    try {
      const r = await fn(client, e);
      access.preferred.set(domain, e.url);
      return r;
    } catch (err) {
      // An endpoint that answered and then failed mid-transfer is the registry, reached: its
      // error is the one to report (as moby stops falling back once an endpoint is confirmed),
      // not the next scheme's "wrong version number". Mirrors still give way to the next.
      if (isNetworkError(err) && client.answered && !e.mirror) throw err;
      last = err;
      if (isNetworkError(err) || (e.mirror && kindOf(err) !== 'Cancelled')) {
        log.debug('registry endpoint failed, trying the next', { endpoint: e.url, error: messageOf(err) });
        continue;
      }
      throw err;
    }
  }
  throw last ?? system(`no endpoint for ${domain}`);
}

/** The repository path on the registry: "library/busybox" for docker.io/library/busybox. */
export function remotePath(ref: Reference): string {
  return ref.path;
}

function denied(ref: Reference, e: unknown): EngineError {
  return new EngineError('NotFound', `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${messageOf(e).replace(/^[^:]*manifest for [^:]*:[^:]*: /, '')}`, { cause: e });
}

export async function pullImage(images: ImageService, access: RegistryAccess, ref: Reference, opts: PullOptions, progress: ProgressSink): Promise<string> {
  workers.warm();
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  const platform = parsePlatform(opts.platform);
  return withEndpoints(access, ref.domain, opts.credentials, async (client) => {
    // 1. The manifest (or index) the reference names.
    let top;
    try {
      top = await client.getManifest(remotePath(ref), tagOrDigest);
    } catch (e) {
      if (kindOf(e) === 'Unauthorized' || kindOf(e) === 'Forbidden') throw denied(ref, e);
      if (kindOf(e) === 'NotFound') {
        if (/name unknown|repository/i.test(messageOf(e))) throw denied(ref, e);
        throw notFound(`manifest for ${familiarString(ref)} not found: manifest unknown: manifest unknown`, e);
      }
      throw e;
    }
    // Pulled by digest, the body is checked (and named) with that digest's algorithm (sha512 too).
    const topDigest = ref.digest ? digestOf(top.body, digestAlgorithm(ref.digest)) : sha256(top.body);
    if (ref.digest && ref.digest !== topDigest) throw invalidParameter(`manifest verification failed for digest ${ref.digest}`);
    progress({ status: `Pulling from ${familiarName(ref).replace(/^[^/]*\.[^/]*\//, '')}`, id: ref.digest ?? tagOrDigest });
    let parsed = parseManifest(top.body, top.mediaType);
    let manifestBody = top.body;
    let manifestDigest = topDigest;
    let manifestType = top.mediaType;
    if (parsed.kind === 'index') {
      const d = selectPlatform(parsed, platform);
      if (!d) throw notFound(`no matching manifest for ${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''} in the manifest list entries`);
      const m = await client.getManifest(remotePath(ref), d.digest);
      if (!matchesDigest(m.body, d.digest)) throw invalidParameter(`manifest verification failed for digest ${d.digest}`);
      parsed = parseManifest(m.body, m.mediaType);
      if (parsed.kind !== 'manifest') throw invalidParameter('a manifest list may not point at another manifest list');
      manifestBody = m.body;
      manifestDigest = d.digest;
      manifestType = m.mediaType;
    }
    const manifest = parsed as ImageManifest;
    // 2. The config: small, fetched whole, verified.
    const config = await fetchConfig(images, client, remotePath(ref), manifest.config);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidParameter(`invalid manifest: ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length}`);
    }
    const wantArch = platform.architecture;
    if (!opts.platform && config.architecture && config.architecture !== wantArch) {
      progress({ status: `WARNING: The requested image's platform (${config.os}/${config.architecture}) does not match the detected host platform (linux/${wantArch}) and no specific platform was requested` });
    }
    // 3. Layers: download in parallel, unpack in order.
    checkDepth(config.rootfs.diff_ids.length);
    await fetchLayers(images, access, client, remotePath(ref), manifest.layers, config.rootfs.diff_ids, progress, opts.signal);
    for (const l of manifest.layers) rememberSource(ref.domain, remotePath(ref), l.digest);
    // 4. Register: manifest, image, tag and digest reference.
    failpoint('pull-before-image');
    await images.content.write(manifestBody, manifestDigest);
    const before = images.images.resolveRef(referenceString(ref.digest ? ref : { ...ref, digest: undefined }));
    await images.images.add(manifest.config.digest, { manifest: manifestDigest });
    void manifestType;
    const named = { ...ref, tag: undefined, digest: undefined };
    await images.images.setRef(referenceString({ ...named, digest: topDigest }), manifest.config.digest);
    if (!ref.digest) await images.images.setRef(referenceString(ref), manifest.config.digest);
    progress({ status: `Digest: ${topDigest}` });
    const upToDate = before === manifest.config.digest;
    progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
    return manifest.config.digest;
  });
}

async function fetchConfig(images: ImageService, client: RegistryClient, repo: string, d: Descriptor) {
  if (d.size > 8 << 20) throw invalidParameter(`image config of ${d.size} bytes is larger than the 8 MiB Berth accepts`);
  if (!(await images.content.has(d.digest))) {
    const { stream } = await client.openBlob(repo, d.digest);
    await images.content.ingest(stream, { digest: d.digest, size: d.size });
  }
  return parseImageConfig(await images.content.read(d.digest));
}

async function fetchLayers(images: ImageService, access: RegistryAccess, client: RegistryClient, repo: string, layers: Descriptor[], diffIds: string[], progress: ProgressSink, signal: AbortSignal | undefined): Promise<void> {
  const chains = chainIds(diffIds);
  const present = chains.map((c) => images.layers.get(c) !== undefined);
  // The first missing layer and everything above it must be unpacked.
  const firstMissing = present.indexOf(false);
  if (firstMissing < 0) {
    for (const l of layers) progress(status(shortDigest(l.digest), 'Already exists'));
    return;
  }
  layers.forEach((l, i) => progress(status(shortDigest(l.digest), i < firstMissing ? 'Already exists' : 'Pulling fs layer')));
  // Each layer is downloaded and unpacked at once, streaming (a layer's directory does not
  // depend on its parents), several at a time; they are recorded in order at the end.
  const results = layers.map(() => {
    let resolve!: (s: StagedLayer) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<StagedLayer>((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {});
    return { promise, resolve, reject };
  });
  const staged: StagedLayer[] = [];
  // A layer that fails stops the others (their signal), and what they staged is discarded below.
  const tasks = layers.map((l, i) => async (failed: AbortSignal) => {
    if (i < firstMissing) return;
    try {
      const st = await fetchAndUnpack(images, client, repo, l, diffIds[i], progress, signal ? AbortSignal.any([signal, failed]) : failed);
      staged.push(st);
      results[i].resolve(st);
    } catch (e) {
      results[i].reject(e);
      throw e;
    }
  });
  const all = limitConcurrency(Math.max(1, access.maxConcurrentDownloads), tasks);
  all.catch(() => {});
  let parent = firstMissing > 0 ? chains[firstMissing - 1] : undefined;
  try {
    for (let i = firstMissing; i < layers.length; i++) {
      const st = await results[i].promise;
      const rec = await images.layers.commit(st, parent);
      staged.splice(staged.indexOf(st), 1);
      parent = rec.chainId;
      progress(status(shortDigest(layers[i].digest), 'Pull complete'));
    }
    await all;
  } catch (e) {
    // The first layer that failed tells why (the others may only have been stopped by it).
    const first = await all.then(() => undefined, (x: unknown) => x);
    for (const st of staged) await images.layers.discard(st);
    throw first ?? e;
  }
}

/** Downloads a layer into the content store and unpacks it from the same stream. */
async function fetchAndUnpack(images: ImageService, client: RegistryClient, repo: string, l: Descriptor, diffId: string, progress: ProgressSink, signal: AbortSignal | undefined): Promise<StagedLayer> {
  const id = shortDigest(l.digest);
  let st: StagedLayer;
  if (await images.content.has(l.digest)) {
    progress(status(id, 'Download complete'));
    const { staging, diffDir } = await images.layers.stage();
    try {
      const r = await workers.run({ file: images.content.blobPath(l.digest), digest: l.digest, diffDir }, (n) => progress(byteMessage('Extracting', id, n, l.size)), signal);
      st = { staging, diffId: r.diffId, size: r.unpackedSize };
    } catch (e) {
      await images.layers.discard({ staging, diffId: '', size: 0 });
      throw e;
    }
  } else {
    if (l.urls?.length) throw invalidParameter(`layer ${l.digest} is a foreign layer (${l.urls[0]}); foreign layers are not supported`);
    st = await downloadAndUnpack(images, client, repo, l, id, progress, signal);
    progress(status(id, 'Verifying Checksum'));
    progress(status(id, 'Download complete'));
  }
  if (st.diffId !== diffId) {
    await images.layers.discard(st);
    throw invalidParameter(`layer ${l.digest}: its content has diff ID ${st.diffId}, the image config says ${diffId}`);
  }
  return st;
}


/**
 * Downloads and unpacks one layer as a job on the worker pool (the event loop stays free for
 * the other layers and the API), then moves the verified blob into the content store. A 401
 * (a token that expired mid-pull) is answered by authenticating again, once.
 */
async function downloadAndUnpack(images: ImageService, client: RegistryClient, repo: string, l: Descriptor, id: string, progress: ProgressSink, signal: AbortSignal | undefined): Promise<StagedLayer> {
  const report = (current: number) => progress(byteMessage('Downloading', id, current, l.size));
  for (let attempt = 0; ; attempt++) {
    const { staging, diffDir } = await images.layers.stage();
    const ingestPath = images.content.tempPath();
    try {
      const req = await client.blobRequest(repo, l.digest);
      const e = client.endpoint;
      const r = await workers.run({
        ...req, insecureTls: e.insecureTls, ...(e.ca ? { ca: new Uint8Array(e.ca) } : {}), timeoutMs: client.timeoutMs,
        digest: l.digest, size: l.size, ingestPath, diffDir,
      }, report, signal);
      if (await images.content.has(l.digest)) await rm(ingestPath, { force: true });
      else await images.content.commit(ingestPath, l.digest);
      return { staging, diffId: r.diffId, size: r.unpackedSize };
    } catch (err) {
      await images.layers.discard({ staging, diffId: '', size: 0 });
      await rm(ingestPath, { force: true });
      if (err instanceof JobHttpError && err.status === 401 && attempt === 0) {
        await client.reauthenticate(repo, l.digest);
        continue;
      }
      throw err;
    }
  }
}

const workers = layerWorkers;

