/**
 * Access controllers: who may do what. `open` lets everyone in (a registry on loopback for
 * tests and local use), `htpasswd` wants HTTP Basic credentials from the htpasswd file, and
 * `token` wants a Bearer token from the built-in token service (token.ts), carrying enough
 * access for the request. Refusals are UNAUTHORIZED with the challenge clients act on.
 */
import { RegistryError } from '../errcode.ts';
import { covers, formatScope, type Access } from './access.ts';
import type { Htpasswd } from './htpasswd.ts';
import type { TokenSigner } from './token.ts';

export interface Principal {
  account: string;
}

export interface AccessController {
  /** Resolves to who is asking, or throws UNAUTHORIZED/DENIED. `baseUrl` is how the client reached us. */
  authorize(authorization: string | undefined, needed: Access[], baseUrl: string): Promise<Principal>;
}

export const openAccess: AccessController = {
  authorize: async () => ({ account: '' }),
};

export function parseBasic(authorization: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export class BasicAccess implements AccessController {
  private readonly htpasswd: Htpasswd;
  private readonly realm: string;

  constructor(htpasswd: Htpasswd, realm = 'berth-registry') {
    this.htpasswd = htpasswd;
    this.realm = realm;
  }

  async authorize(authorization: string | undefined): Promise<Principal> {
    const creds = parseBasic(authorization);
    if (creds && (await this.htpasswd.check(creds.user, creds.password))) return { account: creds.user };
    throw new RegistryError('UNAUTHORIZED', undefined, undefined, { 'WWW-Authenticate': `Basic realm="${this.realm}"` });
  }
}

export class TokenAccess implements AccessController {
  private readonly signer: TokenSigner;
  private readonly realm: string | undefined;

  /** `realm` overrides the token URL; by default it is `<baseUrl>/token`. */
  constructor(signer: TokenSigner, realm?: string) {
    this.signer = signer;
    this.realm = realm;
  }

  async authorize(authorization: string | undefined, needed: Access[], baseUrl: string): Promise<Principal> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const claims = m ? this.signer.verify(m[1]) : undefined;
    if (claims && covers(claims.access, needed)) return { account: claims.sub };
    let challenge = `Bearer realm="${this.realm ?? `${baseUrl}/token`}",service="${this.signer.service}"`;
    if (needed.length) challenge += `,scope="${needed.map(formatScope).join(' ')}"`;
    if (claims) challenge += ',error="insufficient_scope"';
    throw new RegistryError('UNAUTHORIZED', undefined, needed.length ? needed : undefined, { 'WWW-Authenticate': challenge });
  }
}
