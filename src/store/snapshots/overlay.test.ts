import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlaySnapshotter } from './overlay.ts';

const mounted = (p: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === p);

test('removing a container layer: its files and link go, a root or a view left mounted is unmounted first', { skip: process.getuid?.() !== 0 && 'needs root (mount)' }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'overlay-test-'));
  try {
    const s = new OverlaySnapshotter(root);
    await s.init();
    for (const id of ['plain', 'left-mounted']) await s.createContainerLayer(id, undefined);
    assert.equal(readdirSync(join(root, 'overlay2', 'l')).length, 2);
    await s.remove('plain');
    assert.ok(!existsSync(join(root, 'overlay2', 'plain')));
    // A monitor that died with the root mounted, and a view a crash left behind.
    const layer = join(root, 'overlay2', 'left-mounted');
    mkdirSync(join(layer, 'view-1'));
    for (const m of ['merged', 'view-1']) assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(layer, m)]).status, 0);
    await s.remove('left-mounted');
    assert.ok(!mounted(join(layer, 'merged')) && !mounted(join(layer, 'view-1')), 'unmounted');
    assert.ok(!existsSync(layer));
    assert.deepEqual(readdirSync(join(root, 'overlay2', 'l')), []);
  } finally {
    for (const m of ['merged', 'view-1']) spawnSync('umount', ['-l', join(root, 'overlay2', 'left-mounted', m)]);
    rmSync(root, { recursive: true, force: true });
  }
});
