import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boolFilter, parseUntil, pruneUntil } from './filters.ts';

test('until as moby reads it: Go durations (compound too), dates, Unix timestamps', () => {
  const now = Date.now();
  assert.ok(Math.abs(parseUntil('1h30m') - (now - 5_400_000)) < 2000);
  assert.ok(Math.abs(parseUntil('24h') - (now - 86_400_000)) < 2000);
  assert.equal(parseUntil('1700000000'), 1_700_000_000_000);
  assert.equal(parseUntil('2023-11-14T22:13:20Z'), 1_700_000_000_000);
  assert.throws(() => parseUntil('bogus'), /failed to parse value as time or duration: "bogus"/);
  assert.throws(() => pruneUntil(new Map([['until', ['1h', '2h']]])), /more than one until filter specified/);
  assert.equal(pruneUntil(new Map()), undefined);
});

test('boolean filters as moby reads them: contradictions and other words refused', () => {
  assert.equal(boolFilter(new Map([['dangling', ['true']]]), 'dangling'), true);
  assert.equal(boolFilter(new Map([['dangling', ['0']]]), 'dangling'), false);
  assert.equal(boolFilter(new Map([['dangling', ['1', 'true']]]), 'dangling'), true);
  assert.equal(boolFilter(new Map(), 'dangling'), undefined);
  assert.throws(() => boolFilter(new Map([['dangling', ['false', 'true']]]), 'dangling'), /invalid filter 'dangling=\[false true\]'/);
  assert.throws(() => boolFilter(new Map([['dangling', ['maybe']]]), 'dangling'), /invalid filter 'dangling=\[maybe\]'/);
});
