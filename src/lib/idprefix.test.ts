import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidParameter, isNotFound } from '../errdefs/index.ts';
import { IdIndex, shortId, newId, isShortId } from './idprefix.ts';
import { isFullId } from './reference.ts';

function throwsMsg(fn: () => unknown, check: (e: unknown) => boolean, message: string): void {
  assert.throws(fn, (e: unknown) => check(e) && (e as Error).message === message);
}

test('shortId (stringid.TruncateID)', () => {
  const id = '90435eec5c4e124e741ef731e118be2fc799a68aba0466ec17717f24ce2ae6a2';
  assert.equal(shortId(id), '90435eec5c4e');
  assert.equal(shortId('sha256:' + id), '90435eec5c4e');
  assert.equal(shortId('md5:abc'), 'abc');
  assert.equal(shortId('abc'), 'abc');
  assert.equal(shortId(''), '');
});

test('newId (stringid.GenerateRandomID)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newId();
    assert.ok(isFullId(id), id);
    assert.doesNotMatch(shortId(id), /^[0-9]+$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
  assert.equal(isShortId(shortId(newId())), true);
  assert.equal(isShortId('ABCDEF012345'), false);
  assert.equal(isShortId('abcdef01234'), false);
});

test('IdIndex: truncindex behaviour', () => {
  const id = '99b36c2c326ccc11e726eee6ee78a0baf166ef96';
  const idx = new IdIndex([id]);
  // Exact and prefix matches.
  assert.equal(idx.get(id), id);
  assert.equal(idx.get(id.slice(0, 1)), id);
  assert.equal(idx.get(id.slice(0, id.length / 2)), id);
  // Not found.
  throwsMsg(() => idx.get(id.slice(1)), isNotFound, 'ID does not exist');
  throwsMsg(() => idx.get('abracadabra'), isNotFound, 'ID does not exist');
  throwsMsg(() => idx.get(id + 'x'), isNotFound, 'ID does not exist');
  // Empty prefix.
  throwsMsg(() => idx.get(''), isInvalidParameter, "prefix can't be empty");
  // Ambiguity.
  const id2 = id.slice(0, 3) + 'zzz';
  idx.add(id2);
  throwsMsg(() => idx.get(id.slice(0, 1)), isInvalidParameter, 'multiple IDs found with provided prefix: 9');
  throwsMsg(() => idx.get(id.slice(0, 3)), isInvalidParameter, `multiple IDs found with provided prefix: ${id.slice(0, 3)}`);
  assert.equal(idx.get(id.slice(0, 4)), id);
  assert.equal(idx.get(id2), id2);
  assert.deepEqual(idx.matches('99b'), [id, id2]);
  // Delete resolves the ambiguity.
  assert.equal(idx.delete(id2), true);
  assert.equal(idx.delete(id2), false);
  assert.equal(idx.get('9'), id);
  assert.equal(idx.find('x'), undefined);
  // Re-adding is idempotent.
  idx.add(id);
  assert.equal(idx.size, 1);
  // A prefix that is itself an ID and also the prefix of another is ambiguous.
  const idx2 = new IdIndex(['abc', 'abcd']);
  throwsMsg(() => idx2.get('abc'), isInvalidParameter, 'multiple IDs found with provided prefix: abc');
  assert.equal(idx2.get('abcd'), 'abcd');
  throwsMsg(() => idx2.add(''), isInvalidParameter, "prefix can't be empty");
  throwsMsg(() => idx2.add('a b'), isInvalidParameter, "illegal character: ' '");
  assert.equal(idx2.has('abc'), true);
  assert.equal(idx2.has('ab'), false);
  assert.deepEqual([...idx2], ['abc', 'abcd']);
});

test('IdIndex: many random IDs', () => {
  const ids = Array.from({ length: 5000 }, () => newId());
  const idx = new IdIndex(ids);
  assert.equal(idx.size, 5000);
  for (const id of ids.slice(0, 500)) {
    assert.equal(idx.get(id), id);
    assert.equal(idx.get(shortId(id)), id);
  }
  // Compare `find` against a linear scan for short prefixes.
  for (const p of ['0', 'a', 'ff', '12', '0a1', 'dead']) {
    const linear = ids.filter((id) => id.startsWith(p));
    if (linear.length === 0) assert.equal(idx.find(p), undefined);
    else if (linear.length === 1) assert.equal(idx.find(p), linear[0]);
    else assert.throws(() => idx.find(p), isInvalidParameter);
    assert.deepEqual(idx.matches(p), linear.sort());
  }
  for (const id of ids) idx.delete(id);
  assert.equal(idx.size, 0);
});
