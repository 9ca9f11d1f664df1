// berth-shim: logs, exit codes, both runtimes, argument and request errors, rotation.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CRUN, Env, RFC3339NANO, RUNC, SHIM, alive, buildShim, readLog, request, startShim, until, waitExit } from './helpers.ts';

let env: Env;
before(() => {
  buildShim();
  env = new Env();
});
after(() => env?.cleanup());

for (const [name, runtime] of [['crun', CRUN], ['runc', RUNC]]) {
  describe(`with ${name}`, () => {
    test('echo goes to the log as json-file lines, stdout and stderr apart', async () => {
      const s = await startShim(env, { id: `echo-${name}`, runtime, bundle: env.bundle(['sh', '-c', 'echo out; echo err >&2; echo out2']) });
      assert.equal(s.code, 0);
      assert.equal(s.report.ok, true);
      assert.ok(s.report.pid! > 0);
      assert.match(await request(s.sock, 'start'), new RegExp(`^ok ${s.report.pid}\n$`));
      const ex = await waitExit(s.sock);
      assert.equal(ex.exitCode, 0);
      assert.equal(ex.oomKilled, false);
      assert.match(ex.exitedAt, RFC3339NANO);
      const log = readLog(s.logPath!);
      assert.deepEqual(log.filter((l) => l.stream === 'stdout').map((l) => l.log), ['out\n', 'out2\n']);
      assert.deepEqual(log.filter((l) => l.stream === 'stderr').map((l) => l.log), ['err\n']);
      for (const l of log) assert.match(l.time, RFC3339NANO);
      // exit.json is written, the socket is gone, the container deleted
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(s.stateDir, 'exit.json'), 'utf8')), ex);
      await until('attach.sock removal', () => !fs.existsSync(s.sock));
      assert.ok(!fs.existsSync(path.join(env.runtimeRoot, s.id)));
    });

    test('exit codes: 3 and SIGKILL = 137', async () => {
      const s = await startShim(env, { id: `exit3-${name}`, runtime, bundle: env.bundle(['sh', '-c', 'exit 3']) });
      await request(s.sock, 'start');
      assert.equal((await waitExit(s.sock)).exitCode, 3);

      const k = await startShim(env, { id: `kill9-${name}`, runtime, bundle: env.bundle(['sleep', '100']) });
      assert.equal(await request(k.sock, 'kill 9'), 'err not started\n');
      await request(k.sock, 'start');
      const w = waitExit(k.sock);
      assert.equal(await request(k.sock, 'kill 9'), 'ok\n');
      assert.equal((await w).exitCode, 137);
    });

    test('a missing executable fails create with the runtime message', async () => {
      const s = await startShim(env, { id: `missing-${name}`, runtime, bundle: env.bundle(['/no/such/thing']) });
      assert.equal(s.code, 1);
      assert.equal(s.report.ok, false);
      assert.match(s.report.error!, /no\/such\/thing.*(not found|no such file)/i);
      assert.ok(!fs.existsSync(s.sock));
      assert.ok(!fs.existsSync(path.join(s.stateDir, 'console.sock')));
      const shimPid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
      await until('shim exit', () => !alive(shimPid));
      const list = execFileSync(runtime, ['--root', env.runtimeRoot, 'list', '-q'], { encoding: 'utf8' });
      assert.ok(!list.split('\n').includes(s.id));
      // the runtime's stderr output is never logged
      assert.deepEqual(readLog(s.logPath!), []);
    });
  });
}

test('exit code 0, no --log-path', async () => {
  const s = await startShim(env, { id: 'zero', bundle: env.bundle(['true']), logPath: null });
  await request(s.sock, 'start');
  assert.equal((await waitExit(s.sock)).exitCode, 0);
});

test('json escaping, partial lines, 16 KiB split, no newline at EOF', async () => {
  const script = String.raw`printf 'a\tb"c\\d\001\r\n'; printf '\303\251t\303\251\n'; head -c 20000 /dev/zero | tr '\0' x; echo; printf tail`;
  const s = await startShim(env, { id: 'escape', bundle: env.bundle(['sh', '-c', script]) });
  await request(s.sock, 'start');
  await waitExit(s.sock);
  const raw = fs.readFileSync(s.logPath!, 'utf8');
  assert.ok(raw.includes(String.raw`"log":"a\tb\"c\\d\u0001\r\n"`), raw.slice(0, 200));
  const log = readLog(s.logPath!).map((l) => l.log);
  assert.equal(log[1], 'été\n'); // bytes >= 0x80 pass through
  assert.equal(log[2], 'x'.repeat(16384));
  assert.equal(log[3], 'x'.repeat(20000 - 16384) + '\n');
  assert.equal(log[4], 'tail');
  assert.equal(log.length, 5);
  const st = fs.statSync(s.logPath!);
  assert.equal(st.mode & 0o777, 0o640);
});

test('log rotation with --log-max-size and --log-max-file', async () => {
  const script = 'i=0; while [ $i -lt 300 ]; do echo "line $i ................................................"; i=$((i+1)); done';
  const s = await startShim(env, { id: 'rotate', bundle: env.bundle(['sh', '-c', script]), extra: ['--log-max-size', '4000', '--log-max-file', '3'] });
  await request(s.sock, 'start');
  await waitExit(s.sock);
  const files = [`${s.logPath}.2`, `${s.logPath}.1`, s.logPath!];
  assert.ok(!fs.existsSync(`${s.logPath}.3`));
  const lines: string[] = [];
  for (const f of files) {
    assert.ok(fs.statSync(f).size <= 4000, `${f} is ${fs.statSync(f).size} bytes`);
    lines.push(...readLog(f).map((l) => l.log));
  }
  // the three files hold the newest lines, in order, ending with the last one
  const nums = lines.map((l) => Number(/^line (\d+)/.exec(l)![1]));
  assert.equal(nums.at(-1), 299);
  nums.forEach((n, i) => assert.equal(n, nums[0] + i));
  assert.ok(nums.length > 50);

  // max-file 1: the one file is truncated
  const t = await startShim(env, { id: 'rotate1', bundle: env.bundle(['sh', '-c', script]), extra: ['--log-max-size', '4000'] });
  await request(t.sock, 'start');
  await waitExit(t.sock);
  assert.ok(!fs.existsSync(`${t.logPath}.1`));
  assert.ok(fs.statSync(t.logPath!).size <= 4000);
  assert.match(readLog(t.logPath!).at(-1)!.log, /^line 299 /);
});

test('oom file: oom_kill > 0 means oomKilled', async () => {
  const oom = path.join(env.dir, 'memory.oom_control');
  fs.writeFileSync(oom, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  const s = await startShim(env, { id: 'oom', bundle: env.bundle(['true']), extra: ['--oom-file', oom] });
  await request(s.sock, 'start');
  assert.equal((await waitExit(s.sock)).oomKilled, true);
  const m = await startShim(env, { id: 'oom-missing', bundle: env.bundle(['true']), extra: ['--oom-file', path.join(env.dir, 'nope')] });
  await request(m.sock, 'start');
  assert.equal((await waitExit(m.sock)).oomKilled, false);
});

test('bad arguments exit 2 with a message', () => {
  const base = ['--id', 'x', '--bundle', env.dir, '--runtime', CRUN, '--runtime-root', env.runtimeRoot, '--state-dir', env.dir];
  for (const args of [[...base, '--bogus'], base.slice(2), [...base, '--log-max-size', '10m', '--log-path', '/tmp/x'], [...base, '--id']]) {
    const r = spawnSync(SHIM, args, { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /berth-shim: /);
    assert.equal(r.stdout, '');
  }
});

test('request errors', async () => {
  const s = await startShim(env, { id: 'reqs', bundle: env.bundle(['sleep', '100']) });
  assert.equal(await request(s.sock, 'bogus'), 'err unknown request\n');
  assert.equal(await request(s.sock, 'kill 0'), 'err invalid signal\n');
  assert.equal(await request(s.sock, 'kill 65'), 'err invalid signal\n');
  assert.equal(await request(s.sock, 'resize 10 20'), 'err no tty\n');
  assert.equal(await request(s.sock, 'resize 0 20'), 'err invalid size\n');
  assert.equal(await request(s.sock, 'attach x'), 'err invalid attach flags\n');
  assert.equal(await request(s.sock, 'x'.repeat(300)), 'err request too long\n');
  assert.equal(await request(s.sock, 'closestdin'), 'ok\n');
  assert.match(await request(s.sock, 'start'), /^ok \d+\n$/);
  assert.equal(await request(s.sock, 'start'), 'err already started\n');
  const w = waitExit(s.sock);
  assert.equal(await request(s.sock, 'kill 9'), 'ok\n');
  assert.equal((await w).exitCode, 137);
});
