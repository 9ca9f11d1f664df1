/**
 * A container's filesystem outside it: `diff` (docker's A/C/D with parents as C), `commit`
 * (a new layer with deletions as whiteouts, history, changes, a running container frozen
 * meanwhile) then run and diff again, `export` → `import` round trips, through berth and the
 * docker CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { setFrozen } from '../../src/runtime/freezer.ts';
import { join } from 'node:path';
import { TestDaemon, DOCKER } from './harness.ts';

let d: TestDaemon;
let dir: string;

before(async () => {
  dir = mkdtempSync('/tmp/bt-commit-');
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

test('diff shows added, changed and deleted paths, parents of changes as C, nothing for a fresh container', async () => {
  await ok(['run', '--name', 'fresh', 'busybox', 'true']);
  assert.equal(await ok(['diff', 'fresh']), '', 'a container that changed nothing has no diff');
  await ok(['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo new > /etc/newfile; echo more >> /etc/passwd; rm /bin/vi; mkdir -p /srv/a; echo x > /srv/a/f']);
  assert.equal(await ok(['diff', 'changer']), [
    'C /bin', 'D /bin/vi', 'C /etc', 'A /etc/newfile', 'C /etc/passwd', 'A /srv', 'A /srv/a', 'A /srv/a/f', '',
  ].join('\n'));
  const r = await d.berth(['diff', 'nosuch']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such container: nosuch/);
  const docker = spawnSync(DOCKER, ['diff', 'changer'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
  assert.equal(docker.status, 0, docker.stderr);
  assert.match(docker.stdout, /^D \/bin\/vi$/m);
  await ok(['rm', 'fresh']);
});

test('commit → run → diff: the new image has the changes, deletions included; history and config record the commit', async () => {
  const id = (await ok(['commit', '-a', 'Ann Author <ann@example.com>', '-m', 'add things', '-c', 'ENV STAGE=committed', '-c', 'CMD ["cat", "/etc/newfile"]', 'changer', 'committed/app:v1'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await ok(['run', '--rm', 'committed/app:v1']), 'new\n');
  assert.equal(await ok(['run', '--rm', 'committed/app:v1', 'sh', '-c', 'test -e /bin/vi && echo present || echo gone; tail -1 /etc/passwd; cat /srv/a/f; echo $STAGE']), 'gone\nmore\nx\ncommitted\n');
  const inspect = JSON.parse(await ok(['image', 'inspect', 'committed/app:v1'])) as { Author: string; Comment: string; Parent: string; Config: { Env: string[]; Cmd: string[] }; RootFS: { Layers: string[] } }[];
  assert.equal(inspect[0].Author, 'Ann Author <ann@example.com>');
  assert.equal(inspect[0].Comment, 'add things');
  assert.deepEqual(inspect[0].Config.Cmd, ['cat', '/etc/newfile']);
  assert.ok(inspect[0].Config.Env.includes('STAGE=committed'));
  assert.equal(inspect[0].RootFS.Layers.length, 2);
  const base = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  assert.equal(inspect[0].Parent, base);
  const hist = (await ok(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', 'committed/app:v1'])).trim().split('\n');
  assert.equal(hist.length, 2);
  assert.match(hist[0], new RegExp(`^${id}\\|sh -c echo new > /etc/newfile; .*\\|add things$`));
  assert.equal(hist[1].split('|')[0], base, 'the parent image is named in history');

  // A container of the committed image starts clean; its own changes are its diff.
  await ok(['run', '--name', 'second', 'committed/app:v1', 'sh', '-c', 'rm /etc/newfile; echo y > /srv/a/g']);
  assert.equal(await ok(['diff', 'second']), ['C /etc', 'D /etc/newfile', 'C /srv', 'C /srv/a', 'A /srv/a/g', ''].join('\n'));
  await ok(['rm', 'second']);
});

test('commit of a running container freezes it meanwhile and it keeps running; --pause=false too', async () => {
  await ok(['run', '-d', '--name', 'busy', 'busybox', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.05; done']);
  // The counter is replaced by rename, so a reader never sees it half written.
  await new Promise((r) => setTimeout(r, 300));
  const a = (await ok(['commit', 'busy', 'busy/snap:1'])).trim();
  const b = (await ok(['commit', '--pause=false', 'busy', 'busy/snap:2'])).trim();
  assert.notEqual(a, b);
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'busy'])).trim(), 'true');
  const n1 = Number(await ok(['exec', 'busy', 'cat', '/tmp/count']));
  await new Promise((r) => setTimeout(r, 300));
  const n2 = Number(await ok(['exec', 'busy', 'cat', '/tmp/count']));
  assert.ok(n2 > n1, `the container was thawed (${n1} → ${n2})`);
  // The freezer commit uses really stops the container's processes.
  const cid = (await ok(['inspect', '-f', '{{.Id}}', 'busy'])).trim();
  const countFile = join(d.dataRoot, 'overlay2', cid, 'merged', 'tmp', 'count');
  assert.equal(await setFrozen(`${d.cgroupParent}/${cid}`, true), true);
  try {
    const f1 = readFileSync(countFile, 'utf8');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(readFileSync(countFile, 'utf8'), f1, 'frozen: the counter stands still');
  } finally {
    await setFrozen(`${d.cgroupParent}/${cid}`, false);
  }
  assert.match(await ok(['run', '--rm', 'busy/snap:1', 'cat', '/tmp/count']), /^\d+\n$/);
  await ok(['rm', '-f', 'busy']);
  await ok(['rmi', 'busy/snap:1', 'busy/snap:2']);
});

test('export → import round trip; docker export works through berthd', async () => {
  const file = join(dir, 'changer.tar');
  await ok(['export', '-o', file, 'changer']);
  const names = spawnSync('tar', ['tf', file], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(names.includes('etc/newfile'));
  assert.ok(names.includes('bin/sh'));
  assert.ok(!names.includes('bin/vi'), 'deleted files are not exported');
  assert.ok(!names.some((n) => n.includes('.wh.')), 'a flat export has no whiteouts');
  await ok(['import', '-c', 'CMD ["sh"]', '-m', 'from export', file, 'reimported:1']);
  assert.equal(await ok(['run', '--rm', 'reimported:1', 'cat', '/etc/newfile', '/srv/a/f']), 'new\nx\n');
  assert.match(await ok(['history', '--format', '{{.Comment}}', 'reimported:1']), /^from export$/m);
  const dfile = join(dir, 'docker-export.tar');
  const r = spawnSync(DOCKER, ['export', '-o', dfile, 'changer'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(dfile));
  const tty = await d.berth(['export', 'nosuch']);
  assert.equal(tty.code, 1);
  // Export leaves no mount behind.
  assert.deepEqual(readdirSync(join(d.dataRoot, 'overlay2')).filter((n) => n.startsWith('export-')), []);
  const mounts = spawnSync('grep', ['-c', 'export-', '/proc/mounts'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(mounts, '0');
  await ok(['rmi', 'reimported:1']);
});

test('opaque directories, hard links, symlinks, modes and owners survive commit', async () => {
  await ok(['run', '--name', 'shapes', 'busybox', 'sh', '-c',
    'rm -rf /usr && mkdir /usr && echo only > /usr/only; echo a > /srv-a; ln /srv-a /srv-b; ln -s /srv-a /srv-link; chown 123:456 /srv-a; chmod 4750 /srv-a; mkfifo /fifo']);
  await ok(['commit', 'shapes', 'shapes:1']);
  const out = await ok(['run', '--rm', 'shapes:1', 'sh', '-c',
    'ls -A /usr; [ "$(stat -c %i /srv-a)" = "$(stat -c %i /srv-b)" ] && echo hardlinked; readlink /srv-link; stat -c "%a %u:%g" /srv-a; [ -p /fifo ] && echo fifo']);
  assert.equal(out, 'only\nhardlinked\n/srv-a\n4750 123:456\nfifo\n');
  await ok(['rm', 'shapes']);
  await ok(['rmi', 'shapes:1']);
});

test('commit keeps extended attributes byte for byte: file capabilities, binary values', async () => {
  await ok(['run', '--name', 'capper', 'busybox', 'sh', '-c', 'cp /bin/busybox /bin/pinger']);
  const upper = (await ok(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'capper'])).trim();
  const cap = '0x0100000200200000000000000000000000000000';
  let r = spawnSync('setfattr', ['-n', 'security.capability', '-v', cap, join(upper, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // Not UTF-8, with NUL, newline and "=" in it: what a general tar library would mangle.
  const blob = '0xff0080c3280a3d00';
  r = spawnSync('setfattr', ['-n', 'user.blob', '-v', blob, join(upper, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  await ok(['commit', 'capper', 'capped:1']);
  const layer = (await ok(['image', 'inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'capped:1'])).trim();
  r = spawnSync('getfattr', ['--absolute-names', '-n', 'security.capability', '-e', 'hex', join(layer, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`security.capability=${cap}`));
  r = spawnSync('getfattr', ['--absolute-names', '-n', 'user.blob', '-e', 'hex', join(layer, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`user.blob=${blob}`));
  await ok(['rm', 'capper']);
  await ok(['rmi', 'capped:1']);
});

test('the docker CLI commits through berthd', async () => {
  const r = spawnSync(DOCKER, ['commit', '-m', 'via docker', 'changer', 'docker/committed:1'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(await ok(['run', '--rm', 'docker/committed:1', 'cat', '/etc/newfile']), 'new\n');
  await ok(['rm', 'changer']);
  await ok(['rmi', 'docker/committed:1', 'committed/app:v1']);
});
