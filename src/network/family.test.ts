import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familyOf, formatPrefix, IPV4, IPV6, parsePrefix, prefixContains, prefixOverlaps, prefixSize } from './family.ts';
import { AddressPool } from './ipam.ts';

test('prefixes of both families', () => {
  const p = parsePrefix(IPV4, '10.1.2.3/16');
  assert.deepEqual(p, { base: 0x0a010000n, bits: 16, ip: 0x0a010203n });
  assert.equal(formatPrefix(IPV4, p), '10.1.0.0/16');
  assert.ok(prefixContains(IPV4, p, IPV4.parse('10.1.255.255')!));
  assert.ok(!prefixContains(IPV4, p, IPV4.parse('10.2.0.0')!));
  assert.ok(prefixOverlaps(IPV4, p, parsePrefix(IPV4, '10.0.0.0/8')));
  assert.equal(prefixSize(IPV4, p), 65536n);
  assert.equal(formatPrefix(IPV6, parsePrefix(IPV6, 'fd00:1:0:0::5/64')), 'fd00:1::/64');
  assert.throws(() => parsePrefix(IPV4, '10.0.0.0/33'), /invalid subnet 10\.0\.0\.0\/33: invalid CIDR address: 10\.0\.0\.0\/33/);
  assert.throws(() => parsePrefix(IPV4, 'fd00::/64', 'ip-range'), /invalid ip-range fd00::\/64/);
  assert.throws(() => parsePrefix(IPV6, 'fd00::/129'), /invalid CIDR address/);
  assert.equal(familyOf('fd00::1'), IPV6);
  assert.equal(familyOf('10.0.0.1'), IPV4);
});

test('AddressPool, IPv4: network, broadcast and gateway never given; the lowest free address (moby\'s default IPAM), round-robin when serial; a range; static; exhausted', () => {
  const pool = new AddressPool(IPV4, parsePrefix(IPV4, '10.9.0.0/29'), IPV4.parse('10.9.0.1')!);
  assert.equal(pool.gatewayText, '10.9.0.1');
  assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], ['10.9.0.2', '10.9.0.3', '10.9.0.4']);
  assert.equal(pool.allocate('10.9.0.6'), '10.9.0.6');
  assert.throws(() => pool.allocate('10.9.0.6'), /Address already in use/);
  assert.throws(() => pool.allocate('10.9.1.1'), /no configured subnet or ip-range contain the IP address 10\.9\.1\.1/);
  assert.throws(() => pool.allocate('10.9.0'), /invalid IPv4 address: 10\.9\.0/);
  pool.release('10.9.0.2');
  assert.equal(pool.allocate(), '10.9.0.2', 'a freed address is the lowest free again (a restarted container keeps its address)');
  assert.equal(pool.allocate(), '10.9.0.5');
  assert.throws(() => pool.allocate(), /no available IPv4 addresses on this network's address pools/);
  const serial = new AddressPool(IPV4, parsePrefix(IPV4, '10.9.0.0/29'), IPV4.parse('10.9.0.1')!, undefined, true);
  assert.deepEqual([serial.allocate(), serial.allocate()], ['10.9.0.2', '10.9.0.3']);
  serial.release('10.9.0.2');
  assert.equal(serial.allocate(), '10.9.0.4', 'serial: a freed address waits its turn');
  const ranged = new AddressPool(IPV4, parsePrefix(IPV4, '10.8.0.0/24'), IPV4.parse('10.8.0.1')!, parsePrefix(IPV4, '10.8.0.128/25', 'ip-range'));
  assert.equal(ranged.allocate(), '10.8.0.128', 'the range\'s first address (it is not the subnet\'s)');
  ranged.reserve('10.8.0.200');
  assert.equal(ranged.allocate(), '10.8.0.129');
});
