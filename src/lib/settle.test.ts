import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleAll } from './settle.ts';

test('settleAll waits for every step, then throws the first error in order', async () => {
  let slowDone = false;
  const slow = new Promise<void>((r) => setTimeout(() => { slowDone = true; r(); }, 30));
  await assert.rejects(settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second')), undefined]), /first/);
  assert.ok(slowDone, 'the slow step had finished before the error was thrown');
  await settleAll([Promise.resolve(1), undefined]);
});
