import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDockerignore } from './dockerignore.ts';
import { manifestTuple, tarSize, walkContext, walkContextSync } from './contextwalk.ts';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-walk-'));
  mkdirSync(join(dir, 'src/deep'), { recursive: true });
  mkdirSync(join(dir, 'logs/keep'), { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(dir, 'src/a.txt'), 'a');
  writeFileSync(join(dir, 'src/deep/b.txt'), 'bb');
  writeFileSync(join(dir, 'logs/x.log'), 'log');
  writeFileSync(join(dir, 'logs/keep/y.log'), 'kept');
  writeFileSync(join(dir, 'secret.key'), 'no');
  for (let i = 0; i < 600; i++) writeFileSync(join(dir, 'src', `f${String(i).padStart(3, '0')}`), String(i));
  symlinkSync('src/a.txt', join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  return dir;
}

test('the daemon\'s walk lists a context exactly as the CLI\'s: ignore rules, exceptions, kept names, symlinks, no fifos', async () => {
  const dir = tree();
  try {
    // Settled files get a stat key; one written in the last two seconds does not.
    await sleep(2100);
    writeFileSync(join(dir, 'src/deep/b.txt'), 'bb');
    const ignore = parseDockerignore('logs\n!logs/keep\n*.key\nDockerfile\n');
    const keep = new Set(['Dockerfile', '.dockerignore']);
    const sync = walkContextSync(dir, ignore, keep);
    const names = sync.map((e) => e.rel);
    assert.ok(names.includes('Dockerfile'), 'the Dockerfile is never left out');
    assert.ok(names.includes('logs/keep/y.log') && !names.includes('logs/x.log'), 'an exception brings back what is below an ignored directory');
    assert.ok(!names.includes('secret.key') && !names.includes('pipe'));
    assert.deepEqual(names.slice(0, 3), ['Dockerfile', 'link', 'logs'], 'name order');
    assert.equal(sync.find((e) => e.rel === 'link')?.linkname, 'src/a.txt');
    assert.deepEqual(names.filter((n) => !/^src\/f\d+$/.test(n)), ['Dockerfile', 'link', 'logs', 'logs/keep', 'logs/keep/y.log', 'src', 'src/a.txt', 'src/deep', 'src/deep/b.txt']);
    assert.equal(names.length, 609);
    // The stat key changes with the file; a file written just now has none.
    const a = sync.find((e) => e.rel === 'src/a.txt')!;
    assert.match(a.key, /^\d+:\d+:1:/);
    assert.equal(sync.find((e) => e.rel === 'src/deep/b.txt')!.key, '');
    const walked = await walkContext(dir, ignore, keep, 1 << 30);
    assert.deepEqual(walked?.map(manifestTuple), sync.map(manifestTuple));
    assert.equal(tarSize(walked!), tarSize(sync));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the daemon\'s walk gives up on a context past its size bound, and fails on a missing directory', async () => {
  const dir = tree();
  try {
    assert.equal(await walkContext(dir, [], new Set(), 10_000), undefined);
    assert.ok(await walkContext(dir, [], new Set(), 1 << 20));
    await assert.rejects(walkContext(join(dir, 'nope'), [], new Set(), 1 << 20), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
