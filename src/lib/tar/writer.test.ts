import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { encodeHeader } from './header.ts';
import { readTar } from './reader.ts';
import { tarSource, type BodySource } from './writer.ts';

/** A file in memory, read as a FileHandle would be (optionally shorter than it claims). */
function memFile(data: Buffer): BodySource {
  return {
    read: async (buf, off, len, pos) => ({ bytesRead: data.copy(buf, off, pos, Math.min(data.length, pos + len)) }),
  };
}

/**
 * A destination that holds each chunk it is given (not a copy) and only reads it when it calls
 * back, a little later: a writer reusing a buffer before the callback would corrupt what it got.
 */
function lateReader(): { dest: Writable; bytes: () => Buffer } {
  const got: Buffer[] = [];
  // Room for every chunk, so writes never wait for a drain: only the callbacks say when.
  const dest = new Writable({
    highWaterMark: 64 << 20,
    write(chunk: Buffer, _e, cb) {
      setTimeout(() => {
        got.push(Buffer.from(chunk));
        cb();
      }, 1);
    },
  });
  return { dest, bytes: () => Buffer.concat(got) };
}

async function entries(tar: Buffer): Promise<{ name: string; body: Buffer }[]> {
  const out: { name: string; body: Buffer }[] = [];
  for await (const e of readTar((async function* () { yield tar; })())) out.push({ name: e.header.name, body: await e.read() });
  return out;
}

test('writeTo: large bodies through reused buffers arrive intact, as a valid tar', async () => {
  const big = randomBytes(21 * 1024 * 1024 + 123);
  const small = randomBytes(1000);
  const { dest, bytes } = lateReader();
  let finished = 0;
  let counted = 0;
  const src = tarSource(async (w) => {
    await w.write(encodeHeader({ name: 'big', type: 'file', size: big.length, mode: 0o644, uid: 0, gid: 0, mtime: 0 }));
    await w.file(memFile(big), big.length);
    await w.write(encodeHeader({ name: 'small', type: 'file', size: small.length, mode: 0o644, uid: 0, gid: 0, mtime: 0 }));
    await w.file(memFile(small), small.length);
  }, async () => void finished++);
  await src.writeTo(dest, (n) => (counted += n));
  await new Promise<void>((r) => dest.end(r));
  const tar = bytes();
  assert.equal(counted, tar.length);
  assert.equal(tar.length % 512, 0);
  const es = await entries(tar);
  assert.deepEqual(es.map((e) => e.name), ['big', 'small']);
  assert.ok(es[0].body.equals(big), 'big body corrupted');
  assert.ok(es[1].body.equals(small));
  assert.equal(finished, 1);
});

test('a file that shrinks is zero-filled and one that grows is cut: the tar stays as its headers say', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const src = tarSource(async (w) => {
    await w.write(encodeHeader({ name: 'shrunk', type: 'file', size: 5 * 1024 * 1024, mode: 0o644, uid: 0, gid: 0, mtime: 0 }));
    await w.file(memFile(data), 5 * 1024 * 1024);
    await w.write(encodeHeader({ name: 'grown', type: 'file', size: 1024 * 1024, mode: 0o644, uid: 0, gid: 0, mtime: 0 }));
    await w.file(memFile(data), 1024 * 1024);
  }, async () => {});
  const chunks: Buffer[] = [];
  for await (const c of src.stream()) chunks.push(c as Buffer);
  const es = await entries(Buffer.concat(chunks));
  assert.equal(es[0].body.length, 5 * 1024 * 1024);
  assert.ok(es[0].body.subarray(0, data.length).equals(data));
  assert.ok(es[0].body.subarray(data.length).every((b) => b === 0));
  assert.ok(es[1].body.equals(data.subarray(0, 1024 * 1024)));
});

test('a destination that goes away stops the producer, and finish still runs', async () => {
  let finished = false;
  let writes = 0;
  const dest = new Writable({
    highWaterMark: 16,
    write(_c, _e, cb) {
      if (++writes === 3) setImmediate(() => dest.destroy());
      else setImmediate(cb);
    },
  });
  const big = randomBytes(40 * 1024 * 1024);
  const src = tarSource(async (w) => {
    await w.write(encodeHeader({ name: 'big', type: 'file', size: big.length, mode: 0o644, uid: 0, gid: 0, mtime: 0 }));
    await w.file(memFile(big), big.length);
  }, async () => void (finished = true));
  await assert.rejects(src.writeTo(dest), /archive reader went away/);
  assert.equal(finished, true);
});

test('a source is read once; abandoning an unread one runs finish', async () => {
  let finished = 0;
  const src = tarSource(async () => {}, async () => void finished++);
  await src.abandon();
  assert.equal(finished, 1);
  assert.throws(() => src.stream(), /read once/);
  await src.abandon();
  assert.equal(finished, 1);
});
