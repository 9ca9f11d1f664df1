/**
 * docker's AuthConfig as it travels: base64url JSON in X-Registry-Auth, a JSON body for
 * POST /auth, and `auths` entries in a client config file ({"auth": base64("user:pass")}).
 */
import { invalidParameter, messageOf } from '../errdefs/index.ts';
import { decodeGo, go } from '../lib/gojson.ts';
import type { Credentials } from './auth.ts';

export interface AuthConfig extends Credentials {
  serveraddress?: string;
  email?: string;
  auth?: string;
}

/** moby's registry.AuthConfig, decoded as dockerd decodes it (keys case-insensitive). */
const AuthConfigType = go.struct('registry.AuthConfig', {
  username: go.string,
  password: go.string,
  auth: go.string,
  email: go.string,
  serveraddress: go.string,
  identitytoken: go.string,
  registrytoken: go.string,
});

function fromText(text: string): AuthConfig {
  const o = decodeGo(text, AuthConfigType) ?? {};
  const c: AuthConfig = {};
  const set = <K extends keyof AuthConfig>(k: K, val: string | undefined) => {
    if (val) c[k] = val;
  };
  set('username', o.username);
  set('password', o.password);
  set('identitytoken', o.identitytoken);
  set('registrytoken', o.registrytoken);
  set('serveraddress', o.serveraddress);
  set('email', o.email);
  if (o.auth && !c.username) {
    const plain = Buffer.from(o.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) {
      c.username = plain.slice(0, i);
      c.password = plain.slice(i + 1);
    }
  }
  return c;
}

/** Decodes X-Registry-Auth (base64url or base64 JSON); an empty or "{}" header means none. */
export function decodeRegistryAuth(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  let c: AuthConfig;
  try {
    c = fromText(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch (e) {
    throw invalidParameter(`invalid X-Registry-Auth header: ${messageOf(e)}`);
  }
  return c.username || c.identitytoken || c.registrytoken ? c : undefined;
}

/** The body of POST /auth. */
export function parseAuthBody(text: string): AuthConfig {
  if (!text.trim()) throw invalidParameter('invalid auth configuration: request body is empty');
  return fromText(text);
}

/**
 * X-Registry-Config (builds): base64url JSON of every credential the client holds, by server.
 * Undecodable is taken as none, as moby takes it (a pull without credentials still works).
 */
export function decodeRegistryConfig(header: string | undefined): Map<string, AuthConfig> {
  const out = new Map<string, AuthConfig>();
  if (!header) return out;
  let all: unknown;
  try {
    all = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    return out;
  }
  if (!all || typeof all !== 'object' || Array.isArray(all)) return out;
  for (const [server, v] of Object.entries(all as Record<string, unknown>)) {
    try {
      const c = fromText(JSON.stringify(v));
      if (c.username || c.identitytoken || c.registrytoken) out.set(server, c);
    } catch {
      // one undecodable entry is no credential for that server
    }
  }
  return out;
}

/**
 * The credentials for a registry among a client's (moby's ResolveAuthConfig): Docker Hub's
 * under its index URL, another's under its host name, or a key that names it with a scheme
 * or path.
 */
export function resolveAuthConfig(auths: Map<string, AuthConfig>, domain: string): AuthConfig | undefined {
  const hub = domain === 'docker.io' || domain === 'index.docker.io' || domain === 'registry-1.docker.io';
  const key = hub ? 'https://index.docker.io/v1/' : domain;
  const direct = auths.get(key);
  if (direct || hub) return direct;
  for (const [server, c] of auths) if (server.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === key) return c;
  return undefined;
}

export function encodeRegistryAuth(c: AuthConfig): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}
