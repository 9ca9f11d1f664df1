import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRemap } from './usernsremap.ts';

test('userns-remap settings are read as moby reads them, with its errors', () => {
  const dir = mkdtempSync('/tmp/bt-remap-');
  try {
    const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group'), subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
    writeFileSync(files.passwd, 'root:x:0:0::/root:/bin/sh\nremap:x:900:900::/:/bin/false\nnorange:x:901:901::/:/bin/false\n');
    writeFileSync(files.group, 'root:x:0:\nremap:x:900:\nother:x:77:\n');
    writeFileSync(files.subuid, 'remap:100000:65536\n');
    writeFileSync(files.subgid, 'remap:200000:65536\n');
    assert.equal(loadRemap('', files), undefined);
    assert.equal(loadRemap('root', files), undefined);
    assert.deepEqual(loadRemap('remap', files)?.mapping.root, { uid: 100000, gid: 200000 });
    assert.deepEqual(loadRemap('900:other', files)?.mapping.root, { uid: 100000, gid: 200000 });
    assert.throws(() => loadRemap('a:b:c', files), /Invalid user\/group specification in --userns-remap: "a:b:c"/);
    assert.throws(() => loadRemap('ghost', files), /Error during uid lookup for "ghost"/);
    assert.throws(() => loadRemap('4242', files), /Uid 4242 has no entry in \/etc\/passwd/);
    assert.throws(() => loadRemap('remap:ghosts', files), /Error during groupname lookup for "ghosts"/);
    assert.throws(() => loadRemap('norange', files), /Can't create ID mappings: no subuid ranges found for user "norange"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
