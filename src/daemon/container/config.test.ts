import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfig, decodeHostConfig, entrypointAndArgs, mergeImageConfig } from './config.ts';
import type { ImageConfigFile } from '../../api/types.ts';

const image: ImageConfigFile = {
  architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
  config: { Cmd: ['sh'], Env: ['PATH=/img/bin', 'A=image'], WorkingDir: '/srv', User: 'nobody', Labels: { l1: 'img', l2: 'img' } },
};
const defaults = { defaultRuntime: 'crun', runtimes: ['crun', 'runc'], cgroupVersion: 1 as const, swapAccounting: true, kernelTcp: true };

test('the image config fills what the user left unset (moby image.Merge)', () => {
  const c = mergeImageConfig(decodeConfig({ Image: 'x', Env: ['A=user', 'B=1'], Labels: { l2: 'user' } }), image);
  assert.deepEqual(c.Env, ['PATH=/img/bin', 'A=user', 'B=1']);
  assert.deepEqual(c.Cmd, ['sh']);
  assert.equal(c.WorkingDir, '/srv');
  assert.equal(c.User, 'nobody');
  assert.deepEqual(c.Labels, { l1: 'img', l2: 'user' });
});

test('an entrypoint from the user drops the image CMD; --entrypoint "" resets it', () => {
  const withEp = mergeImageConfig(decodeConfig({ Image: 'x', Entrypoint: ['echo'] }), image);
  assert.deepEqual(entrypointAndArgs(withEp), { path: 'echo', args: [] });
  const reset = mergeImageConfig(decodeConfig({ Image: 'x', Entrypoint: [''], Cmd: ['ls', '-l'] }), { ...image, config: { ...image.config, Entrypoint: ['/init'] } });
  assert.deepEqual(entrypointAndArgs(reset), { path: 'ls', args: ['-l'] });
  const none = mergeImageConfig(decodeConfig({ Image: 'x' }), { ...image, config: {} });
  assert.throws(() => entrypointAndArgs(none), /no command specified/);
  assert.equal(none.Env, null, 'no Env in the config when neither side has one (PATH is added to the process, as moby does)');
});

test('bad configs are rejected before anything is created', () => {
  assert.throws(() => decodeConfig({ Image: 'x', Env: ['=bad'] }), /invalid environment variable/);
  const w: string[] = [];
  assert.throws(() => decodeHostConfig({ Memory: 1024 }, defaults, w), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => decodeHostConfig({ Memory: 64 << 20, MemorySwap: 32 << 20 }, defaults, w), /Minimum memoryswap limit should be larger than memory limit/);
  assert.throws(() => decodeHostConfig({ NanoCpus: 1e9, CpuQuota: 5000 }, defaults, w), /Conflicting options: Nano CPUs and CPU Quota/);
  assert.throws(() => decodeHostConfig({ Runtime: 'kata' }, defaults, w), /unknown or invalid runtime name: kata/);
  assert.throws(() => decodeHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }, defaults, w), /AutoRemove/);
  assert.throws(() => decodeHostConfig({ LogConfig: { Type: 'awslogs', Config: {} } }, defaults, w), /the awslogs log driver is not supported by Berth yet/);
  assert.throws(() => decodeHostConfig({ LogConfig: { Type: 'foo', Config: {} } }, defaults, w), /: error looking up logging plugin foo: plugin "foo" not found$/);
  const h = decodeHostConfig({ Memory: 64 << 20, MemorySwap: 128 << 20 }, { ...defaults, swapAccounting: false }, w);
  assert.equal(h.MemorySwap, -1);
  assert.equal(decodeHostConfig({ Memory: 64 << 20 }, defaults, w).MemorySwap, 128 << 20, 'a memory limit alone allows as much swap again (moby)');
  assert.equal(decodeHostConfig({}, defaults, w).MemorySwap, 0);
  assert.match(w[0], /swap limit capabilities/);
  assert.equal(decodeHostConfig({}, defaults, []).NetworkMode, 'bridge');
});
