/**
 * Engine API client transport: HTTP/1.1 over the daemon's Unix socket (see wire.ts). Statuses map back to
 * error kinds (the inverse of the server's httpstatus), so callers never read status codes.
 */
import type { Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { API_VERSION } from '../api/version.ts';
import { EngineError, type ErrorKind } from '../errdefs/index.ts';
import { wireRequest, type WireResponse } from './wire.ts';
import { dialer, type ClientTls, type Dialer } from './dial.ts';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | string[]>;
  body?: unknown;
  /** Raw body stream (tar uploads). */
  stream?: Readable;
  /** Its length, when known (a file). */
  streamLength?: number;
  /** A body written straight into the connection (see WireRequest.produce). */
  produce?: (dest: Writable) => Promise<void>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Read the response through one reused buffer (see WireRequest.reuseReads). */
  reuseReads?: boolean;
}

const KIND: Record<number, ErrorKind> = {
  304: 'NotModified', 400: 'InvalidParameter', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
  409: 'Conflict', 499: 'Cancelled', 501: 'NotImplemented', 503: 'Unavailable',
};

/** An error answered by the daemon (printed as "Error response from daemon: …"). */
export class DaemonError extends EngineError {
  readonly status: number;
  readonly fromDaemon = true;
  constructor(kind: ErrorKind, message: string, status: number) {
    super(kind, message);
    this.status = status;
  }
}

export function isDaemonError(e: unknown): e is DaemonError {
  return typeof e === 'object' && e !== null && (e as { fromDaemon?: boolean }).fromDaemon === true;
}

export function kindFromStatus(status: number): ErrorKind {
  return KIND[status] ?? 'System';
}

function buildPath(path: string, query: RequestOptions['query'], version: string): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) qs.append(k, x);
    else qs.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const q = qs.toString();
  return `/v${version}${path}${q ? `?${q}` : ''}`;
}

/** moby's answer to a client newer than the daemon (and berthd's). */
const TOO_NEW = /client version \S+ is too new\. Maximum supported API version is (\d+\.\d+)/;

export class Transport {
  readonly host: string;
  /** The API version requests name: ours, or the daemon's lower one once it has said so. */
  version: string;
  private readonly pinned: boolean;
  /** Whether the daemon has taken a request at `version` (or told its own in a ping). */
  private settled = false;
  private readonly dial: Dialer;
  /** Headers sent with every request (the CLI's custom ones); the request's own win over them. */
  private readonly custom: Record<string, string>;

  /**
   * `pinned` (DOCKER_API_VERSION) is used as it is, as the docker CLI does. Otherwise requests
   * go at our version, and an older daemon's "too new" answer brings it down to the daemon's
   * and the request goes again: no ping before each command (the docker CLI's way) on the way
   * to berthd, which always speaks ours.
   */
  constructor(host: string, pinned?: string, tls?: ClientTls, custom: Record<string, string> = {}) {
    this.host = host;
    this.custom = custom;
    this.dial = dialer(host, tls);
    this.version = pinned ?? API_VERSION;
    this.pinned = !!pinned;
  }

  /** Before a body that cannot be sent twice: the daemon's version from /_ping. */
  private async settleVersion(): Promise<void> {
    let res: WireResponse;
    try {
      res = await wireRequest(this.dial, { method: 'GET', path: '/_ping', headers: { ...this.custom } });
    } catch (e) {
      throw this.connectError(e as NodeJS.ErrnoException);
    }
    await readAll(res.body);
    const theirs = res.headers['api-version'];
    if (theirs && /^\d+\.\d+$/.test(theirs) && compareVersions(theirs, this.version) < 0) this.version = theirs;
    this.settled = true;
  }

  private connectError(e: NodeJS.ErrnoException): Error {
    if (e.name === 'AbortError') return e;
    // Already in the user's terms (an ssh connection that failed, with ssh's own words).
    if (e instanceof EngineError) return e;
    if (e.code === 'EARLYEOF') return new EngineError('Unavailable', `error during connect: ${e.message}`, { cause: e });
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
      return new EngineError('Unavailable', `Cannot connect to the Berth daemon at ${this.host}. Is berthd running?`, { cause: e });
    }
    if (e.code === 'EACCES') {
      return new EngineError('Forbidden', `permission denied while trying to connect to the Berth daemon socket at ${this.host}`, { cause: e });
    }
    if (e.code?.startsWith('ERR_TLS') || e.code?.startsWith('ERR_SSL') || /certificate|SSL|TLS/i.test(e.message)) {
      const reason = (e as { reason?: string }).reason ?? e.message;
      return new EngineError('Unavailable', `error during connect: tls: ${reason} (check --tlsverify, --tlscacert, --tlscert and --tlskey)`, { cause: e });
    }
    return new EngineError('Unavailable', `error during connect: ${e.message}`, { cause: e });
  }

  /** A bare connection to the daemon, ready for bytes (`system dial-stdio`). */
  async connect(): Promise<Socket> {
    try {
      const { socket, ready } = await this.dial();
      if (ready === 'connected') return socket;
      return await new Promise<Socket>((resolve, reject) => {
        socket.once('error', reject);
        socket.once(ready, () => {
          socket.off('error', reject);
          resolve(socket);
        });
      });
    } catch (e) {
      throw this.connectError(e as NodeJS.ErrnoException);
    }
  }

  /** Sends a request and returns the response without reading its body. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<WireResponse> {
    const headers: Record<string, string> = { ...this.custom, ...(opts.headers ?? {}) };
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    }
    const once = !!(opts.stream || opts.produce);
    if (once && !this.settled && !this.pinned) await this.settleVersion();
    const go = async (version: string) => {
      try {
        return await wireRequest(this.dial, {
          method, path: buildPath(path, opts.query, version), headers,
          ...(body ? { body } : {}), ...(opts.stream ? { stream: opts.stream } : {}), ...(opts.produce ? { produce: opts.produce } : {}), ...(opts.streamLength !== undefined ? { streamLength: opts.streamLength } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.reuseReads ? { reuseReads: true } : {}),
        });
      } catch (e) {
        // A body that failed (a file it could not read) is the request's failure, in its own terms.
        throw opts.stream?.errored ?? this.connectError(e as NodeJS.ErrnoException);
      }
    };
    const used = this.version;
    let res: WireResponse;
    try {
      res = await go(used);
    } catch (e) {
      // An older daemon may answer "too new" and close before the body was all written: the
      // write fails first. Its ping tells its version, and the request goes again at it.
      const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      if (this.settled || this.pinned || once || (code !== 'EPIPE' && code !== 'ECONNRESET')) throw e;
      await this.settleVersion();
      if (this.version === used) throw e;
      return go(this.version);
    }
    if (res.status !== 400 || this.pinned || once) {
      this.settled = true;
      return res;
    }
    const raw = await readAll(res.body);
    const lower = TOO_NEW.exec(raw.toString('utf8'))?.[1];
    if (!lower || compareVersions(lower, used) >= 0) {
      this.settled = true;
      return { ...res, body: Readable.from([raw]), chunks: Readable.from([raw]) };
    }
    // An older daemon: the request again at its highest version, and the next ones at it too.
    if (compareVersions(lower, this.version) < 0) this.version = lower;
    this.settled = true;
    return go(this.version);
  }

  /** Throws the daemon's error for a non-2xx response; returns the body stream otherwise. */
  async check(res: WireResponse): Promise<Readable> {
    const status = res.status;
    if (status < 300) return res.body;
    const raw = await readAll(res.body);
    let message = raw.toString('utf8').trim();
    try {
      const v = JSON.parse(message) as { message?: string };
      if (typeof v.message === 'string') message = v.message;
    } catch {
      // not JSON: keep the text
    }
    if (status === 304) message ||= 'not modified';
    throw new DaemonError(kindFromStatus(status), message || `HTTP ${status}`, status);
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const body = await readAll(await this.check(await this.send(method, path, opts)));
    if (!body.length) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    await readAll(await this.check(await this.send(method, path, opts)));
  }

  /** Opens a hijacked, bidirectional stream (attach, exec start). */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Socket> {
    const res = await this.send(method, path, { ...opts, headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...(opts.headers ?? {}) } });
    if (res.status === 101) return res.socket;
    await this.check(res);
    throw new EngineError('System', 'the daemon did not upgrade the connection');
  }
}

/** Orders API versions ("1.41" < "1.50"). */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Reads a stream of JSON messages separated by newlines (progress streams). */
export async function* jsonLines(s: Readable): AsyncGenerator<Record<string, unknown>> {
  let buf = '';
  for await (const c of s) {
    buf += (c as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as Record<string, unknown>;
}
