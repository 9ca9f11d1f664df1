import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { send } from './http.ts';

test('a request whose body stream fails — before the request began to read it, or midway — fails at once with its error', async () => {
  // A registry that waits for the whole body before it answers.
  const srv = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => res.end('ok'));
    req.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/upload`;
  try {
    const early = new PassThrough();
    early.on('error', () => {}); // as a caller that reports the error through another path
    early.destroy(new Error('blob damaged'));
    await assert.rejects(send(url, { method: 'PATCH', body: early, timeoutMs: 20_000 }), /blob damaged/);

    const midway = new PassThrough();
    midway.write('some bytes');
    setTimeout(() => midway.destroy(new Error('read failed')), 50);
    await assert.rejects(send(url, { method: 'PATCH', body: midway, timeoutMs: 20_000 }), /read failed/);

    const cut = new PassThrough();
    setTimeout(() => cut.destroy(), 50);
    await assert.rejects(send(url, { method: 'PATCH', body: cut, timeoutMs: 20_000 }), /body was cut off/);

    const whole = new PassThrough();
    whole.end('all of it');
    assert.equal((await send(url, { method: 'PATCH', body: whole })).status, 200);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});
