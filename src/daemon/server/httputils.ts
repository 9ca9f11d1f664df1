/**
 * Request and response helpers shared by the routers: docker's query conventions, bounded
 * JSON bodies, streaming responses and connection hijacking.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidParameter, messageOf } from '../../errdefs/index.ts';
import { markEarlyEof } from '../../lib/hijack.ts';
import type { GoDecoder } from '../../lib/gojson.ts';

export interface Ctx {
  req: IncomingMessage;
  /** Absent when the client asked to upgrade the connection (attach, exec start). */
  res: ServerResponse | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Negotiated API version of this request. */
  version: string;
  upgrade: { socket: Duplex; head: Buffer } | undefined;
  /** Fires when the client goes away. */
  signal: AbortSignal;
}

export type Handler = (ctx: Ctx) => Promise<void>;

const MAX_JSON = 8 * 1024 * 1024;

/** Marks the error of a body refused for its size (the server closes such connections). */
export const TOO_LARGE = Symbol.for('berth.requestTooLarge');
const tooLarge = () => Object.assign(invalidParameter('request body too large'), { [TOO_LARGE]: true });

/** docker's BoolValue: "", "0", "no", "false", "none" are false; anything else true. */
export function boolValue(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  if (v === null) return false;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

export function boolValueOrDefault(q: URLSearchParams, key: string, dflt: boolean): boolean {
  return q.has(key) ? boolValue(q, key) : dflt;
}

export function intValue(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidParameter(`invalid value for ${key}: ${v}`);
  return Number(v);
}

/** `since`/`until` as the CLI sends them: "<seconds>[.<nanoseconds>]". */
export function unixToNs(v: string | null): bigint | undefined {
  if (v === null || v === '' || v === '0') return undefined;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (!m) throw invalidParameter(`invalid value for time: ${v}`);
  return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Filters arrive as JSON: {"k":{"v":true}} (current) or {"k":["v"]} (old clients). */
export function parseFilters(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw invalidParameter(`invalid filter: ${raw}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidParameter(`invalid filter: ${raw}`);
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(val)) out.set(k, val.map(String));
    else if (val && typeof val === 'object') out.set(k, Object.entries(val as Record<string, unknown>).filter(([, b]) => b === true).map(([s]) => s));
    else throw invalidParameter(`invalid filter: ${raw}`);
  }
  return out;
}

/** Reads the request body (up to a limit); on upgraded connections, from the raw socket. */
export async function readBody(ctx: Ctx, limit = MAX_JSON): Promise<Buffer> {
  if (ctx.upgrade) return readUpgradeBody(ctx, limit);
  if (Number(ctx.req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const BODY_READ = Symbol('berth.upgradeBodyRead');

/**
 * The body of an upgrade request (Content-Length or chunked), read from the bytes Node had
 * already taken off the socket and then from the socket itself. What follows the body stays
 * in `head`: only bytes sent after the request are the stream's (stdin of attach and exec).
 */
async function readUpgradeBody(ctx: Ctx, limit: number): Promise<Buffer> {
  const up = ctx.upgrade!;
  const marked = up as unknown as Record<symbol, boolean>;
  if (marked[BODY_READ]) return Buffer.alloc(0);
  marked[BODY_READ] = true;
  const sock = up.socket;
  let buf = up.head;
  const more = async (): Promise<boolean> => {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      // Pause at once: a client may half-close right after its body (docker exec -i
      // </dev/null), and an 'end' emitted while we are not listening would be lost.
      const onData = (d: Buffer) => { sock.pause(); cleanup(); resolve(d); };
      const onEnd = () => { cleanup(); resolve(null); };
      const cleanup = () => { sock.off('data', onData); sock.off('end', onEnd); sock.off('close', onEnd); };
      sock.on('data', onData);
      sock.once('end', onEnd);
      sock.once('close', onEnd);
      // An upgraded socket comes paused: a body still in flight would never be read.
      sock.resume();
    });
    if (!chunk) return false;
    buf = Buffer.concat([buf, chunk]);
    return true;
  };
  const need = async (n: number) => {
    while (buf.length < n) if (!(await more())) throw invalidParameter('unexpected EOF in the request body');
  };
  let body: Buffer;
  if (/chunked/i.test(String(ctx.req.headers['transfer-encoding'] ?? ''))) {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      let eol = buf.indexOf('\r\n');
      while (eol < 0) {
        if (!(await more())) throw invalidParameter('unexpected EOF in the request body');
        eol = buf.indexOf('\r\n');
      }
      const len = parseInt(buf.subarray(0, eol).toString('latin1').split(';')[0].trim(), 16);
      if (!Number.isInteger(len) || len < 0) throw invalidParameter('malformed chunked request body');
      size += len;
      if (size > limit) throw tooLarge();
      await need(eol + 2 + len + 2);
      parts.push(buf.subarray(eol + 2, eol + 2 + len));
      buf = buf.subarray(eol + 2 + len + 2);
      if (len === 0) break;
    }
    body = Buffer.concat(parts);
  } else {
    const len = Number(ctx.req.headers['content-length'] ?? 0);
    if (!Number.isSafeInteger(len) || len < 0) throw invalidParameter('invalid Content-Length');
    if (len > limit) throw tooLarge();
    await need(len);
    body = buf.subarray(0, len);
    buf = buf.subarray(len);
  }
  sock.pause();
  up.head = buf;
  return body;
}

/**
 * Reads a JSON body and decodes it as dockerd's encoding/json would into the Go type `t`
 * (field names case-insensitive, unknown fields ignored, wrong types refused by field name).
 * An empty body is undefined.
 */
export async function readJson<R>(ctx: Ctx, decoder: GoDecoder<R>): Promise<R | undefined> {
  const body = await readBody(ctx);
  if (body.length === 0) return undefined;
  const ct = ctx.req.headers['content-type'];
  if (ct && !/json/i.test(ct)) throw invalidParameter(`unsupported Content-Type header (${ct}): must be 'application/json'`);
  try {
    return decoder.decode(body.toString('utf8'));
  } catch (e) {
    // moby's ReadJSON wraps what its decoder says: "invalid JSON: json: cannot unmarshal …"
    if (e instanceof Error && e.message.startsWith('json: ')) throw invalidParameter(`invalid JSON: ${e.message}`, e);
    throw e;
  }
}

export function writeJson(ctx: Ctx, status: number, value: unknown): void {
  const res = ctx.res;
  // Encoded once: measuring a string and then writing it scans its UTF-8 twice (a list of
  // 1,000 containers is ~700 KB).
  const body = Buffer.from(JSON.stringify(value) + '\n');
  if (!res) {
    const head = `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    ctx.upgrade?.socket.end(Buffer.concat([Buffer.from(head), body]));
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(ctx.req.method === 'HEAD' ? undefined : body);
}

export function noContent(ctx: Ctx, status = 204): void {
  if (ctx.res) {
    ctx.res.writeHead(status);
    ctx.res.end();
  } else {
    ctx.upgrade?.socket.end(`HTTP/1.1 ${status} No Content\r\n\r\n`);
  }
}

/**
 * Takes over the connection for a raw bidirectional stream (docker's hijack). With an
 * `Upgrade: tcp` request this answers 101; otherwise the plain 200 hijack of old clients.
 */
export async function hijack(ctx: Ctx, contentType: string): Promise<Duplex> {
  if (ctx.upgrade) {
    // A body sent with the request (dockerode's attach options) is not stdin: drop it.
    await readUpgradeBody(ctx, MAX_JSON);
    const { socket, head } = ctx.upgrade;
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    // Stay paused: stdin that arrives before the container's streams are connected must wait.
    // A half-close can come with the request itself; record it, because an idle paused
    // socket still emits 'end' before anyone is listening for stdin.
    if (socket.readableEnded) markEarlyEof(socket, head);
    else {
      if (head.length) socket.unshift(head);
      socket.once('end', () => markEarlyEof(socket, Buffer.alloc(0)));
    }
    return socket;
  }
  // The body of a plain request is not stdin either: read it all before the socket is
  // taken from the parser, or what is still in flight would reach the process.
  if (!ctx.req.readableEnded) await readBody(ctx, MAX_JSON);
  const res = ctx.res!;
  const socket = res.socket!;
  // Plain hijack (clients older than Upgrade: tcp): write the response head ourselves and take
  // the socket away from Node's HTTP parser, so what the client sends next is stdin, not a
  // new request. Node keeps the parser on `socket.parser` (as its own CONNECT handling uses).
  res.detachSocket(socket);
  const internals = socket as unknown as { parser?: { unconsume?: () => void; free?: () => void } | null };
  internals.parser?.unconsume?.();
  internals.parser = null;
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.pause();
  // with the headers every answer carries (moby copies them in: Api-Version, Ostype, Server…)
  const canonical = (h: string) => h.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');
  const common = res.getHeaderNames().filter((h) => h !== 'content-type').map((h) => `${canonical(h)}: ${String(res.getHeader(h))}\r\n`).join('');
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n${common}\r\n`);
  return socket;
}

/**
 * A JSON-lines progress response. Errors after the first line go in-band; with `inBand`, all
 * of them do, with status 200 (moby's load: the client reads the cause from the stream).
 */
export async function jsonStream(ctx: Ctx, work: (emit: (m: Record<string, unknown>) => void) => Promise<void>, opts: { inBand?: boolean } = {}): Promise<void> {
  const res = ctx.res!;
  let started = false;
  const emit = (m: Record<string, unknown>) => {
    if (!started) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      started = true;
    }
    res.write(JSON.stringify(m) + '\r\n');
  };
  try {
    await work(emit);
  } catch (e) {
    if (!started && !opts.inBand) throw e;
    const message = messageOf(e);
    // A build step's exit code travels with its error (the docker CLI exits with it).
    const code = (e as { exitCode?: number }).exitCode;
    emit({ errorDetail: { ...(code ? { code } : {}), message }, error: message });
  }
  if (!started) res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end();
}

