import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveInScope } from './scopedpath.ts';

test('symlinks resolve inside the root, never onto the host', async () => {
  const root = mkdtempSync('/tmp/scoped-');
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'x');
    symlinkSync('/etc', join(root, 'abs'));
    symlinkSync('../../../../etc', join(root, 'up'));
    symlinkSync('etc/passwd', join(root, 'rel'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    mkdirSync(join(root, 'd'));
    symlinkSync('../abs', join(root, 'd', 'chain'));
    assert.equal(await resolveInScope(root, '/abs/passwd'), '/etc/passwd');
    assert.equal(await resolveInScope(root, '/up/passwd'), '/etc/passwd');
    assert.equal(await resolveInScope(root, 'rel'), '/etc/passwd');
    assert.equal(await resolveInScope(root, '/d/chain/shadow'), '/etc/shadow', 'a missing last part is kept');
    assert.equal(await resolveInScope(root, '/../../x/..//y/./z'), '/y/z');
    assert.equal(await resolveInScope(root, '/abs', false), '/abs', 'the last link is not followed when asked');
    await assert.rejects(resolveInScope(root, '/loop1'), /too many levels of symbolic links/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
