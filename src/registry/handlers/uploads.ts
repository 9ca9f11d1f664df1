/**
 * Blob uploads: POST starts a session (or uploads monolithically with `?digest=`, or mounts a
 * blob from another repository with `?mount=&from=`, or from wherever the registry has it with
 * `?mount=` alone), PATCH appends chunks, GET reports how far it got (so a client can resume),
 * PUT with `?digest=` ends it, DELETE cancels it. Digests may be sha256 or sha512; a session
 * hashes with the algorithm of `?digest=` or `?digest-algorithm=` as bytes arrive.
 */
import { digestAlgorithm } from '../../lib/digest.ts';
import { RegistryError } from '../errcode.ts';
import { checkAlgorithm, checkDigest, isValidName } from '../names.ts';
import { sendEmpty, type RequestContext } from './context.ts';

const rangeOf = (size: number) => `0-${Math.max(0, size - 1)}`;
const uploadUrl = (name: string, uuid: string) => `/v2/${name}/blobs/uploads/${uuid}`;

/** The start offset from `Content-Range: a-b` (or `bytes a-b/…`); undefined when absent. */
export function contentRangeStart(header: string | undefined, length: number | undefined): number | undefined {
  if (!header) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', undefined, { 'Content-Range': header });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || (length !== undefined && !Number.isNaN(length) && end - start + 1 !== length)) {
    throw new RegistryError('RANGE_INVALID', undefined, { 'Content-Range': header });
  }
  return start;
}

function contentLength(ctx: RequestContext): number | undefined {
  const v = ctx.req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

/** What the server decided a mount may do. */
export interface MountPolicy {
  /** The client may read the `from` repository. */
  fromAllowed: boolean;
  /**
   * A mount without `from` may link the blob from wherever the registry has it. The spec lets
   * a registry treat `from` as optional; the server allows it only where every account that
   * may push may also read every repository, so it reveals nothing the client could not pull.
   */
  anonymous: boolean;
}

/** Whether a mount can link `digest` into the repository without an upload. */
async function mountable(ctx: RequestContext, digest: string, from: string | null, policy: MountPolicy): Promise<boolean> {
  if (from === null || from === '') return policy.anonymous && ctx.storage.hasBlob(digest);
  if (!policy.fromAllowed || !isValidName(from)) return false;
  return ctx.storage.statBlob(from, digest).then(() => true, () => false);
}

export async function startUpload(ctx: RequestContext, policy: MountPolicy): Promise<void> {
  const { storage, name, url, res } = ctx;
  const mount = url.searchParams.get('mount');
  if (mount !== null) {
    const digest = checkDigest(mount);
    if (await mountable(ctx, digest, url.searchParams.get('from'), policy)) {
      ctx.req.resume();
      await storage.linkBlob(name, digest);
      sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
      return;
    }
  }
  const digestParam = url.searchParams.get('digest');
  const digest = digestParam !== null ? checkDigest(digestParam) : undefined;
  const algParam = url.searchParams.get('digest-algorithm');
  const uuid = await storage.startUpload(name, digest ? digestAlgorithm(digest) : algParam !== null ? checkAlgorithm(algParam) : undefined);
  if (digest) {
    try {
      await storage.finishUpload(name, uuid, digest, ctx.req);
    } catch (e) {
      await storage.cancelUpload(name, uuid).catch(() => {});
      throw e;
    }
    sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
    return;
  }
  ctx.req.resume();
  sendEmpty(res, 202, { Location: uploadUrl(name, uuid), Range: '0-0', 'Docker-Upload-UUID': uuid });
}

export async function uploadStatus(ctx: RequestContext): Promise<void> {
  const size = await ctx.storage.uploadSize(ctx.name, ctx.param);
  sendEmpty(ctx.res, 204, { Location: uploadUrl(ctx.name, ctx.param), Range: rangeOf(size), 'Docker-Upload-UUID': ctx.param });
}

export async function patchUpload(ctx: RequestContext): Promise<void> {
  const start = contentRangeStart(ctx.req.headers['content-range'], contentLength(ctx));
  try {
    const size = await ctx.storage.appendUpload(ctx.name, ctx.param, ctx.req, start);
    sendEmpty(ctx.res, 202, { Location: uploadUrl(ctx.name, ctx.param), Range: rangeOf(size), 'Docker-Upload-UUID': ctx.param });
  } catch (e) {
    if (e instanceof RegistryError && e.code === 'RANGE_INVALID') {
      // Tell the client where to resume from.
      const size = await ctx.storage.uploadSize(ctx.name, ctx.param).catch(() => 0);
      e.headers.Location = uploadUrl(ctx.name, ctx.param);
      e.headers.Range = rangeOf(size);
      e.headers['Docker-Upload-UUID'] = ctx.param;
    }
    throw e;
  }
}

export async function finishUpload(ctx: RequestContext): Promise<void> {
  const digest = checkDigest(ctx.url.searchParams.get('digest'));
  const len = contentLength(ctx);
  const hasBody = (len !== undefined && len > 0) || ctx.req.headers['transfer-encoding'] !== undefined;
  const start = hasBody ? contentRangeStart(ctx.req.headers['content-range'], len) : undefined;
  if (!hasBody) ctx.req.resume();
  await ctx.storage.finishUpload(ctx.name, ctx.param, digest, hasBody ? ctx.req : undefined, start);
  sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

export async function cancelUpload(ctx: RequestContext): Promise<void> {
  ctx.req.resume();
  await ctx.storage.cancelUpload(ctx.name, ctx.param);
  sendEmpty(ctx.res, 204);
}
