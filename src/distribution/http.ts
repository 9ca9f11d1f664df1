/**
 * HTTP for registry traffic: node:http/https with streaming bodies, redirects (blob GETs are
 * often redirected to storage), per-request timeouts that also catch a stalled transfer, and
 * TLS options per registry (custom CA, or none at all for insecure registries).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { unavailable } from '../errdefs/index.ts';

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Time allowed to connect and receive headers, and the longest silence while streaming. */
  timeoutMs?: number;
  /** Accept any server certificate (insecure registries over TLS). */
  insecureTls?: boolean;
  ca?: Buffer;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: IncomingMessage;
  url: string;
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const DEFAULT_TIMEOUT = 30_000;

function once(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    // node:https (and OpenSSL's TLS) is loaded on the first https request: an idle berthd
    // that never talks to a TLS registry does not pay for it.
    const fn = isHttps ? process.getBuiltinModule('node:https').request : httpRequest;
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
    const req = fn(url, {
      method: opts.method ?? 'GET',
      headers: { 'User-Agent': 'berth/0.1 (+docker-compatible)', ...(opts.headers ?? {}) },
      ...(isHttps ? { rejectUnauthorized: !opts.insecureTls, ...(opts.ca ? { ca: opts.ca } : {}) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    req.setTimeout(timeout, () => req.destroy(unavailable(`${opts.method ?? 'GET'} ${url.href}: timed out after ${timeout / 1000}s without an answer`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError' || (e as { kind?: string }).kind) return reject(e);
      reject(unavailable(`${opts.method ?? 'GET'} ${url.href}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? `dial tcp: lookup ${url.hostname}: no such host` : e.message}`, e));
    });
    req.on('response', (res) => {
      // A stalled transfer: no byte for `timeout` ms ends the body with an error.
      res.setTimeout(timeout, () => res.destroy(unavailable(`${url.href}: transfer stalled for ${timeout / 1000}s`)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.href });
    });
    const body = opts.body;
    if (!body) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      // A body that fails, or is destroyed before its end (even before this request began to
      // read it: its 'error' has then been and gone), ends the request: never a request left
      // waiting for a body that will not come.
      const cut = () => req.destroy(body.errored ?? unavailable(`${opts.method ?? 'GET'} ${url.href}: the request's body was cut off`));
      if (body.destroyed && !body.readableEnded) return void cut();
      body.on('error', (e) => req.destroy(e));
      body.on('close', () => body.readableEnded || cut());
      body.pipe(req);
    }
  });
}

/** Sends a request, following redirects for GET/HEAD. The body stream must be consumed. */
export async function send(urlStr: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  let url = new URL(urlStr);
  for (let i = 0; ; i++) {
    const res = await once(url, opts);
    const loc = header(res, 'location');
    const method = opts.method ?? 'GET';
    if ([301, 302, 303, 307, 308].includes(res.status) && loc && (method === 'GET' || method === 'HEAD') && i < (opts.maxRedirects ?? 5)) {
      res.body.resume();
      const next = new URL(loc, url);
      // Credentials stay with the registry; a redirect to storage goes without them.
      if (next.host !== url.host && opts.headers?.Authorization) {
        const { Authorization: _drop, ...rest } = opts.headers;
        void _drop;
        opts = { ...opts, headers: rest };
      }
      url = next;
      continue;
    }
    return res;
  }
}

export async function readBody(res: HttpResponse, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw unavailable(`${res.url}: response larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
