/**
 * GET/HEAD/DELETE /v2/<name>/blobs/<digest>: blobs (sha256 or sha512), with single byte
 * ranges. `Docker-Content-Digest` is the digest asked for, in its own algorithm.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { checkDigest } from '../names.ts';
import { sendEmpty, type RequestContext } from './context.ts';

/**
 * Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size; null when unsatisfiable or
 * invalid (`b < a`: RFC 9110 §14.2 lets a server reject an invalid range, as Go's
 * net/http does with 416), undefined for what is not one byte range (served whole).
 */
export function parseRange(header: string, size: number): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not a single range: serve it all
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return null;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) return null;
  return { start, end };
}

export async function getBlob(ctx: RequestContext): Promise<void> {
  const digest = checkDigest(ctx.param);
  const { size, path } = await ctx.storage.statBlob(ctx.name, digest);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const rangeHeader = ctx.req.headers.range;
  if (rangeHeader && size > 0) {
    const r = parseRange(rangeHeader, size);
    if (r === null) {
      sendEmpty(ctx.res, 416, { 'Content-Range': `bytes */${size}` });
      return;
    }
    if (r) {
      ({ start, end } = r);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
  ctx.res.writeHead(status, headers);
  if (ctx.req.method === 'HEAD' || size === 0) {
    ctx.res.end();
    return;
  }
  const src = createReadStream(path, { start, end, highWaterMark: 1 << 20 });
  if (status === 206) {
    await pipeline(src, ctx.res);
    return;
  }
  // A whole blob is hashed as it goes out: a damaged one is cut off (the client sees a failed
  // transfer, not content under the wrong name) and logged by the server, at no extra read.
  // The last chunk is held back until the hash is known, so a damaged blob never arrives whole.
  const alg = digest.slice(0, digest.indexOf(':'));
  const hash = createHash(alg);
  let held: Buffer | undefined;
  const verify = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      const out = held;
      held = chunk;
      cb(null, out);
    },
    flush(cb) {
      const got = `${alg}:${hash.digest('hex')}`;
      if (got === digest) return cb(null, held);
      // The server logs it; the client sees the transfer fail.
      cb(new Error(`blob ${digest} in ${ctx.name} is corrupted on disk (its content hashes to ${got}); it was not served whole`));
    },
  });
  await pipeline(src, verify, ctx.res);
}

export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const digest = checkDigest(ctx.param);
  await ctx.storage.unlinkBlob(ctx.name, digest);
  sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': digest });
}
