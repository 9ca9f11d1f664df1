/**
 * /v2/<name>/manifests/<reference>: GET/HEAD by tag or digest with content negotiation, PUT
 * with validation (every referenced blob and child manifest must already be in the
 * repository; the subject need not be), DELETE of a tag or of a manifest with its tags.
 * A manifest PUT by digest is named by that digest's algorithm (sha256 or sha512), by tag
 * with sha256; `?tag=` parameters on a PUT tag it too (answered with `OCI-Tag`).
 */
import { CANONICAL_ALGORITHM, digestAlgorithm, digestOf } from '../../lib/digest.ts';
import { RegistryError } from '../errcode.ts';
import { checkDigest, isDigestRef, isValidTag } from '../names.ts';
import { INDEX_TYPES, MANIFEST_MAX_BYTES, MANIFEST_TYPES, defaultPlatformChild, parseManifest } from '../manifest.ts';
import { readBody, sendEmpty, type RequestContext } from './context.ts';

function accepted(header: string | string[] | undefined): string[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.flatMap((v) => v.split(',')).map((t) => t.split(';')[0].trim().toLowerCase()).filter(Boolean);
}

async function resolve(ctx: RequestContext): Promise<string> {
  const ref = ctx.param;
  if (isDigestRef(ref)) return checkDigest(ref);
  if (!isValidTag(ref)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag: ref });
  return ctx.storage.resolveTag(ctx.name, ref);
}

export async function getManifest(ctx: RequestContext): Promise<void> {
  let m = await ctx.storage.getManifest(ctx.name, await resolve(ctx));
  const accepts = accepted(ctx.req.headers.accept);
  // A client that cannot read indexes (old docker, some tools) gets the linux/amd64 image,
  // as distribution does, rather than a type it would reject.
  if (INDEX_TYPES.includes(m.mediaType) && accepts.length && !accepts.includes(m.mediaType) && !accepts.includes('*/*')
    && accepts.some((a) => MANIFEST_TYPES.includes(a) && !INDEX_TYPES.includes(a))) {
    const child = defaultPlatformChild(m.body);
    if (child && (await ctx.storage.hasManifest(ctx.name, child))) m = await ctx.storage.getManifest(ctx.name, child);
  }
  ctx.res.writeHead(200, {
    'Content-Type': m.mediaType,
    'Content-Length': m.body.length,
    'Docker-Content-Digest': m.digest,
    ETag: `"${m.digest}"`,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : m.body);
}

/** The tags a PUT creates: the reference when it is a tag, and every `?tag=`. */
function tagsToPut(ref: string, byDigest: boolean, url: URL): { tags: string[]; params: string[] } {
  const params = [...new Set(url.searchParams.getAll('tag'))];
  for (const t of [...(byDigest ? [] : [ref]), ...params]) {
    if (!isValidTag(t)) throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(t)}`, { tag: t });
  }
  return { tags: byDigest ? params : [...new Set([ref, ...params])], params };
}

export async function putManifest(ctx: RequestContext): Promise<void> {
  const ref = ctx.param;
  const byDigest = isDigestRef(ref);
  if (byDigest) checkDigest(ref);
  const { tags, params } = tagsToPut(ref, byDigest, ctx.url);
  const body = await readBody(ctx.req, MANIFEST_MAX_BYTES, () => new RegistryError('MANIFEST_INVALID', `manifest invalid: larger than ${MANIFEST_MAX_BYTES} bytes`));
  const parsed = parseManifest(body, ctx.req.headers['content-type']);
  // Named as the client names it: a sha512 reference is checked and stored as sha512.
  const digest = digestOf(body, byDigest ? digestAlgorithm(ref) : CANONICAL_ALGORITHM);
  if (byDigest && ref !== digest) throw new RegistryError('DIGEST_INVALID', undefined, { digest: ref, actual: digest });
  for (const b of parsed.blobs) {
    await ctx.storage.statBlob(ctx.name, b).catch(() => {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, { digest: b });
    });
  }
  for (const m of parsed.manifests) {
    if (!(await ctx.storage.hasManifest(ctx.name, m.digest))) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, { digest: m.digest });
  }
  await ctx.storage.putManifest(ctx.name, { ...parsed, body, digest }, tags);
  const headers: Record<string, string> = { Location: `/v2/${ctx.name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  // Tells the client the registry indexed the subject, so it need not maintain a referrers tag.
  if (parsed.subject !== undefined) headers['OCI-Subject'] = parsed.subject;
  if (params.length) headers['OCI-Tag'] = params.join(', ');
  sendEmpty(ctx.res, 201, headers);
}

export async function deleteManifest(ctx: RequestContext): Promise<void> {
  const ref = ctx.param;
  if (isDigestRef(ref)) await ctx.storage.deleteManifest(ctx.name, checkDigest(ref));
  else if (isValidTag(ref)) await ctx.storage.deleteTag(ctx.name, ref);
  else throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag: ref });
  sendEmpty(ctx.res, 202);
}
