/**
 * docker's AuthConfig as it travels: base64url JSON in X-Registry-Auth, a JSON body for
 * POST /auth, and `auths` entries in a client config file ({"auth": base64("user:pass")}).
 */
import { invalidParameter } from '../errdefs/index.ts';
import type { Credentials } from './auth.ts';

export interface AuthConfig extends Credentials {
  serveraddress?: string;
  email?: string;
  auth?: string;
}

function fromObject(v: unknown): AuthConfig {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('invalid auth configuration: expected a JSON object');
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const c: AuthConfig = {};
  const set = <K extends keyof AuthConfig>(k: K, val: AuthConfig[K] | undefined) => {
    if (val !== undefined) c[k] = val;
  };
  set('username', str('username'));
  set('password', str('password'));
  set('identitytoken', str('identitytoken'));
  set('registrytoken', str('registrytoken'));
  set('serveraddress', str('serveraddress'));
  const auth = str('auth');
  if (auth && !c.username) {
    const plain = Buffer.from(auth, 'base64').toString('utf8');
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
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidParameter('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  const c = fromObject(json);
  return c.username || c.identitytoken || c.registrytoken ? c : undefined;
}

export function parseAuthBody(body: unknown): AuthConfig {
  return fromObject(body);
}

export function encodeRegistryAuth(c: AuthConfig): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}
