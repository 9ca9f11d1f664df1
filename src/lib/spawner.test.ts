import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Spawner, spawnDirect } from './spawner.ts';

const BIN = join(import.meta.dirname, '..', '..', 'shim', 'berth-spawner');

test('berth-spawner runs commands as a direct spawn would: input, output, exit codes, signals, missing programs, many at once', { skip: !existsSync(BIN) && 'shim/berth-spawner not built' }, async () => {
  const s = Spawner.start(BIN);
  try {
    for (const run of [(c: string, a: string[], i?: string) => s.run(c, a, i), spawnDirect]) {
      assert.deepEqual(await run('cat', [], 'hello\n'), { code: 0, signal: null, stdout: 'hello\n', stderr: '' });
      assert.deepEqual(await run('sh', ['-c', 'echo out; echo err >&2; exit 3']), { code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
      assert.deepEqual(await run('sh', ['-c', 'kill -TERM $$']), { code: null, signal: 'SIGTERM', stdout: '', stderr: '' });
      await assert.rejects(run('/nonexistent/tool', []), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
      // A command that never reads a large input still reports its own status.
      assert.equal((await run('sh', ['-c', 'exit 0'], 'x'.repeat(300_000))).code, 0);
      // Output bigger than a pipe's buffer, and a command whose child keeps running briefly.
      assert.equal((await run('head', ['-c', '500000', '/dev/zero'])).stdout.length, 500_000);
    }
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => s.run('sh', ['-c', `sleep 0.0${i % 10}; echo ${i}`])));
    assert.deepEqual(many.map((r) => r.stdout), Array.from({ length: 40 }, (_, i) => `${i}\n`));
    assert.ok(s.usable);
  } finally {
    s.close();
  }
});

test('a command with a timeout is killed when it passes, with what it started (its process group)', { skip: !existsSync(BIN) && 'shim/berth-spawner not built' }, async () => {
  const s = Spawner.start(BIN);
  try {
    // The background sleep holds the output pipe: only a kill of the whole group ends the command.
    const t0 = Date.now();
    const r = await s.run('sh', ['-c', 'echo started; sleep 30 & sleep 30'], '', 300);
    assert.deepEqual(r, { code: null, signal: 'SIGKILL', stdout: 'started\n', stderr: '' });
    assert.ok(Date.now() - t0 < 10_000, 'ended by the timeout');
    // Within its time a command is not touched; others run on meanwhile.
    const [slow, quick] = await Promise.all([s.run('sh', ['-c', 'sleep 0.3; echo done'], '', 5_000), s.run('echo', ['quick'])]);
    assert.deepEqual([slow.code, slow.stdout, quick.stdout], [0, 'done\n', 'quick\n']);
    assert.equal((await spawnDirect('sleep', ['30'], '', 300)).signal, 'SIGKILL');
  } finally {
    s.close();
  }
});

test('a command waited for through the spawner keeps the process alive until it answers', { skip: !existsSync(BIN) && 'shim/berth-spawner not built' }, async () => {
  const { spawnSync } = await import('node:child_process');
  const script = `import { Spawner } from ${JSON.stringify(join(import.meta.dirname, 'spawner.ts'))};
const s = Spawner.start(${JSON.stringify(BIN)});
const r = await s.run('sh', ['-c', 'sleep 0.2; echo late']);
process.stdout.write(r.stdout);
s.close();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.stdout, 'late\n', r.stderr);
});

test('berth-spawner holds a sealed copy of each runtime it was given, for berth-shim to run', { skip: !existsSync(BIN) && 'shim/berth-spawner not built' }, async () => {
  const { copyFileSync, mkdtempSync, readlinkSync, rmSync, utimesSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'spawner-'));
  const script = join(dir, 'runtime.sh');
  writeFileSync(script, '#!/bin/sh\necho script\n', { mode: 0o755 });
  const upgraded = join(dir, 'crun');
  copyFileSync('/usr/bin/crun', upgraded);
  const s = Spawner.start(BIN, ['/usr/bin/crun', script, join(dir, 'missing'), upgraded]);
  try {
    // The copies are made before the first request is read: once one has run, they exist.
    assert.equal((await s.run('true', [])).code, 0);
    const copy = await s.sealedCopy('/usr/bin/crun');
    assert.ok(copy, 'a copy of crun');
    assert.equal(readlinkSync(copy), '/memfd:berth_cloned:/proc/self/exe (deleted)');
    // It runs as the binary does.
    const r = await s.run(copy, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^crun version /);
    // Nothing for a script (it cannot run from a memfd), a missing file, or a binary not asked for.
    assert.throws(() => readlinkSync(`/proc/${copy.split('/')[2]}/fd/101`), { code: 'ENOENT' }, 'no copy of the script (fd 101)');
    assert.equal(await s.sealedCopy(join(dir, 'missing')), undefined);
    assert.equal(await s.sealedCopy('/usr/sbin/runc'), undefined);
    // A binary replaced since the copy was made (an upgrade) is run by its path.
    assert.ok(await s.sealedCopy(upgraded));
    utimesSync(upgraded, new Date(), new Date(Date.now() + 5000));
    assert.equal(await s.sealedCopy(upgraded), undefined);
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a spawner that dies after close() fails the commands still waited for, rather than leaving them waiting', { skip: !existsSync(BIN) && 'shim/berth-spawner not built' }, async () => {
  const s = Spawner.start(BIN);
  const finishing = s.run('sh', ['-c', 'sleep 0.2; echo done']);
  // This one ends the spawner itself (its parent) while it waits.
  const orphaned = s.run('sh', ['-c', 'sleep 0.1; kill -9 $PPID; sleep 1']);
  s.close();
  await assert.rejects(orphaned, /berth-spawner exited/);
  await assert.rejects(finishing, /berth-spawner exited/, 'its answer cannot come from a dead spawner');
});
