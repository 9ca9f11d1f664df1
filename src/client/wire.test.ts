import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { wireRequest } from './wire.ts';

/** A server that answers every connection with `raw` bytes, then closes. */
async function answering(raw: string): Promise<{ dial: () => Promise<{ socket: ReturnType<typeof connect>; ready: 'connect' }>; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'wire-'));
  const path = join(dir, 's.sock');
  const server: Server = createServer((c) => {
    c.once('data', () => c.end(raw));
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    dial: async () => ({ socket: connect(path), ready: 'connect' as const }),
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function read(raw: string): Promise<string> {
  const s = await answering(raw);
  try {
    const res = await wireRequest(s.dial, { method: 'GET', path: '/x', headers: {} });
    let text = '';
    for await (const c of res.body) text += (c as Buffer).toString();
    return text;
  } finally {
    s.close();
  }
}

test('whole bodies: Content-Length, chunked, close-delimited', async () => {
  assert.equal(await read('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'), 'hello');
  assert.equal(await read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n'), 'hello');
  assert.equal(await read('HTTP/1.1 200 OK\r\n\r\nhello'), 'hello');
});

test('a connection that ends before the headers, a chunked body without its last chunk, a short Content-Length body: each an error', async () => {
  await assert.rejects(read(''), /unexpected EOF: the daemon closed the connection before answering/);
  await assert.rejects(read('HTTP/1.1 200 OK\r\nContent-Ty'), /unexpected EOF/);
  await assert.rejects(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n'), /unexpected EOF: the daemon closed the connection mid-response/);
  await assert.rejects(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'), /unexpected EOF/);
  await assert.rejects(read('garbage\r\n\r\n'), /malformed response from the daemon/);
});

test('a produced body goes chunked, whole; a producer that fails fails the request', async () => {
  const { createServer: httpServer } = await import('node:http');
  const { createHash, randomBytes } = await import('node:crypto');
  const dir = mkdtempSync(join(tmpdir(), 'wire-'));
  const path = join(dir, 's.sock');
  const server = httpServer(async (req, res) => {
    const h = createHash('sha256');
    let n = 0;
    try {
      for await (const c of req) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
    } catch {
      return;
    }
    res.end(`${req.headers['transfer-encoding']} ${n} ${h.digest('hex')}`);
  });
  await new Promise<void>((r) => server.listen(path, r));
  const dial = async () => ({ socket: connect(path), ready: 'connect' as const });
  try {
    const data = randomBytes(9 * 1024 * 1024);
    const buf = Buffer.alloc(1 << 20);
    const res = await wireRequest(dial, {
      method: 'PUT', path: '/x', headers: {},
      // One buffer, refilled once each write's callback says the socket is done with it.
      produce: async (dest) => {
        for (let off = 0; off < data.length; off += buf.length) {
          data.copy(buf, 0, off, off + buf.length);
          await new Promise<void>((resolve, reject) => dest.write(buf, (e) => (e ? reject(e) : resolve())));
        }
      },
    });
    let text = '';
    for await (const c of res.body) text += (c as Buffer).toString();
    assert.equal(text, `chunked ${data.length} ${createHash('sha256').update(data).digest('hex')}`);

    await assert.rejects(wireRequest(dial, {
      method: 'PUT', path: '/x', headers: {},
      produce: async (dest) => {
        dest.write(Buffer.from('part'));
        throw new Error('cannot read the local file');
      },
    }), /cannot read the local file/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
