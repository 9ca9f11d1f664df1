/**
 * The Engine API server: HTTP on a Unix socket, docker's version negotiation and headers,
 * one error path (kind → status in httpstatus.ts), and hijacked connections for streams.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect } from 'node:net';
import { chmod, chown, rm } from 'node:fs/promises';
import { API_VERSION, MIN_API_VERSION, ENGINE_VERSION, compareVersions } from '../../api/version.ts';
import { invalidParameter, messageOf, notFound, kindOf } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { statusFromError } from './httpstatus.ts';
import { TOO_LARGE, type Ctx } from './httputils.ts';
import type { Router } from './router.ts';

const VERSIONED = /^\/v(\d+\.\d+)(\/.*)$/;

export function commonHeaders(): Record<string, string> {
  return {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/${ENGINE_VERSION} (linux)`,
  };
}

/** Where the API listens: a Unix socket (mode 0660, owned by `gid`), or TCP, with TLS or not. */
export type ListenEndpoint =
  | { kind: 'unix'; path: string; gid?: number }
  /** A socket systemd opened and passed (socket activation). */
  | { kind: 'fd'; fd: number }
  | { kind: 'tcp'; host: string; port: number; tls?: { cert: Buffer; key: Buffer; ca?: Buffer } };

export class ApiServer {
  private readonly router: Router;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Duplex>();

  /** The oldest API version answered (the daemon's configured floor). */
  private readonly minVersion: string;

  /** Told of every request as it arrives (berthd's idle collection counts them). */
  private readonly onRequest: () => void;

  constructor(router: Router, minVersion = MIN_API_VERSION, onRequest: () => void = () => {}) {
    this.router = router;
    this.minVersion = minVersion;
    this.onRequest = onRequest;
  }

  async listen(ep: ListenEndpoint): Promise<void> {
    const opts = { keepAliveTimeout: 30_000, requestTimeout: 0, headersTimeout: 60_000 };
    // With a CA, clients must present a certificate it signed (dockerd's --tlsverify).
    const tls = ep.kind === 'tcp' ? ep.tls : undefined;
    const server: Server = tls
      // allowHalfOpen: the docker CLI ends its side of a TLS attach (close_notify) and reads on.
      ? process.getBuiltinModule('node:https').createServer({ ...opts, allowHalfOpen: true, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) })
      : createServer(opts);
    // A client may half-close after sending its request; dockerd still answers, so must we
    // (Node's default aborts the request and closes the socket).
    (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('request', (req, res) => void this.dispatch(req, res, undefined));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.dispatch(req, undefined, { socket, head }));
    server.on('clientError', (err: NodeJS.ErrnoException, sock: Duplex) => {
      log.debug('bad request from client', { error: err.message, code: err.code });
      if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else sock.destroy();
    });
    server.on('tlsClientError', (err: Error) => log.debug('TLS handshake failed', { error: err.message }));
    server.on(tls ? 'secureConnection' : 'connection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    if (ep.kind === 'unix') {
      // A socket that answers belongs to a live daemon: never take it over.
      if (await answers(ep.path)) throw new Error(`another daemon is listening on ${ep.path}`);
      await rm(ep.path, { force: true });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        resolve();
      };
      // dockerd's backlog: a burst of clients connecting at once is queued, not refused.
      if (ep.kind === 'unix') server.listen(ep.path, 4096, done);
      else if (ep.kind === 'fd') server.listen({ fd: ep.fd }, done);
      else server.listen(ep.port, ep.host, 4096, done);
    });
    if (ep.kind === 'unix') {
      await chmod(ep.path, 0o660);
      if (ep.gid !== undefined) await chown(ep.path, 0, ep.gid);
    }
    this.servers.push(server);
  }

  async close(): Promise<void> {
    const closed = Promise.all(this.servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse | undefined, upgrade: { socket: Duplex; head: Buffer } | undefined): Promise<void> {
    this.onRequest();
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let version = API_VERSION;
    const m = VERSIONED.exec(path);
    if (m) {
      version = m[1];
      path = m[2];
    }
    const abort = new AbortController();
    const conn = upgrade?.socket ?? req.socket;
    const onClose = () => abort.abort();
    conn.once('close', onClose);
    if (res) {
      for (const [k, v] of Object.entries(commonHeaders())) res.setHeader(k, v);
      res.once('close', () => { if (!res.writableFinished) abort.abort(); });
    }
    const ctx: Ctx = { req, res, params: {}, query: url.searchParams, version, upgrade, signal: abort.signal };
    const started = Date.now();
    try {
      if (m && compareVersions(version, this.minVersion) < 0) {
        throw invalidParameter(`client version ${version} is too old. Minimum supported API version is ${this.minVersion}, please upgrade your client to a newer version`);
      }
      if (m && compareVersions(version, API_VERSION) > 0) {
        throw invalidParameter(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      const found = this.router.match(req.method ?? 'GET', path);
      if (!('handler' in found)) {
        // a known path with another method is no page either, as moby's router answers it (404)
        throw notFound(`page not found`);
      }
      ctx.params = found.params;
      await found.handler(ctx);
    } catch (e) {
      // Read what the client is still sending first: otherwise it may hit a closed socket
      // while uploading and report a broken pipe instead of our error. A body refused for
      // its size is not read: the answer goes out at once and the connection closes.
      if (res && !upgrade && !res.headersSent) {
        if (isTooLarge(e)) {
          res.setHeader('Connection', 'close');
          res.once('finish', () => req.socket.destroy());
        } else {
          await drainRequest(req, 10_000);
        }
      }
      this.fail(ctx, e);
    } finally {
      conn.off('close', onClose);
      log.debug('api request', { method: req.method, path: url.pathname, ms: Date.now() - started });
    }
  }

  private fail(ctx: Ctx, e: unknown): void {
    const status = statusFromError(e);
    const message = messageOf(e);
    if (status >= 500 || !kindOf(e)) log.error('handler failed', { path: ctx.req.url, error: message, stack: e instanceof Error && !kindOf(e) ? e.stack : undefined });
    const res = ctx.res;
    if (!res) {
      const sock = ctx.upgrade?.socket;
      if (sock && !sock.destroyed) {
        const body = JSON.stringify({ message }) + '\n';
        const headers = Object.entries(commonHeaders()).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        sock.end(`HTTP/1.1 ${status} Error\r\n${headers}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      return;
    }
    if (res.headersSent) {
      // After the first byte of a stream, errors can only end it.
      res.destroy();
      return;
    }
    if (status === 304) {
      res.writeHead(304);
      res.end();
      return;
    }
    const body = JSON.stringify({ message }) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }
}

/** True when something answers on the Unix socket: a live daemon's. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function isTooLarge(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[TOO_LARGE] === true;
}

/** Discards the rest of a request body (bounded in time). */
function drainRequest(req: IncomingMessage, timeoutMs: number): Promise<void> {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    }
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.unpipe();
    // A 'readable' listener (an abandoned async iterator) would keep resume() from reading.
    req.removeAllListeners('readable');
    req.on('data', () => {});
    req.resume();
  });
}
