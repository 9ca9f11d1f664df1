/**
 * `berth registry serve`: the distribution (v2) API over HTTP or HTTPS, on content-addressed
 * storage (storage/), behind an access controller (auth/). Read-only mode refuses every
 * write with UNSUPPORTED, which is also how to run `gc` safely beside a live server.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { RegistryError, errorBody } from './errcode.ts';
import { route, type Route } from './router.ts';
import { RegistryStorage } from './storage/storage.ts';
import { openAccess, BasicAccess, TokenAccess, type AccessController } from './auth/controller.ts';
import { Htpasswd } from './auth/htpasswd.ts';
import { TokenSigner } from './auth/token.ts';
import type { Access } from './auth/access.ts';
import type { Handler, RequestContext } from './handlers/context.ts';
import { getBlob, deleteBlob } from './handlers/blobs.ts';
import { startUpload, uploadStatus, patchUpload, finishUpload, cancelUpload } from './handlers/uploads.ts';
import { getManifest, putManifest, deleteManifest } from './handlers/manifests.ts';
import { listTags, catalog } from './handlers/listing.ts';
import { listReferrers } from './handlers/referrers.ts';
import { tokenEndpoint } from './handlers/token.ts';

export type AuthMode = 'none' | 'htpasswd' | 'token';

export interface RegistryOptions {
  root: string;
  /** host:port; port 0 picks a free one. */
  addr: string;
  readOnly?: boolean;
  auth?: AuthMode;
  htpasswd?: string;
  tokenRealm?: string;
  tokenService?: string;
  tokenSecret?: Buffer;
  tls?: { cert: Buffer; key: Buffer };
  /** Access log sink, one line per request. */
  log?: (line: string) => void;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Table = Partial<Record<string, Handler>>;
const HANDLERS: Record<Exclude<Route['kind'], 'token' | 'uploads'>, Table> = {
  base: { GET: async (c) => sendBase(c), HEAD: async (c) => sendBase(c) },
  catalog: { GET: catalog },
  tags: { GET: listTags },
  manifest: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  blob: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  upload: { GET: uploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload },
  referrers: { GET: listReferrers },
};

function sendBase(c: RequestContext): void {
  c.req.resume();
  c.res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': 2 });
  c.res.end(c.req.method === 'HEAD' ? undefined : '{}');
}

/** What a request needs to be allowed, in token-scope terms. */
function needs(r: Route, method: string): Access[] {
  switch (r.kind) {
    case 'base':
    case 'token':
      return [];
    case 'catalog':
      return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    default: {
      const action = method === 'DELETE' && (r.kind === 'manifest' || r.kind === 'blob') ? 'delete' : WRITES.has(method) || r.kind === 'upload' || r.kind === 'uploads' ? 'push' : 'pull';
      return [{ type: 'repository', name: r.name, actions: action === 'push' ? ['pull', 'push'] : [action] }];
    }
  }
}

export class RegistryServer {
  readonly storage: RegistryStorage;
  private readonly opts: RegistryOptions;
  private readonly access: AccessController;
  private readonly htpasswd: Htpasswd | undefined;
  private readonly signer: TokenSigner | undefined;
  /**
   * Mounts without `from` link any blob the registry has. Not with tokens: a token service
   * (`--token-realm`) may grant access per repository, and the digest alone must not reach
   * another repository's content.
   */
  private readonly anonymousMount: boolean;
  private server: Server | undefined;

  constructor(opts: RegistryOptions) {
    this.opts = opts;
    this.storage = new RegistryStorage(opts.root);
    const mode = opts.auth ?? (opts.htpasswd ? 'htpasswd' : 'none');
    this.anonymousMount = mode !== 'token';
    if (mode !== 'none' && !opts.htpasswd) throw new Error(`--auth ${mode} needs an htpasswd file (--htpasswd)`);
    this.htpasswd = opts.htpasswd ? new Htpasswd(opts.htpasswd) : undefined;
    if (mode === 'token') {
      this.signer = new TokenSigner(opts.tokenService ?? 'berth-registry', opts.tokenSecret);
      this.access = new TokenAccess(this.signer, opts.tokenRealm);
    } else if (mode === 'htpasswd') {
      this.access = new BasicAccess(this.htpasswd!);
    } else {
      this.access = openAccess;
    }
  }

  get scheme(): 'http' | 'https' {
    return this.opts.tls ? 'https' : 'http';
  }

  async listen(): Promise<AddressInfo> {
    await this.storage.init();
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.opts.tls ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler) : createHttpServer(handler);
    // Large layers take long to upload; only idle connections and slow headers time out.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 30_000;
    const { host, port } = splitAddr(this.opts.addr);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const remote = req.socket.remoteAddress ?? '-';
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    let account = '';
    try {
      const url = new URL(req.url ?? '/', 'http://registry');
      const r = route(url.pathname);
      if (!r || (r.kind === 'token' && !this.signer)) {
        req.resume();
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      }
      if (r.kind === 'token') {
        await tokenEndpoint(req, res, url, this.htpasswd!, this.signer!);
        return;
      }
      const baseUrl = `${this.scheme}://${req.headers.host ?? this.opts.addr}`;
      const needed = needs(r, method);
      let mountAllowed = true;
      const from = r.kind === 'uploads' ? url.searchParams.get('from') : null;
      if (from && url.searchParams.has('mount')) {
        // A mount also reads the source repository; without that right, upload normally.
        try {
          account = (await this.access.authorize(req.headers.authorization, [...needed, { type: 'repository', name: from, actions: ['pull'] }], baseUrl)).account;
        } catch {
          mountAllowed = false;
        }
      }
      if (!from || !mountAllowed) account = (await this.access.authorize(req.headers.authorization, needed, baseUrl)).account;
      if (this.opts.readOnly && WRITES.has(method) && r.kind !== 'base') throw new RegistryError('UNSUPPORTED', 'The operation is unsupported: the registry is in read-only mode.');
      const ctx: RequestContext = { req, res, url, storage: this.storage, name: r.name, param: r.param };
      if (r.kind === 'uploads') {
        if (method !== 'POST') throw new RegistryError('UNSUPPORTED');
        await startUpload(ctx, { fromAllowed: mountAllowed, anonymous: this.anonymousMount });
        return;
      }
      const h = HANDLERS[r.kind][method];
      if (!h) throw new RegistryError('UNSUPPORTED');
      await h(ctx);
    } catch (e) {
      this.fail(req, res, e);
    } finally {
      this.opts.log?.(`${remote} ${account || '-'} "${method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    const err = e instanceof RegistryError ? e : new RegistryError('UNKNOWN', e instanceof Error ? e.message : String(e));
    if (!(e instanceof RegistryError)) this.opts.log?.(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Leave the socket usable: drain what the client is still sending.
    if (!req.readableEnded) req.resume();
    const body = errorBody([err]);
    res.writeHead(err.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...err.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid listen address ${JSON.stringify(addr)}: expected HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
