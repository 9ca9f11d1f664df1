/**
 * Image media types and the manifests that carry them (Docker schema2 and OCI), parsed and
 * checked before anything they point at is fetched.
 */
import { invalidParameter } from '../errdefs/index.ts';
import { isDigest } from '../lib/digest.ts';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

export const MEDIA_TYPES = {
  manifests: [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex],
  layers: [MEDIA.dockerLayer, MEDIA.ociLayerTar, MEDIA.ociLayerGzip, MEDIA.ociLayerZstd, 'application/vnd.docker.image.rootfs.diff.tar'],
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || typeof d.size !== 'number') {
    throw invalidParameter(`invalid manifest: ${what} is not a valid descriptor`);
  }
  if (!isDigest(d.digest)) throw invalidParameter(`invalid manifest: ${what} has an invalid digest ${d.digest}`);
  if (!Number.isInteger(d.size) || d.size < 0) throw invalidParameter(`invalid manifest: ${what} has an invalid size`);
  return d as Descriptor;
}

/** Parses a manifest or index, using the Content-Type when the body doesn't say. */
export function parseManifest(body: Buffer, contentType: string): ImageManifest | ImageIndex {
  let v: { mediaType?: string; schemaVersion?: number; config?: unknown; layers?: unknown; manifests?: unknown };
  try {
    v = JSON.parse(body.toString('utf8')) as typeof v;
  } catch {
    throw invalidParameter('invalid manifest: not JSON');
  }
  const mediaType = v.mediaType ?? contentType;
  if (v.schemaVersion === 1 || /distribution\.manifest\.v1/.test(mediaType)) {
    throw invalidParameter('Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Push the image again in a current format.');
  }
  if (mediaType === MEDIA.dockerList || mediaType === MEDIA.ociIndex || (!v.mediaType && Array.isArray(v.manifests))) {
    if (!Array.isArray(v.manifests)) throw invalidParameter('invalid manifest list: no manifests');
    return { kind: 'index', mediaType: mediaType || MEDIA.ociIndex, manifests: v.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  if (mediaType === MEDIA.dockerManifest || mediaType === MEDIA.ociManifest || (!v.mediaType && v.config)) {
    if (!Array.isArray(v.layers)) throw invalidParameter('invalid manifest: no layers');
    const layers = v.layers.map((l, i) => descriptor(l, `layers[${i}]`));
    for (const l of layers) {
      if (!MEDIA_TYPES.layers.includes(l.mediaType) && l.mediaType !== MEDIA.dockerForeignLayer) {
        throw invalidParameter(`unsupported layer media type ${l.mediaType}`);
      }
    }
    if (layers.length > 127) throw invalidParameter('max depth exceeded: an image cannot have more than 127 layers');
    return { kind: 'manifest', mediaType: mediaType || MEDIA.ociManifest, config: descriptor(v.config, 'config'), layers };
  }
  throw invalidParameter(`unsupported manifest media type ${mediaType || '(none)'}`);
}

export { goArch, parsePlatform, type Platform } from '../lib/platform.ts';

/** Picks the manifest for a platform from an index, as containerd's platform matcher does. */
export function selectPlatform(index: ImageIndex, want: { os: string; architecture: string; variant?: string }): Descriptor | undefined {
  const candidates = index.manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  if (!candidates.length) return undefined;
  if (want.variant) return candidates.find((m) => m.platform?.variant === want.variant);
  return candidates.find((m) => !m.platform?.variant || m.platform.variant === 'v8') ?? candidates[0];
}
