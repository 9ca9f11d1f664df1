import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { BodyDecoder } from './reused.ts';
import { wireRequest } from './wire.ts';
import type { OnRead } from './reused.ts';
import { readTar } from '../lib/tar/reader.ts';
import { encodeHeader, padding, END } from '../lib/tar/header.ts';

/** Feeds `raw` to a decoder in pieces of `step` bytes; the body, copied out as it comes. */
function decode(headers: Record<string, string>, raw: string, step: number): { body: string; done: boolean } {
  const d = new BodyDecoder(headers);
  let body = '';
  const b = Buffer.from(raw);
  for (let i = 0; i < b.length; i += step) for (const v of d.feed(b.subarray(i, i + step))) body += v.toString();
  return { body, done: d.done };
}

test('the push decoder takes chunked, sized and close-delimited bodies cut anywhere', () => {
  const chunked = '3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\n\r\n';
  for (const step of [1, 2, 3, 5, 100]) {
    assert.deepEqual(decode({ 'transfer-encoding': 'chunked' }, chunked, step), { body: 'hello', done: true });
    assert.deepEqual(decode({ 'content-length': '5' }, 'helloXX', step), { body: 'hello', done: true });
    assert.deepEqual(decode({}, 'hello', step), { body: 'hello', done: false });
  }
  assert.throws(() => decode({ 'transfer-encoding': 'chunked' }, 'zz\r\n', 4), /malformed chunked encoding/);
  assert.throws(() => decode({ 'transfer-encoding': 'chunked' }, '3\r\nhelXY', 100), /malformed chunked encoding/);
  const cut = new BodyDecoder({ 'transfer-encoding': 'chunked' });
  cut.feed(Buffer.from('3\r\nhel\r\n'));
  assert.throws(() => cut.end(), /unexpected EOF: the daemon closed the connection mid-response/);
  const close = new BodyDecoder({});
  close.feed(Buffer.from('abc'));
  close.end();
  assert.equal(close.done, true);
});

/** A server that answers with `write(socket)` once it has the request. */
async function serving(write: (c: Socket) => void): Promise<{ path: string; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'reused-'));
  const path = join(dir, 's.sock');
  const server: Server = createServer((c) => {
    c.once('data', () => write(c));
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, close: () => { server.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const dialTo = (path: string) => async (onread?: OnRead) => ({ socket: createConnection({ path, ...(onread ? { onread } : {}) }), ready: 'connect' as const, reused: !!onread });

test('a tar read through one reused buffer arrives intact, each chunk used before the next is read', async () => {
  // Files of awkward sizes, sent in pieces that cut headers and bodies, slowly enough that
  // the reused buffer is overwritten many times over.
  const files: Buffer[] = [];
  for (let i = 0; i < 300; i++) files.push(randomBytes((i * 2654435761) % 3000));
  files.push(randomBytes(3 << 20), randomBytes(1), randomBytes(700_001), Buffer.alloc(0), randomBytes(512));
  const parts: Buffer[] = [];
  files.forEach((f, i) => parts.push(encodeHeader({ name: `f${i}`, type: 'file', mode: 0o644, size: f.length, mtime: 0 }), f, padding(f.length)));
  parts.push(END);
  const tar = Buffer.concat(parts);
  const s = await serving((c) => {
    c.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    let i = 0;
    const next = () => {
      if (i >= tar.length) return void c.end('0\r\n\r\n');
      const n = Math.min(tar.length - i, 300 + ((i * 7919) % (i < 1 << 20 ? 2000 : 200_000)));
      c.write(`${n.toString(16)}\r\n`);
      c.write(tar.subarray(i, i + n));
      const ok = c.write('\r\n');
      i += n;
      if (ok) setImmediate(next);
      else c.once('drain', next);
    };
    next();
  });
  try {
    const res = await wireRequest(dialTo(s.path), { method: 'GET', path: '/x', headers: {}, reuseReads: true });
    assert.equal(res.status, 200);
    const got: string[] = [];
    for await (const e of readTar(res.chunks, { transient: true })) {
      const h = createHash('sha256');
      for await (const c of e.chunks()) {
        // Work between chunks, as a real consumer does: a buffer overwritten meanwhile would show.
        await new Promise((r) => setImmediate(r));
        h.update(c);
      }
      got.push(`${e.header.name}:${h.digest('hex')}`);
    }
    assert.deepEqual(got, files.map((f, i) => `f${i}:${createHash('sha256').update(f).digest('hex')}`));
  } finally {
    s.close();
  }
});

test('through a reused buffer: an error body is read as text, a cut-off body is an error, no answer is an error', async () => {
  const err = await serving((c) => c.end('HTTP/1.1 404 Not Found\r\nContent-Length: 27\r\n\r\n{"message":"No such thing"}'));
  try {
    const res = await wireRequest(dialTo(err.path), { method: 'GET', path: '/x', headers: {}, reuseReads: true });
    assert.equal(res.status, 404);
    let text = '';
    for await (const c of res.body) text += (c as Buffer).toString();
    assert.equal(text, '{"message":"No such thing"}');
  } finally {
    err.close();
  }
  const cut = await serving((c) => c.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'));
  try {
    const res = await wireRequest(dialTo(cut.path), { method: 'GET', path: '/x', headers: {}, reuseReads: true });
    await assert.rejects(async () => {
      for await (const _ of res.chunks) { /* drain */ }
    }, /unexpected EOF: the daemon closed the connection mid-response/);
  } finally {
    cut.close();
  }
  const none = await serving((c) => c.end());
  try {
    await assert.rejects(wireRequest(dialTo(none.path), { method: 'GET', path: '/x', headers: {}, reuseReads: true }), /unexpected EOF: the daemon closed the connection before answering/);
  } finally {
    none.close();
  }
});
