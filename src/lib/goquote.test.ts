import { test } from 'node:test';
import assert from 'node:assert/strict';

import { canBackquote, isPrint, quote, quoteRune, unquote } from './goquote.ts';

test('quote matches strconv.Quote', () => {
  assert.equal(quote('abc'), '"abc"');
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quote('\x07\b\f\n\r\t\v\x00\x7f'), '"\\a\\b\\f\\n\\r\\t\\v\\x00\\x7f"');
  assert.equal(quote('é😀'), '"é😀"');
  assert.equal(quote('é😀', true), '"\\u00e9\\U0001f600"');
  assert.equal(quote('\u00a0\u200b'), '"\\u00a0\\u200b"');
  assert.equal(quoteRune(0x27), "'\\''");
  assert.equal(quoteRune(0x22), `'"'`);
  assert.equal(quoteRune(0x110000), "'�'");
});

test('canBackquote and isPrint', () => {
  assert.equal(canBackquote('a\tb'), true);
  assert.equal(canBackquote('a`b'), false);
  assert.equal(canBackquote('a\nb'), false);
  assert.equal(canBackquote('\ufeff'), false);
  assert.equal(isPrint(0x20), true);
  assert.equal(isPrint(0xa0), false);
  assert.equal(isPrint(0x1f600), true);
  assert.equal(isPrint(0x7f), false);
});

test('unquote matches strconv.Unquote', () => {
  assert.equal(unquote('"a\\tb"'), 'a\tb');
  assert.equal(unquote('"\\x41\\101\\u0042\\U00000043"'), 'AABC');
  assert.equal(unquote('"\\xe2\\x82\\xac"'), '€');
  assert.equal(unquote('`a\\n`'), 'a\\n');
  assert.equal(unquote("'x'"), 'x');
  assert.equal(unquote("'\\''"), "'");
  for (const bad of ['"a', '"\\q"', '"\\\'"', "'ab'", "''", '"a\nb"', '`a`b`', '"\\ud800"', '"\\400"', 'x']) {
    assert.throws(() => unquote(bad), { message: 'invalid syntax' }, bad);
  }
});
