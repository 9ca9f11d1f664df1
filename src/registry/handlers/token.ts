/**
 * The built-in token endpoint (`--auth token`): `GET /token?service=&scope=…` with optional
 * Basic credentials, and `POST /token` with the OAuth2 password grant (containerd's way).
 * Known users get the access they ask for; anonymous callers get a token granting nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../errcode.ts';
import { parseScope, type Access } from '../auth/access.ts';
import { parseBasic } from '../auth/controller.ts';
import type { Htpasswd } from '../auth/htpasswd.ts';
import type { TokenSigner } from '../auth/token.ts';
import { readBody, sendJson } from './context.ts';

const ACTIONS = new Set(['pull', 'push', 'delete', '*']);

function grant(scopes: string[], account: string): Access[] {
  if (!account) return [];
  const out: Access[] = [];
  for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
    const a = parseScope(s);
    if (!a) continue;
    if (a.type === 'repository' || (a.type === 'registry' && a.name === 'catalog')) {
      out.push({ type: a.type, name: a.name, actions: a.actions.filter((x) => ACTIONS.has(x)) });
    }
  }
  return out;
}

export async function tokenEndpoint(req: IncomingMessage, res: ServerResponse, url: URL, htpasswd: Htpasswd, signer: TokenSigner): Promise<void> {
  let user: string | undefined;
  let password: string | undefined;
  let scopes = url.searchParams.getAll('scope');
  if (req.method === 'POST') {
    const form = new URLSearchParams((await readBody(req, 64 << 10, () => new RegistryError('UNSUPPORTED', 'token request too large'))).toString('utf8'));
    if (form.get('grant_type') !== 'password') throw new RegistryError('UNSUPPORTED', `unsupported grant_type ${JSON.stringify(form.get('grant_type'))}`);
    user = form.get('username') ?? undefined;
    password = form.get('password') ?? undefined;
    scopes = form.getAll('scope');
  } else {
    req.resume();
    const creds = parseBasic(req.headers.authorization);
    user = creds?.user;
    password = creds?.password;
  }
  let account = '';
  if (user !== undefined) {
    if (!(await htpasswd.check(user, password ?? ''))) throw new RegistryError('UNAUTHORIZED', 'authentication failed: wrong username or password');
    account = user;
  }
  const t = signer.issue(account, grant(scopes, account));
  sendJson(res, 200, { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt });
}
