import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptCreateToVersion } from './versions.ts';
import type { ContainerCreateInput } from '../../bodies.ts';

const body = (): ContainerCreateInput => ({
  Image: 'busybox',
  Healthcheck: { Test: ['CMD', 'true'], StartInterval: 5e9 },
  HostConfig: {
    ConsoleSize: [24, 80],
    Annotations: { a: 'b' },
    Mounts: [{ Type: 'bind', Source: '/a', Target: '/b', BindOptions: { NonRecursive: true, CreateMountpoint: true, ReadOnlyNonRecursive: true } }, { Type: 'volume', Target: '/v', VolumeOptions: { Subpath: 'sub' } }],
  },
} as ContainerCreateInput);

test('fields newer than the request\'s API version are dropped, and old defaults filled in (moby)', () => {
  const b = body();
  adaptCreateToVersion(b, '1.39');
  assert.equal(b.HostConfig?.IpcMode, 'shareable');
  assert.equal(b.HostConfig?.CgroupnsMode, 'host');
  assert.deepEqual(b.HostConfig?.ConsoleSize, [0, 0]);
  assert.equal(b.HostConfig?.Annotations, undefined);
  assert.deepEqual(b.HostConfig?.Mounts?.[0]?.BindOptions, { NonRecursive: false, CreateMountpoint: false, ReadOnlyNonRecursive: false });
  assert.equal(b.HostConfig?.Mounts?.[1]?.VolumeOptions?.Subpath, '');
  assert.equal(b.Healthcheck?.StartInterval, 0);
});

test('at the current version nothing changes; between versions only what is newer goes', () => {
  const now = body();
  adaptCreateToVersion(now, '1.50');
  assert.deepEqual(now, body());
  const b = body();
  adaptCreateToVersion(b, '1.43');
  assert.deepEqual(b.HostConfig?.ConsoleSize, [24, 80]);
  assert.deepEqual(b.HostConfig?.Annotations, { a: 'b' });
  assert.equal(b.HostConfig?.IpcMode, undefined, 'the daemon\'s default applies');
  assert.equal(b.Healthcheck?.StartInterval, 0);
  assert.equal(b.HostConfig?.Mounts?.[0]?.BindOptions?.NonRecursive, true);
});

test('what an older client could not have asked for is refused, as moby refuses it', () => {
  const b = body();
  b.HostConfig!.Mounts![0]!.BindOptions!.ReadOnlyForceRecursive = true;
  assert.throws(() => adaptCreateToVersion(b, '1.43'), /ReadOnlyForceRecursive needs API v1.44 or newer/);
  const nets = { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } } } as ContainerCreateInput;
  assert.throws(() => adaptCreateToVersion(nets, '1.41'), /multiple network endpoints prior to API version 1.44/);
  assert.doesNotThrow(() => adaptCreateToVersion(nets, '1.44'));
});
