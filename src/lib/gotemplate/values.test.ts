import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compareKeys, compareStrings, isStructLike, isTrue, kindOf, sortedEntries, STRUCT, typeName } from './values.ts';

test('kinds of JS values', () => {
  assert.equal(kindOf(undefined), 'invalid');
  assert.equal(kindOf(null), 'nil');
  assert.equal(kindOf(1), 'int');
  assert.equal(kindOf(1n), 'int');
  assert.equal(kindOf(1.5), 'float');
  assert.equal(kindOf(NaN), 'float');
  assert.equal(kindOf('s'), 'string');
  assert.equal(kindOf([]), 'slice');
  assert.equal(kindOf(new Uint8Array()), 'bytes');
  assert.equal(kindOf(new Map()), 'map');
  assert.equal(kindOf({}), 'map');
  assert.equal(kindOf(Object.create(null)), 'map');
  assert.equal(kindOf({ [STRUCT]: 'T' }), 'struct');
  assert.equal(kindOf(new (class A {})()), 'struct');
  assert.equal(kindOf(() => 1), 'func');
});

test('struct-likes and type names', () => {
  class Foo {}
  assert.equal(isStructLike(new Foo()), true);
  assert.equal(isStructLike(Object.freeze({ [STRUCT]: 'X' })), true);
  assert.equal(isStructLike({ a: 1 }), false);
  assert.equal(typeName(new Foo()), 'Foo');
  assert.equal(typeName({ [STRUCT]: 'pkg.T' }), 'pkg.T');
  assert.equal(typeName(new Date(0)), 'time.Time');
  assert.equal(typeName({}), 'map[string]interface {}');
  assert.equal(typeName([1]), '[]interface {}');
});

test('truth', () => {
  assert.deepEqual(
    [0, 1, '', 'a', [], [0], {}, { a: 0 }, null, undefined, false, true, NaN, new Map(), { [STRUCT]: 'T' }].map(isTrue),
    [false, true, false, true, false, true, false, true, false, false, false, true, true, false, true],
  );
});

test('ordering like Go fmtsort', () => {
  assert.ok(compareStrings('B', 'a') < 0);
  assert.ok(compareStrings('\uffff', '😀') < 0);
  assert.ok(compareStrings('ab', 'abc') < 0);
  assert.ok(compareKeys(2, 10) < 0);
  assert.ok(compareKeys(false, true) < 0);
  assert.deepEqual(sortedEntries({ b: 1, a: 2, B: 3 }).map(([k]) => k), ['B', 'a', 'b']);
  assert.deepEqual(sortedEntries(new Map<unknown, unknown>([[10, 'x'], [2, 'y']])).map(([k]) => k), [2, 10]);
});
