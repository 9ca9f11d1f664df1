import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshUrl, sshArgs } from './sshurl.ts';

test('parseSshUrl takes docker\'s ssh URLs and refuses what its parser refuses', () => {
  assert.deepEqual(parseSshUrl('ssh://host'), { host: 'host' });
  assert.deepEqual(parseSshUrl('ssh://me@host:2222/run/berth/berth.sock'), { host: 'host', user: 'me', port: '2222', path: '/run/berth/berth.sock' });
  assert.deepEqual(parseSshUrl('ssh://me@[::1]:22'), { host: '::1', user: 'me', port: '22' });
  assert.throws(() => parseSshUrl('ssh://me:pw@host'), /invalid SSH URL: plain-text password is not supported/);
  assert.throws(() => parseSshUrl('ssh://host?x=1'), /invalid SSH URL: query parameters are not allowed: "x=1"/);
  assert.throws(() => parseSshUrl('ssh://host#frag'), /invalid SSH URL: fragments are not allowed: "frag"/);
  assert.throws(() => parseSshUrl('ssh://'), /invalid SSH URL/);
});

test('sshArgs: docker\'s command line, with berth as the remote command', () => {
  assert.deepEqual(sshArgs({ host: 'h' }), ['-o', 'ConnectTimeout=30', '-T', '--', 'h', 'berth', 'system', 'dial-stdio']);
  assert.deepEqual(sshArgs({ host: 'h', user: 'u', port: '2', path: '/s.sock' }),
    ['-o', 'ConnectTimeout=30', '-T', '-l', 'u', '-p', '2', '--', 'h', 'berth', '--host', 'unix:///s.sock', 'system', 'dial-stdio']);
});
