import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, checkDigest, checkAlgorithm } from './names.ts';
import { RegistryError } from './errcode.ts';
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
  assert.equal(checkDigest(`sha512:${'a'.repeat(128)}`), `sha512:${'a'.repeat(128)}`);
  assert.throws(() => checkDigest('sha256:abc'), /invalid digest/);
  assert.throws(() => checkDigest(null), /invalid digest/);
});

test('sha512 digests need 128 hex digits; other algorithms are DIGEST_INVALID (400), never a path', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof RegistryError);
      return `${e.code} ${e.status} ${e.message}`;
    }
    return 'no error';
  };
  assert.equal(code(() => checkDigest(`sha512:${'a'.repeat(64)}`)), 'DIGEST_INVALID 400 invalid digest');
  assert.equal(code(() => checkDigest(`sha512:${'A'.repeat(128)}`)), 'DIGEST_INVALID 400 invalid digest');
  assert.equal(code(() => checkDigest(`sha384:${'a'.repeat(96)}`)), 'DIGEST_INVALID 400 unsupported digest algorithm: sha384');
  assert.equal(code(() => checkDigest('md5:d41d8cd98f00b204e9800998ecf8427e')), 'DIGEST_INVALID 400 unsupported digest algorithm: md5');
  assert.equal(code(() => checkDigest('sha256:../../etc')), 'DIGEST_INVALID 400 invalid digest');
  assert.equal(checkAlgorithm('sha512'), 'sha512');
  assert.equal(code(() => checkAlgorithm('sha1')), 'DIGEST_INVALID 400 unsupported digest algorithm: sha1');
});

test('routes are recognised from the end of the path, so names may contain route words', () => {
  assert.deepEqual(route('/v2/'), { kind: 'base', name: '', param: '' });
  assert.deepEqual(route('/v2/a/b/manifests/latest'), { kind: 'manifest', name: 'a/b', param: 'latest' });
  assert.deepEqual(route('/v2/a/blobs/blobs/sha256:x'), { kind: 'blob', name: 'a/blobs', param: 'sha256:x' });
  assert.deepEqual(route('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a', param: '' });
  assert.deepEqual(route('/v2/a/blobs/uploads/u-1'), { kind: 'upload', name: 'a', param: 'u-1' });
  assert.deepEqual(route('/v2/tags/tags/list'), { kind: 'tags', name: 'tags', param: '' });
  assert.deepEqual(route('/v2/a/b/referrers/sha512:x'), { kind: 'referrers', name: 'a/b', param: 'sha512:x' });
  assert.deepEqual(route('/v2/referrers/blobs/referrers/sha256:x'), { kind: 'referrers', name: 'referrers/blobs', param: 'sha256:x' });
  assert.equal(route('/v2/a/referrers/'), undefined);
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
  assert.equal(parseRange('bytes=50-10', 100), null, 'an invalid range (last < first) is rejected with 416');
  assert.equal(contentRangeStart('0-9', 10), 0);
  assert.equal(contentRangeStart('bytes 10-19/*', 10), 10);
  assert.equal(contentRangeStart(undefined, 10), undefined);
  assert.throws(() => contentRangeStart('5-1', undefined), /invalid content range/);
  assert.throws(() => contentRangeStart('0-9', 5), /invalid content range/);
});
