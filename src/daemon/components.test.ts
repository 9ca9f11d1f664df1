import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInitVersion, parseRuntimeVersion } from './components.ts';

test('runtime versions are read as moby reads runc --version', () => {
  assert.deepEqual(parseRuntimeVersion('crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SECCOMP\n'), { version: '1.8.1', commit: 'f8a096be060b22ccd3d5f3ebe44108517fbf6c30' });
  assert.deepEqual(parseRuntimeVersion('runc version 1.1.12\ncommit: v1.1.12-0-g51d5e94\nspec: 1.0.2-dev\ngo: go1.20.13\nlibseccomp: 2.5.4\n'), { version: '1.1.12', commit: 'v1.1.12-0-g51d5e94' });
  assert.equal(parseRuntimeVersion('something else\n'), undefined);
});

test('init versions are read as moby reads docker-init --version', () => {
  assert.deepEqual(parseInitVersion('tini version 0.18.0 - git.fec3683\n'), { version: '0.18.0', commit: 'fec3683' });
  assert.deepEqual(parseInitVersion('tini version 0.19.0\n'), { version: '0.19.0', commit: '' });
  assert.equal(parseInitVersion('catatonit v0.1.7\n'), undefined);
});
