/**
 * The built-in token service: `GET /token?service=…&scope=…` (and the OAuth2 password grant
 * on POST) answers a signed JWT (HS256) listing the access granted, as Docker's token spec
 * describes. Users are authenticated against the htpasswd file; an anonymous request gets a
 * token granting nothing, so clients then report "access denied" rather than looping.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Access } from './access.ts';

export const TOKEN_TTL_SECONDS = 300;

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: Access[];
}

const b64 = (v: Buffer | string) => Buffer.from(v).toString('base64url');

export class TokenSigner {
  private readonly secret: Buffer;
  readonly issuer: string;
  readonly service: string;

  constructor(service: string, secret?: Buffer) {
    this.secret = secret ?? randomBytes(32);
    this.issuer = 'berth-registry';
    this.service = service;
  }

  issue(account: string, access: Access[], now = Date.now()): { token: string; expiresIn: number; issuedAt: string } {
    const iat = Math.floor(now / 1000);
    const claims: TokenClaims = { iss: this.issuer, sub: account, aud: this.service, exp: iat + TOKEN_TTL_SECONDS, nbf: iat - 10, iat, jti: randomBytes(12).toString('hex'), access };
    const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64(JSON.stringify(claims));
    const sig = b64(createHmac('sha256', this.secret).update(`${head}.${body}`).digest());
    return { token: `${head}.${body}.${sig}`, expiresIn: TOKEN_TTL_SECONDS, issuedAt: new Date(iat * 1000).toISOString() };
  }

  /** The claims of a token this service signed and that is valid now; undefined otherwise. */
  verify(token: string, now = Date.now()): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const want = createHmac('sha256', this.secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    const t = now / 1000;
    if (claims.aud !== this.service || claims.iss !== this.issuer || t >= claims.exp || t < claims.nbf || !Array.isArray(claims.access)) return undefined;
    return claims;
  }
}
