/** What every registry handler gets: the request, the response, storage and the route. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryStorage } from '../storage/storage.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  storage: RegistryStorage;
  /** Repository name, for repository routes. */
  name: string;
  /** The route's last path parameter: a reference, digest or upload id. */
  param: string;
}

export type Handler = (ctx: RequestContext) => Promise<void>;

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

/** Reads a whole request body, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number, tooBig: () => Error): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.resume();
      throw tooBig();
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
