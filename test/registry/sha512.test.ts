/**
 * sha512 content over real HTTP on loopback: blob uploads of every kind (monolithic POST,
 * POST+PUT, chunked, streamed, with and without `digest-algorithm`), GET/HEAD/ranges/DELETE,
 * mounts (from a repository and without `from`), manifests by sha512 digest, `?tag=`
 * parameters, and the errors for unknown algorithms and missing blobs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushBlob, errorCode, type TestRegistry } from './helpers.ts';
import { digestOf } from '../../src/lib/digest.ts';
import { MEDIA } from '../../src/registry/manifest.ts';
import { htpasswdLine } from '../../src/registry/auth/htpasswd.ts';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.stop();
});

const blobFile = (d: string) => join(reg.root, 'blobs', d.slice(0, 6), d.slice(7));
const sha384 = `sha384:${'a'.repeat(96)}`;

test('monolithic sha512 upload: stored under blobs/sha512, served with its sha512 digest, ranges, delete', async () => {
  const data = Buffer.from('0123456789abcdef-sha512');
  const d = await pushBlob(reg.url, 's512/mono', data, {}, 'sha512');
  assert.match(d, /^sha512:[0-9a-f]{128}$/);
  assert.deepEqual(readFileSync(blobFile(d)), data);
  assert.ok(existsSync(join(reg.root, 'repositories', 's512', 'mono', '_layers', 'sha512', d.slice(7))));
  assert.equal(readdirSync(join(reg.root, 'blobs', 'sha256')).filter((f) => !f.startsWith('.')).length, 0, 'not stored under sha256 too');

  const head = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(data.length));
  assert.equal(head.headers.get('docker-content-digest'), d);
  const get = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`);
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('docker-content-digest'), d);
  assert.equal(await get.text(), data.toString());

  const part = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`, { headers: { Range: 'bytes=2-5' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 2-5/${data.length}`);
  assert.equal(await part.text(), '2345');
  const invalid = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`, { headers: { Range: 'bytes=5-2' } });
  assert.equal(invalid.status, 416);
  assert.equal(invalid.headers.get('content-range'), `bytes */${data.length}`);

  const del = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
  assert.equal(del.headers.get('docker-content-digest'), d);
  const gone = await fetch(`${reg.url}/v2/s512/mono/blobs/${d}`, { method: 'HEAD' });
  assert.equal(gone.status, 404);
});

test('POST then PUT, chunked and streamed sha512 uploads; a session hashes with ?digest-algorithm=', async () => {
  const data = Buffer.alloc(200_000, 'c');
  data.write('chunked sha512 upload', 1000);
  const d = digestOf(data, 'sha512');
  for (const [i, q] of ['', '?digest-algorithm=sha512'].entries()) {
    const repo = `s512/chunks${i}`;
    const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/${q}`, { method: 'POST' });
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    const p1 = await fetch(reg.url + loc, { method: 'PATCH', body: new Uint8Array(data.subarray(0, 70_000)), headers: { 'Content-Range': '0-69999' } });
    assert.equal(p1.status, 202);
    const skip = await fetch(reg.url + loc, { method: 'PATCH', body: new Uint8Array(data.subarray(100_000, 110_000)), headers: { 'Content-Range': '100000-109999' } });
    assert.equal(skip.status, 416);
    assert.equal(skip.headers.get('range'), '0-69999');
    const p2 = await fetch(reg.url + p1.headers.get('location')!, { method: 'PATCH', body: new Uint8Array(data.subarray(70_000, 150_000)) });
    assert.equal(p2.headers.get('range'), '0-149999');
    const put = await fetch(`${reg.url}${p2.headers.get('location')}?digest=${d}`, { method: 'PUT', body: new Uint8Array(data.subarray(150_000)), headers: { 'Content-Range': '150000-199999' } });
    assert.equal(put.status, 201, await put.clone().text());
    assert.equal(put.headers.get('location'), `/v2/${repo}/blobs/${d}`);
    assert.equal(put.headers.get('docker-content-digest'), d);
    assert.deepEqual(Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${d}`)).arrayBuffer()), data);
  }
  // POST then one PUT with the whole blob.
  const other = Buffer.from('post then put, sha512');
  const o = await fetch(`${reg.url}/v2/s512/postput/blobs/uploads/`, { method: 'POST' });
  const put = await fetch(`${reg.url}${o.headers.get('location')}?digest=${digestOf(other, 'sha512')}`, { method: 'PUT', body: new Uint8Array(other) });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('docker-content-digest'), digestOf(other, 'sha512'));
  // A session opened for sha512 can still be closed with a sha256 digest (the file is hashed again).
  const s = await fetch(`${reg.url}/v2/s512/postput/blobs/uploads/?digest-algorithm=sha512`, { method: 'POST' });
  const put256 = await fetch(`${reg.url}${s.headers.get('location')}?digest=${digestOf(other)}`, { method: 'PUT', body: new Uint8Array(other) });
  assert.equal(put256.status, 201);
  assert.ok(existsSync(blobFile(digestOf(other))));
});

test('a sha512 upload whose content does not match is DIGEST_INVALID and stores nothing', async () => {
  const wrong = digestOf('not this', 'sha512');
  const res = await fetch(`${reg.url}/v2/s512/bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: 'the real content' });
  assert.equal(res.status, 400);
  assert.equal(await errorCode(res), 'DIGEST_INVALID');
  assert.equal(existsSync(blobFile(wrong)), false);
  const short = await fetch(`${reg.url}/v2/s512/bad/blobs/uploads/?digest=sha512:${'a'.repeat(64)}`, { method: 'POST', body: 'x' });
  assert.equal(short.status, 400);
  assert.equal(await errorCode(short), 'DIGEST_INVALID');
});

test('unknown algorithms are 400 DIGEST_INVALID on every endpoint; a missing sha512 blob is 404 BLOB_UNKNOWN', async () => {
  for (const [method, path, body] of [
    ['GET', `/v2/s512/err/blobs/${sha384}`, undefined],
    ['DELETE', `/v2/s512/err/blobs/${sha384}`, undefined],
    ['POST', `/v2/s512/err/blobs/uploads/?digest=${sha384}`, 'x'],
    ['POST', '/v2/s512/err/blobs/uploads/?digest-algorithm=sha384', undefined],
    ['POST', `/v2/s512/err/blobs/uploads/?mount=${sha384}&from=s512/mono`, undefined],
    ['GET', `/v2/s512/err/manifests/${sha384}`, undefined],
    ['PUT', `/v2/s512/err/manifests/${sha384}`, '{}'],
    ['GET', `/v2/s512/err/referrers/${sha384}`, undefined],
  ] as const) {
    const res = await fetch(reg.url + path, { method, ...(body !== undefined ? { body } : {}) });
    assert.equal(res.status, 400, `${method} ${path}`);
    const err = (await res.json()) as { errors: { code: string; message: string }[] };
    assert.equal(err.errors[0].code, 'DIGEST_INVALID', `${method} ${path}`);
    assert.match(err.errors[0].message, /unsupported digest algorithm: sha384/);
  }
  const head = await fetch(`${reg.url}/v2/s512/err/blobs/${sha384}`, { method: 'HEAD' });
  assert.equal(head.status, 400);
  for (const d of [digestOf('never pushed', 'sha512'), digestOf('never pushed')]) {
    const res = await fetch(`${reg.url}/v2/s512/err/blobs/${d}`);
    assert.equal(res.status, 404, d);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
    assert.equal((await fetch(`${reg.url}/v2/s512/err/blobs/${d}`, { method: 'HEAD' })).status, 404);
    const del = await fetch(`${reg.url}/v2/s512/err/blobs/${d}`, { method: 'DELETE' });
    assert.equal(del.status, 404);
    assert.equal(await errorCode(del), 'BLOB_UNKNOWN');
  }
});

test('sha512 mounts: from a repository, without from (201 when the registry has it, 202 when not)', async () => {
  const data = Buffer.from('mount me, sha512');
  const d = await pushBlob(reg.url, 's512/src', data, {}, 'sha512');
  const ok = await fetch(`${reg.url}/v2/s512/dst/blobs/uploads/?mount=${d}&from=s512/src`, { method: 'POST' });
  assert.equal(ok.status, 201);
  assert.equal(ok.headers.get('location'), `/v2/s512/dst/blobs/${d}`);
  assert.equal(ok.headers.get('docker-content-digest'), d);
  assert.equal(await (await fetch(`${reg.url}/v2/s512/dst/blobs/${d}`)).text(), data.toString());

  const anon = await fetch(`${reg.url}/v2/s512/anon/blobs/uploads/?mount=${d}`, { method: 'POST' });
  assert.equal(anon.status, 201);
  assert.equal(anon.headers.get('location'), `/v2/s512/anon/blobs/${d}`);
  assert.equal(await (await fetch(`${reg.url}/v2/s512/anon/blobs/${d}`)).text(), data.toString());

  for (const q of [`mount=${digestOf('absent', 'sha512')}`, `mount=${digestOf('absent', 'sha512')}&from=s512/src`, `mount=${d}&from=s512/nothing-here`]) {
    const miss = await fetch(`${reg.url}/v2/s512/anon2/blobs/uploads/?${q}`, { method: 'POST' });
    assert.equal(miss.status, 202, q);
    assert.match(miss.headers.get('location')!, /^\/v2\/s512\/anon2\/blobs\/uploads\/[0-9a-f-]{36}$/);
  }
  assert.equal((await fetch(`${reg.url}/v2/s512/anon2/blobs/${d}`)).status, 404, 'a failed mount links nothing');
});

test('anonymous mounts are not honoured with token auth (tokens may be scoped per repository)', async () => {
  const dir = mkdtempSync('/tmp/bregtok-');
  writeFileSync(join(dir, 'htpasswd'), `${await htpasswdLine('u', 'p', 4)}\n`);
  const tok = await startRegistry({ auth: 'token', htpasswd: join(dir, 'htpasswd') });
  try {
    const token = async (scope: string) => ((await (await fetch(`${tok.url}/token?service=berth-registry&scope=${scope}`, { headers: { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } })).json()) as { token: string }).token;
    const data = Buffer.from('private blob');
    const d = digestOf(data, 'sha512');
    const t1 = await token('repository:private/a:pull,push');
    assert.equal((await fetch(`${tok.url}/v2/private/a/blobs/uploads/?digest=${d}`, { method: 'POST', body: new Uint8Array(data), headers: { Authorization: `Bearer ${t1}` } })).status, 201);
    const t2 = await token('repository:other/b:pull,push');
    const anon = await fetch(`${tok.url}/v2/other/b/blobs/uploads/?mount=${d}`, { method: 'POST', headers: { Authorization: `Bearer ${t2}` } });
    assert.equal(anon.status, 202);
  } finally {
    await tok.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifests by sha512 digest: PUT, GET, HEAD, DELETE; an index of sha512 children; ?tag= with OCI-Tag', async () => {
  const repo = 's512/man';
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from('sha512 layer bytes');
  const cd = await pushBlob(reg.url, repo, config, {}, 'sha512');
  const ld = await pushBlob(reg.url, repo, layer, {}, 'sha512');
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ld, size: layer.length }],
  }));
  const md = digestOf(manifest, 'sha512');
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/${md}?tag=v1&tag=latest`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(put.status, 201, await put.clone().text());
  assert.equal(put.headers.get('docker-content-digest'), md);
  assert.equal(put.headers.get('location'), `/v2/${repo}/manifests/${md}`);
  assert.equal(put.headers.get('oci-tag'), 'v1, latest');
  assert.ok(existsSync(join(reg.root, 'repositories', 's512', 'man', '_manifests', 'revisions', 'sha512', md.slice(7))));
  assert.deepEqual(readFileSync(blobFile(md)), manifest);

  for (const ref of [md, 'v1', 'latest']) {
    const get = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: MEDIA.ociManifest } });
    assert.equal(get.status, 200, ref);
    assert.equal(get.headers.get('docker-content-digest'), md, 'a tag reaches the sha512 name it was given');
    assert.equal(get.headers.get('content-type'), MEDIA.ociManifest);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), manifest);
  }
  const head = await fetch(`${reg.url}/v2/${repo}/manifests/${md}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(manifest.length));
  assert.equal(head.headers.get('docker-content-digest'), md);
  // The same bytes by their sha256 name were never pushed.
  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${digestOf(manifest)}`)).status, 404);

  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest: md, size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
  const id = digestOf(index, 'sha512');
  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${id}`, { method: 'PUT', body: new Uint8Array(index), headers: { 'Content-Type': MEDIA.ociIndex } })).status, 201);
  const missingChild = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest: digestOf('no such child', 'sha512'), size: 1 }] }));
  const bad = await fetch(`${reg.url}/v2/${repo}/manifests/${digestOf(missingChild, 'sha512')}`, { method: 'PUT', body: new Uint8Array(missingChild), headers: { 'Content-Type': MEDIA.ociIndex } });
  assert.equal(await errorCode(bad), 'MANIFEST_BLOB_UNKNOWN');

  const mismatch = await fetch(`${reg.url}/v2/${repo}/manifests/${digestOf('other', 'sha512')}`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(mismatch.status, 400);
  assert.equal(await errorCode(mismatch), 'DIGEST_INVALID');
  const badTag = await fetch(`${reg.url}/v2/${repo}/manifests/${md}?tag=-bad`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(await errorCode(badTag), 'TAG_INVALID');

  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${id}`, { method: 'DELETE' })).status, 202);
  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${md}`, { method: 'DELETE' })).status, 202);
  for (const ref of [md, 'v1', 'latest']) assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD' })).status, 404, ref);
  const again = await fetch(`${reg.url}/v2/${repo}/manifests/${md}`, { method: 'DELETE' });
  assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
});

test('an empty sha512 blob', async () => {
  const d = await pushBlob(reg.url, 's512/empty', Buffer.alloc(0), {}, 'sha512');
  const get = await fetch(`${reg.url}/v2/s512/empty/blobs/${d}`);
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('content-length'), '0');
  assert.equal((await get.arrayBuffer()).byteLength, 0);
});
