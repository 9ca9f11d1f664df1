/**
 * `docker push`: layers the registry lacks are uploaded (in parallel), layers it has in the
 * repository are skipped ("Layer already exists"), layers it has elsewhere are mounted
 * ("Mounted from …"), then the config and the manifest. Uncompressed layers (from `import`)
 * are compressed as they upload (gzip on every core), and the compressed blobs kept for later
 * pushes.
 */
import { failpoint } from '../../lib/failpoint.ts';
import { constants as zconst, createZstdCompress } from 'node:zlib';
import { PassThrough } from 'node:stream';
import { ParallelGzip } from '../../lib/pgzip.ts';
import { notFound, invalidParameter, kindOf, messageOf } from '../../errdefs/index.ts';
import { sha256 } from '../../lib/digest.ts';
import { familiarName, familiarString, fullName, referenceString, type Reference } from '../../lib/reference.ts';
import type { PushCompression } from '../../api/types.ts';
import { RegistryClient } from '../../distribution/client.ts';
import type { Credentials } from '../../distribution/auth.ts';
import { MEDIA, parseManifest, type Descriptor, type ImageManifest } from '../../distribution/media.ts';
import type { Image } from '../../store/metadata/images.ts';
import type { ImageService } from './service.ts';
import { byteProgress, limitConcurrency, shortDigest, status, type ProgressSink } from './progress.ts';
import { withEndpoints, type RegistryAccess } from './pull.ts';
import { rememberSource, sourcesOf } from './sources.ts';

/** The image's stored manifest, and those of its layers that are stored uncompressed (from import or commit). */
async function storedManifest(images: ImageService, img: Image): Promise<{ manifest: ImageManifest; body: Buffer; plain: Set<string> }> {
  if (!img.rec.manifest || !(await images.content.has(img.rec.manifest))) throw invalidParameter(`image ${img.rec.id} has no manifest; re-import or re-pull it`);
  // Layers a pull found already unpacked were never fetched: another stored copy goes instead.
  const { body } = await images.manifestWithStoredLayers(img, 'push');
  const parsed = parseManifest(body, MEDIA.ociManifest);
  if (parsed.kind !== 'manifest') throw invalidParameter('a local image must have a single-platform manifest');
  const plain = new Set(parsed.layers.filter((l) => l.mediaType === MEDIA.ociLayerTar || l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar').map((l) => l.digest));
  return { manifest: parsed, body, plain };
}

/** The manifest naming the compressed copies of its plain layers, recorded as the image's; the plain blobs go. */
async function recordCompressed(images: ImageService, img: Image, m: ImageManifest, body: Buffer, replaced: Map<string, Descriptor>): Promise<{ manifest: ImageManifest; body: Buffer }> {
  const manifest: ImageManifest = { ...m, layers: m.layers.map((l) => replaced.get(l.digest) ?? l) };
  const doc = JSON.parse(body.toString('utf8')) as { layers: Descriptor[] };
  doc.layers = manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
  const newBody = Buffer.from(JSON.stringify(doc));
  const w = await images.content.write(newBody);
  const previous = img.rec.manifest;
  img.rec.manifest = w.digest;
  await images.images.update(img);
  // The uncompressed blobs and the manifest naming them are nobody's now: they go.
  await images.dropUnreferencedBlobs([...(previous ? [previous] : []), ...replaced.keys()]);
  return { manifest, body: newBody };
}

/**
 * A plain layer compressed as it is uploaded (docker's streamed upload: the digest is sent
 * last), and the compressed blob kept, so later pushes send it as it is.
 * gzip: deflated on every core, and stored where the data does not compress (lib/pgzip.ts).
 * zstd (asked for): OCI's tar+zstd, at zstd's default level 3.
 */
async function compressAndPush(images: ImageService, client: RegistryClient, ref: Reference, shown: string, l: Descriptor, id: string, compression: PushCompression, progress: ProgressSink): Promise<Descriptor> {
  const src = images.content.openVerified(l.digest, shown);
  // Progress counts the layer's own bytes, as docker's does.
  const tap = byteProgress(progress, id, 'Pushing', l.size);
  const gz = compression === 'zstd' ? createZstdCompress() : new ParallelGzip({ level: zconst.Z_BEST_SPEED });
  const toStore = new PassThrough({ highWaterMark: 1 << 20 });
  const toRegistry = new PassThrough({ highWaterMark: 1 << 20 });
  // The first failure of the layer's own streams (a blob damaged on disk) is what the push
  // reports, rather than the upload it cut short.
  let failure: unknown;
  src.on('error', (e) => {
    failure ??= e;
    tap.destroy(e);
  });
  tap.on('error', (e) => gz.destroy(e));
  gz.on('error', (e) => {
    failure ??= e;
    toStore.destroy(e);
    toRegistry.destroy(e);
  });
  // Their errors reach the push through `stored` and the upload: one that comes before the
  // upload reads (a small layer read whole while the upload is being opened) must not be an
  // unhandled 'error' that ends berthd.
  toStore.on('error', () => {});
  toRegistry.on('error', () => {});
  src.pipe(tap).pipe(gz);
  gz.pipe(toStore);
  gz.pipe(toRegistry);
  const stored = images.content.ingest(toStore);
  stored.catch(() => {});
  try {
    await client.pushStreamedBlob(ref.path, toRegistry, async () => (await stored).digest);
  } catch (e) {
    gz.destroy();
    toStore.destroy();
    const kept = await stored.catch(() => undefined);
    if (kept) await images.dropUnreferencedBlobs([kept.digest]);
    throw failure ?? e;
  }
  const r = await stored;
  progress(status(id, 'Pushed'));
  rememberSource(ref.domain, ref.path, r.digest);
  return { mediaType: compression === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayerGzip, digest: r.digest, size: r.size };
}

export async function pushImage(images: ImageService, access: RegistryAccess, ref: Reference, creds: Credentials | undefined, progress: ProgressSink, compression: PushCompression = 'gzip'): Promise<{ digest: string; size: number }> {
  const tag = ref.tag ?? 'latest';
  const key = referenceString({ ...ref, tag, digest: undefined });
  // How the image is named to the user (in a damaged blob's error).
  const shown = familiarString({ ...ref, tag, digest: undefined });
  const id = images.images.resolveRef(key);
  const img = id ? images.images.get(id) : undefined;
  // The repository is named before the image is looked for, so a missing one is an error in
  // the stream, as dockerd answers.
  progress({ status: `The push refers to repository [${fullName(ref)}]` });
  if (!img) throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  const repo = ref.path;
  const stored = await storedManifest(images, img);
  // Each layer's lines are named by its diff ID, as docker's are (the blob's digest is another
  // for a compressed layer): the manifest's layers and the config's diff IDs go in step.
  const diffIds = img.config.rootfs.diff_ids;
  const diffOf = new Map(stored.manifest.layers.map((l, i) => [l.digest, diffIds[i] ?? l.digest]));
  const diffId = (l: Descriptor) => diffOf.get(l.digest) ?? l.digest;
  const layerId = (l: Descriptor) => shortDigest(diffId(l));
  const layers = [...stored.manifest.layers].reverse();
  for (const l of layers) progress(status(layerId(l), 'Preparing'));
  if (layers.length > 5) for (const l of layers.slice(5)) progress(status(layerId(l), 'Waiting'));
  return withEndpoints(access, ref.domain, creds, async (client) => {
    try {
      // Plain layers are compressed while they upload, unless a compressed copy is stored
      // already (pushed before with another image); a layer named twice goes once.
      const kept = await images.compressedBlobs(new Set(stored.manifest.layers.filter((l) => stored.plain.has(l.digest)).map(diffId)), compression);
      const reused = new Map<string, Descriptor>();
      const compressed = new Map<string, Promise<Descriptor>>();
      await limitConcurrency(5, layers.map((l) => async () => {
        if (!stored.plain.has(l.digest)) return pushLayer(images, client, ref, shown, repo, l, layerId(l), progress);
        const copy = kept.get(diffId(l));
        if (copy) {
          if (reused.has(l.digest)) return;
          reused.set(l.digest, copy);
          return pushLayer(images, client, ref, shown, repo, copy, layerId(l), progress);
        }
        let p = compressed.get(l.digest);
        if (!p) compressed.set(l.digest, (p = compressAndPush(images, client, ref, shown, l, layerId(l), compression, progress)));
        await p;
      }));
      const replaced = new Map<string, Descriptor>(reused);
      for (const [digest, p] of compressed) replaced.set(digest, await p);
      const { manifest, body } = replaced.size ? await recordCompressed(images, img, stored.manifest, stored.body, replaced) : stored;
      failpoint('push-after-compress');
      if (!(await client.hasBlob(repo, manifest.config.digest))) {
        const size = await images.content.size(manifest.config.digest);
        await client.pushBlob(repo, manifest.config.digest, size, () => images.content.openVerified(manifest.config.digest, shown));
      }
      failpoint('push-before-manifest');
      const digest = (await client.putManifest(repo, tag, manifest.mediaType, body)) ?? sha256(body);
      const bodyDigest = sha256(body);
      if (digest !== bodyDigest) throw invalidParameter(`the registry stored the manifest as ${digest}, expected ${bodyDigest}`);
      await images.images.setRef(referenceString({ ...ref, tag: undefined, digest }), img.rec.id);
      progress({ status: `${tag}: digest: ${digest} size: ${body.length}` });
      progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: body.length } });
      return { digest, size: body.length };
    } catch (e) {
      if (kindOf(e) === 'Unauthorized') throw Object.assign(e as Error, { message: messageOf(e).includes('authentication required') ? 'unauthorized: authentication required' : messageOf(e) });
      throw e;
    }
  });
}

async function pushLayer(images: ImageService, client: RegistryClient, ref: Reference, shown: string, repo: string, l: Descriptor, id: string, progress: ProgressSink): Promise<void> {
  if (await client.hasBlob(repo, l.digest)) {
    progress(status(id, 'Layer already exists'));
    rememberSource(ref.domain, repo, l.digest);
    return;
  }
  for (const from of sourcesOf(ref.domain, l.digest, repo)) {
    if (await client.mountBlob(repo, l.digest, from).catch(() => false)) {
      progress(status(id, `Mounted from ${from}`));
      rememberSource(ref.domain, repo, l.digest);
      return;
    }
  }
  const size = await images.content.size(l.digest);
  await client.pushBlob(repo, l.digest, size, () => {
    const tap = byteProgress(progress, id, 'Pushing', size);
    const src = images.content.openVerified(l.digest, shown);
    src.on('error', (e) => tap.destroy(e));
    return src.pipe(tap);
  });
  progress(status(id, 'Pushed'));
  rememberSource(ref.domain, repo, l.digest);
}
