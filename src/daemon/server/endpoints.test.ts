import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEndpoints, groupId } from './endpoints.ts';

const noGroup = { name: 'no-such-group-xyz', explicit: false };
const plain = { tls: false, verify: false };

test('tcp without TLS: loopback only, with docker\'s warning', () => {
  const r = parseEndpoints(['tcp://127.0.0.1:2375'], plain, noGroup);
  assert.deepEqual(r.endpoints, [{ kind: 'tcp', host: '127.0.0.1', port: 2375 }]);
  assert.match(r.warnings.join('\n'), /Binding to IP address without --tlsverify is insecure/);
  assert.throws(() => parseEndpoints(['tcp://0.0.0.0:2375'], plain, noGroup), /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without --tlsverify/);
  assert.throws(() => parseEndpoints(['tcp://:2375'], plain, noGroup), /without --tlsverify/);
});

test('tcp with TLS: client certificates required off loopback; files read at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ep-'));
  try {
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), f);
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    const v = parseEndpoints(['tcp://0.0.0.0'], { tls: true, verify: true, ...files }, noGroup);
    assert.equal(v.endpoints.length, 1);
    const ep = v.endpoints[0] as { kind: string; port: number; tls: { ca?: Buffer } };
    assert.equal(ep.port, 2376, 'TLS defaults to 2376');
    assert.equal(ep.tls.ca?.toString(), 'ca.pem', 'the CA that client certificates must be signed by');
    assert.throws(() => parseEndpoints(['tcp://0.0.0.0:2376'], { tls: true, verify: false, ...files }, noGroup), /with --tls but without --tlsverify/);
    const local = parseEndpoints(['tcp://127.0.0.1:2376'], { tls: true, verify: false, ...files }, noGroup);
    assert.equal((local.endpoints[0] as { tls: { ca?: Buffer } }).tls.ca, undefined);
    assert.throws(() => parseEndpoints(['tcp://0.0.0.0:2376'], { tls: true, verify: true, cert: files.cert, key: files.key }, noGroup), /--tlsverify needs --tlscacert/);
    assert.throws(() => parseEndpoints(['tcp://0.0.0.0:2376'], { tls: true, verify: true, ...files, key: join(dir, 'missing') }, noGroup), /could not read tlskey/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unix sockets: group by name or number; a missing group is an error only when asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ep-'));
  try {
    writeFileSync(join(dir, 'group'), 'root:x:0:\nberth:x:998:\n');
    assert.equal(groupId('berth', join(dir, 'group')), 998);
    assert.equal(groupId('1234', join(dir, 'group')), 1234);
    assert.equal(groupId('nope', join(dir, 'group')), undefined);
    const r = parseEndpoints(['unix:///run/x.sock'], plain, noGroup);
    assert.deepEqual(r.endpoints, [{ kind: 'unix', path: '/run/x.sock' }]);
    assert.match(r.warnings[0], /group no-such-group-xyz not found; the socket is root's only/);
    assert.throws(() => parseEndpoints(['unix:///run/x.sock'], plain, { name: 'no-such-group-xyz', explicit: true }), /group no-such-group-xyz not found \(create it, or give another with -G\)/);
    assert.throws(() => parseEndpoints(['unix://run/x.sock'], plain, noGroup), /must be absolute/);
    assert.throws(() => parseEndpoints(['tcp://1.2.3.4:99999'], plain, noGroup), /bad port/);
    assert.throws(() => parseEndpoints(['fd://'], plain, noGroup, {}), /no sockets found via socket activation/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
