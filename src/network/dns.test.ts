import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, connect } from 'node:net';
import { NOERROR, NXDOMAIN, NetworkDns, answer, nameservers, parseQuestion } from './dns.ts';

/** A query for `name` (type A), as a resolver sends it. */
function query(name: string, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

test('nameservers: IPv4 only (loopback ones too: the embedded server reaches them), comments skipped', () => {
  const text = 'search corp\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nnameserver fe80::1\n# nameserver 1.1.1.1\n';
  assert.deepEqual(nameservers(text), ['127.0.0.53', '10.0.0.2']);
});

test('an answer carries the question and the addresses', () => {
  const q = query('web.test');
  const parsed = parseQuestion(q)!;
  assert.equal(parsed.name, 'web.test');
  const a = answer(q, parsed, ['10.1.2.3'], NOERROR);
  assert.equal(a.readUInt16BE(0), 0x1234);
  assert.equal(a.readUInt16BE(6), 1, 'one answer');
  assert.deepEqual([...a.subarray(a.length - 4)], [10, 1, 2, 3]);
  assert.equal(answer(q, parsed, [], NXDOMAIN).readUInt16BE(2) & 0xf, 3, 'NXDOMAIN');
});

test('the embedded server: names it knows, NXDOMAIN for other single labels, the rest forwarded to the asker\'s servers in order, over UDP and TCP', async (t) => {
  // Upstreams on loopback addresses of their own: .2 is dead (nothing listens), .3 answers.
  const replies: string[] = [];
  const up = createSocket('udp4');
  await new Promise<void>((r) => up.bind(53, '127.77.0.3', r));
  up.on('message', (m, r) => {
    replies.push('udp');
    const q = parseQuestion(m)!;
    up.send(answer(m, q, ['192.0.2.7'], NOERROR), r.port, r.address);
  });
  const upTcp = createServer((c) => c.on('data', (d: Buffer) => {
    replies.push('tcp');
    const m = d.subarray(2);
    const a = answer(m, parseQuestion(m)!, ['192.0.2.8'], NOERROR);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(a.length);
    c.end(Buffer.concat([len, a]));
  }));
  await new Promise<void>((r) => upTcp.listen(53, '127.77.0.3', r));
  const dns = await NetworkDns.listen('127.77.0.1', (name) => (name === 'web' ? ['10.9.0.5'] : []), () => ['127.77.0.2', '127.77.0.3']);
  t.after(() => {
    dns.close();
    up.close();
    upTcp.close();
  });
  const udp = (name: string) => new Promise<Buffer>((resolve) => {
    const s = createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(m);
    });
    s.send(query(name), 53, '127.77.0.1');
  });
  const web = await udp('web');
  assert.deepEqual([...web.subarray(web.length - 4)], [10, 9, 0, 5]);
  assert.equal((await udp('nothing')).readUInt16BE(2) & 0xf, 3);
  const fwd = await udp('example.test');
  assert.deepEqual([...fwd.subarray(fwd.length - 4)], [192, 0, 2, 7], 'the second server answered after the first timed out');
  const viaTcp = await new Promise<Buffer>((resolve, reject) => {
    const c = connect(53, '127.77.0.1');
    let buf = Buffer.alloc(0);
    c.on('error', reject);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.destroy();
        resolve(buf.subarray(2));
      }
    });
    const q = query('big.example.test');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    c.write(Buffer.concat([len, q]));
  });
  assert.deepEqual([...viaTcp.subarray(viaTcp.length - 4)], [192, 0, 2, 8]);
  assert.deepEqual(replies, ['udp', 'tcp']);
});
