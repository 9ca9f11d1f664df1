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
