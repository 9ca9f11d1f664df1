// berth-shim: attach streams, stdin, tty, resize, wait, kill, flow control.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Env, attach, buildShim, demux, readLog, request, sleep, startShim, until, waitExit } from './helpers.ts';

let env: Env;
before(() => {
  buildShim();
  env = new Env();
});
after(() => env?.cleanup());

test('attach oe: stdcopy framing of output from a container started after attach', async () => {
  const s = await startShim(env, { id: 'frames', bundle: env.bundle(['sh', '-c', 'echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2']) });
  const both = await attach(s.sock, 'oe');
  const onlyErr = await attach(s.sock, 'e');
  await sleep(50); // let the shim register the attach before start
  assert.match(await request(s.sock, 'start'), /^ok /);
  await Promise.all([both.closed, onlyErr.closed]); // closed by the shim after exit
  assert.deepEqual(demux(both.data()), [
    { stream: 1, data: 'out\n' },
    { stream: 2, data: 'err\n' },
    { stream: 1, data: 'out2\n' },
  ]);
  assert.deepEqual(demux(onlyErr.data()), [{ stream: 2, data: 'err\n' }]);
  assert.equal((await waitExit(s.sock)).exitCode, 0);
});

test('attach gets no replay of earlier output', async () => {
  const s = await startShim(env, { id: 'noreplay', bundle: env.bundle(['sh', '-c', 'echo early; sleep 0.5; echo late']) });
  await request(s.sock, 'start');
  await until('early output logged', () => readLog(s.logPath!).length === 1);
  const a = await attach(s.sock, 'o');
  await a.closed;
  assert.deepEqual(demux(a.data()), [{ stream: 1, data: 'late\n' }]);
});

test('--stdin --stdin-once: cat echoes and exits when the client half-closes', async () => {
  const s = await startShim(env, { id: 'stdin', bundle: env.bundle(['cat']), extra: ['--stdin', '--stdin-once'] });
  const a = await attach(s.sock, 'ioe');
  await sleep(50);
  await request(s.sock, 'start');
  a.sock.end('hi\n'); // write, then half-close
  await a.closed;
  assert.deepEqual(demux(a.data()), [{ stream: 1, data: 'hi\n' }]);
  assert.equal((await waitExit(s.sock)).exitCode, 0);
  assert.deepEqual(readLog(s.logPath!).map((l) => [l.stream, l.log]), [['stdout', 'hi\n']]);
});

test('stdin data sent in the same packet as the attach line, then closestdin', async () => {
  const s = await startShim(env, { id: 'stdin2', bundle: env.bundle(['sh', '-c', 'cat; echo done']), extra: ['--stdin'] });
  await request(s.sock, 'start');
  const a = await attach(s.sock, 'io', 'one\n');
  await until('echo', () => a.data().length > 0);
  // without --stdin-once a half-close does not end stdin; closestdin does
  a.sock.end();
  await sleep(100);
  assert.equal(await request(s.sock, 'closestdin'), 'ok\n');
  await a.closed;
  assert.deepEqual(demux(a.data()).map((f) => f.data).join(''), 'one\ndone\n');
  assert.equal((await waitExit(s.sock)).exitCode, 0);
});

test('--tty: attach io, resize, stty size, exit code', async () => {
  const s = await startShim(env, { id: 'tty', bundle: env.bundle(['sh'], { terminal: true }), extra: ['--tty', '--stdin'] });
  assert.equal(s.report.ok, true, s.report.error);
  assert.ok(!fs.existsSync(path.join(s.stateDir, 'console.sock')));
  assert.equal(await request(s.sock, 'resize 33 101'), 'ok\n');
  const a = await attach(s.sock, 'io');
  await sleep(50);
  await request(s.sock, 'start');
  a.sock.write('stty size; echo h""i\n');
  await until('stty output', () => /^hi\r?$/m.test(a.data().toString()));
  assert.match(a.data().toString(), /^33 101\r?$/m); // raw pty bytes, no framing
  assert.equal(await request(s.sock, 'resize 40 120'), 'ok\n');
  a.sock.write('stty size; exit 5\n');
  await a.closed;
  assert.match(a.data().toString(), /^40 120\r?$/m);
  assert.equal((await waitExit(s.sock)).exitCode, 5);
  const log = readLog(s.logPath!);
  assert.ok(log.every((l) => l.stream === 'stdout'));
  assert.match(log.map((l) => l.log).join(''), /33 101/);
});

test('wait from several clients', async () => {
  const s = await startShim(env, { id: 'waits', bundle: env.bundle(['sh', '-c', 'sleep 0.3; exit 7']) });
  // raw requests, no exit.json fallback: every waiter must get the answer
  const waits = [1, 2, 3, 4, 5].map(() => request(s.sock, 'wait'));
  await sleep(50);
  await request(s.sock, 'start');
  const replies = await Promise.all(waits);
  for (const r of replies) {
    assert.equal(r, replies[0]);
    assert.equal(JSON.parse(r).exitCode, 7);
  }
  assert.equal(fs.readFileSync(path.join(s.stateDir, 'exit.json'), 'utf8'), replies[0]);
});

test('kill 15 stops sleep 100 (128+15)', async () => {
  // without a pid namespace: an init (pid 1) without a handler ignores SIGTERM
  const s = await startShim(env, { id: 'term', bundle: env.bundle(['sleep', '100'], { pidns: false }) });
  await request(s.sock, 'start');
  const w = waitExit(s.sock);
  await sleep(100);
  assert.equal(await request(s.sock, 'kill 15'), 'ok\n');
  assert.equal((await w).exitCode, 143);
});

test('a slow attach client back-pressures output; nothing is lost', async () => {
  const size = 12_000_000;
  const s = await startShim(env, { id: 'flood', bundle: env.bundle(['sh', '-c', `sleep 0.2; head -c ${size} /dev/zero | tr '\\0' a; echo`]) });
  const shimPid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
  const a = await attach(s.sock, 'o');
  a.sock.pause();
  await request(s.sock, 'start');
  await sleep(1500);
  // the shim stopped reading at 4 MiB queued instead of buffering everything
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${shimPid}/status`, 'utf8'))![1]);
  assert.ok(rss < 12 * 1024, `shim RSS ${rss} kB while the client is stalled`);
  assert.ok(fs.statSync(s.logPath!).size < size, 'log kept pace with the stalled client');
  a.sock.resume();
  await a.closed;
  const frames = demux(a.data());
  assert.equal(frames.reduce((n, f) => n + f.data.length, 0), size + 1);
  assert.equal((await waitExit(s.sock)).exitCode, 0);
  const log = readLog(s.logPath!);
  assert.equal(log.reduce((n, l) => n + l.log.length, 0), size + 1);
});

test('a client that disconnects is dropped and does not block output', async () => {
  const s = await startShim(env, { id: 'drop', bundle: env.bundle(['sh', '-c', "sleep 0.2; head -c 9000000 /dev/zero | tr '\\0' b; echo"]) });
  const a = await attach(s.sock, 'o');
  a.sock.pause();
  await request(s.sock, 'start');
  await sleep(500);
  a.sock.destroy();
  assert.equal((await waitExit(s.sock)).exitCode, 0);
  assert.equal(readLog(s.logPath!).reduce((n, l) => n + l.log.length, 0), 9_000_001);
});
