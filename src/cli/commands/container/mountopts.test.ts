import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseMountFlag, parseTmpfsFlags, parseVolumeFlags } from './mountopts.ts';

test('-v splits anonymous volumes from binds and named volumes, as the docker CLI does', () => {
  assert.deepEqual(parseVolumeFlags(['/data', 'named:/n:ro', '/h:/c', './rel:/r']), {
    binds: ['named:/n:ro', '/h:/c', `${resolve('rel')}:/r`],
    volumes: { '/data': {} },
  });
  assert.throws(() => parseVolumeFlags(['a::b']), /empty section between colons/);
  assert.throws(() => parseVolumeFlags(['a:b:c:d']), /too many colons/);
  assert.throws(() => parseVolumeFlags(['']), /invalid empty volume spec/);
});

test('--mount CSV: keys, aliases, booleans and unknown keys', () => {
  assert.deepEqual(parseMountFlag('type=bind,src=/h,dst=/c,readonly,bind-propagation=rshared'), {
    Type: 'bind', Source: '/h', Target: '/c', ReadOnly: true, BindOptions: { Propagation: 'rshared' },
  });
  assert.deepEqual(parseMountFlag('source=v,target=/v,volume-nocopy,volume-label=a=b,volume-opt=type=tmpfs'), {
    Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs' } } },
  });
  const t = parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770');
  assert.deepEqual(t.TmpfsOptions, { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 });
  assert.throws(() => parseMountFlag('type=volume,dst=/x,bogus=1'), /unexpected key 'bogus'/);
  assert.throws(() => parseMountFlag('type=bind,src=/a,dst=/b,readonly=maybe'), /invalid value for readonly: maybe/);
});

test('--tmpfs targets and options', () => {
  assert.deepEqual(parseTmpfsFlags(['/run', '/tmp:size=1m,mode=1777']), { '/run': '', '/tmp': 'size=1m,mode=1777' });
  assert.equal(parseTmpfsFlags([]), undefined);
});
