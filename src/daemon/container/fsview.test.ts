import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsView, PathNotFound, goFileMode } from './fsview.ts';

test('symlinks resolve inside the root, never onto the host; mounts are crossed', async () => {
  const root = mkdtempSync('/tmp/fsview-');
  const vol = mkdtempSync('/tmp/fsview-vol-');
  try {
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'etc', 'passwd'), 'x');
    symlinkSync('/etc', join(root, 'abs'));
    symlinkSync('../../../../etc', join(root, 'up'));
    symlinkSync('etc/passwd', join(root, 'rel'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    mkdirSync(join(root, 'd'));
    symlinkSync('../abs', join(root, 'd', 'chain'));
    // In the volume, a link to /etc means the container's /etc, not the volume's.
    symlinkSync('/etc', join(vol, 'etclink'));
    const v = new FsView(root, [{ dest: '/data', source: vol, rw: true }], false);
    assert.equal(await v.resolve('/abs/passwd'), '/etc/passwd');
    assert.equal(await v.resolve('/up/passwd'), '/etc/passwd');
    assert.equal(await v.resolve('rel'), '/etc/passwd');
    assert.equal(await v.resolve('/d/chain/shadow'), '/etc/shadow', 'a missing last part is kept');
    assert.equal(await v.resolve('/data/etclink/passwd'), '/etc/passwd');
    assert.equal(v.hostPath('/data/x'), join(vol, 'x'));
    assert.equal(await v.resolve('/../../x/..//y/./z', { lenient: true }), '/y/z');
    await assert.rejects(v.resolve('/nope/z'), PathNotFound);
    assert.equal(await v.resolve('/etc/passwd/x', { lenient: true }), '/etc/passwd/x');
    await assert.rejects(v.resolve('/etc/passwd/x'), /not a directory/);
    assert.equal(await v.resolve('/abs', { followLast: false }), '/abs', 'the last link is not followed when asked');
    await assert.rejects(v.resolve('/loop1'), /too many links/);
    const fh = await v.openDir('/data');
    await fh.close();
    await assert.rejects(v.openDir('/abs'), /changed to a symbolic link|not a directory/);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(vol, { recursive: true, force: true });
  }
});

test('Go FileMode bits', () => {
  const dir = mkdtempSync('/tmp/fsview-mode-');
  try {
    assert.equal(goFileMode(lstatSync('/dev/null')), 69206454);
    writeFileSync(join(dir, 'f'), '');
    chmodSync(join(dir, 'f'), 0o644);
    assert.equal(goFileMode(lstatSync(join(dir, 'f'))), 420);
    chmodSync(dir, 0o755);
    assert.equal(goFileMode(lstatSync(dir)), 2147484141);
    symlinkSync('f', join(dir, 'l'));
    assert.equal(goFileMode(lstatSync(join(dir, 'l'))), 134218239);
    assert.equal(goFileMode(lstatSync('/tmp')), 2148532735);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
