import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileSink, BATCH_BYTES } from './filesink.ts';

test('writes every byte in order, in batches and the remainder, and can append', async () => {
  const dir = mkdtempSync('/tmp/filesink-');
  try {
    const parts = Array.from({ length: 70 }, (_, i) => Buffer.alloc(40_000, i));
    const path = join(dir, 'f');
    await pipeline(Readable.from(parts), new FileSink(path, { sync: true, mode: 0o600 }));
    const want = Buffer.concat(parts);
    assert.ok(want.length > 2 * BATCH_BYTES);
    assert.ok(readFileSync(path).equals(want));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    writeFileSync(join(dir, 'g'), 'head ');
    await pipeline(Readable.from([Buffer.from('tail')]), new FileSink(join(dir, 'g'), { flags: 'a' }));
    assert.equal(readFileSync(join(dir, 'g'), 'utf8'), 'head tail');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an error upstream fails the pipeline and closes the file', async () => {
  const dir = mkdtempSync('/tmp/filesink-');
  try {
    const src = new Readable({ read() {} });
    const p = pipeline(src, new FileSink(join(dir, 'f')));
    src.push(Buffer.alloc(10));
    src.destroy(new Error('connection reset'));
    await assert.rejects(p, /connection reset/);
    assert.equal(readFileSync(join(dir, 'f')).length, 0, 'gathered bytes are dropped by default');
    const src2 = new Readable({ read() {} });
    const p2 = pipeline(src2, new FileSink(join(dir, 'g'), { keepPartial: true }));
    src2.push(Buffer.alloc(10, 7));
    setTimeout(() => src2.destroy(new Error('connection reset')), 20);
    await assert.rejects(p2, /connection reset/);
    assert.deepEqual(readFileSync(join(dir, 'g')), Buffer.alloc(10, 7), 'keepPartial writes what arrived');
    await assert.rejects(pipeline(Readable.from([Buffer.from('x')]), new FileSink(join(dir, 'missing', 'f'))), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
