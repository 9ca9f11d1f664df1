// berth-shim: exec mode, surviving berthd, overlay mounts.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Spawner } from '../../src/lib/spawner.ts';
import { CRUN, Env, ROOT, RUNC, SHIM, alive, attach, buildShim, demux, isMounted, readLog, request, sleep, startShim, until, waitExit } from './helpers.ts';

let env: Env;
before(() => {
  buildShim();
  env = new Env();
});
after(() => env?.cleanup());

for (const [name, runtime] of [['crun', CRUN], ['runc', RUNC]]) {
  describe(`exec mode with ${name}`, () => {
    const id = `execbox-${name}`;
    let box: Awaited<ReturnType<typeof startShim>>;
    before(async () => {
      box = await startShim(env, { id, runtime, bundle: env.bundle(['sleep', '100']) });
      assert.match(await request(box.sock, 'start'), /^ok /);
    });
    after(async () => {
      await request(box.sock, 'kill 9').catch(() => {});
    });

    const exec = (args: string[], extra: string[] = [], terminal = false) =>
      startShim(env, { id, runtime, bundle: env.bundle(['true']), extra: ['--exec-process', env.processFile(args, terminal), ...extra] });

    test('runs echo in the container and records its exit code', async () => {
      // The process waits for a file the test makes once it has asked its questions: a shim
      // whose exec had already ended would refuse them (the old EPIPE flake).
      const go = `go-${process.pid}-${name}`;
      const e = await exec(['sh', '-c', `while [ ! -e /tmp/${go} ]; do sleep 0.01; done; echo hi; echo oops >&2; exit 4`]);
      assert.deepEqual(e.report, { ok: true, pid: 0 });
      assert.equal(await request(e.sock, 'kill 9'), 'err not started\n');
      const a = await attach(e.sock, 'oe');
      await sleep(50);
      assert.match(await request(e.sock, 'start'), /^ok [1-9]\d*\n$/);
      assert.equal(await request(e.sock, 'start'), 'err already started\n');
      fs.writeFileSync(path.join(env.rootfs, 'tmp', go), '');
      await a.closed;
      assert.deepEqual(demux(a.data()), [{ stream: 1, data: 'hi\n' }, { stream: 2, data: 'oops\n' }]);
      assert.equal((await waitExit(e.sock)).exitCode, 4);
      assert.deepEqual(readLog(e.logPath!).map((l) => l.log), ['hi\n', 'oops\n']);
      // the exec deleted nothing: the container still runs
      const state = JSON.parse(execFileSync(runtime, ['--root', env.runtimeRoot, 'state', id], { encoding: 'utf8' }));
      assert.equal(state.status, 'running');
      assert.ok(!fs.existsSync(path.join(box.stateDir, 'exit.json')));
    });

    test('a missing executable fails start with 127', async () => {
      const e = await exec(['/no/such/exe']);
      const w = request(e.sock, 'wait');
      const r = await request(e.sock, 'start');
      assert.match(r, /^err .*(not found|no such file)/i);
      const ex = JSON.parse(await w);
      assert.equal(ex.exitCode, 127);
      assert.deepEqual(readLog(e.logPath!), []); // the runtime's complaint is not container output
      await until('shim exit', () => !fs.existsSync(e.sock));
    });

    test('create and start run the runtime from a sealed copy, dropped once the process runs', async () => {
      const memfds = (pid: number) =>
        fs.readdirSync(`/proc/${pid}/fd`).map((f) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${f}`); } catch { return ''; } }).filter((l) => l.startsWith('/memfd:'));
      const s = await startShim(env, { id: `sealed-${name}`, runtime, bundle: env.bundle(['sh', '-c', 'echo up; sleep 100']) });
      assert.equal(s.report.ok, true, s.report.error);
      const shimPid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
      assert.deepEqual(memfds(shimPid), ['/memfd:berth_cloned:/proc/self/exe (deleted)']);
      // crun and runc see all four seals and do not clone themselves again
      const seals = execFileSync('python3', ['-c', `import fcntl,os; fd=os.open('/proc/${shimPid}/fd/' + [f for f in os.listdir('/proc/${shimPid}/fd') if os.readlink('/proc/${shimPid}/fd/'+f).startswith('/memfd:')][0], os.O_RDONLY); print(fcntl.fcntl(fd, 1034))`], { encoding: 'utf8' });
      assert.equal(Number(seals), 1 | 2 | 4 | 8);
      assert.match(await request(s.sock, 'start'), /^ok [1-9]\d*\n$/);
      assert.deepEqual(memfds(shimPid), []);
      await until('output', () => readLog(s.logPath!).some((l) => l.log === 'up\n'));
      const w = waitExit(s.sock);
      assert.equal(await request(s.sock, 'kill 9'), 'ok\n');
      assert.equal((await w).exitCode, 137);
    });

    test("with the spawner's sealed copy, every shim runs the runtime from that one and keeps it", async () => {
      const sp = Spawner.start(path.join(ROOT, 'shim', 'berth-spawner'), [runtime]);
      try {
        // The spawner makes its copies before it reads a request: once one has run, they exist.
        await sp.run('true', []);
        const copy = (await sp.sealedCopy(runtime))!;
        const ino = fs.statSync(copy).ino;
        const held = (pid: number) =>
          fs.readdirSync(`/proc/${pid}/fd`).map((f) => `/proc/${pid}/fd/${f}`).filter((f) => { try { return fs.readlinkSync(f).startsWith('/memfd:'); } catch { return false; } });
        const s = await startShim(env, { id: `shared-${name}`, runtime, bundle: env.bundle(['sleep', '100']), extra: ['--runtime-exe', copy] });
        assert.equal(s.report.ok, true, s.report.error);
        const shimPid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
        assert.match(await request(s.sock, 'start'), /^ok [1-9]\d*\n$/);
        // The shim still holds the shared copy (for the delete at exit), and no copy of its own.
        assert.deepEqual(held(shimPid).map((f) => fs.statSync(f).ino), [ino]);
        // ... which outlives the spawner.
        sp.close();
        await until('spawner exit', () => !fs.existsSync(copy));
        const w = waitExit(s.sock);
        assert.equal(await request(s.sock, 'kill 9'), 'ok\n');
        assert.equal((await w).exitCode, 137);
        await until('deleted', () => spawnSync(runtime, ['--root', env.runtimeRoot, 'state', `shared-${name}`]).status !== 0);
      } finally {
        sp.close();
      }
    });

    test('with a tty and stdin', async () => {
      const e = await exec(['sh'], ['--tty', '--stdin'], true);
      const a = await attach(e.sock, 'io');
      await request(e.sock, 'start');
      assert.equal(await request(e.sock, 'resize 20 70'), 'ok\n');
      a.sock.write('stty size; exit 6\n');
      await a.closed;
      assert.match(a.data().toString(), /^20 70\r?$/m);
      assert.equal((await waitExit(e.sock)).exitCode, 6);
    });
  });
}

test('the shim survives its parent being killed and keeps logging', async () => {
  const stateDir = env.stateDir();
  const logPath = path.join(stateDir, 'ctr.log');
  const id = 'survivor';
  env.shims.push({ id, runtime: CRUN, stateDir });
  const args = ['--id', id, '--bundle', env.bundle(['sh', '-c', 'while true; do echo tick; sleep 0.1; done']), '--runtime', CRUN, '--runtime-root', env.runtimeRoot, '--state-dir', stateDir, '--log-path', logPath];
  // berthd stand-in: a shell in its own process group that runs the shim and lingers
  const parent = spawn('/bin/sh', ['-c', '"$0" "$@"; sleep 1000', SHIM, ...args], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const report = await new Promise<string>((r) => parent.stdout.once('data', (d) => r(String(d))));
  assert.equal(JSON.parse(report).ok, true);
  const shimPid = Number(fs.readFileSync(path.join(stateDir, 'shim.pid'), 'utf8'));
  assert.match(await request(path.join(stateDir, 'attach.sock'), 'start'), /^ok /);
  // kill the whole group, as a crashing berthd (and its children) would go
  process.kill(-parent.pid!, 'SIGKILL');
  await new Promise((r) => parent.on('close', r));
  // the shim ignores the signals a terminal or init might send it
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.kill(shimPid, sig);
  const size1 = fs.statSync(logPath).size;
  await sleep(700);
  assert.ok(alive(shimPid));
  const size2 = fs.statSync(logPath).size;
  assert.ok(size2 > size1, `log grew ${size1} -> ${size2}`);
  // a new "berthd" reconnects
  const w = waitExit(path.join(stateDir, 'attach.sock'));
  assert.equal(await request(path.join(stateDir, 'attach.sock'), 'kill 9'), 'ok\n');
  assert.equal((await w).exitCode, 137);
  assert.ok(readLog(logPath).every((l) => l.log === 'tick\n'));
});

describe('overlay', () => {
  // docker's overlay2 layout: short relative lowerdir links, resolved from --overlay-cwd
  const setup = (name: string) => {
    const dir = path.join(env.dir, name);
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.symlinkSync(env.rootfs, path.join(dir, 'l1'));
    const target = path.join(dir, 'merged');
    env.mounts.push(target);
    return { dir, target, extra: ['--overlay-target', target, '--overlay-data', 'lowerdir=l1,upperdir=upper,workdir=work', '--overlay-cwd', dir] };
  };

  test('mounts the rootfs before create and unmounts it after exit', async () => {
    const ov = setup('ov1');
    const s = await startShim(env, { id: 'ov1', bundle: env.bundle(['sh', '-c', 'echo from-overlay; ls /bin/busybox'], { rootfs: ov.target }), extra: ov.extra });
    assert.equal(s.report.ok, true, s.report.error);
    assert.ok(isMounted(ov.target));
    await request(s.sock, 'start');
    assert.equal((await waitExit(s.sock)).exitCode, 0);
    assert.deepEqual(readLog(s.logPath!).map((l) => l.log), ['from-overlay\n', '/bin/busybox\n']);
    await until('umount', () => !isMounted(ov.target));
  });

  test('a failed create leaves no mount, socket or process', async () => {
    const ov = setup('ov2');
    const s = await startShim(env, { id: 'ov2', bundle: env.bundle(['/nope'], { rootfs: ov.target }), extra: ov.extra });
    assert.equal(s.report.ok, false);
    assert.match(s.report.error!, /nope/);
    assert.ok(!isMounted(ov.target));
    assert.ok(!fs.existsSync(s.sock));
    const shimPid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
    await until('shim exit', () => !alive(shimPid));
  });

  test('a failed mount is reported with strerror', async () => {
    const ov = setup('ov3');
    const extra = ['--overlay-target', ov.target, '--overlay-data', 'lowerdir=missing,upperdir=upper,workdir=work', '--overlay-cwd', ov.dir];
    const s = await startShim(env, { id: 'ov3', bundle: env.bundle(['true'], { rootfs: ov.target }), extra });
    assert.equal(s.report.ok, false);
    assert.match(s.report.error!, /^mount overlay on .*merged: No such file or directory$/);
    assert.ok(!isMounted(ov.target));
    assert.ok(!fs.existsSync(s.sock));
  });
});
