/**
 * GET /v2/<name>/referrers/<digest> (distribution-spec 1.1): an OCI image index listing the
 * manifests of the repository whose `subject` is <digest>, from the referrers index
 * (storage/referrers.ts). Never 404: an unknown subject or repository has no referrers, and
 * the answer is an empty list. `?artifactType=` filters, and says so in `OCI-Filters-Applied`.
 */
import { checkDigest } from '../names.ts';
import { MEDIA } from '../manifest.ts';
import type { RequestContext } from './context.ts';

export async function listReferrers(ctx: RequestContext): Promise<void> {
  ctx.req.resume();
  const subject = checkDigest(ctx.param);
  const artifactType = ctx.url.searchParams.get('artifactType');
  let manifests = await ctx.storage.listReferrers(ctx.name, subject);
  const headers: Record<string, string> = {};
  if (artifactType) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests });
  // The spec fixes the Content-Type exactly (clients compare it), so no charset parameter.
  ctx.res.writeHead(200, { ...headers, 'Content-Type': MEDIA.ociIndex, 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}
