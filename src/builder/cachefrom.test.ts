import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { continues, layerOfHistory, madeBy } from './cachefrom.ts';
import type { ImageConfigFile } from '../api/types.ts';

const img = (history: { created_by: string; empty_layer?: boolean }[], diffIds: string[]): ImageConfigFile => ({
  architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, history: history.map((h) => ({ created: '2026-01-01T00:00:00Z', ...h })),
});

describe('--cache-from matching (moby image/cache)', () => {
  const base = img([{ created_by: 'import' }], ['sha256:a']);
  const source = img([{ created_by: 'import' }, { created_by: '/bin/sh -c echo one' }, { created_by: '/bin/sh -c #(nop)  ENV X=1', empty_layer: true }, { created_by: '/bin/sh -c echo two' }], ['sha256:a', 'sha256:b', 'sha256:c']);
  it('a source continues its base: same history and layers first', () => {
    assert.equal(continues(source, base), true);
    assert.equal(continues(source, undefined), true, 'FROM scratch');
    assert.equal(continues(source, img([{ created_by: 'other' }], ['sha256:a'])), false, 'another history');
    assert.equal(continues(source, img([{ created_by: 'import' }], ['sha256:z'])), false, 'other layers');
    assert.equal(continues(base, base), false, 'nothing after it');
    assert.equal(continues(img([], []), undefined), false, 'no history at all');
  });
  it('a step matches the entry its command made', () => {
    assert.equal(madeBy({ Cmd: ['/bin/sh', '-c', 'echo one'] }, source.history![1]), true);
    assert.equal(madeBy({ Cmd: ['|1', 'A=1', '/bin/sh', '-c', 'echo one'] }, source.history![1]), false, 'build args are part of it');
    assert.equal(madeBy({ Cmd: ['/bin/sh', '-c', 'echo one'] }, undefined), false);
  });
  it('the layer an entry made, counting only entries that made one', () => {
    assert.equal(layerOfHistory(source, 1), 1);
    assert.equal(layerOfHistory(source, 2), undefined, 'config only');
    assert.equal(layerOfHistory(source, 3), 2);
  });
});
