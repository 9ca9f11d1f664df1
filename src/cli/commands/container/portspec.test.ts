import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayPorts, parseExpose, parsePublish, type PortBindings } from './portspec.ts';

function parse(...specs: string[]): [PortBindings, string[]] {
  const b: PortBindings = {};
  const e: Record<string, Record<string, never>> = {};
  for (const s of specs) parsePublish(s, b, e);
  return [b, Object.keys(e)];
}

test('-p forms: container port, host port, address, protocol, ranges (go-connections ParsePortSpec)', () => {
  assert.deepEqual(parse('80'), [{ '80/tcp': [{ HostIp: '', HostPort: '' }] }, ['80/tcp']]);
  assert.deepEqual(parse('8080:80'), [{ '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, ['80/tcp']]);
  assert.deepEqual(parse('127.0.0.1:8080:80/udp'), [{ '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] }, ['80/udp']]);
  assert.deepEqual(parse('127.0.0.1::80'), [{ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, ['80/tcp']]);
  assert.deepEqual(parse('[::1]:8080:80'), [{ '80/tcp': [{ HostIp: '::1', HostPort: '8080' }] }, ['80/tcp']]);
  assert.deepEqual(parse('8000-8001:80-81')[0], { '80/tcp': [{ HostIp: '', HostPort: '8000' }], '81/tcp': [{ HostIp: '', HostPort: '8001' }] });
  assert.deepEqual(parse('8000-8010:80')[0], { '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] });
  assert.deepEqual(parse('8080:80', '8081:80')[0], { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '8081' }] });
});

test('-p refusals carry docker\'s messages', () => {
  assert.throws(() => parse('65536:80'), /^Error: invalid hostPort: 65536$/);
  assert.throws(() => parse('80:0-x'), /invalid containerPort: 0-x/);
  assert.throws(() => parse('80/sctpx'), /invalid proto: sctpx/);
  assert.throws(() => parse('8000-8002:80-81'), /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/);
  assert.throws(() => parse('1.2.3:80:80'), /invalid IP address: 1\.2\.3/);
  assert.throws(() => parse('8080:'), /no port specified: 8080:<empty>/);
});

test('--expose takes ranges and protocols', () => {
  const e: Record<string, Record<string, never>> = {};
  parseExpose('7000-7002/udp', e);
  parseExpose('80', e);
  assert.deepEqual(Object.keys(e), ['7000/udp', '7001/udp', '7002/udp', '80/tcp']);
  assert.throws(() => parseExpose('70000', {}), /invalid range format for --expose: 70000/);
});

test('PORTS column: docker\'s DisplayablePorts grouping and order', () => {
  assert.equal(displayPorts([]), '');
  assert.equal(displayPorts([{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '0.0.0.0:8080->80/tcp');
  assert.equal(displayPorts([{ PrivatePort: 81, Type: 'tcp' }, { PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 90, Type: 'udp' }]), '80-81/tcp, 90/udp');
  assert.equal(displayPorts([
    { IP: '0.0.0.0', PrivatePort: 8001, PublicPort: 8001, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 8000, PublicPort: 8000, Type: 'tcp' },
    { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 32768, Type: 'tcp' },
  ]), '0.0.0.0:8000-8001->8000-8001/tcp, 127.0.0.1:32768->80/tcp');
  assert.equal(displayPorts([{ IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }]), '[::]:8080->80/tcp');
});
