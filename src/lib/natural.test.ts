import { test } from 'node:test';
import assert from 'node:assert/strict';
import { naturalCompare, naturalLess } from './natural.ts';

test('sortorder.NaturalLess as docker sorts with it', () => {
  const sorted = (xs: string[]) => [...xs].sort(naturalCompare);
  assert.deepEqual(sorted(['x10', 'x9', 'x1']), ['x1', 'x9', 'x10']);
  // digits before other characters ([::] after 0.0.0.0, as docker port prints them)
  assert.deepEqual(sorted(['80/tcp -> [::]:8080', '80/tcp -> 0.0.0.0:8080']), ['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  // bytes, not locale: upper case first, punctuation by code
  assert.deepEqual(sorted(['b', 'B', 'a-b', 'ab']), ['B', 'a-b', 'ab', 'b']);
  // fewer leading zeros first; a prefix first
  assert.deepEqual(sorted(['a01', 'a1', 'a001', 'a']), ['a', 'a1', 'a01', 'a001']);
  assert.equal(naturalLess('a', 'a'), false);
  assert.equal(naturalCompare('x2', 'x2'), 0);
});
