/**
 * The content store with sha512 names beside sha256 ones: where blobs live, that every way in
 * (write, ingest, commit) and out (read, openVerified) hashes with the digest's own algorithm,
 * and that corruption is reported whatever the algorithm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from './store.ts';
import { digestOf } from '../../lib/digest.ts';

async function withStore(fn: (s: ContentStore, root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync('/tmp/bcontent-');
  try {
    const s = new ContentStore(root);
    await s.init();
    await fn(s, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const drain = async (r: Readable): Promise<Buffer> => {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
};

test('blobs live under their algorithm: blobs/sha256/<hex> and blobs/sha512/<hex>', async () => {
  await withStore(async (s, root) => {
    assert.ok(existsSync(join(root, 'blobs', 'sha256')) && existsSync(join(root, 'blobs', 'sha512')));
    const data = Buffer.from('config bytes');
    const d512 = digestOf(data, 'sha512');
    assert.equal(s.blobPath(d512), join(root, 'blobs', 'sha512', d512.slice(7)));
    assert.deepEqual(await s.write(data, d512), { digest: d512, size: data.length });
    assert.ok(existsSync(join(root, 'blobs', 'sha512', d512.slice(7))));
    assert.ok(await s.has(d512));
    assert.ok(!(await s.has(digestOf(data))), 'named sha512, stored only under sha512');
    assert.deepEqual(await s.read(d512), data);
    assert.equal(await s.size(d512), data.length);
    const plain = await s.write(data);
    assert.equal(plain.digest, digestOf(data), 'without an expected digest, sha256');
    assert.deepEqual((await s.list()).sort(), [digestOf(data), d512].sort());
    await s.delete(d512);
    assert.ok(!(await s.has(d512)));
  });
});

test('write refuses content that does not match a sha512 name', async () => {
  await withStore(async (s) => {
    await assert.rejects(s.write(Buffer.from('a'), digestOf('b', 'sha512')), /digest mismatch/);
    assert.throws(() => s.blobPath('sha384:' + 'a'.repeat(96)), /unsupported digest algorithm/);
  });
});

test('ingest verifies a stream against a sha512 digest and size before it becomes visible', async () => {
  await withStore(async (s, root) => {
    const data = Buffer.alloc(3 << 20, 'L');
    const d = digestOf(data, 'sha512');
    assert.deepEqual(await s.ingest(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { digest: d, size: data.length }), { digest: d, size: data.length });
    assert.deepEqual(await drain(s.openVerified(d)), data);
    await assert.rejects(s.ingest(Readable.from([Buffer.from('wrong')]), { digest: digestOf('right', 'sha512') }), /digest mismatch/);
    await assert.rejects(s.ingest(Readable.from([data]), { digest: d, size: 5 }), /size mismatch/);
    assert.deepEqual(readdirSync(join(root, 'ingest')), [], 'failed ingests leave nothing behind');
    // Already there is success.
    assert.deepEqual(await s.ingest(Readable.from([data]), { digest: d }), { digest: d, size: data.length });
  });
});

test('commit moves a finished temp file into the sha512 directory', async () => {
  await withStore(async (s, root) => {
    const data = Buffer.from('layer made elsewhere');
    const d = digestOf(data, 'sha512');
    const tmp = s.tempPath();
    await writeFile(tmp, data);
    await s.commit(tmp, d);
    assert.ok(existsSync(join(root, 'blobs', 'sha512', d.slice(7))));
    assert.deepEqual(await s.read(d), data);
  });
});

test('a corrupted sha512 blob is reported on read and at the end of a verified stream', async () => {
  await withStore(async (s) => {
    const data = Buffer.from('to be corrupted');
    const d = digestOf(data, 'sha512');
    await s.write(data, d);
    writeFileSync(s.blobPath(d), 'to be CORRUPTED');
    await assert.rejects(s.read(d), /digest mismatch on disk/);
    await assert.rejects(drain(s.openVerified(d)), /digest mismatch on disk/);
    await assert.rejects(drain(s.openVerified(digestOf('absent', 'sha512'))), /not found/);
  });
});
