import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleCollector } from './idlegc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('collects once activity has stopped for the quiet period, not while it goes on', async () => {
  const c = new IdleCollector(150);
  c.touch();
  for (let i = 0; i < 6; i++) {
    await sleep(50);
    c.touch();
  }
  assert.equal(c.runs, 0, 'not while requests keep coming');
  await sleep(400);
  assert.equal(c.runs, 1, 'once after they stop');
  await sleep(300);
  assert.equal(c.runs, 1, 'and not again without new activity');
  c.touch();
  await sleep(400);
  assert.equal(c.runs, 2);
  c.stop();
});

test('the collection gives a burst\'s young generation back', async () => {
  const v8 = process.getBuiltinModule('node:v8');
  const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
  const c = new IdleCollector(100);
  let keep: object[] = [];
  for (let i = 0; i < 400_000; i++) {
    keep.push({ i, s: `x${i}` });
    if (keep.length > 50_000) keep = [];
  }
  keep = [];
  const grown = young();
  c.touch();
  await sleep(300);
  assert.equal(c.runs, 1);
  assert.ok(young() < grown, `young generation ${grown} -> ${young()}`);
  c.stop();
});
