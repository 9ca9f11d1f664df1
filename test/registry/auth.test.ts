/**
 * Access control of the registry server: htpasswd (Basic), the built-in token service
 * (Bearer, scopes), read-only mode and TLS; and Berth's registry client against it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { startRegistry, pushImage, pushBlob, errorCode, makeCert } from './helpers.ts';
import { htpasswdLine, parseHtpasswd } from '../../src/registry/auth/htpasswd.ts';
import { MEDIA } from '../../src/registry/manifest.ts';
import { RegistryClient } from '../../src/distribution/client.ts';

let dir: string;
let htpasswd: string;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

before(async () => {
  dir = mkdtempSync('/tmp/bregauth-');
  htpasswd = join(dir, 'htpasswd');
  // Cost 4 keeps the test quick; the server accepts any bcrypt cost.
  writeFileSync(htpasswd, `${await htpasswdLine('alice', 's3cret', 4)}\n${await htpasswdLine('bob', 'hunter2', 4)}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('htpasswd lines are bcrypt; non-bcrypt entries are refused with a clear error', async () => {
  const users = parseHtpasswd(readFileSync(htpasswd, 'utf8'));
  assert.deepEqual([...users.keys()], ['alice', 'bob']);
  assert.match(users.get('alice')!, /^\$2[aby]\$04\$/);
  assert.throws(() => parseHtpasswd('carol:{SHA}abc\n', 'f'), /f:1: the password of "carol" is not a bcrypt hash/);
  assert.throws(() => parseHtpasswd('nocolon\n', 'f'), /f:1: expected user:hash/);
  await assert.rejects(htpasswdLine('a:b', 'x', 4), /invalid user name/);
});

test('htpasswd auth: Basic challenge without credentials, 401 for a wrong password, access with the right one', async () => {
  const reg = await startRegistry({ htpasswd });
  try {
    const none = await fetch(`${reg.url}/v2/`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="berth-registry"');
    assert.equal(await errorCode(none), 'UNAUTHORIZED');
    const wrong = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 'nope') } });
    assert.equal(wrong.status, 401);
    const unknownUser = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('mallory', 's3cret') } });
    assert.equal(unknownUser.status, 401);
    const ok = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 's3cret') } });
    assert.equal(ok.status, 200);
    const img = await pushImage(reg.url, 'priv/app', 'v1', MEDIA.dockerManifest, 'basic', { Authorization: basic('bob', 'hunter2') });
    assert.equal((await fetch(`${reg.url}/v2/priv/app/manifests/v1`)).status, 401);
    const got = await fetch(`${reg.url}/v2/priv/app/manifests/v1`, { headers: { Authorization: basic('alice', 's3cret') } });
    assert.equal(got.headers.get('docker-content-digest'), img.digest);
  } finally {
    await reg.stop();
  }
});

test('token auth: Bearer challenge with scope, token endpoint, scopes enforced, anonymous tokens grant nothing', async () => {
  const reg = await startRegistry({ htpasswd, auth: 'token', tokenService: 'test-registry' });
  try {
    const ch = await fetch(`${reg.url}/v2/tok/app/manifests/v1`);
    assert.equal(ch.status, 401);
    assert.equal(ch.headers.get('www-authenticate'), `Bearer realm="${reg.url}/token",service="test-registry",scope="repository:tok/app:pull"`);

    const tokenFor = async (scope: string, auth?: string) => {
      const res = await fetch(`${reg.url}/token?service=test-registry&scope=${encodeURIComponent(scope)}`, auth ? { headers: { Authorization: auth } } : {});
      return { status: res.status, body: (await res.json()) as { token?: string; access_token?: string; expires_in?: number } };
    };
    const bad = await tokenFor('repository:tok/app:pull', basic('alice', 'wrong'));
    assert.equal(bad.status, 401);

    const push = await tokenFor('repository:tok/app:pull,push', basic('alice', 's3cret'));
    assert.equal(push.status, 200);
    assert.equal(push.body.token, push.body.access_token);
    assert.equal(push.body.expires_in, 300);
    const bearer = { Authorization: `Bearer ${push.body.token}` };
    const img = await pushImage(reg.url, 'tok/app', 'v1', MEDIA.ociManifest, 'token', bearer);
    assert.equal((await fetch(`${reg.url}/v2/tok/app/manifests/v1`, { headers: bearer })).headers.get('docker-content-digest'), img.digest);

    // A token for one repository does not open another.
    const other = await fetch(`${reg.url}/v2/tok/other/tags/list`, { headers: bearer });
    assert.equal(other.status, 401);
    assert.match(other.headers.get('www-authenticate')!, /error="insufficient_scope"/);

    // Pull-only tokens cannot push.
    const pull = await tokenFor('repository:tok/app:pull', basic('bob', 'hunter2'));
    const denied = await fetch(`${reg.url}/v2/tok/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${pull.body.token}` } });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate')!, /scope="repository:tok\/app:pull,push",error="insufficient_scope"/);

    const anon = await tokenFor('repository:tok/app:pull');
    assert.equal(anon.status, 200);
    assert.equal((await fetch(`${reg.url}/v2/tok/app/manifests/v1`, { headers: { Authorization: `Bearer ${anon.body.token}` } })).status, 401);

    // A forged or tampered token is worthless.
    const [h, , s] = push.body.token!.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: 'berth-registry', aud: 'test-registry', sub: 'x', exp: 2e9, nbf: 0, access: [{ type: 'repository', name: 'tok/app', actions: ['*'] }] })).toString('base64url')}.${s}`;
    assert.equal((await fetch(`${reg.url}/v2/tok/app/manifests/v1`, { headers: { Authorization: `Bearer ${forged}` } })).status, 401);

    // The OAuth2 password grant (containerd) works too.
    const form = await fetch(`${reg.url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 's3cret', service: 'test-registry', scope: 'repository:tok/app:pull' }) });
    assert.equal(form.status, 200);

    // Berth's own registry client negotiates the token by itself.
    const client = new RegistryClient({ url: reg.url, insecureTls: false, mirror: false }, { credentials: { username: 'alice', password: 's3cret' } });
    const res = await client.request(`/v2/tok/app/manifests/v1`, 'repository:tok/app:pull', { method: 'HEAD' });
    assert.equal(res.status, 200);
    res.body.resume();
  } finally {
    await reg.stop();
  }
});

test('read-only mode serves pulls and refuses pushes and deletes with UNSUPPORTED', async () => {
  const root = mkdtempSync('/tmp/bregro-');
  const rw = await startRegistry({ root });
  const img = await pushImage(rw.url, 'ro/app', 'v1', MEDIA.dockerManifest, 'ro');
  await rw.stop();
  const ro = await startRegistry({ root, readOnly: true });
  try {
    assert.equal((await fetch(`${ro.url}/v2/ro/app/manifests/v1`)).status, 200);
    for (const [method, path] of [['POST', '/v2/ro/app/blobs/uploads/'], ['PUT', '/v2/ro/app/manifests/v2'], ['DELETE', `/v2/ro/app/manifests/${img.digest}`]] as const) {
      const res = await fetch(ro.url + path, { method, ...(method === 'PUT' ? { body: new Uint8Array(img.manifest), headers: { 'Content-Type': MEDIA.dockerManifest } } : {}) });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(await errorCode(res), 'UNSUPPORTED');
    }
    await assert.rejects(pushBlob(ro.url, 'ro/app', Buffer.from('x')), /HTTP 405/);
  } finally {
    await ro.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('TLS: HTTPS with the given certificate; a client trusting it verifies, one that does not refuses', async () => {
  const { cert, key } = makeCert(dir);
  const reg = await startRegistry({ tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  try {
    assert.match(reg.url, /^https:/);
    const ca = readFileSync(cert);
    const status = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${reg.url}/v2/`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject).end();
    });
    assert.equal(status, 200);
    await assert.rejects(fetch(`${reg.url}/v2/`), /fetch failed/);
    const trusted = new RegistryClient({ url: reg.url, insecureTls: false, mirror: false, ca });
    const res = await trusted.request('/v2/', '');
    assert.equal(res.status, 200);
    res.body.resume();
    const untrusted = new RegistryClient({ url: reg.url, insecureTls: false, mirror: false });
    await assert.rejects(untrusted.request('/v2/', ''), /certificate/i);
  } finally {
    await reg.stop();
  }
});
