/**
 * The registry's storage across restarts and its garbage collector: uploads survive a
 * restart (the digest is recomputed from disk), gc keeps what manifests reference and deletes
 * the rest, dry runs change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushImage, pushBlob, digestOf } from './helpers.ts';
import { MEDIA } from '../../src/registry/manifest.ts';
import { RegistryStorage } from '../../src/registry/storage/storage.ts';
import { collectGarbage } from '../../src/registry/gc.ts';

const blobs = (root: string) => readdirSync(join(root, 'blobs', 'sha256')).filter((f) => !f.includes('.')).sort();

test('an upload started before a restart finishes after it', async () => {
  const root = mkdtempSync('/tmp/bregst-');
  try {
    const a = await startRegistry({ root });
    const start = await fetch(`${a.url}/v2/restart/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    await fetch(a.url + loc, { method: 'PATCH', body: 'first half, ' });
    await a.stop();
    const b = await startRegistry({ root });
    try {
      const st = await fetch(b.url + loc);
      assert.equal(st.headers.get('range'), '0-11');
      const full = 'first half, second half';
      const wrong = await fetch(`${b.url}${loc}?digest=${digestOf('not it')}`, { method: 'PUT', body: 'second half' });
      assert.equal(wrong.status, 400);
      // A failed digest check ends the session; start over and do it right.
      const again = await fetch(`${b.url}/v2/restart/blobs/uploads/`, { method: 'POST' });
      const loc2 = again.headers.get('location')!;
      await fetch(b.url + loc2, { method: 'PATCH', body: 'first half, ' });
      const put = await fetch(`${b.url}${loc2}?digest=${digestOf(full)}`, { method: 'PUT', body: 'second half' });
      assert.equal(put.status, 201);
      assert.equal(await (await fetch(`${b.url}/v2/restart/blobs/${digestOf(full)}`)).text(), full);
    } finally {
      await b.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('gc deletes unreferenced blobs and stale uploads, keeps referenced ones; --dry-run changes nothing', async () => {
  const root = mkdtempSync('/tmp/breggc-');
  try {
    const reg = await startRegistry({ root });
    const kept = await pushImage(reg.url, 'gc/app', 'v1', MEDIA.dockerManifest, 'kept');
    const shared = await pushImage(reg.url, 'gc/other', 'v1', MEDIA.ociManifest, 'kept'); // same layers, other repo
    const orphan = await pushBlob(reg.url, 'gc/app', Buffer.from('orphan layer'));
    const dropped = await pushImage(reg.url, 'gc/app', 'v2', MEDIA.dockerManifest, 'dropped');
    await fetch(`${reg.url}/v2/gc/app/manifests/${dropped.digest}`, { method: 'DELETE' });
    const stale = await fetch(`${reg.url}/v2/gc/app/blobs/uploads/`, { method: 'POST' });
    const staleId = stale.headers.get('docker-upload-uuid')!;
    const fresh = (await fetch(`${reg.url}/v2/gc/app/blobs/uploads/`, { method: 'POST' })).headers.get('docker-upload-uuid')!;
    await reg.stop();
    writeFileSync(join(root, 'uploads', staleId, 'info.json'), JSON.stringify({ repo: 'gc/app', startedAt: new Date(Date.now() - 2 * 86400_000).toISOString() }));
    utimesSync(join(root, 'uploads', staleId), new Date(0), new Date(0));

    const storage = new RegistryStorage(root);
    const beforeBlobs = blobs(root);
    const dry = await collectGarbage(storage, { dryRun: true });
    assert.deepEqual(blobs(root), beforeBlobs, 'dry run deletes nothing');
    assert.ok(existsSync(join(root, 'uploads', staleId)));
    const unreferenced = [orphan, dropped.digest, digestOf(dropped.config), ...dropped.layers.map(digestOf)].sort();
    assert.deepEqual([...dry.deletedBlobs].sort(), unreferenced);

    const real = await collectGarbage(storage);
    assert.deepEqual([...real.deletedBlobs].sort(), unreferenced);
    assert.ok(real.freedBytes > 0);
    assert.deepEqual(real.deletedUploads, [staleId]);
    assert.ok(existsSync(join(root, 'uploads', fresh)));
    const left = blobs(root).map((h) => `sha256:${h}`);
    for (const d of [kept.digest, shared.digest, digestOf(kept.config), ...kept.layers.map(digestOf)]) assert.ok(left.includes(d), d);
    for (const d of unreferenced) assert.ok(!left.includes(d), d);

    const after = await startRegistry({ root });
    try {
      assert.equal((await fetch(`${after.url}/v2/gc/app/manifests/v1`)).status, 200);
      assert.equal((await fetch(`${after.url}/v2/gc/other/blobs/${digestOf(kept.layers[0])}`)).status, 200);
      assert.equal((await fetch(`${after.url}/v2/gc/app/blobs/${orphan}`)).status, 404);
    } finally {
      await after.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('gc --delete-untagged removes manifests no tag reaches, keeping children of tagged indexes', async () => {
  const root = mkdtempSync('/tmp/breggc-');
  try {
    const reg = await startRegistry({ root });
    const child = await pushImage(reg.url, 'u/app', 'child', MEDIA.ociManifest, 'child');
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ mediaType: MEDIA.ociManifest, digest: child.digest, size: child.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    await fetch(`${reg.url}/v2/u/app/manifests/multi`, { method: 'PUT', body: new Uint8Array(index), headers: { 'Content-Type': MEDIA.ociIndex } });
    await fetch(`${reg.url}/v2/u/app/manifests/child`, { method: 'DELETE' });
    const untagged = await pushImage(reg.url, 'u/app', 'gone', MEDIA.ociManifest, 'untagged');
    await fetch(`${reg.url}/v2/u/app/manifests/gone`, { method: 'DELETE' });
    await reg.stop();
    const r = await collectGarbage(new RegistryStorage(root), { deleteUntagged: true });
    assert.deepEqual(r.deletedManifests, [`u/app@${untagged.digest}`]);
    assert.ok(r.deletedBlobs.includes(untagged.digest));
    assert.ok(!r.deletedBlobs.includes(child.digest));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
