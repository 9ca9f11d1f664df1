/**
 * Blob uploads: POST starts a session (or uploads monolithically with `?digest=`, or mounts a
 * blob from another repository with `?mount=&from=`), PATCH appends chunks, GET reports how
 * far it got (so a client can resume), PUT with `?digest=` ends it, DELETE cancels it.
 */
import { RegistryError } from '../errcode.ts';
import { checkDigest, isValidName } from '../names.ts';
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

export async function startUpload(ctx: RequestContext, mountAllowed: boolean): Promise<void> {
  const { storage, name, url, res } = ctx;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null) {
    const digest = checkDigest(mount);
    if (mountAllowed && from && isValidName(from)) {
      const found = await storage.statBlob(from, digest).then(() => true, () => false);
      if (found) {
        ctx.req.resume();
        await storage.linkBlob(name, digest);
        sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        return;
      }
    }
  }
  const digestParam = url.searchParams.get('digest');
  const uuid = await storage.startUpload(name);
  if (digestParam !== null) {
    const digest = checkDigest(digestParam);
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
