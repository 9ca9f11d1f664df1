import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  checkType,
  eq,
  evalArgs,
  ge,
  gt,
  htmlEscape,
  index,
  isBuiltin,
  jsEscape,
  le,
  length,
  lt,
  ne,
  not,
  signatureOf,
  slice,
  urlQueryEscape,
  withSignature,
} from './funcs.ts';
import { STRUCT } from './values.ts';

test('len counts bytes of strings and entries of collections', () => {
  assert.equal(length('abc'), 3);
  assert.equal(length('héllo'), 6);
  assert.equal(length([1, 2]), 2);
  assert.equal(length(new Uint8Array(4)), 4);
  assert.equal(length({ a: 1, b: 2 }), 2);
  assert.equal(length(new Map([[1, 1]])), 1);
  assert.throws(() => length(3), { message: 'len of type int' });
  assert.throws(() => length(true), { message: 'len of type bool' });
  assert.throws(() => length({ [STRUCT]: 'T' }), { message: 'len of type T' });
  assert.throws(() => length(null), { message: 'len of nil pointer' });
});

test('index walks slices, strings and maps', () => {
  const data = { a: [10, { b: 'x' }], m: new Map<unknown, unknown>([[1, 'one'], ['k', 'v']]) };
  assert.equal(index(data, 'a', 1, 'b'), 'x');
  assert.equal(index([1, 2, 3], 2), 3);
  assert.equal(index('abc', 0), 97);
  assert.equal(index('é', 1), 0xa9);
  assert.equal(index(data.m, 1), 'one');
  assert.equal(index(data.m, 'k'), 'v');
  assert.equal(index(data.m, 'missing'), '');
  assert.equal(index({ a: 'x' }, 'zz'), '');
  assert.equal(index({}, 'zz'), '');
  assert.equal(index({ a: 1 }, 'zz'), null);
  assert.deepEqual(index([1]), [1]);
  assert.equal(index([1, 2], 1n), 2);
  assert.throws(() => index([1], 1), { message: 'index out of range: 1' });
  assert.throws(() => index([1], -1), { message: 'index out of range: -1' });
  assert.throws(() => index([1], 'a'), { message: 'cannot index slice/array with type string' });
  assert.throws(() => index([1], null), { message: 'cannot index slice/array with nil' });
  assert.throws(() => index({ a: 1 }, 1), { message: 'value has type int; should be string' });
  assert.throws(() => index(null, 1), { message: 'index of untyped nil' });
  assert.throws(() => index({ a: null }, 'a', 'b'), { message: 'index of nil pointer' });
  assert.throws(() => index(5, 1), { message: "can't index item of type int" });
});

test('slice follows Go slice expressions', () => {
  assert.deepEqual(slice([1, 2, 3, 4], 1, 3), [2, 3]);
  assert.deepEqual(slice([1, 2, 3, 4], 2), [3, 4]);
  assert.deepEqual(slice([1, 2, 3, 4]), [1, 2, 3, 4]);
  assert.deepEqual(slice([1, 2, 3, 4], 1, 2, 3), [2]);
  assert.equal(slice('hello', 1, 3), 'el');
  assert.equal(slice('hello', 5), '');
  assert.deepEqual(slice(new Uint8Array([1, 2, 3]), 1), new Uint8Array([2, 3]));
  assert.throws(() => slice('abc', 0, 1, 2), { message: 'cannot 3-index slice a string' });
  assert.throws(() => slice([1], 0, 1, 2, 3), { message: 'too many slice indexes: 4' });
  assert.throws(() => slice([1, 2], 2, 1), { message: 'invalid slice index: 2 > 1' });
  assert.throws(() => slice([1, 2], 3), { message: 'index out of range: 3' });
  assert.throws(() => slice(3, 1), { message: "can't slice item of type int" });
  assert.throws(() => slice(undefined), { message: 'slice of untyped nil' });
});

test('comparisons', () => {
  assert.equal(eq(1, 1), true);
  assert.equal(eq(1, 2, 3, 1), true);
  assert.equal(eq('a', 'b'), false);
  assert.equal(eq(true, true), true);
  assert.equal(eq(1.5, 1.5), true);
  assert.equal(eq(2n, 2), true);
  assert.equal(eq(null, undefined), true);
  assert.equal(eq(undefined, 'x'), false);
  assert.equal(eq('x', null), false);
  assert.equal(eq([], null), false);
  const s = { [STRUCT]: 'S' };
  assert.equal(eq(s, s), true);
  assert.throws(() => eq(1, 'a'), { message: 'incompatible types for comparison' });
  assert.throws(() => eq(1), { message: 'missing argument for comparison' });
  assert.throws(() => eq([1], [1]), { message: 'non-comparable type [1]: []interface {}' });
  assert.equal(ne(1, 2), true);
  assert.equal(lt(1, 2), true);
  assert.equal(lt('a', 'b'), true);
  assert.equal(lt('\uffff', '😀'), true); // byte order, not UTF-16 order
  assert.equal(le(2, 2), true);
  assert.equal(gt(3, 2), true);
  assert.equal(ge(2, 3), false);
  assert.equal(lt(1n, 2), true);
  assert.throws(() => lt(true, false), { message: 'invalid type for comparison' });
  assert.throws(() => lt(null, 1), { message: 'invalid type for comparison' });
  assert.throws(() => lt([1], 1), { message: 'invalid type for comparison' });
  assert.throws(() => lt(1, 'a'), { message: 'incompatible types for comparison' });
  assert.equal(not(0), true);
  assert.equal(not([1]), false);
});

test('escapers match html/template, JSEscapeString and url.QueryEscape', () => {
  assert.equal(htmlEscape(`<a href="x" title='y'>&\0`), '&lt;a href=&#34;x&#34; title=&#39;y&#39;&gt;&amp;\uFFFD');
  assert.equal(jsEscape(`a'b"c\\d<e>f&g=h\ni\u2028é`), "a\\'b\\\"c\\\\d\\u003Ce\\u003Ef\\u0026g\\u003Dh\\u000Ai\\u2028é");
  assert.equal(urlQueryEscape('a b+c&d=e/f?g~h_i.j-k!*()é'), 'a+b%2Bc%26d%3De%2Ff%3Fg~h_i.j-k%21%2A%28%29%C3%A9');
  assert.equal(evalArgs(['x']), 'x');
  assert.equal(evalArgs([1, 2]), '1 2');
  assert.equal(evalArgs([null]), '<no value>');
});

test('signatures and type checks', () => {
  const f = withSignature((a: unknown) => a, { params: ['string'], variadic: 'int' });
  assert.deepEqual(signatureOf(f), { params: ['string'], variadic: 'int' });
  assert.equal(signatureOf(() => 1), undefined);
  assert.equal(checkType('x', 'string'), null);
  assert.equal(checkType(1, 'string'), 'wrong type for value; expected string; got int');
  assert.equal(checkType(1.5, 'int'), 'wrong type for value; expected int; got float64');
  assert.equal(checkType(['a'], '[]string'), null);
  assert.equal(checkType(['a', 1], '[]string'), 'wrong type for value; expected []string; got []interface {}');
  assert.equal(isBuiltin('printf'), true);
  assert.equal(isBuiltin('json'), false);
  assert.equal(isBuiltin('toString'), false);
});
