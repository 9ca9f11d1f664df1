/**
 * Registry authentication: the challenges of `WWW-Authenticate` (Basic, Bearer) and the
 * token handshake of the distribution token spec, with tokens cached per scope.
 */
import { send, readBody } from './http.ts';
import { unauthorized } from '../errdefs/index.ts';

export interface Credentials {
  username?: string;
  password?: string;
  /** A refresh token from a previous login (docker's identitytoken). */
  identitytoken?: string;
  /** A bearer token to use as is. */
  registrytoken?: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (several challenges may be listed). */
export function parseChallenges(h: string | undefined): Challenge[] {
  if (!h) return [];
  const out: Challenge[] = [];
  const re = /(\w+)\s+((?:\w+=(?:"[^"]*"|[^,\s]*)\s*,?\s*)*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(h))) {
    const scheme = m[1].toLowerCase();
    if (scheme !== 'basic' && scheme !== 'bearer') continue;
    const params: Record<string, string> = {};
    const pre = /(\w+)=(?:"([^"]*)"|([^,\s]*))/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(m[2]))) params[p[1].toLowerCase()] = p[2] ?? p[3] ?? '';
    out.push({ scheme, params });
  }
  return out;
}

export function basicHeader(c: Credentials): string | undefined {
  if (!c.username) return undefined;
  return 'Basic ' + Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64');
}

export interface TokenOptions {
  insecureTls: boolean;
  timeoutMs: number;
  /** The registry's CA (certs.d), for a realm on the same host. */
  ca?: Buffer;
}

/** Fetches a bearer token for `scopes` from the challenge's realm. */
export async function fetchToken(ch: Challenge, scopes: string[], creds: Credentials, opts: TokenOptions): Promise<string> {
  const realm = ch.params.realm;
  if (!realm) throw unauthorized('the registry asked for a token but gave no realm');
  const url = new URL(realm);
  if (ch.params.service) url.searchParams.set('service', ch.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  const basic = basicHeader(creds);
  if (basic) headers.Authorization = basic;
  if (creds.identitytoken) {
    // OAuth2 refresh-token flow (docker's identity tokens).
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identitytoken, service: ch.params.service ?? '', scope: scopes.join(' '), client_id: 'berth' });
    const res = await send(realm, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(body.toString()), timeoutMs: opts.timeoutMs, insecureTls: opts.insecureTls, ...(opts.ca ? { ca: opts.ca } : {}) });
    const text = await readBody(res, 1 << 20);
    if (res.status === 200) return tokenOf(text);
  }
  const res = await send(url.href, { headers, timeoutMs: opts.timeoutMs, insecureTls: opts.insecureTls, ...(opts.ca ? { ca: opts.ca } : {}) });
  const text = await readBody(res, 1 << 20);
  if (res.status === 401 || res.status === 403) throw unauthorized(`unauthorized: ${errorText(text) ?? 'incorrect username or password'}`);
  if (res.status !== 200) throw unauthorized(`token request to ${realm} failed: HTTP ${res.status}`);
  return tokenOf(text);
}

function tokenOf(text: Buffer): string {
  const v = JSON.parse(text.toString('utf8')) as { token?: string; access_token?: string };
  const t = v.token ?? v.access_token;
  if (!t) throw unauthorized('the token endpoint returned no token');
  return t;
}

/** The message of a distribution error body, if it is one. */
export function errorText(body: Buffer): string | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[]; details?: string };
    const e = v.errors?.[0];
    if (e) return `${(e.code ?? '').toLowerCase().replace(/_/g, ' ')}${e.message ? `: ${e.message}` : ''}`.trim();
    if (v.details) return v.details;
  } catch {
    // not JSON
  }
  return undefined;
}
