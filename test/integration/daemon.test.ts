/**
 * berthd as a daemon: configuration errors, clean shutdown, containers that outlive it
 * (shims keep running and logging), and reconciliation at start.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, NODE, BERTHD } from './harness.ts';

const daemons: TestDaemon[] = [];
after(async () => {
  for (const d of daemons) await d.cleanup();
});

async function daemon(runtime = 'crun'): Promise<TestDaemon> {
  const d = await TestDaemon.start({ runtime });
  daemons.push(d);
  await d.importBusybox();
  return d;
}

test('a malformed daemon.json stops berthd with a clear message', () => {
  const dir = mkdtempSync('/tmp/bt-cfg-');
  try {
    const cfg = join(dir, 'daemon.json');
    writeFileSync(cfg, '{"data-root": "/tmp/x",');
    const r = spawnSync(NODE, [BERTHD, '--config-file', cfg, '--exec-root', join(dir, 'run')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`unable to configure the daemon with file ${cfg}: .*JSON`));
    writeFileSync(cfg, '{"data-rot": "/tmp/x"}');
    const r2 = spawnSync(NODE, [BERTHD, '--config-file', cfg, '--exec-root', join(dir, 'run')], { encoding: 'utf8' });
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /the following directives don't match any configuration option: data-rot/);
    assert.ok(!existsSync(join(dir, 'run')), 'nothing created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a seccomp-profile that is missing or malformed stops berthd, naming the file (never containers without seccomp)', () => {
  const dir = mkdtempSync('/tmp/bt-scp-');
  try {
    const base = ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '-H', `unix://${join(dir, 'run', 's.sock')}`];
    const missing = spawnSync(NODE, [BERTHD, ...base, '--seccomp-profile', join(dir, 'none.json')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stderr, new RegExp(`opening seccomp profile \\(${join(dir, 'none.json')}\\) failed: no such file or directory`));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [');
    const malformed = spawnSync(NODE, [BERTHD, ...base, '--seccomp-profile', bad], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(malformed.status, 1, malformed.stderr);
    assert.match(malformed.stderr, new RegExp(`loading seccomp profile \\(${bad}\\) failed`));
    writeFileSync(bad, '{"defaultAction": "SCMP_ACT_NOPE"}');
    const unknown = spawnSync(NODE, [BERTHD, ...base, '--seccomp-profile', bad], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.match(unknown.stderr, new RegExp(`loading seccomp profile \\(${bad}\\) failed`));
    assert.ok(!existsSync(join(dir, 'run')) && !existsSync(join(dir, 'data')), 'nothing was written: no exec root, data root, pidfile or socket');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berthd --help lists its options', () => {
  const r = spawnSync(NODE, [BERTHD, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage:\s+berthd \[OPTIONS\]/);
  assert.match(r.stdout, /--data-root string/);
  assert.match(r.stdout, /--default-runtime string/);
});

test('daemon.json settings apply and flags override them', async () => {
  const d = new (TestDaemon as unknown as { new(r: string): TestDaemon })('crun');
  daemons.push(d);
  d.writeConfig({ 'default-runtime': 'runc', 'log-level': 'debug' });
  await d.startDaemon();
  const info = await d.berth(['info', '--format', '{{.DefaultRuntime}}']);
  assert.equal(info.stdout.trim(), 'crun', 'the --default-runtime flag wins over the file');
  assert.match(d.readLog(), /level=debug/);
});

test('containers outlive a killed berthd and are picked up again; exits while down are recorded', async () => {
  const d = await daemon();
  const run = await d.berth(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done']);
  assert.equal(run.code, 0, run.stderr);
  const short = await d.berth(['run', '-d', '--name', 'shortlived', 'busybox', 'sh', '-c', 'sleep 1; exit 5']);
  assert.equal(short.code, 0, short.stderr);
  const logPath = (await d.berth(['inspect', '-f', '{{.LogPath}}', 'survivor'])).stdout.trim();
  await d.stopDaemon('SIGKILL');
  const size1 = readFileSync(logPath).length;
  await new Promise((r) => setTimeout(r, 1500));
  const size2 = readFileSync(logPath).length;
  assert.ok(size2 > size1, 'the shim keeps logging while berthd is down');
  await d.startDaemon();
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}}', 'survivor'])).stdout.trim(), 'running');
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'shortlived'])).stdout.trim(), 'exited 5');
  const logs = (await d.berth(['logs', 'survivor'])).stdout.trim().split('\n');
  assert.deepEqual(logs.slice(0, 5), ['1', '2', '3', '4', '5'], 'no lost lines');
  for (let i = 1; i < logs.length; i++) assert.equal(Number(logs[i]), Number(logs[i - 1]) + 1, 'no gaps');
  const stop = await d.berth(['stop', '-t', '1', 'survivor']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', 'survivor'])).stdout.trim(), 'false');
});

test('SIGTERM shuts berthd down cleanly: socket and pid file removed, containers keep running', async () => {
  const d = await daemon();
  await d.berth(['run', '-d', '--name', 'keep', 'busybox', 'sleep', '30']);
  await d.stopDaemon('SIGTERM');
  assert.ok(!existsSync(d.sock));
  assert.ok(!existsSync(join(d.execRoot, 'berthd.pid')));
  await d.startDaemon();
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', 'keep'])).stdout.trim(), 'true');
  await d.berth(['rm', '-f', 'keep']);
});

test('runc is selectable per container and as the default', async () => {
  const d = await daemon('runc');
  const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo via runc; exit 4']);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, 'via runc\n');
  const r2 = await d.berth(['run', '--rm', '--runtime', 'crun', 'busybox', 'echo', 'via crun']);
  assert.equal(r2.stdout, 'via crun\n');
  const r3 = await d.berth(['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(r3.code, 127, r3.stderr);
});
