import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, checkDigest } from './names.ts';
import { route } from './router.ts';
import { parseScope, covers } from './auth/access.ts';
import { parseRange } from './handlers/blobs.ts';
import { contentRangeStart } from './handlers/uploads.ts';

test('repository names follow the distribution grammar and cannot leave the storage root', () => {
  for (const ok of ['a', 'library/busybox', 'a/b/c', 'my-app', 'my__app', 'a.b_c', 'x0/y1']) assert.ok(isValidName(ok), ok);
  for (const bad of ['', 'A', 'a//b', '/a', 'a/', '..', 'a/../b', '.hidden', '_layers', 'a/_manifests', '-x', 'x-', 'a:b', 'a'.repeat(256)]) assert.ok(!isValidName(bad), bad);
});

test('tags and digests', () => {
  assert.ok(isValidTag('latest') && isValidTag('v1.2_3-rc') && isValidTag('_x'));
  assert.ok(!isValidTag('.x') && !isValidTag('-x') && !isValidTag('a'.repeat(129)) && !isValidTag('a/b'));
  assert.equal(checkDigest(`sha256:${'a'.repeat(64)}`), `sha256:${'a'.repeat(64)}`);
  assert.throws(() => checkDigest('sha256:abc'), /invalid digest/);
  assert.throws(() => checkDigest(`sha512:${'a'.repeat(128)}`), /unsupported digest algorithm/);
  assert.throws(() => checkDigest(null), /invalid digest/);
});

test('routes are recognised from the end of the path, so names may contain route words', () => {
  assert.deepEqual(route('/v2/'), { kind: 'base', name: '', param: '' });
  assert.deepEqual(route('/v2/a/b/manifests/latest'), { kind: 'manifest', name: 'a/b', param: 'latest' });
  assert.deepEqual(route('/v2/a/blobs/blobs/sha256:x'), { kind: 'blob', name: 'a/blobs', param: 'sha256:x' });
  assert.deepEqual(route('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a', param: '' });
  assert.deepEqual(route('/v2/a/blobs/uploads/u-1'), { kind: 'upload', name: 'a', param: 'u-1' });
  assert.deepEqual(route('/v2/tags/tags/list'), { kind: 'tags', name: 'tags', param: '' });
  assert.equal(route('/v2/a/other'), undefined);
  assert.throws(() => route('/v2/A/tags/list'), /invalid repository name/);
});

test('scopes and what a grant covers', () => {
  assert.deepEqual(parseScope('repository:a/b:pull,push'), { type: 'repository', name: 'a/b', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('repository:host:5000/a:pull'), { type: 'repository', name: 'host:5000/a', actions: ['pull'] });
  assert.equal(parseScope('nonsense'), undefined);
  const g = [{ type: 'repository', name: 'a', actions: ['pull'] }];
  assert.ok(covers(g, [{ type: 'repository', name: 'a', actions: ['pull'] }]));
  assert.ok(!covers(g, [{ type: 'repository', name: 'a', actions: ['pull', 'push'] }]));
  assert.ok(!covers(g, [{ type: 'repository', name: 'b', actions: ['pull'] }]));
  assert.ok(covers([{ type: 'registry', name: 'catalog', actions: ['*'] }], [{ type: 'registry', name: 'catalog', actions: ['*'] }]));
  assert.ok(covers([], []));
});

test('byte ranges and upload content ranges', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), null);
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
  assert.equal(contentRangeStart('0-9', 10), 0);
  assert.equal(contentRangeStart('bytes 10-19/*', 10), 10);
  assert.equal(contentRangeStart(undefined, 10), undefined);
  assert.throws(() => contentRangeStart('5-1', undefined), /invalid content range/);
  assert.throws(() => contentRangeStart('0-9', 5), /invalid content range/);
});
