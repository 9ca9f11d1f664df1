import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayWidth, tabwrite } from './tabwriter.ts';

test('displayWidth counts code points: a surrogate pair is one, a lone surrogate one', () => {
  assert.equal(displayWidth(''), 0);
  assert.equal(displayWidth('busybox:latest'), 14);
  assert.equal(displayWidth('a😀b'), 3);
  assert.equal(displayWidth('😀😀'), 2);
  assert.equal(displayWidth('x\uD800y'), 3);
  assert.equal(displayWidth('\uDC00\uD800'), 2, 'a low then a high surrogate is no pair');
  assert.equal(displayWidth('日本'), 2);
});

test('tabwrite pads every column but the last to its widest cell plus 3, at least 10', () => {
  assert.equal(tabwrite(['NAME\tID\tX', 'a-long-name-here\t😀\tlast']), `NAME${' '.repeat(15)}ID${' '.repeat(8)}X\na-long-name-here${' '.repeat(3)}😀${' '.repeat(9)}last\n`);
});
