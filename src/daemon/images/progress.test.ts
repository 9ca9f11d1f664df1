import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitConcurrency } from './progress.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('limitConcurrency: results in order, at most `limit` at once', async () => {
  let running = 0;
  let most = 0;
  const out = await limitConcurrency(2, [30, 10, 20, 5].map((ms, i) => async () => {
    most = Math.max(most, ++running);
    await sleep(ms);
    running--;
    return i;
  }));
  assert.deepEqual(out, [0, 1, 2, 3]);
  assert.equal(most, 2);
});

test('limitConcurrency: after a failure nothing starts, those under way are told and awaited, the first error is thrown', async () => {
  const started: number[] = [];
  let settledSlow = false;
  const tasks = [
    async (signal: AbortSignal) => {
      started.push(0);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 50)));
      settledSlow = true;
      throw new Error('stopped');
    },
    async () => {
      started.push(1);
      await sleep(10);
      throw new Error('the real failure');
    },
    async () => {
      started.push(2);
    },
  ];
  await assert.rejects(limitConcurrency(2, tasks), /the real failure/);
  assert.deepEqual(started, [0, 1], 'the third never started');
  assert.ok(settledSlow, 'the running task was told and had settled before the rejection');
});
