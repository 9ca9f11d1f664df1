/**
 * The systemd units Berth ships: they pass `systemd-analyze verify`, keep containers alive
 * across a restart of the service (KillMode=process), and berthd serves the socket systemd
 * hands it (`-H fd://`), here through systemd's own socket activator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { BERTHD, NODE, ROOT, mountsUnder } from './harness.ts';

const UNITS = join(ROOT, 'contrib', 'systemd');

test('berthd.service and berthd.socket pass systemd-analyze verify and say what keeps containers alive', () => {
  const r = spawnSync('systemd-analyze', ['verify', join(UNITS, 'berthd.socket'), join(UNITS, 'berthd.service')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
  const service = readFileSync(join(UNITS, 'berthd.service'), 'utf8');
  assert.match(service, /^KillMode=process$/m);
  assert.match(service, /^ExecStart=\/usr\/local\/bin\/berthd -H fd:\/\/$/m);
  assert.match(service, /^Requires=berthd\.socket$/m);
  assert.match(readFileSync(join(UNITS, 'berthd.socket'), 'utf8'), /^ListenStream=\/run\/berth\/berth\.sock$/m);
});

function ping(sock: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path: '/_ping' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('socket activation: berthd -H fd:// serves the socket systemd opened, and refuses fd:// without one', async () => {
  const dir = mkdtempSync('/tmp/bt-sd-');
  const sock = join(dir, 'api.sock');
  // systemd-socket-activate opens the socket, answers the first connection by starting
  // berthd with it as fd 3 (LISTEN_FDS=1), exactly as berthd.socket does.
  const p = spawn('systemd-socket-activate', ['-l', sock, '-E', 'PATH', NODE, BERTHD, '-H', 'fd://', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'),
    '--pidfile', join(dir, 'berthd.pid'), '--cgroup-parent', '/berth-sd-test', '-b', 'bt-sdtest', '--bip', '10.199.77.1/24', '--iptables=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stderr.on('data', (c: Buffer) => (log += c.toString()));
  p.stdout.on('data', (c: Buffer) => (log += c.toString()));
  try {
    let answer = '';
    for (let i = 0; i < 100 && !answer; i++) {
      answer = await ping(sock).catch(() => '');
      if (!answer) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answer, 'OK', log);
    assert.match(log, /API listen on fd:\/\/3/);
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    spawnSync('pkill', ['-f', `--data-root ${join(dir, 'data')}`]);
    await new Promise((r) => setTimeout(r, 300));
    spawnSync('ip', ['link', 'del', 'bt-sdtest'], { stdio: 'ignore' });
    spawnSync('rmdir', ['/sys/fs/cgroup/memory/berth-sd-test', '/sys/fs/cgroup/pids/berth-sd-test', '/sys/fs/cgroup/cpu/berth-sd-test'], { stdio: 'ignore' });
    for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = spawnSync(NODE, [BERTHD, '-H', 'fd://', '--data-root', '/tmp/bt-sd-none', '--exec-root', '/tmp/bt-sd-none/run'], { encoding: 'utf8', env: { ...process.env, LISTEN_FDS: '', LISTEN_PID: '' } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /no sockets found via socket activation/);
  rmSync('/tmp/bt-sd-none', { recursive: true, force: true });
});
