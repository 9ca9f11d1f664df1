/**
 * Manifest validation on PUT: the four media types the registry stores (Docker schema2
 * manifest and manifest list, OCI manifest and index), what each references, and the checks
 * distribution makes before accepting one. Also what the referrers API needs of a manifest:
 * its `subject` and the descriptor it is listed with.
 */
import { RegistryError } from './errcode.ts';
import { checkDigest } from './names.ts';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const MANIFEST_TYPES: readonly string[] = Object.values(MEDIA);
export const INDEX_TYPES: readonly string[] = [MEDIA.dockerList, MEDIA.ociIndex];
/** distribution's cap: a bigger body is refused before it is parsed. */
export const MANIFEST_MAX_BYTES = 4 << 20;

const SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'];
// Layers that live elsewhere (Windows base layers): referenced by URL, not stored here.
const FOREIGN = ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'];

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { architecture?: string; os?: string; variant?: string };
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs (config, layers) that must already be in the repository. */
  blobs: string[];
  /** Child manifests (of an index) that must already be in the repository. */
  manifests: Descriptor[];
  /**
   * The digest of the manifest this one refers to (`subject`), which need not exist: the spec
   * lets referrers be pushed before their subject.
   */
  subject?: string;
  /** What the referrers API lists it as: `artifactType`, else an image manifest's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (why: string) => new RegistryError('MANIFEST_INVALID', `manifest invalid: ${why}`);

function descriptor(v: unknown, where: string): Descriptor {
  if (!v || typeof v !== 'object') throw invalid(`${where} is not a descriptor`);
  const d = v as Record<string, unknown>;
  if (typeof d.digest !== 'string') throw invalid(`${where} has no digest`);
  try {
    checkDigest(d.digest);
  } catch {
    throw invalid(`${where} has an invalid digest ${JSON.stringify(d.digest)}`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where} has an invalid size`);
  return d as unknown as Descriptor;
}

/** The media type a body declares, when the request's Content-Type does not say. */
function sniff(doc: Record<string, unknown>): string | undefined {
  if (typeof doc.mediaType === 'string') return doc.mediaType;
  if (Array.isArray(doc.manifests)) return MEDIA.ociIndex;
  if (doc.config) return MEDIA.ociManifest;
  return undefined;
}

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    doc = v as Record<string, unknown>;
  } catch (e) {
    throw invalid(`malformed JSON: ${(e as Error).message}`);
  }
  const header = contentType?.split(';')[0].trim().toLowerCase();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const mediaType = header && header !== 'application/octet-stream' && header !== 'application/json' ? header : sniff(doc);
  if (!mediaType) throw invalid('no media type');
  if (SCHEMA1.includes(mediaType) || doc.schemaVersion === 1) throw invalid('schema1 manifests are not supported');
  if (!MANIFEST_TYPES.includes(mediaType)) throw invalid(`unsupported media type ${JSON.stringify(mediaType)}`);
  if (declared !== undefined && declared !== mediaType) throw invalid(`mediaType ${JSON.stringify(declared)} does not match Content-Type ${JSON.stringify(mediaType)}`);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const refs = referrerFields(doc);
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests must be a list');
    const manifests = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
    return { mediaType, blobs: [], manifests, ...refs };
  }
  const config = descriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw invalid('layers must be a list');
  const layers = doc.layers.map((l, i) => descriptor(l, `layers[${i}]`));
  const blobs = [config.digest];
  for (const l of layers) {
    if (l.urls?.length || (l.mediaType && FOREIGN.includes(l.mediaType))) continue;
    blobs.push(l.digest);
  }
  // An image manifest without an artifactType is listed as its config's type (spec, "Listing Referrers").
  const artifactType = refs.artifactType ?? (typeof config.mediaType === 'string' && config.mediaType ? config.mediaType : undefined);
  return { mediaType, blobs, manifests: [], ...refs, ...(artifactType !== undefined ? { artifactType } : {}) };
}

/**
 * `subject`, `artifactType` and `annotations`. A subject must be a valid descriptor (its digest
 * names a record on disk); the other two are only copied into referrers entries, so ill-typed
 * values are left out rather than made a reason to refuse a manifest that was accepted before.
 */
function referrerFields(doc: Record<string, unknown>): Pick<ParsedManifest, 'subject' | 'artifactType' | 'annotations'> {
  const out: Pick<ParsedManifest, 'subject' | 'artifactType' | 'annotations'> = {};
  if (doc.subject !== undefined && doc.subject !== null) out.subject = descriptor(doc.subject, 'subject').digest;
  if (typeof doc.artifactType === 'string' && doc.artifactType) out.artifactType = doc.artifactType;
  const a = doc.annotations;
  if (a && typeof a === 'object' && !Array.isArray(a) && Object.values(a).every((v) => typeof v === 'string')) out.annotations = a as Record<string, string>;
  return out;
}

/** What a client that does not accept indexes gets instead: the linux/amd64 entry. */
export function defaultPlatformChild(body: Buffer): string | undefined {
  const doc = JSON.parse(body.toString('utf8')) as { manifests?: Descriptor[] };
  return doc.manifests?.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64')?.digest;
}
