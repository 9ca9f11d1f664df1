import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeWatcher, parseDetachKeys } from './escape.ts';

test('detach keys parse as docker does', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,a'), [0, 27, 97]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys/);
  assert.throws(() => parseDetachKeys('xy'), /Invalid detach keys/);
});

test('the watcher holds back partial matches and detaches on the full sequence', () => {
  const w = new EscapeWatcher([16, 17]);
  assert.deepEqual(w.push(Buffer.from('ab')), { data: Buffer.from('ab'), detached: false });
  assert.deepEqual(w.push(Buffer.from([99, 16])), { data: Buffer.from([99]), detached: false });
  assert.deepEqual(w.push(Buffer.from([100])), { data: Buffer.from([16, 100]), detached: false }, 'broken sequence released');
  assert.deepEqual(w.push(Buffer.from([16, 16])), { data: Buffer.from([16]), detached: false });
  assert.deepEqual(w.push(Buffer.from([17, 120])), { data: Buffer.alloc(0), detached: true });
});
