import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { applyTar, cleanEntryPath } from './apply.ts';
import type { FsOps } from './fsops.ts';

interface Entry { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device'; body?: string; linkname?: string; mode?: number }

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), mtime: new Date(1_700_000_000_000) }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const recorded: string[] = [];
const fakeOps: FsOps = {
  async mknod(path, type) { recorded.push(`mknod ${type} ${path}`); },
  async whiteout(path) { recorded.push(`whiteout ${path}`); },
  async setOpaque(dir) { recorded.push(`opaque ${dir}`); },
  async setXattr(path, name) { recorded.push(`xattr ${name} ${path}`); },
};

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'apply-'));
}

test('cleanEntryPath keeps paths inside the root and rejects breakouts', () => {
  assert.equal(cleanEntryPath('./etc/passwd'), 'etc/passwd');
  assert.equal(cleanEntryPath('/abs/path'), 'abs/path');
  assert.equal(cleanEntryPath('a/./b//c/'), 'a/b/c');
  assert.equal(cleanEntryPath('a/../b'), 'b');
  assert.throws(() => cleanEntryPath('../etc/passwd'), /escapes the layer root/);
  assert.throws(() => cleanEntryPath('a/../../x'), /escapes the layer root/);
});

test('applies files, dirs, symlinks and hard links with modes, and computes the diff ID', async () => {
  const dir = tmp();
  try {
    const data = await tarOf([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', body: 'hello', mode: 0o4755 },
      { name: 'bin/alias', type: 'symlink', linkname: '/bin/tool' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: 'etc/conf', body: 'x=1\n' },
    ]);
    const r = await applyTar(Readable.from([data]), dir, fakeOps);
    assert.match(r.diffId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(readFileSync(join(dir, 'bin/tool'), 'utf8'), 'hello');
    assert.equal(statSync(join(dir, 'bin/tool')).mode & 0o7777, 0o4755);
    assert.equal(readlinkSync(join(dir, 'bin/alias')), '/bin/tool');
    assert.equal(statSync(join(dir, 'bin/hard')).ino, statSync(join(dir, 'bin/tool')).ino);
    assert.ok(statSync(join(dir, 'etc')).isDirectory(), 'missing parents are created');
    assert.equal(r.size, 5 + '/bin/tool'.length + 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses to write through a symlink the archive made, and ../ entries', async () => {
  for (const entries of [
    [{ name: 'evil', type: 'symlink' as const, linkname: '/tmp' }, { name: 'evil/owned', body: 'x' }],
    [{ name: '../outside', body: 'x' }],
    [{ name: 'a', body: 'x' }, { name: 'b', type: 'link' as const, linkname: '../../etc/passwd' }],
  ]) {
    const dir = tmp();
    try {
      await assert.rejects(applyTar(Readable.from([await tarOf(entries)]), dir, fakeOps), /escapes|symlink|hard link/);
      assert.ok(!existsSync('/tmp/owned'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('OCI whiteouts become overlay whiteouts and opaque directories', async () => {
  const dir = tmp();
  recorded.length = 0;
  try {
    await applyTar(Readable.from([await tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.old.conf' },
      { name: 'var/.wh..wh..opq' },
    ])]), dir, fakeOps);
    assert.deepEqual(recorded, [`whiteout ${join(dir, 'etc/old.conf')}`, `opaque ${join(dir, 'var')}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage and empty input are rejected clearly', async () => {
  const dir = tmp();
  try {
    await assert.rejects(applyTar(Readable.from([Buffer.from('x'.repeat(1024))]), dir, fakeOps), /invalid tar header|archive/);
    await assert.rejects(applyTar(Readable.from([]), dir, fakeOps), /empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
