import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { chunksOf } from './chunks.ts';

test('every chunk, in order, each the very buffer pushed (no copies)', async () => {
  const pushed = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000, i));
  const p = new PassThrough();
  for (const b of pushed) p.write(b);
  p.end();
  const got: Buffer[] = [];
  for await (const c of chunksOf(p)) got.push(c);
  assert.equal(got.length, 50);
  got.forEach((c, i) => assert.equal(c.buffer, pushed[i].buffer, `chunk ${i} is not a copy`));
});

test('an error ends the iteration with it; a destroy before the end is an error too', async () => {
  const r = new Readable({ read() {} });
  r.push(Buffer.from('a'));
  setImmediate(() => r.destroy(new Error('boom')));
  await assert.rejects((async () => {
    for await (const _ of chunksOf(r)) void _;
  })(), /boom/);
  const q = new Readable({ read() {} });
  setImmediate(() => q.destroy());
  await assert.rejects((async () => {
    for await (const _ of chunksOf(q)) void _;
  })(), /closed before its end/);
});

test('a consumer that stops early destroys the stream; a slow consumer holds only a few chunks', async () => {
  let produced = 0;
  const r = new Readable({
    highWaterMark: 1,
    read() {
      produced++;
      this.push(Buffer.alloc(10));
    },
  });
  const it = chunksOf(r);
  await it.next();
  await new Promise((res) => setTimeout(res, 50));
  assert.ok(produced < 30, `paused while the consumer waits (${produced} produced)`);
  await it.return!();
  assert.ok(r.destroyed);
});

test('release() hands a stream that has not ended back with what was queued, in order', async () => {
  const p = new PassThrough();
  for (let i = 0; i < 5; i++) p.write(Buffer.from(String(i)));
  const it = chunksOf(p);
  assert.equal((await it.next()).value?.toString(), '0');
  await new Promise((res) => setImmediate(res));
  it.release();
  p.end();
  let rest = '';
  for await (const c of p) rest += (c as Buffer).toString();
  assert.equal(rest, '1234');
});

test('an error after the consumer stopped (released or returned) is not an uncaught exception', async () => {
  const p = new PassThrough();
  p.write(Buffer.from('x'));
  const it = chunksOf(p);
  await it.next();
  it.release();
  p.destroy(new Error('late'));
  const q = new PassThrough();
  q.write(Buffer.from('y'));
  const it2 = chunksOf(q);
  await it2.next();
  await it2.return!();
  q.destroy(new Error('later'));
  await new Promise((r) => setTimeout(r, 20));
});
