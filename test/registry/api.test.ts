/**
 * The registry server's distribution API, over real HTTP on loopback: blobs, uploads
 * (monolithic, chunked, resumed, out of order, mounted, interrupted), manifests of all four
 * media types, tags and catalog pagination, deletes and the spec's error codes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushBlob, pushImage, digestOf, errorCode, imageManifest, type TestRegistry } from './helpers.ts';
import { MEDIA } from '../../src/registry/manifest.ts';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.stop();
});

const blobFiles = () => readdirSync(join(reg.root, 'blobs', 'sha256')).filter((f) => !f.includes('.'));

test('GET /v2/ answers 200 with the API version header; unknown paths are 404', async () => {
  const res = await fetch(`${reg.url}/v2/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.deepEqual(await res.json(), {});
  assert.equal((await fetch(`${reg.url}/v3/`)).status, 404);
  assert.equal((await fetch(`${reg.url}/v2/x/nothing`)).status, 404);
});

test('monolithic upload, HEAD, GET and byte ranges', async () => {
  const data = Buffer.from('0123456789abcdef');
  const d = await pushBlob(reg.url, 'mono/repo', data);
  const head = await fetch(`${reg.url}/v2/mono/repo/blobs/${d}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '16');
  assert.equal(head.headers.get('docker-content-digest'), d);
  assert.equal(await (await fetch(`${reg.url}/v2/mono/repo/blobs/${d}`)).text(), '0123456789abcdef');
  const part = await fetch(`${reg.url}/v2/mono/repo/blobs/${d}`, { headers: { Range: 'bytes=4-7' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), 'bytes 4-7/16');
  assert.equal(await part.text(), '4567');
  const tail = await fetch(`${reg.url}/v2/mono/repo/blobs/${d}`, { headers: { Range: 'bytes=-3' } });
  assert.equal(await tail.text(), 'def');
  const bad = await fetch(`${reg.url}/v2/mono/repo/blobs/${d}`, { headers: { Range: 'bytes=99-' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), 'bytes */16');
  // Blobs are per repository: another repository does not see it without a mount.
  const other = await fetch(`${reg.url}/v2/mono/other/blobs/${d}`);
  assert.equal(other.status, 404);
  assert.equal(await errorCode(other), 'BLOB_UNKNOWN');
});

test('an upload whose content does not match its digest is refused and nothing is stored', async () => {
  const before = blobFiles().length;
  const wrong = digestOf('something else');
  const res = await fetch(`${reg.url}/v2/mono/repo/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: 'the real content' });
  assert.equal(res.status, 400);
  assert.equal(await errorCode(res), 'DIGEST_INVALID');
  assert.equal(blobFiles().length, before);
  assert.equal(existsSync(join(reg.root, 'blobs', 'sha256', wrong.slice(7))), false);
  assert.deepEqual(readdirSync(join(reg.root, 'uploads')), []);
  const malformed = await fetch(`${reg.url}/v2/mono/repo/blobs/uploads/?digest=sha256:xyz`, { method: 'POST', body: 'x' });
  assert.equal(await errorCode(malformed), 'DIGEST_INVALID');
});

test('chunked upload: PATCH in order, status, out-of-order chunk refused with 416, resume, PUT', async () => {
  const start = await fetch(`${reg.url}/v2/chunked/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = start.headers.get('location')!;
  assert.match(loc, /^\/v2\/chunked\/blobs\/uploads\/[0-9a-f-]{36}$/);
  assert.equal(start.headers.get('range'), '0-0');
  assert.ok(start.headers.get('docker-upload-uuid'));

  const p1 = await fetch(reg.url + loc, { method: 'PATCH', body: 'hello ', headers: { 'Content-Range': '0-5', 'Content-Type': 'application/octet-stream' } });
  assert.equal(p1.status, 202);
  assert.equal(p1.headers.get('range'), '0-5');

  const skip = await fetch(reg.url + loc, { method: 'PATCH', body: 'XXXX', headers: { 'Content-Range': '10-13' } });
  assert.equal(skip.status, 416);
  assert.equal(await errorCode(skip), 'RANGE_INVALID');
  assert.equal(skip.headers.get('range'), '0-5', 'tells the client where to resume');

  const status = await fetch(reg.url + loc);
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), '0-5');

  const p2 = await fetch(reg.url + loc, { method: 'PATCH', body: 'chunked ' });
  assert.equal(p2.headers.get('range'), '0-13');
  const full = Buffer.from('hello chunked world');
  const put = await fetch(`${reg.url}${loc}?digest=${digestOf(full)}`, { method: 'PUT', body: 'world', headers: { 'Content-Range': '14-18' } });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('location'), `/v2/chunked/blobs/${digestOf(full)}`);
  assert.equal(await (await fetch(`${reg.url}/v2/chunked/blobs/${digestOf(full)}`)).text(), 'hello chunked world');
  // The session is gone once finished.
  const again = await fetch(reg.url + loc);
  assert.equal(again.status, 404);
  assert.equal(await errorCode(again), 'BLOB_UPLOAD_UNKNOWN');
});

test('an upload can be cancelled, and sessions belong to their repository', async () => {
  const start = await fetch(`${reg.url}/v2/cancel/me/blobs/uploads/`, { method: 'POST' });
  const loc = start.headers.get('location')!;
  const uuid = start.headers.get('docker-upload-uuid')!;
  assert.equal((await fetch(`${reg.url}/v2/someone/else/blobs/uploads/${uuid}`)).status, 404);
  assert.equal((await fetch(reg.url + loc, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(reg.url + loc)).status, 404);
  assert.equal(existsSync(join(reg.root, 'uploads', uuid)), false);
});

test('a connection dropped mid-chunk leaves no blob; the upload resumes from what arrived', async () => {
  const start = await fetch(`${reg.url}/v2/dropped/blobs/uploads/`, { method: 'POST' });
  const loc = start.headers.get('location')!;
  const port = new URL(reg.url).port;
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: loc, method: 'PATCH', headers: { 'Content-Length': '1000' } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(400, 'a'), () => setTimeout(() => {
      req.destroy();
      setTimeout(resolve, 100);
    }, 100));
  });
  const before = blobFiles().length;
  const st = await fetch(reg.url + loc);
  assert.equal(st.status, 204);
  assert.equal(st.headers.get('range'), '0-399');
  const rest = Buffer.alloc(100, 'b');
  const full = Buffer.concat([Buffer.alloc(400, 'a'), rest]);
  const put = await fetch(`${reg.url}${loc}?digest=${digestOf(full)}`, { method: 'PUT', body: new Uint8Array(rest), headers: { 'Content-Range': '400-499' } });
  assert.equal(put.status, 201);
  assert.equal(blobFiles().length, before + 1);
});

test('concurrent pushes of the same blob all succeed and store it once', async () => {
  const data = Buffer.alloc(256 * 1024, 7);
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${reg.url}/v2/conc/r${i}/blobs/uploads/?digest=${digestOf(data)}`, { method: 'POST', body: new Uint8Array(data) })));
  assert.deepEqual(results.map((r) => r.status), Array(8).fill(201));
  assert.equal(blobFiles().filter((f) => f === digestOf(data).slice(7)).length, 1);
  assert.equal(readFileSync(join(reg.root, 'blobs', 'sha256', digestOf(data).slice(7))).equals(data), true);
});

test('cross-repository mount links an existing blob; an unknown one starts an upload', async () => {
  const d = await pushBlob(reg.url, 'mount/src', Buffer.from('mounted content'));
  const ok = await fetch(`${reg.url}/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`, { method: 'POST' });
  assert.equal(ok.status, 201);
  assert.equal(ok.headers.get('location'), `/v2/mount/dst/blobs/${d}`);
  assert.equal(await (await fetch(`${reg.url}/v2/mount/dst/blobs/${d}`)).text(), 'mounted content');
  const miss = await fetch(`${reg.url}/v2/mount/dst/blobs/uploads/?mount=${digestOf('nope')}&from=mount/src`, { method: 'POST' });
  assert.equal(miss.status, 202);
  assert.match(miss.headers.get('location')!, /\/blobs\/uploads\//);
});

for (const mediaType of [MEDIA.dockerManifest, MEDIA.ociManifest]) {
  test(`manifests: PUT and GET ${mediaType} by tag and by digest`, async () => {
    const repo = mediaType.includes('oci') ? 'man/oci' : 'man/docker';
    const img = await pushImage(reg.url, repo, 'v1', mediaType, repo);
    assert.equal(img.digest, digestOf(img.manifest));
    for (const ref of ['v1', img.digest]) {
      const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: mediaType } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), mediaType);
      assert.equal(res.headers.get('docker-content-digest'), img.digest);
      assert.equal(Buffer.from(await res.arrayBuffer()).equals(img.manifest), true);
    }
    const head = await fetch(`${reg.url}/v2/${repo}/manifests/v1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(img.manifest.length));
  });
}

for (const [indexType, childType] of [[MEDIA.dockerList, MEDIA.dockerManifest], [MEDIA.ociIndex, MEDIA.ociManifest]] as const) {
  test(`indexes: ${indexType} over pushed children; clients that cannot read it get linux/amd64`, async () => {
    const repo = `idx/${indexType.includes('oci') ? 'oci' : 'docker'}`;
    const amd = await pushImage(reg.url, repo, 'amd64', childType, `${repo}-amd64`);
    const arm = await pushImage(reg.url, repo, 'arm64', childType, `${repo}-arm64`);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: indexType,
      manifests: [
        { mediaType: childType, digest: arm.digest, size: arm.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
        { mediaType: childType, digest: amd.digest, size: amd.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }));
    const put = await fetch(`${reg.url}/v2/${repo}/manifests/multi`, { method: 'PUT', body: index, headers: { 'Content-Type': indexType } });
    assert.equal(put.status, 201);
    const got = await fetch(`${reg.url}/v2/${repo}/manifests/multi`, { headers: { Accept: `${indexType}, ${childType}` } });
    assert.equal(got.headers.get('content-type'), indexType);
    const old = await fetch(`${reg.url}/v2/${repo}/manifests/multi`, { headers: { Accept: childType } });
    assert.equal(old.headers.get('content-type'), childType);
    assert.equal(old.headers.get('docker-content-digest'), amd.digest);
  });
}

test('manifest validation: unknown blobs and children, bad JSON, unknown types, digest mismatch, oversize', async () => {
  const config = Buffer.from('{"cfg":1}');
  await pushBlob(reg.url, 'val/repo', config);
  const missingLayer = imageManifest(MEDIA.dockerManifest, config, [Buffer.from('never pushed')]);
  const put = (body: Buffer | string, ref = 'x', type: string = MEDIA.dockerManifest) =>
    fetch(`${reg.url}/v2/val/repo/manifests/${ref}`, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'Content-Type': type } });
  let res = await put(missingLayer);
  assert.equal(res.status, 400);
  const body = (await res.json()) as { errors: { code: string; detail: { digest: string } }[] };
  assert.equal(body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
  assert.equal(body.errors[0].detail.digest, digestOf('never pushed'));
  res = await put('{not json');
  assert.equal(await errorCode(res), 'MANIFEST_INVALID');
  res = await put('{"schemaVersion":2}', 'x', 'application/vnd.example.unknown+json');
  assert.equal(await errorCode(res), 'MANIFEST_INVALID');
  res = await put(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), 'x', 'application/vnd.docker.distribution.manifest.v1+prettyjws');
  assert.equal(await errorCode(res), 'MANIFEST_INVALID');
  const index = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest: digestOf('no child'), size: 1 }] });
  res = await put(index, 'x', MEDIA.ociIndex);
  assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
  const good = imageManifest(MEDIA.dockerManifest, config, []);
  res = await put(good, digestOf('other content'));
  assert.equal(await errorCode(res), 'DIGEST_INVALID');
  res = await put(Buffer.alloc(5 << 20, 32));
  assert.equal(await errorCode(res), 'MANIFEST_INVALID');
  res = await put(good, 'bad:tag!');
  assert.equal(res.status, 400);
  // Nothing above was tagged.
  assert.equal((await fetch(`${reg.url}/v2/val/repo/manifests/x`)).status, 404);
  res = await put(good, digestOf(good));
  assert.equal(res.status, 201);
});

test('names: invalid names are NAME_INVALID; unknown repositories NAME_UNKNOWN; unknown tags MANIFEST_UNKNOWN', async () => {
  for (const bad of ['UPPER/case', 'a//b', '-lead', 'x/_layers']) {
    const res = await fetch(`${reg.url}/v2/${bad}/tags/list`);
    assert.equal(res.status, 400, bad);
    assert.equal(await errorCode(res), 'NAME_INVALID');
  }
  const res = await fetch(`${reg.url}/v2/no/such/repo/tags/list`);
  assert.equal(res.status, 404);
  assert.equal(await errorCode(res), 'NAME_UNKNOWN');
  const m = await fetch(`${reg.url}/v2/man/docker/manifests/nope`);
  assert.equal(m.status, 404);
  assert.equal(await errorCode(m), 'MANIFEST_UNKNOWN');
  const traversal = await fetch(`${reg.url}/v2/..%2F..%2Fetc/tags/list`);
  assert.equal(traversal.status, 400);
});

test('tags/list and _catalog paginate with n, last and Link', async () => {
  const img = await pushImage(reg.url, 'page/repo', 't0', MEDIA.dockerManifest, 'page');
  for (const t of ['t1', 't2', 't3', 't4']) {
    await fetch(`${reg.url}/v2/page/repo/manifests/${t}`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': MEDIA.dockerManifest } });
  }
  const all = await fetch(`${reg.url}/v2/page/repo/tags/list`);
  assert.deepEqual(await all.json(), { name: 'page/repo', tags: ['t0', 't1', 't2', 't3', 't4'] });
  const p1 = await fetch(`${reg.url}/v2/page/repo/tags/list?n=2`);
  assert.deepEqual(((await p1.json()) as { tags: string[] }).tags, ['t0', 't1']);
  assert.equal(p1.headers.get('link'), '</v2/page/repo/tags/list?last=t1&n=2>; rel="next"');
  const p2 = await fetch(`${reg.url}/v2/page/repo/tags/list?n=2&last=t1`);
  assert.deepEqual(((await p2.json()) as { tags: string[] }).tags, ['t2', 't3']);
  const p3 = await fetch(`${reg.url}/v2/page/repo/tags/list?n=2&last=t3`);
  assert.deepEqual(((await p3.json()) as { tags: string[] }).tags, ['t4']);
  assert.equal(p3.headers.get('link'), null);
  assert.equal(await errorCode(await fetch(`${reg.url}/v2/page/repo/tags/list?n=-1`)), 'PAGINATION_NUMBER_INVALID');

  const cat = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  assert.ok(cat.repositories.includes('page/repo'));
  assert.deepEqual(cat.repositories, [...cat.repositories].sort());
  const c1 = await fetch(`${reg.url}/v2/_catalog?n=1`);
  const first = ((await c1.json()) as { repositories: string[] }).repositories;
  assert.equal(first.length, 1);
  assert.equal(c1.headers.get('link'), `</v2/_catalog?last=${encodeURIComponent(first[0])}&n=1>; rel="next"`);
  const c2 = (await (await fetch(`${reg.url}/v2/_catalog?n=1&last=${first[0]}`)).json()) as { repositories: string[] };
  assert.equal(c2.repositories[0], cat.repositories[1]);
});

test('deletes: a tag, a manifest with its tags, a blob link', async () => {
  const img = await pushImage(reg.url, 'del/repo', 'a', MEDIA.ociManifest, 'del');
  await fetch(`${reg.url}/v2/del/repo/manifests/b`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal((await fetch(`${reg.url}/v2/del/repo/manifests/a`, { method: 'DELETE' })).status, 202);
  assert.deepEqual(((await (await fetch(`${reg.url}/v2/del/repo/tags/list`)).json()) as { tags: string[] }).tags, ['b']);
  assert.equal((await fetch(`${reg.url}/v2/del/repo/manifests/${img.digest}`, { method: 'DELETE' })).status, 202);
  assert.deepEqual(((await (await fetch(`${reg.url}/v2/del/repo/tags/list`)).json()) as { tags: string[] }).tags, []);
  assert.equal((await fetch(`${reg.url}/v2/del/repo/manifests/${img.digest}`)).status, 404);
  const layer = digestOf(img.layers[0]);
  assert.equal((await fetch(`${reg.url}/v2/del/repo/blobs/${layer}`, { method: 'DELETE' })).status, 202);
  assert.equal((await fetch(`${reg.url}/v2/del/repo/blobs/${layer}`)).status, 404);
  const again = await fetch(`${reg.url}/v2/del/repo/manifests/${img.digest}`, { method: 'DELETE' });
  assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
});

test('unsupported methods answer UNSUPPORTED (405)', async () => {
  const res = await fetch(`${reg.url}/v2/x/tags/list`, { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal(await errorCode(res), 'UNSUPPORTED');
});
