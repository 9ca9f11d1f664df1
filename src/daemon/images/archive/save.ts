/**
 * `docker save`: images as one tar, in the layout docker 25+ writes — an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/…`) that also carries docker's `manifest.json`
 * and `repositories`, so both `docker load` paths and OCI tools read it. Blobs are written as
 * stored (layers stay compressed, as pulled): nothing is recompressed, and the archive is a
 * straight copy of the content store.
 */
import { failpoint } from '../../../lib/failpoint.ts';
import { createHash } from 'node:crypto';
import { digestAlgorithm, sha256 } from '../../../lib/digest.ts';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { waitDrain } from '../../../lib/stdcopy.ts';
import { encodeHeader, padding, END } from '../../../lib/tar/header.ts';
import { invalidParameter } from '../../../errdefs/index.ts';
import { corruptedBlob } from '../../../store/content/store.ts';
import { confirmPlatform, type Platform } from '../../../lib/platform.ts';
import { parseNormalizedNamed, withDefaultTag, referenceString, familiarString, familiarName, fullName, type Reference } from '../../../lib/reference.ts';
import { log } from '../../../lib/log.ts';
import type { Image } from '../../../store/metadata/images.ts';
import type { ImageService } from '../service.ts';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface SavedImage {
  img: Image;
  refs: Reference[];
}

const INDEX = 'application/vnd.oci.image.index.v1+json';

/** Which images and tags `names` mean, as moby's parseNames: a bare repository means all its tags. */
export function selectImages(images: ImageService, names: string[]): SavedImage[] {
  const byId = new Map<string, SavedImage>();
  const add = (img: Image, ref?: Reference) => {
    let s = byId.get(img.rec.id);
    if (!s) byId.set(img.rec.id, (s = { img, refs: [] }));
    if (ref && !s.refs.some((r) => referenceString(r) === referenceString(ref))) s.refs.push(ref);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try {
      ref = parseNormalizedNamed(name);
    } catch {
      ref = undefined;
    }
    if (ref && !ref.tag && !ref.digest) {
      // A bare repository name means every tag of it, when it has any.
      const repo = fullName(ref);
      let found = false;
      for (const img of images.images.all()) {
        for (const r of images.images.refsOf(img.rec.id).map((x) => parseNormalizedNamed(x))) {
          if (r.tag && fullName(r) === repo) {
            add(img, r);
            found = true;
          }
        }
      }
      if (found) continue;
    }
    const img = images.lookup(name);
    const isId = img.rec.id === name || img.rec.id.startsWith(`sha256:${name}`) || img.rec.id.startsWith(name);
    if (!ref || isId) add(img);
    else add(img, ref.digest ? undefined : withDefaultTag(ref));
  }
  return [...byId.values()];
}

/** The manifest to save: the image's own, or a copy naming other stored copies of its layers (see manifestWithStoredLayers). */
async function manifestOf(images: ImageService, img: Image): Promise<{ digest: string; size: number; layers: Descriptor[]; body?: Buffer }> {
  if (!img.rec.manifest) throw invalidParameter(`image ${img.rec.id} has no manifest to save`);
  const m = await images.manifestWithStoredLayers(img, 'save');
  if (!m.substituted) return { digest: img.rec.manifest, size: m.body.length, layers: m.layers };
  return { digest: sha256(m.body), size: m.body.length, layers: m.layers, body: m.body };
}

/** Streams the archive for `names`; errors before the first byte reject, later ones end the stream with an error. */
export async function saveImages(images: ImageService, names: string[], platform?: Platform): Promise<Readable> {
  if (!names.length) throw invalidParameter('no images to save');
  const selected = selectImages(images, names);
  for (const s of selected) confirmPlatform(s.refs[0] ? familiarString(s.refs[0]) : s.img.rec.id, s.img.config, platform);
  const plans = [];
  for (const s of selected) plans.push({ ...s, manifest: await manifestOf(images, s.img) });

  const out = new PassThrough({ highWaterMark: 1 << 20 });
  // Blobs go straight from their files into the archive: ustar headers around them, no copies.
  const put = async (b: Buffer) => {
    if (!out.write(b)) await waitDrain(out);
  };
  const addFile = async (name: string, data: Buffer | string) => {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    await put(encodeHeader({ name, type: 'file', size: buf.length }));
    await put(buf);
    await put(padding(buf.length));
  };
  const addBlob = async (digest: string, written: Set<string>, image: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const size = await images.content.size(digest);
    await put(encodeHeader({ name: blobPath(digest), type: 'file', size }));
    let n = 0;
    // Hashed as it is written (no second pass): a damaged blob ends the archive with an error
    // naming it and its image, never a good-looking archive of bad content.
    const hash = createHash(digestAlgorithm(digest));
    for await (const chunk of createReadStream(images.content.blobPath(digest), { highWaterMark: 1 << 20 })) {
      n += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      await put(chunk as Buffer);
    }
    if (n !== size) throw new Error(`blob ${digest} changed size while it was saved`);
    failpoint('save-after-blob');
    if (`${digestAlgorithm(digest)}:${hash.digest('hex')}` !== digest) {
      throw corruptedBlob(digest, image);
    }
    await put(padding(size));
  };

  void (async () => {
    const written = new Set<string>();
    const index: Descriptor[] = [];
    const manifestJson: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const p of plans) {
      const name = p.refs[0] ? familiarString(p.refs[0]) : p.img.rec.id;
      for (const l of p.manifest.layers) await addBlob(l.digest, written, name);
      await addBlob(p.img.rec.id, written, name);
      if (!p.manifest.body) await addBlob(p.manifest.digest, written, name);
      else if (!written.has(p.manifest.digest)) {
        written.add(p.manifest.digest);
        await addFile(blobPath(p.manifest.digest), p.manifest.body);
      }
      const layerPaths = p.manifest.layers.map((l) => blobPath(l.digest));
      manifestJson.push({ Config: blobPath(p.img.rec.id), RepoTags: p.refs.length ? p.refs.map((r) => familiarString(r)) : null, Layers: layerPaths });
      const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: p.manifest.digest, size: p.manifest.size };
      if (!p.refs.length) index.push(desc);
      for (const r of p.refs) {
        index.push({ ...desc, annotations: { 'io.containerd.image.name': referenceString(r), 'org.opencontainers.image.ref.name': r.tag ?? 'latest' } });
        const top = p.manifest.layers[p.manifest.layers.length - 1];
        if (top) (repositories[familiarName(r)] ??= {})[r.tag ?? 'latest'] = top.digest.slice(7);
      }
    }
    await addFile('index.json', JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: index }));
    await addFile('manifest.json', JSON.stringify(manifestJson));
    await addFile('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (Object.keys(repositories).length) await addFile('repositories', JSON.stringify(repositories));
    out.end(END);
  })().catch((e: unknown) => {
    log.warn('save failed', { error: e });
    out.destroy(e instanceof Error ? e : new Error(String(e)));
  });
  return out;
}

/** An OCI layout's name for a blob: blobs/<algorithm>/<hex>. */
function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}
