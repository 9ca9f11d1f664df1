import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitCsv } from './csv.ts';

test('splitCsv reads one record as encoding/csv does', () => {
  assert.deepEqual(splitCsv('a,b,,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(splitCsv('"a,b",c'), ['a,b', 'c']);
  assert.deepEqual(splitCsv('"say ""hi""",x'), ['say "hi"', 'x']);
  assert.deepEqual(splitCsv(''), ['']);
  assert.deepEqual(splitCsv(' a , b '), [' a ', ' b ']);
});

test('splitCsv refuses the quotes Go refuses', () => {
  assert.throws(() => splitCsv('"a'), /extraneous or missing " in quoted-field/);
  assert.throws(() => splitCsv('"a"b,c'), /extraneous or missing " in quoted-field/);
  assert.throws(() => splitCsv('a="b'), /bare " in non-quoted-field/);
});
