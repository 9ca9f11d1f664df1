/**
 * A full disk (a small tmpfs as the data root): every operation that runs out of space says
 * so at once ("no space left on device"), keeps nothing open or half-stored, and berthd goes
 * on; an exit it could not save is still known after a restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon } from './harness.ts';
import { startBerthRegistry, type RunningRegistry } from './registries.ts';

let d: TestDaemon;
let reg: RunningRegistry;
let dir: string;

before(async () => {
  dir = mkdtempSync('/tmp/bt-full-');
  d = await TestDaemon.start({ tmpfsDataRootMb: 48 });
  await d.importBusybox();
  reg = await startBerthRegistry();
});

after(async () => {
  await d?.cleanup();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function deletedButOpen(): string[] {
  const fds = join('/proc', String(d.pid), 'fd');
  return readdirSync(fds).map((f) => { try { return readlinkSync(join(fds, f)); } catch { return ''; } }).filter((l) => l.endsWith('(deleted)') && l.startsWith(d.dataRoot));
}

/** Waits (5 s at most) for the data root's usage to fall under `limit`; what holds it if not. */
async function spaceBack(limit: number): Promise<string> {
  for (let i = 0; i < 50 && used() >= limit; i++) await new Promise((r) => setTimeout(r, 100));
  if (used() < limit) return '';
  const held = spawnSync('sh', ['-c', `ls -l /proc/[0-9]*/fd 2>/dev/null | grep -F '${d.dataRoot}' | grep deleted; du -sx ${d.dataRoot}/* 2>/dev/null`], { encoding: 'utf8' }).stdout;
  return `${used() - limit} bytes over; ${held}`;
}

function used(): number {
  return Number(spawnSync('df', ['--output=used', '-B1', d.dataRoot], { encoding: 'utf8' }).stdout.split('\n')[1]);
}

test('commit, load and pull that run out of space fail at once, saying so, and give the space back', async () => {
  const base = used();
  await ok(['run', '--name', 'big', 'busybox', 'sh', '-c', 'head -c 20000000 /dev/urandom > /big']);
  const commit = await d.berth(['commit', 'big', 'big:1'], { timeoutMs: 20_000 });
  assert.equal(commit.code, 1);
  assert.match(commit.stderr, /no space left on device/i);
  await ok(['rm', 'big']);
  assert.deepEqual(deletedButOpen(), [], 'no descriptor on deleted files');
  assert.equal(await spaceBack(base + (2 << 20)), '', 'the container\'s space came back');

  // An archive bigger than the space left.
  const x = join(dir, 'x');
  spawnSync('mkdir', ['-p', x]);
  // Random, so that the pushed (gzipped) layer is as big as the archive's.
  writeFileSync(join(x, 'f'), randomBytes(30_000_000));
  spawnSync('tar', ['-C', x, '-cf', join(dir, 'layer.tar'), 'f']);
  const diffId = `sha256:${spawnSync('sha256sum', [join(dir, 'layer.tar')], { encoding: 'utf8' }).stdout.split(' ')[0]}`;
  const cfg = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} });
  const cfgName = `${spawnSync('sh', ['-c', `printf '%s' '${cfg}' | sha256sum`], { encoding: 'utf8' }).stdout.split(' ')[0]}.json`;
  writeFileSync(join(dir, cfgName), cfg);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: ['toobig:1'], Layers: ['layer.tar'] }]));
  spawnSync('tar', ['-C', dir, '-cf', join(dir, 'archive.tar'), 'manifest.json', cfgName, 'layer.tar']);
  const load = await d.berth(['load', '-i', join(dir, 'archive.tar')], { timeoutMs: 20_000 });
  assert.equal(load.code, 1);
  assert.match(load.stderr, /no space left on device/i);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'ingest')), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'overlay2')).filter((n) => n.startsWith('.')), []);
  assert.deepEqual(deletedButOpen(), []);
  // The same with a gzipped layer (docker save's of a pulled image, the case first seen) and
  // through import: the space is given back each time.
  spawnSync('sh', ['-c', `gzip -1 -c ${join(dir, 'layer.tar')} > ${join(dir, 'layer.tar.gz')}`]);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: ['toobig:2'], Layers: ['layer.tar.gz'] }]));
  spawnSync('tar', ['-C', dir, '-cf', join(dir, 'archive-gz.tar'), 'manifest.json', cfgName, 'layer.tar.gz']);
  for (const args of [['load', '-i', join(dir, 'archive-gz.tar')], ['import', join(dir, 'layer.tar'), 'toobig:3']]) {
    const r = await d.berth(args, { timeoutMs: 20_000 });
    assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /no space left on device/i, args[0]);
    assert.deepEqual(readdirSync(join(d.dataRoot, 'ingest')), [], args[0]);
    assert.deepEqual(readdirSync(join(d.dataRoot, 'overlay2')).filter((n) => n.startsWith('.')), [], args[0]);
    assert.deepEqual(deletedButOpen(), [], args[0]);
    assert.equal(await spaceBack(base + (2 << 20)), '', `${args[0]}: the space came back`);
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: ['toobig:1'], Layers: ['layer.tar'] }]));

  // A pull of a layer bigger than the space left: not a "stalled transfer".
  const reg2 = await TestDaemon.start();
  try {
    await reg2.importBusybox();
    const r = await reg2.berth(['load', '-i', join(dir, 'archive.tar')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await reg2.berth(['tag', 'toobig:1', `${reg.host}/full/toobig:1`])).code, 0);
    assert.equal((await reg2.berth(['push', `${reg.host}/full/toobig:1`])).code, 0);
  } finally {
    await reg2.cleanup();
  }
  const pull = await d.berth(['pull', `${reg.host}/full/toobig:1`], { timeoutMs: 25_000 });
  assert.equal(pull.code, 1, `${pull.stdout}${pull.stderr}\n${d.readLog().slice(-3000)}`);
  assert.match(pull.stdout + pull.stderr, /no space left on device/i);
  assert.doesNotMatch(pull.stdout + pull.stderr, /stalled/);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'ingest')), []);
  assert.deepEqual(deletedButOpen(), []);
  assert.ok(used() < base + (2 << 20), 'the space came back');
  assert.equal((await ok(['run', '--rm', 'busybox', 'echo', 'still fine'])), 'still fine\n');
});

test('an exit that could not be saved for lack of space is still known after a restart', async () => {
  await ok(['run', '-d', '--name', 'stopper', 'busybox', 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
  // Fill the disk, then stop: the record of the exit cannot be written.
  writeFileSync(join(d.dataRoot, 'filler'), Buffer.alloc(0));
  spawnSync('sh', ['-c', `head -c 100000000 /dev/zero > ${join(d.dataRoot, 'filler')} 2>/dev/null`]);
  await d.berth(['stop', 'stopper']);
  await d.stopDaemon('SIGKILL');
  rmSync(join(d.dataRoot, 'filler'));
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'stopper'])).trim(), 'exited 7');
  await ok(['rm', 'stopper']);
});
