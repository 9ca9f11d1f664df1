import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChanges } from './changes.ts';

test('--change takes Dockerfile instructions in JSON and shell form', () => {
  const c = parseChanges(['CMD ["sh", "-c", "echo hi"]', 'ENTRYPOINT /init --flag', 'ENV A=1 B="two words"', 'ENV C 3', 'LABEL k=v', 'EXPOSE 80 53/udp', 'USER web', 'WORKDIR /srv', 'STOPSIGNAL SIGINT', 'VOLUME /data']);
  assert.deepEqual(c.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/init --flag']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=3']);
  assert.deepEqual(c.Labels, { k: 'v' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.User, 'web');
  assert.equal(c.WorkingDir, '/srv');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.throws(() => parseChanges(['RUN rm -rf /']), /RUN is not a valid change command/);
});

test('commit\'s changes go on top of the container\'s config; WORKDIR relative to the current one; a bad instruction named as typed', () => {
  const c = parseChanges(['ENV B=2', 'LABEL z=9', 'EXPOSE 90', 'WORKDIR rel'], { Env: ['X=1'], Labels: { foo: 'bar' }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/tmp' });
  assert.deepEqual(c.Env, ['X=1', 'B=2']);
  assert.deepEqual(c.Labels, { foo: 'bar', z: '9' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '90/tcp']);
  assert.equal(c.WorkingDir, '/tmp/rel');
  assert.throws(() => parseChanges(['bogus x']), { message: 'bogus is not a valid change command' });
});


test('a commit body\'s config merged with the container\'s as moby merges it', async () => {
  const { mergeCommitConfig } = await import('./changes.ts');
  const m = mergeCommitConfig({ Env: ['X=1'], Cmd: ['sh'], Labels: { a: 'b' } }, { Env: ['FOO=bar', 'X=0'], Labels: { l1: 'v1' }, Cmd: ['top'], WorkingDir: '/w', ExposedPorts: { '80/tcp': {} } });
  assert.deepEqual(m.Env, ['X=1', 'FOO=bar']);
  assert.deepEqual(m.Labels, { l1: 'v1', a: 'b' });
  assert.deepEqual(m.Cmd, ['sh']);
  assert.equal(m.WorkingDir, '/w');
  assert.deepEqual(m.ExposedPorts, { '80/tcp': {} });
});
