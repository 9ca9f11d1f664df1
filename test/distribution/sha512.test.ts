/**
 * Berth's registry client and content store with an image named entirely by sha512 (manifest,
 * config and layer digests), against a `berth registry` on loopback: the pull side resolves the
 * manifest by its sha512 digest and verifies it, ingests config and layer into the content
 * store under blobs/sha512 (checked as they stream), and the push side uploads them from the
 * store to another repository, mounts them into a third, and puts the manifest back by digest.
 * (The daemon's pull/push orchestration is in daemon/images and covered by test/integration.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushBlob, type TestRegistry } from '../registry/helpers.ts';
import { RegistryClient } from '../../src/distribution/client.ts';
import { parseManifest, MEDIA } from '../../src/distribution/media.ts';
import { ContentStore } from '../../src/store/content/store.ts';
import { digestOf, matchesDigest } from '../../src/lib/digest.ts';

let reg: TestRegistry;
let dataRoot: string;
let content: ContentStore;
let client: RegistryClient;
const requests: string[] = [];
const image: { manifest: Buffer; digest: string; config: Buffer; layer: Buffer } = { manifest: Buffer.alloc(0), digest: '', config: Buffer.alloc(0), layer: Buffer.alloc(0) };

before(async () => {
  reg = await startRegistry({ log: (line) => requests.push(line) });
  dataRoot = mkdtempSync('/tmp/bdist512-');
  content = new ContentStore(dataRoot);
  await content.init();
  client = new RegistryClient({ url: reg.url, insecureTls: false, mirror: false });
  image.layer = Buffer.alloc(600_000, 'z');
  image.config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(image.layer)] } }));
  const cd = await pushBlob(reg.url, 'dist/src', image.config, {}, 'sha512');
  const ld = await pushBlob(reg.url, 'dist/src', image.layer, {}, 'sha512');
  image.manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: cd, size: image.config.length },
    layers: [{ mediaType: MEDIA.ociLayerTar, digest: ld, size: image.layer.length }],
  }));
  image.digest = digestOf(image.manifest, 'sha512');
  const res = await fetch(`${reg.url}/v2/dist/src/manifests/${image.digest}?tag=v1`, { method: 'PUT', body: new Uint8Array(image.manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(res.status, 201);
});

after(async () => {
  await reg.stop();
  rmSync(dataRoot, { recursive: true, force: true });
});

test('pull: a sha512 manifest, config and layer land verified in the content store under blobs/sha512', async () => {
  for (const ref of [image.digest, 'v1']) {
    const m = await client.getManifest('dist/src', ref);
    assert.equal(m.digest, image.digest);
    assert.ok(matchesDigest(m.body, image.digest), 'the body hashes to its sha512 name');
  }
  const m = await client.getManifest('dist/src', image.digest);
  const parsed = parseManifest(m.body, m.mediaType);
  assert.equal(parsed.kind, 'manifest');
  if (parsed.kind !== 'manifest') return;
  for (const d of [parsed.config, ...parsed.layers]) {
    assert.match(d.digest, /^sha512:/);
    const { stream, size } = await client.openBlob('dist/src', d.digest);
    assert.equal(size, d.size);
    assert.deepEqual(await content.ingest(stream, { digest: d.digest, size: d.size }), { digest: d.digest, size: d.size });
    assert.ok(existsSync(join(dataRoot, 'blobs', 'sha512', d.digest.slice(7))));
  }
  await content.write(m.body, image.digest);
  assert.deepEqual(await content.read(image.digest), image.manifest);
  assert.deepEqual(await content.read(parsed.config.digest), image.config);
  // A registry sending other bytes than the digest names is caught before they are stored.
  const { stream } = await client.openBlob('dist/src', parsed.config.digest);
  await assert.rejects(content.ingest(stream, { digest: digestOf('something else', 'sha512') }), /digest mismatch/);
});

test('push: blobs go back out from the content store (upload and mount), the manifest by its sha512 digest', async () => {
  const parsed = parseManifest(await content.read(image.digest), MEDIA.ociManifest);
  if (parsed.kind !== 'manifest') throw new Error('not a manifest');
  const blobs = [parsed.config, ...parsed.layers];
  requests.length = 0;
  for (const d of blobs) {
    assert.equal(await client.hasBlob('dist/dst', d.digest), false);
    await client.pushBlob('dist/dst', d.digest, await content.size(d.digest), () => content.openVerified(d.digest));
    assert.equal(await client.hasBlob('dist/dst', d.digest), true);
    assert.equal(await client.mountBlob('dist/mounted', d.digest, 'dist/dst'), true);
  }
  // The upload says which algorithm it is for, so the registry hashes it once, as it arrives.
  assert.equal(requests.filter((l) => l.includes('"POST /v2/dist/dst/blobs/uploads/?digest-algorithm=sha512 ')).length, 2, requests.join('\n'));
  const body = await content.read(image.digest);
  assert.equal(await client.putManifest('dist/dst', image.digest, MEDIA.ociManifest, body), image.digest);
  assert.equal(await client.putManifest('dist/mounted', 'latest', MEDIA.ociManifest, body), digestOf(body), 'by tag, the registry names it by sha256');
  const back = await client.getManifest('dist/dst', image.digest);
  assert.deepEqual(back.body, image.manifest);
  const layer = await client.openBlob('dist/mounted', parsed.layers[0].digest);
  const chunks: Buffer[] = [];
  for await (const c of layer.stream) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), image.layer);
});
