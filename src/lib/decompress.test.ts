import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { decompressStream } from './decompress.ts';

async function all(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('a stream shorter than the sniffed head keeps its bytes ("abc" is not empty)', async () => {
  const { stream, compression } = await decompressStream(Readable.from([Buffer.from('abc')]));
  assert.equal(compression, 'none');
  assert.equal((await all(stream)).toString(), 'abc');
  assert.equal((await all((await decompressStream(Readable.from([]))).stream)).length, 0);
});

test('gzip is detected and decompressed; chunks split inside the magic still sniff', async () => {
  const gz = gzipSync(Buffer.from('hello world'));
  const { stream, compression } = await decompressStream(Readable.from([gz.subarray(0, 1), gz.subarray(1)]));
  assert.equal(compression, 'gzip');
  assert.equal((await all(stream)).toString(), 'hello world');
});
