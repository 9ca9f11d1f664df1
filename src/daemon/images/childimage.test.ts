import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageConfigFile } from '../../api/types.ts';
import { ENGINE_VERSION } from '../../api/version.ts';
import { childConfig } from './childimage.ts';

const parent: ImageConfigFile = {
  architecture: 'arm64',
  os: 'linux',
  variant: 'v8',
  created: '2026-01-01T00:00:00Z',
  config: { Cmd: ['sh'] },
  rootfs: { type: 'layers', diff_ids: ['sha256:aa'] },
  history: [{ created: '2026-01-01T00:00:00Z', created_by: 'import' }],
};

test('a commit: the parent carried over, the layer and one history line added, in docker\'s field order', () => {
  const c = childConfig(parent, { created: 'T', author: 'me', comment: 'msg', config: { Cmd: ['x'] }, containerConfig: { Cmd: ['y'] }, container: 'abc', createdBy: 'sh -c x', diffId: 'sha256:bb' });
  assert.deepEqual(Object.keys(c), ['architecture', 'os', 'variant', 'created', 'author', 'comment', 'config', 'container', 'container_config', 'docker_version', 'rootfs', 'history']);
  assert.equal(c.architecture, 'arm64');
  assert.equal(c.docker_version, ENGINE_VERSION);
  assert.deepEqual(c.rootfs.diff_ids, ['sha256:aa', 'sha256:bb']);
  assert.deepEqual(c.history, [parent.history![0], { created: 'T', author: 'me', created_by: 'sh -c x', comment: 'msg' }]);
  assert.deepEqual(parent.rootfs.diff_ids, ['sha256:aa'], 'the parent is left as it was');
});

test('a config-only build step: no layer, an empty_layer history line; without a parent, this host\'s platform', () => {
  const c = childConfig(undefined, { created: 'T', config: { Env: ['A=1'] }, containerConfig: { Cmd: ['/bin/sh', '-c', '#(nop) ENV A=1'] }, createdBy: '/bin/sh -c #(nop) ENV A=1' });
  assert.deepEqual(Object.keys(c), ['architecture', 'os', 'created', 'config', 'container_config', 'docker_version', 'rootfs', 'history']);
  assert.equal(c.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
  assert.deepEqual(c.rootfs.diff_ids, []);
  assert.deepEqual(c.history, [{ created: 'T', created_by: '/bin/sh -c #(nop) ENV A=1', empty_layer: true }]);
});
