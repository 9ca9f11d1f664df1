import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contains6, formatCidr6, formatIp6, overlaps6, parseCidr6, parseIp6 } from './cidr.ts';
import { AddressPool } from './ipam.ts';
import { IPV6 } from './family.ts';
import { answer, parseQuestion } from './dns.ts';

test('IPv6 addresses read and written as Go writes them (RFC 5952)', () => {
  for (const [i, o] of [['::', '::'], ['::1', '::1'], ['fd00::2', 'fd00::2'], ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], ['::ffff:1.2.3.4', '::ffff:102:304'], ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0']]) {
    assert.equal(formatIp6(parseIp6(i!)!), o, i);
  }
  for (const bad of ['1:2', ':::', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', '12345::', '1.2.3.4', '::1.2.3', 'fe80::1%eth0']) assert.equal(parseIp6(bad), undefined, bad);
  const c = parseCidr6('fd12:3456:789a:1::5/64');
  assert.equal(formatCidr6(c), 'fd12:3456:789a:1::/64');
  assert.ok(contains6(c, parseIp6('fd12:3456:789a:1:ffff::1')!));
  assert.ok(!contains6(c, parseIp6('fd12:3456:789a:2::1')!));
  assert.ok(overlaps6(c, parseCidr6('fd12:3456:789a::/48')));
  assert.ok(!overlaps6(c, parseCidr6('fd12:3456:789b::/48')));
  assert.throws(() => parseCidr6('fd12::/129'), /invalid subnet fd12::\/129: invalid CIDR address/);
});

test('AddressPool, IPv6: the gateway and the subnet\'s first address never given; static, in use, freed', () => {
  const pool = new AddressPool(IPV6, parseCidr6('fd00:1::/64'), parseIp6('fd00:1::1')!);
  assert.equal(pool.allocate(), 'fd00:1::2');
  assert.equal(pool.allocate('fd00:1::3'), 'fd00:1::3');
  assert.equal(pool.allocate(), 'fd00:1::4', 'past a static one');
  assert.throws(() => pool.allocate('fd00:1::3'), /Address already in use/);
  assert.throws(() => pool.allocate('fd00:1::1'), /Address already in use/);
  assert.throws(() => pool.allocate('fd00:2::1'), /no configured subnet or ip-range contain the IP address fd00:2::1/);
  pool.release('fd00:1::2');
  assert.equal(pool.allocate(), 'fd00:1::2', 'the lowest free address again');
  const tiny = new AddressPool(IPV6, parseCidr6('fd00:3::/126'), parseIp6('fd00:3::1')!);
  assert.equal(tiny.allocate(), 'fd00:3::2');
  assert.equal(tiny.allocate(), 'fd00:3::3');
  assert.throws(() => tiny.allocate(), /no available IPv6 addresses/);
});

test('the embedded DNS answers AAAA with the IPv6 addresses', () => {
  // A query for "web", type AAAA (28), class IN.
  const q = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x65, 0x62, 0, 0, 28, 0, 1]);
  const question = parseQuestion(q)!;
  const a = answer(q, question, ['fd00::2'], 0);
  assert.equal(a.readUInt16BE(6), 1, 'one answer');
  const rr = a.subarray(question.end);
  assert.equal(rr.readUInt16BE(2), 28);
  assert.equal(rr.readUInt16BE(10), 16);
  assert.equal(formatIp6(BigInt(`0x${rr.subarray(12, 28).toString('hex')}`)), 'fd00::2');
});
