/**
 * Synthetic images for registry tests and benchmarks: layers of random (incompressible)
 * bytes, gzip-compressed, with a config and an OCI manifest, uploaded straight through the
 * distribution API so a test controls every byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import tar from 'tar-stream';

export interface Blob {
  digest: string;
  data: Buffer;
  mediaType: string;
  diffId?: string;
}

export interface SyntheticImage {
  config: Blob;
  layers: Blob[];
  manifest: Buffer;
  manifestDigest: string;
}

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function tarOf(files: { name: string; data: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files) pack.entry({ name: f.name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, f.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An image of `sizes` layers (bytes of random data each), each holding /data/layer<i>.bin. */
export async function makeImage(sizes: number[], cmd: string[] = ['sh'], opts: { compression?: 'gzip' | 'zstd'; arch?: string } = {}): Promise<SyntheticImage> {
  const layers: Blob[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const raw = await tarOf([{ name: `data/layer${i}.bin`, data: randomBytes(sizes[i]) }]);
    const zstd = opts.compression === 'zstd';
    const packed = zstd ? zstdCompressSync(raw) : gzipSync(raw, { level: 1 });
    layers.push({ digest: sha(packed), data: packed, mediaType: `application/vnd.oci.image.layer.v1.tar+${zstd ? 'zstd' : 'gzip'}`, diffId: sha(raw) });
  }
  return imageOf(layers, cmd, opts.arch);
}

/** A gzip layer of many small files of random bytes (slow to unpack, for its size). */
export async function manyFilesLayer(count: number, size: number): Promise<Blob> {
  const raw = await tarOf(Array.from({ length: count }, (_, i) => ({ name: `many/${i}`, data: randomBytes(size) })));
  const packed = gzipSync(raw, { level: 1 });
  return { digest: sha(packed), data: packed, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: sha(raw) };
}

/** An image made of given layers (shared with other images, say). */
export function imageOf(layers: Blob[], cmd: string[] = ['sh'], arch?: string): SyntheticImage {
  const configData = Buffer.from(JSON.stringify({
    architecture: arch ?? (process.arch === 'x64' ? 'amd64' : process.arch),
    os: 'linux',
    created: new Date().toISOString(),
    config: { Cmd: cmd, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: new Date().toISOString(), created_by: 'synthetic' })),
  }));
  const config: Blob = { digest: sha(configData), data: configData, mediaType: 'application/vnd.oci.image.config.v1+json' };
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: configData.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
  }));
  return { config, layers, manifest, manifestDigest: sha(manifest) };
}

/** An OCI image layout archive (what `docker save` writes, less manifest.json) of images named by ref. */
export async function ociArchive(images: { ref: string; image: SyntheticImage }[]): Promise<Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const { image } of images) {
    for (const b of [image.config, ...image.layers]) blobs.set(b.digest, b.data);
    blobs.set(image.manifestDigest, image.manifest);
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: images.map(({ ref, image }) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: image.manifest.length,
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
    })),
  };
  return tarOf([
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...[...blobs].map(([digest, data]) => ({ name: `blobs/sha256/${digest.slice(7)}`, data })),
  ]);
}

/** Uploads an image's blobs and manifest to `base` (http://127.0.0.1:port) as repo:tag. */
export async function uploadImage(base: string, repo: string, tag: string, img: SyntheticImage, headers: Record<string, string> = {}): Promise<void> {
  for (const b of [img.config, ...img.layers]) {
    const open = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
    if (open.status !== 202) throw new Error(`upload open: ${open.status} ${await open.text()}`);
    const loc = new URL(open.headers.get('location')!, base);
    loc.searchParams.set('digest', b.digest);
    const put = await fetch(loc, { method: 'PUT', body: b.data, headers: { ...headers, 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`upload put: ${put.status} ${await put.text()}`);
  }
  const m = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: img.manifest, headers: { ...headers, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  if (m.status !== 201) throw new Error(`manifest put: ${m.status} ${await m.text()}`);
}

/** Builds a registry-ready image from an existing rootfs tar (e.g. busybox) plus one random layer. */
export async function imageFromTar(rootfsTar: Buffer, extraBytes = 0): Promise<SyntheticImage> {
  const layers: Blob[] = [];
  const add = (raw: Buffer) => {
    const gz = gzipSync(raw, { level: 1 });
    layers.push({ digest: sha(gz), data: gz, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', diffId: sha(raw) });
  };
  add(rootfsTar);
  if (extraBytes) add(await tarOf([{ name: 'extra.bin', data: randomBytes(extraBytes) }]));
  const configData = Buffer.from(JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const config: Blob = { digest: sha(configData), data: configData, mediaType: 'application/vnd.oci.image.config.v1+json' };
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: configData.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
  }));
  return { config, layers, manifest, manifestDigest: sha(manifest) };
}

/** Uploads an OCI index of `images` (platform → image) as repo:tag; returns its digest. */
export async function uploadIndex(base: string, repo: string, tag: string, images: { platform: { os: string; architecture: string }; image: SyntheticImage }[]): Promise<string> {
  for (const [i, e] of images.entries()) await uploadImage(base, repo, `part${i}`, e.image);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: images.map((e) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: e.image.manifestDigest, size: e.image.manifest.length, platform: e.platform })),
  }));
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: index, headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' } });
  if (r.status !== 201) throw new Error(`index put: ${r.status} ${await r.text()}`);
  return sha(index);
}

/**
 * An archive in docker's pre-1.10 layout (`repositories`, `<id>/json`, `<id>/layer.tar`,
 * `<id>/VERSION`, no manifest.json): a base v1 image holding `rootfsTar` made by docker 1.6
 * (converted through moby's V1Image), and a child made by docker 1.9 adding /legacy.txt, with
 * keys docker never knew, tagged `repo:tag`.
 */
export async function legacyArchive(rootfsTar: Buffer, repo: string, tag: string): Promise<Buffer> {
  const baseId = 'a'.repeat(63) + '1';
  const childId = 'b'.repeat(63) + '2';
  const base = {
    id: baseId,
    created: '2015-06-01T10:00:00.123456700Z',
    container: 'c'.repeat(64),
    container_config: { Hostname: 'c1', Cmd: ['/bin/sh', '-c', '#(nop) ADD file:abc in /'], Env: null, Labels: { z: '1', a: '<&>' } },
    docker_version: '1.6.2',
    config: { Cmd: 'sh', Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Volumes: null },
    architecture: 'amd64',
    os: 'linux',
    Size: 12345,
    unknown_old_key: 'dropped by V1Image',
  };
  const child = {
    id: childId,
    parent: baseId,
    created: '2016-01-02T03:04:05Z',
    container_config: { Cmd: ['/bin/sh', '-c', 'echo legacy > /legacy.txt'] },
    docker_version: '1.9.1',
    author: 'Old Docker <old@example.com>',
    config: { Cmd: ['cat', '/legacy.txt'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Labels: { b: '2', a: '1' } },
    architecture: 'amd64',
    os: 'linux',
    Size: 7,
    kept_custom: { b: 1.50, a: [1, 2] },
    throwaway: true,
  };
  const childLayer = await tarOf([{ name: 'legacy.txt', data: Buffer.from('legacy\n') }]);
  const pack = tar.pack();
  const add = (name: string, data: Buffer | string) => pack.entry({ name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, data);
  // Numbers as old docker wrote them (1.50 stays 1.50 in the config dockerd makes).
  add('repositories', JSON.stringify({ [repo]: { [tag]: childId } }));
  for (const [id, json, layer] of [[baseId, JSON.stringify(base), rootfsTar], [childId, JSON.stringify(child).replace('"b":1.5', '"b":1.50'), childLayer]] as const) {
    add(`${id}/VERSION`, '1.0');
    add(`${id}/json`, json);
    add(`${id}/layer.tar`, layer);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
