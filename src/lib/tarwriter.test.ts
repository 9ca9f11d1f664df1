import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { tarFileHeader, tarPadding, TAR_END } from './tarwriter.ts';

test('headers, padding and the end marker make an archive a tar reader accepts', async () => {
  const files: [string, Buffer][] = [['blobs/sha256/' + 'a'.repeat(64), Buffer.alloc(1000, 7)], ['index.json', Buffer.from('{}')], ['empty', Buffer.alloc(0)]];
  const parts: Buffer[] = [];
  for (const [name, data] of files) parts.push(tarFileHeader(name, data.length), data, tarPadding(data.length));
  parts.push(TAR_END);
  const extract = tar.extract();
  const seen: [string, Buffer][] = [];
  const done = (async () => {
    for await (const e of extract) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      seen.push([e.header.name, Buffer.concat(chunks)]);
      assert.equal(e.header.mode, 0o644);
      assert.equal(e.header.type, 'file');
    }
  })();
  Readable.from([Buffer.concat(parts)]).pipe(extract);
  await done;
  assert.deepEqual(seen.map(([n, d]) => [n, d.length]), files.map(([n, d]) => [n, d.length]));
  assert.ok(seen[0][1].equals(files[0][1]));
  assert.throws(() => tarFileHeader('x'.repeat(101), 0), /too long/);
});
