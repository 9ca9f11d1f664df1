import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressString } from './progressbar.ts';

test('progress strings as docker\'s JSONProgress.String() renders them', () => {
  assert.equal(progressString({}), '');
  assert.equal(progressString({ current: 1 }), '      1B');
  assert.equal(progressString({ current: 1, total: 100 }), `[>${' '.repeat(50)}]       1B/100B`);
  assert.equal(progressString({ current: 50, total: 100 }), `[${'='.repeat(25)}>${' '.repeat(25)}]      50B/100B`);
  assert.equal(progressString({ current: 2_998_123, total: 2_998_123 }), `[${'='.repeat(50)}>]  2.998MB/2.998MB`);
  // A narrow terminal: numbers only.
  assert.equal(progressString({ current: 50, total: 100 }, 80), '     50B/100B');
  // A counter past its total drops the total.
  assert.equal(progressString({ current: 150, total: 100 }, 80), '    150B');
  assert.equal(progressString({ current: 3, total: 10, units: 'layers' }, 80), '3/10 layers');
});
