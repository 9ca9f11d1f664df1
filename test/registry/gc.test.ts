/**
 * `berth registry gc` with sha512 content and referrers: unreferenced sha512 blobs are swept
 * and referenced ones kept; with --delete-untagged a manifest whose subject is kept is kept
 * (signatures and SBOMs of a tagged image survive), referrers of deleted manifests go too,
 * and the referrers records are rewritten to match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushBlob, pushImage } from './helpers.ts';
import { digestOf } from '../../src/lib/digest.ts';
import { MEDIA } from '../../src/registry/manifest.ts';
import { RegistryStorage } from '../../src/registry/storage/storage.ts';
import { collectGarbage } from '../../src/registry/gc.ts';

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []);

/** An image whose config, layers and manifest are all named by sha512, tagged through ?tag=. */
async function pushSha512Image(url: string, repo: string, seed: string, tag?: string): Promise<{ digest: string; blobs: string[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer ${seed}`);
  const cd = await pushBlob(url, repo, config, {}, 'sha512');
  const ld = await pushBlob(url, repo, layer, {}, 'sha512');
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ld, size: layer.length }],
  }));
  const digest = digestOf(body, 'sha512');
  const res = await fetch(`${url}/v2/${repo}/manifests/${digest}${tag ? `?tag=${tag}` : ''}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(res.status, 201);
  return { digest, blobs: [cd, ld] };
}

/** An artifact referring to `subject`; returns its digest and its one layer's digest. */
async function pushReferrer(url: string, repo: string, subject: string, note: string, subjectSize = 1): Promise<{ digest: string; layer: string }> {
  const cfg = await pushBlob(url, repo, Buffer.from('{}'));
  const layer = await pushBlob(url, repo, Buffer.from(`referrer ${note}`));
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest, artifactType: 'application/vnd.example.sig',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: cfg, size: 2 },
    layers: [{ mediaType: 'application/octet-stream', digest: layer, size: Buffer.byteLength(`referrer ${note}`) }],
    subject: { mediaType: MEDIA.ociManifest, digest: subject, size: subjectSize },
  }));
  const digest = digestOf(body);
  const res = await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(res.status, 201);
  return { digest, layer };
}

test('gc sweeps unreferenced sha512 blobs and their layer links, and keeps referenced ones', async () => {
  const root = mkdtempSync('/tmp/breggc512-');
  try {
    const reg = await startRegistry({ root });
    const kept = await pushSha512Image(reg.url, 'g/app', 'kept', 'v1');
    const orphan = await pushBlob(reg.url, 'g/app', Buffer.from('orphan sha512'), {}, 'sha512');
    const dropped = await pushSha512Image(reg.url, 'g/app', 'dropped');
    assert.equal((await fetch(`${reg.url}/v2/g/app/manifests/${dropped.digest}`, { method: 'DELETE' })).status, 202);
    await reg.stop();

    const storage = new RegistryStorage(root);
    const dry = await collectGarbage(storage, { dryRun: true });
    const unreferenced = [orphan, dropped.digest, ...dropped.blobs].sort();
    assert.deepEqual([...dry.deletedBlobs].sort(), unreferenced);
    assert.equal(files(join(root, 'blobs', 'sha512')).length, 7, 'a dry run deletes nothing');

    const r = await collectGarbage(storage);
    assert.deepEqual([...r.deletedBlobs].sort(), unreferenced);
    const left = files(join(root, 'blobs', 'sha512')).map((h) => `sha512:${h}`).sort();
    assert.deepEqual(left, [kept.digest, ...kept.blobs].sort());
    assert.ok(!existsSync(join(root, 'repositories', 'g', 'app', '_layers', 'sha512', orphan.slice(7))), 'the link to a swept blob goes');
    assert.ok(existsSync(join(root, 'repositories', 'g', 'app', '_layers', 'sha512', kept.blobs[1].slice(7))));

    const after = await startRegistry({ root });
    try {
      const m = await fetch(`${after.url}/v2/g/app/manifests/v1`);
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('docker-content-digest'), kept.digest);
      assert.equal((await fetch(`${after.url}/v2/g/app/blobs/${kept.blobs[1]}`)).status, 200);
      assert.equal((await fetch(`${after.url}/v2/g/app/blobs/${orphan}`)).status, 404);
    } finally {
      await after.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('gc --delete-untagged keeps the referrers of kept manifests (transitively) and deletes the others', async () => {
  const root = mkdtempSync('/tmp/breggcref-');
  try {
    const reg = await startRegistry({ root });
    const img = await pushImage(reg.url, 'g/ref', 'v1', MEDIA.ociManifest, 'tagged subject');
    const sig = await pushReferrer(reg.url, 'g/ref', img.digest, 'signature', img.manifest.length);
    const sigOfSig = await pushReferrer(reg.url, 'g/ref', sig.digest, 'countersignature');
    const untagged = await pushImage(reg.url, 'g/ref', 'gone', MEDIA.ociManifest, 'untagged subject');
    await fetch(`${reg.url}/v2/g/ref/manifests/gone`, { method: 'DELETE' });
    const orphanSig = await pushReferrer(reg.url, 'g/ref', untagged.digest, 'of the untagged one', untagged.manifest.length);
    const ghostSig = await pushReferrer(reg.url, 'g/ref', digestOf('never pushed'), 'of nothing');
    await reg.stop();

    const storage = new RegistryStorage(root);
    const dry = await collectGarbage(storage, { deleteUntagged: true, dryRun: true });
    const expected = [untagged.digest, orphanSig.digest, ghostSig.digest].map((d) => `g/ref@${d}`).sort();
    assert.deepEqual([...dry.deletedManifests].sort(), expected);
    const recordOf = (d: string) => join(root, 'repositories', 'g', 'ref', '_referrers', 'sha256', `${d.slice(7)}.json`);
    assert.ok(existsSync(recordOf(untagged.digest)), 'a dry run rewrites no record');

    const r = await collectGarbage(storage, { deleteUntagged: true });
    assert.deepEqual([...r.deletedManifests].sort(), expected);
    for (const d of [img.digest, sig.digest, sigOfSig.digest, sig.layer, sigOfSig.layer]) assert.ok(!r.deletedBlobs.includes(d), `kept ${d}`);
    for (const d of [untagged.digest, orphanSig.digest, ghostSig.digest, orphanSig.layer, ghostSig.layer]) assert.ok(r.deletedBlobs.includes(d), `deleted ${d}`);
    assert.ok(!existsSync(recordOf(untagged.digest)) && !existsSync(recordOf(digestOf('never pushed'))), 'records of deleted referrers are gone');
    assert.ok(existsSync(recordOf(img.digest)) && existsSync(recordOf(sig.digest)));

    const after = await startRegistry({ root });
    try {
      const list = async (subject: string) => ((await (await fetch(`${after.url}/v2/g/ref/referrers/${subject}`)).json()) as { manifests: { digest: string }[] }).manifests.map((d) => d.digest);
      assert.deepEqual(await list(img.digest), [sig.digest]);
      assert.deepEqual(await list(sig.digest), [sigOfSig.digest]);
      assert.deepEqual(await list(untagged.digest), []);
      assert.equal((await fetch(`${after.url}/v2/g/ref/manifests/${sigOfSig.digest}`)).status, 200);
      assert.equal((await fetch(`${after.url}/v2/g/ref/manifests/${orphanSig.digest}`)).status, 404);
    } finally {
      await after.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('gc without --delete-untagged keeps every referrer and repairs stale referrers entries', async () => {
  const root = mkdtempSync('/tmp/breggcfix-');
  try {
    const reg = await startRegistry({ root });
    const img = await pushImage(reg.url, 'g/fix', 'v1', MEDIA.ociManifest, 'subject');
    const a = await pushReferrer(reg.url, 'g/fix', img.digest, 'a', img.manifest.length);
    const b = await pushReferrer(reg.url, 'g/fix', img.digest, 'b', img.manifest.length);
    await reg.stop();
    // A crash between the two writes of a DELETE: the revision is gone, its entry is not.
    rmSync(join(root, 'repositories', 'g', 'fix', '_manifests', 'revisions', 'sha256', a.digest.slice(7)));
    const r = await collectGarbage(new RegistryStorage(root));
    assert.deepEqual(r.deletedManifests, []);
    assert.ok(!r.deletedBlobs.includes(b.digest));
    const rec = JSON.parse(readFileSync(join(root, 'repositories', 'g', 'fix', '_referrers', 'sha256', `${img.digest.slice(7)}.json`), 'utf8')) as { manifests: { digest: string }[] };
    assert.deepEqual(rec.manifests.map((d) => d.digest), [b.digest]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
