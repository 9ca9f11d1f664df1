import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseMount, parseVolumesFrom, checkTmpfsTargets, tmpfsOptions } from './mountspec.ts';

test('parseBind: named, anonymous-less and host forms with modes', () => {
  const named = parseBind('data:/var/lib/db:ro,nocopy');
  assert.equal(named.point.Type, 'volume');
  assert.equal(named.point.Name, 'data');
  assert.equal(named.point.Destination, '/var/lib/db');
  assert.equal(named.point.RW, false);
  assert.equal(named.point.CopyData, false);
  const bind = parseBind('/srv//www/:/usr/share/html:rw,rshared');
  assert.equal(bind.point.Type, 'bind');
  assert.equal(bind.point.Source, '/srv/www/');
  assert.equal(bind.point.Propagation, 'rshared');
  assert.equal(bind.defaultPropagation, false);
  assert.equal(parseBind('/a:/b').point.Propagation, 'rprivate');
  assert.equal(parseBind('/a:/b').point.Mode, '');
  assert.equal(parseBind('/a:/b:z').point.Mode, 'z');
});

test('parseBind: docker\'s refusals', () => {
  assert.throws(() => parseBind(':/x'), /invalid volume specification: ':\/x'/);
  assert.throws(() => parseBind('/a:/b:/c:/d'), /invalid volume specification/);
  assert.throws(() => parseBind('/a:ro'), /invalid volume specification/);
  assert.throws(() => parseBind('/a:/b:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('/a:/b:ro,rw'), /invalid mode: ro,rw/);
  assert.throws(() => parseBind('v:/'), /destination can't be '\/'/);
  assert.throws(() => parseBind('v:rel'), /mount path must be absolute/);
  assert.throws(() => parseBind('v:/proc/sys'), /\/proc/);
  assert.throws(() => parseBind('v:/x:rshared'), /field BindOptions must not be specified/);
  assert.throws(() => parseBind('/h:/x:nocopy'), /field VolumeOptions must not be specified/);
  assert.throws(() => parseBind('v:/x', 'flocker'), /plugin "flocker" not found/);
});

test('parseMount: types, options and refusals', () => {
  const exists = (p: string) => p === '/there';
  const b = parseMount({ Type: 'bind', Source: '/there', Target: '/in', ReadOnly: true }, exists);
  assert.equal(b.point.RW, false);
  assert.equal(b.point.CreateSource, undefined);
  assert.throws(() => parseMount({ Type: 'bind', Source: '/gone', Target: '/in' }, exists), /bind source path does not exist: \/gone/);
  assert.throws(() => parseMount({ Type: 'bind', Source: 'rel', Target: '/in' }, exists), /must be absolute/);
  assert.throws(() => parseMount({ Type: 'bind', Target: '/in' }, exists), /field Source must not be empty/);
  const anon = parseMount({ Type: 'volume', Target: '/v' }, exists);
  assert.equal(anon.point.Name, undefined);
  assert.throws(() => parseMount({ Type: 'volume', Target: '/v', ReadOnly: true }, exists), /must not set ReadOnly mode when using anonymous volumes/);
  assert.throws(() => parseMount({ Type: 'volume', Source: 'v', Target: '/v', BindOptions: { Propagation: 'rshared' } }, exists), /BindOptions must not be specified/);
  const t = parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o700 } }, exists);
  assert.equal(t.point.Type, 'tmpfs');
  assert.throws(() => parseMount({ Type: 'tmpfs', Source: 'x', Target: '/t' }, exists), /field Source must not be specified/);
  assert.throws(() => parseMount({ Type: 'npipe' as 'bind', Target: '/t' }, exists), /mount type unknown/);
  assert.throws(() => parseMount({ Type: 'volume', Target: '/' }, exists), /destination can't be '\/'/);
});

test('parseVolumesFrom and tmpfs', () => {
  assert.deepEqual(parseVolumesFrom('box'), { id: 'box', rw: true });
  assert.deepEqual(parseVolumesFrom('box:ro'), { id: 'box', rw: false });
  assert.throws(() => parseVolumesFrom('box:shared'), /invalid mode: shared/);
  assert.throws(() => parseVolumesFrom(''), /cannot be an empty string/);
  assert.doesNotThrow(() => checkTmpfsTargets({ '/run': 'size=1m' }));
  assert.throws(() => checkTmpfsTargets({ rel: '' }), /must be absolute/);
  assert.throws(() => checkTmpfsTargets({ '/': '' }), /destination can't be '\/'/);
  assert.deepEqual(tmpfsOptions(''), ['noexec', 'nosuid', 'nodev', 'rprivate']);
  assert.ok(tmpfsOptions('size=1m,exec').includes('exec'));
  assert.ok(!tmpfsOptions('size=1m,exec').includes('noexec'));
});
