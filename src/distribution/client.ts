/**
 * A client for one registry endpoint speaking the distribution (v2) API: manifests, blobs,
 * uploads and cross-repository mounts, with authentication negotiated on the first 401 and
 * cached per scope.
 */
import type { Readable } from 'node:stream';
import { invalidParameter, notFound, unauthorized, forbidden, unavailable, system, type EngineError } from '../errdefs/index.ts';
import { send, readBody, header, type HttpOptions, type HttpResponse } from './http.ts';
import { basicHeader, fetchToken, parseChallenges, errorText, type Challenge, type Credentials } from './auth.ts';
import { CANONICAL_ALGORITHM, digestAlgorithm, matchesDigest } from '../lib/digest.ts';
import { MEDIA_TYPES } from './media.ts';

export interface Endpoint {
  /** Base URL: https://host[:port] or http://host[:port]. */
  url: string;
  insecureTls: boolean;
  /** A pull-through mirror of docker.io (failures fall back to the next endpoint). */
  mirror: boolean;
  /** A CA to trust for this registry (certs.d). */
  ca?: Buffer;
}

export interface ClientOptions {
  timeoutMs?: number;
  credentials?: Credentials;
}

export const MANIFEST_MAX = 4 << 20;

/** The registry's error for a failed response (status and body), in docker's words. */
export function errorForStatus(status: number, body: Buffer, what: string): EngineError {
  const text = errorText(body) ?? (body.length && body.length < 500 ? body.toString('utf8').trim() : `HTTP ${status}`);
  switch (status) {
    case 401: return unauthorized(errorText(body) ?? 'unauthorized: authentication required');
    case 403: return forbidden(`${what}: ${text}`);
    case 404: return notFound(`${what}: ${text}`);
    case 400: case 405: case 413: case 416: return invalidParameter(`${what}: ${text}`);
    case 429: case 502: case 503: case 504: return unavailable(`${what}: ${text}`);
    default: return system(`${what}: ${text}`);
  }
}

export class RegistryClient {
  readonly endpoint: Endpoint;
  private readonly creds: Credentials;
  readonly timeoutMs: number;
  private challenge: Challenge | undefined | null = undefined;
  private readonly tokens = new Map<string, string>();
  /** Whether the endpoint has answered any request (it is there and speaks HTTP). */
  answered = false;

  constructor(endpoint: Endpoint, opts: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.creds = opts.credentials ?? {};
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get host(): string {
    return new URL(this.endpoint.url).host;
  }

  private async authHeader(scope: string): Promise<string | undefined> {
    if (this.creds.registrytoken) return `Bearer ${this.creds.registrytoken}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return basicHeader(this.creds);
    let t = this.tokens.get(scope);
    if (!t) {
      t = await fetchToken(ch, [scope], this.creds, { insecureTls: this.endpoint.insecureTls, timeoutMs: this.timeoutMs, ...(this.endpoint.ca ? { ca: this.endpoint.ca } : {}) });
      this.tokens.set(scope, t);
    }
    return `Bearer ${t}`;
  }

  /** One request with auth: on a 401, learn the challenge, authenticate, retry once. */
  async request(path: string, scope: string, opts: HttpOptions = {}): Promise<HttpResponse> {
    const go = async () => {
      const auth = await this.authHeader(scope);
      return send(this.endpoint.url + path, {
        timeoutMs: this.timeoutMs,
        insecureTls: this.endpoint.insecureTls,
        ...(this.endpoint.ca ? { ca: this.endpoint.ca } : {}),
        ...opts,
        headers: { ...(opts.headers ?? {}), ...(auth ? { Authorization: auth } : {}) },
      });
    };
    let res = await go();
    this.answered = true;
    if (res.status === 401 && !(opts.body && !Buffer.isBuffer(opts.body))) {
      const chs = parseChallenges(header(res, 'www-authenticate'));
      res.body.resume();
      const ch = chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
      if (!ch) throw unauthorized('unauthorized: the registry requires authentication but offers no method Berth knows');
      const insufficient = this.challenge?.scheme === 'bearer' && ch.params.error === 'insufficient_scope';
      if (this.challenge && !insufficient && this.tokens.has(scope)) {
        throw unauthorized('unauthorized: authentication required');
      }
      this.challenge = ch;
      this.tokens.delete(scope);
      res = await go();
    }
    return res;
  }

  /** Throws the registry's error for a failed response, in docker's words. */
  async fail(res: HttpResponse, what: string): Promise<never> {
    const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    // About the registry, not the object: say it as docker does.
    if (res.status === 401 && this.challenge?.scheme === 'basic' && !this.creds.username && !this.creds.registrytoken) throw unauthorized('no basic auth credentials');
    throw errorForStatus(res.status, body, what);
  }

  /**
   * What a blob download needs, for code that fetches it elsewhere (a worker thread): the URL
   * and the headers, authenticated for pulling from `repo` as far as this client knows how.
   */
  async blobRequest(repo: string, digest: string): Promise<{ url: string; headers: Record<string, string> }> {
    const auth = await this.authHeader(RegistryClient.pullScope(repo));
    return { url: `${this.endpoint.url}/v2/${repo}/blobs/${digest}`, headers: auth ? { Authorization: auth } : {} };
  }

  /** Forgets the token for pulling from `repo` and negotiates again (after a 401 elsewhere). */
  async reauthenticate(repo: string, digest: string): Promise<void> {
    this.tokens.delete(RegistryClient.pullScope(repo));
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, RegistryClient.pullScope(repo), { method: 'HEAD' });
    res.body.resume();
    if (res.status !== 200) await this.fail(res, `blob ${digest}`);
  }

  static pullScope(repo: string): string {
    return `repository:${repo}:pull`;
  }

  static pushScope(repo: string): string {
    return `repository:${repo}:pull,push`;
  }

  /** GET /v2/: checks the registry answers and the credentials are accepted. */
  async ping(): Promise<void> {
    const res = await this.request('/v2/', 'registry:catalog:*');
    if (res.status === 200) {
      res.body.resume();
      return;
    }
    await this.fail(res, `login to ${this.host}`);
  }

  async getManifest(repo: string, ref: string): Promise<{ mediaType: string; digest: string | undefined; body: Buffer }> {
    const res = await this.request(`/v2/${repo}/manifests/${ref}`, RegistryClient.pullScope(repo), {
      headers: { Accept: MEDIA_TYPES.manifests.join(', ') },
    });
    if (res.status !== 200) await this.fail(res, `manifest for ${repo}:${ref}`);
    const body = await readBody(res, MANIFEST_MAX);
    return { mediaType: (header(res, 'content-type') ?? '').split(';')[0].trim(), digest: header(res, 'docker-content-digest'), body };
  }

  /** A small blob (an image config), read whole and checked against its digest. */
  async readBlob(repo: string, digest: string, limit = 8 << 20): Promise<Buffer> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, RegistryClient.pullScope(repo));
    if (res.status !== 200) await this.fail(res, `blob ${digest}`);
    const body = await readBody(res, limit);
    if (!matchesDigest(body, digest)) throw invalidParameter(`blob ${digest}: the registry sent content of another digest`);
    return body;
  }

  async openBlob(repo: string, digest: string, signal?: AbortSignal): Promise<{ stream: Readable; size: number | undefined }> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, RegistryClient.pullScope(repo), signal ? { signal } : {});
    if (res.status !== 200) await this.fail(res, `blob ${digest}`);
    const len = header(res, 'content-length');
    return { stream: res.body, size: len ? Number(len) : undefined };
  }

  async hasBlob(repo: string, digest: string, scope = RegistryClient.pushScope(repo)): Promise<boolean> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, scope, { method: 'HEAD' });
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, `blob ${digest}`);
  }

  /** Cross-repository mount; true if the registry linked the blob without an upload. */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const res = await this.request(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, `${RegistryClient.pushScope(repo)} repository:${from}:pull`, { method: 'POST' });
    res.body.resume();
    if (res.status === 201) return true;
    if (res.status === 202) {
      const loc = header(res, 'location');
      if (loc) void this.request(this.pathOf(loc), RegistryClient.pushScope(repo), { method: 'DELETE' }).then((r) => r.body.resume(), () => {});
      return false;
    }
    return this.fail(res, `mount ${digest}`);
  }

  private pathOf(location: string): string {
    const u = new URL(location, this.endpoint.url);
    return u.pathname + u.search;
  }

  /**
   * Uploads a blob: POST to open the upload, then one PUT with the whole content. A blob named
   * by another algorithm than sha256 says so on the POST (`digest-algorithm`, distribution-spec
   * 1.1), so a registry can hash it with that algorithm as it arrives; others ignore it.
   */
  async pushBlob(repo: string, digest: string, size: number, content: () => Readable): Promise<void> {
    const scope = RegistryClient.pushScope(repo);
    const alg = digestAlgorithm(digest);
    const query = alg === CANONICAL_ALGORITHM ? '' : `?digest-algorithm=${alg}`;
    const open = await this.request(`/v2/${repo}/blobs/uploads/${query}`, scope, { method: 'POST', headers: { 'Content-Length': '0' } });
    if (open.status !== 202) await this.fail(open, `upload of ${digest}`);
    open.body.resume();
    const loc = header(open, 'location');
    if (!loc) throw system('the registry opened an upload without a Location');
    const u = new URL(loc, this.endpoint.url);
    u.searchParams.set('digest', digest);
    const put = await this.request(u.pathname + u.search, scope, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: content(),
      timeoutMs: Math.max(this.timeoutMs, 120_000),
    });
    if (put.status !== 201 && put.status !== 204) await this.fail(put, `upload of ${digest}`);
    put.body.resume();
  }

  /**
   * A blob whose digest is known only once it is all sent (compressed on the way): a session,
   * one streamed PATCH, then PUT with the digest (docker's streamed upload). `digest` is asked
   * for after the PATCH is answered.
   */
  async pushStreamedBlob(repo: string, content: Readable, digest: () => Promise<string>): Promise<void> {
    const scope = RegistryClient.pushScope(repo);
    const open = await this.request(`/v2/${repo}/blobs/uploads/`, scope, { method: 'POST', headers: { 'Content-Length': '0' } });
    if (open.status !== 202) {
      content.destroy();
      await this.fail(open, 'upload of a layer');
    }
    open.body.resume();
    const loc = header(open, 'location');
    if (!loc) {
      content.destroy();
      throw system('the registry opened an upload without a Location');
    }
    const at = new URL(loc, this.endpoint.url);
    const patch = await this.request(at.pathname + at.search, scope, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: content,
      timeoutMs: Math.max(this.timeoutMs, 120_000),
    });
    if (patch.status !== 202 && patch.status !== 204) await this.fail(patch, 'upload of a layer');
    patch.body.resume();
    const d = await digest();
    const u = new URL(header(patch, 'location') ?? loc, this.endpoint.url);
    u.searchParams.set('digest', d);
    const put = await this.request(u.pathname + u.search, scope, { method: 'PUT', headers: { 'Content-Length': '0' } });
    if (put.status !== 201 && put.status !== 204) await this.fail(put, `upload of ${d}`);
    put.body.resume();
  }

  async putManifest(repo: string, ref: string, mediaType: string, body: Buffer): Promise<string | undefined> {
    const res = await this.request(`/v2/${repo}/manifests/${ref}`, RegistryClient.pushScope(repo), {
      method: 'PUT', headers: { 'Content-Type': mediaType }, body,
    });
    if (res.status !== 201 && res.status !== 200) await this.fail(res, `manifest ${repo}:${ref}`);
    res.body.resume();
    return header(res, 'docker-content-digest');
  }

  async catalog(n = 1000): Promise<string[]> {
    const res = await this.request(`/v2/_catalog?n=${n}`, 'registry:catalog:*');
    if (res.status !== 200) await this.fail(res, 'catalog');
    return ((JSON.parse((await readBody(res)).toString('utf8')) as { repositories?: string[] }).repositories) ?? [];
  }

  async tags(repo: string): Promise<string[]> {
    const res = await this.request(`/v2/${repo}/tags/list`, RegistryClient.pullScope(repo));
    if (res.status !== 200) await this.fail(res, `tags of ${repo}`);
    return ((JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] | null }).tags) ?? [];
  }
}
