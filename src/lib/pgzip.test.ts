import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { ParallelGzip, levelFor, storedBlocks } from './pgzip.ts';

async function gz(data: Buffer, opts: ConstructorParameters<typeof ParallelGzip>[0] = {}, chunk = 65536): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(new ParallelGzip(opts))) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('one gzip member that gunzip (Node and the gzip tool) reads back exactly: empty, small, many pieces, odd sizes', async () => {
  const text = Buffer.from('hello layer\n'.repeat(300_000));
  for (const data of [Buffer.alloc(0), Buffer.from('x'), text, Buffer.concat([text, randomBytes(3_000_001)])]) {
    const z = await gz(data, { pieceBytes: 1 << 18 });
    assert.deepEqual([...z.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], "Go's header");
    assert.ok(gunzipSync(z).equals(data), `${data.length} bytes round-trip`);
    const tool = spawnSync('gzip', ['-dc'], { input: z, maxBuffer: 1 << 26 });
    assert.equal(tool.status, 0, tool.stderr.toString());
    assert.ok(tool.stdout.equals(data));
  }
  // Text compresses; random data is stored at almost its own size.
  assert.ok((await gz(text)).length < text.length / 20);
  const noise = randomBytes(4 << 20);
  const stored = await gz(noise);
  assert.ok(stored.length < noise.length * 1.001 && stored.length > noise.length, `stored: ${stored.length}`);
});

test('levelFor: random data is stored, text keeps the level asked for', () => {
  assert.equal(levelFor(randomBytes(1 << 20), 1), 0);
  assert.equal(levelFor(Buffer.from('abc'.repeat(100_000)), 1), 1);
  assert.equal(levelFor(Buffer.from('abc'), 6), 6, 'too small to judge');
});

test('stored blocks of any size, final or not, inflate to the piece', () => {
  for (const n of [0, 1, 65535, 65536, 200_000]) {
    const piece = randomBytes(n);
    const z = Buffer.concat([...storedBlocks(piece, true)]);
    assert.ok(inflateRawSync(z).equals(piece), `${n} bytes`);
  }
});
