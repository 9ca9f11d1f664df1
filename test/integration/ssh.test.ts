/**
 * A daemon reached through ssh (`-H ssh://user@host[:port][/socket]`, contexts with an ssh
 * host), as docker's CLI reaches one: each connection runs `berth system dial-stdio` on the
 * remote host. A private sshd on 127.0.0.1 (own host key, own authorized key, PATH naming the
 * build's `berth`, and `docker` pointing at it too, since the docker CLI runs `docker system
 * dial-stdio` remotely) stands for the remote host; the client's ssh takes its options from a
 * config file of the test's, through a `ssh` wrapper first on PATH.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TestDaemon, BERTH } from './harness.ts';

let d: TestDaemon;
let sshd: ChildProcess | undefined;
let dir: string;
let port: number;
let madeRunDir = false;
let url: string;
let env: Record<string, string>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  dir = join(d.root, 'ssh');
  for (const sub of ['remote-bin', 'client-bin']) mkdirSync(join(dir, sub), { recursive: true });
  for (const [key, name] of [['hostkey', 'host'], ['id', 'client']]) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, key)]);
    assert.equal(r.status, 0, r.stderr?.toString());
  }
  copyFileSync(join(dir, 'id.pub'), join(dir, 'authorized_keys'));
  symlinkSync(BERTH, join(dir, 'remote-bin', 'berth'));
  symlinkSync(BERTH, join(dir, 'remote-bin', 'docker'));
  port = await freePort();
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'hostkey')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
    `PidFile ${join(dir, 'sshd.pid')}`, `SetEnv PATH=${join(dir, 'remote-bin')}:/usr/sbin:/usr/bin:/sbin:/bin`, 'LogLevel ERROR', '',
  ].join('\n'));
  writeFileSync(join(dir, 'ssh_config'), [
    'Host *', `  IdentityFile ${join(dir, 'id')}`, '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  LogLevel ERROR', '  BatchMode yes', '',
  ].join('\n'));
  writeFileSync(join(dir, 'client-bin', 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, 'ssh_config')} "$@"\n`);
  chmodSync(join(dir, 'client-bin', 'ssh'), 0o755);
  // sshd's privilege-separation directory (made by its service, which nothing started here).
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madeRunDir = true;
  }
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  sshd.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const c = createServer().listen(port, '127.0.0.1');
      c.once('listening', () => c.close(() => resolve(false)));
      c.once('error', () => resolve(true));
    });
    if (up) break;
    if (Date.now() > deadline || sshd.exitCode !== null) throw new Error(`sshd did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  url = `ssh://root@127.0.0.1:${port}${d.sock}`;
  env = { PATH: `${join(dir, 'client-bin')}:${process.env.PATH}`, BERTH_HOST: '', DOCKER_HOST: '' };
});

after(async () => {
  if (sshd && sshd.exitCode === null) {
    await new Promise<void>((r) => {
      sshd!.once('exit', () => r());
      sshd!.kill('SIGTERM');
    });
  }
  if (madeRunDir) rmSync('/run/sshd', { recursive: true, force: true });
  await d?.cleanup();
});

const berth = (args: string[], input?: string) => d.berth(args, { env, ...(input !== undefined ? { input } : {}) });
const docker = (args: string[], input?: string) => d.docker(args, { env, ...(input !== undefined ? { input } : {}) });

test('berth -H ssh://: requests, attach and stdin go through ssh to the remote berthd', async () => {
  const v = await berth(['-H', url, 'version', '--format', '{{.Server.Version}} {{.Client.Version}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /-berth /);
  const run = await berth(['-H', url, 'run', '--rm', '--name', 'over-ssh', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual([run.code, run.stdout, run.stderr], [3, 'out\n', 'err\n']);
  // stdin's end crosses ssh as a half-close: cat sees it and the output still comes back.
  const cat = await berth(['-H', url, 'run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], 'from stdin\n');
  assert.deepEqual([cat.code, cat.stdout], [0, 'from stdin\ndone\n']);
  await d.ok(['run', '-d', '--name', 'target', 'busybox', 'sleep', '300']);
  const exec = await berth(['-H', url, 'exec', '-i', 'target', 'wc', '-c'], 'x'.repeat(100_000));
  assert.deepEqual([exec.code, exec.stdout.trim()], [0, '100000']);
  const ps = await berth(['-H', url, 'ps', '--format', '{{.Names}}']);
  assert.equal(ps.stdout, 'target\n');
});

test('a context with an ssh host, and DOCKER_HOST=ssh://', async () => {
  const cfg = { ...env, BERTH_CONFIG: join(dir, 'config') };
  let r = await d.berth(['context', 'create', 'remote', '--docker', `host=${url}`], { env: cfg });
  assert.equal(r.code, 0, r.stderr);
  r = await d.berth(['--context', 'remote', 'ps', '--format', '{{.Names}}'], { env: cfg });
  assert.deepEqual([r.code, r.stdout], [0, 'target\n']);
  r = await d.berth(['ps', '--format', '{{.Names}}'], { env: { ...env, DOCKER_HOST: url } });
  assert.deepEqual([r.code, r.stdout], [0, 'target\n']);
});

test('the docker CLI reaches berthd through ssh, with `berth system dial-stdio` as its remote docker', async () => {
  const run = await docker(['-H', url, 'run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo docker'], 'in\n');
  assert.deepEqual([run.code, run.stdout], [0, 'in\ndocker\n'], run.stderr);
  const ps = await docker(['-H', url, 'ps', '--format', '{{.Names}}']);
  assert.deepEqual([ps.code, ps.stdout], [0, 'target\n'], ps.stderr);
});

test('ssh failures and bad ssh URLs: the command, its status and ssh\'s own words', async () => {
  const closed = await freePort();
  let r = await berth(['-H', `ssh://root@127.0.0.1:${closed}`, 'ps']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error during connect: command [ssh -o ConnectTimeout=30 -T -l root -p ${closed} -- 127.0.0.1 berth system dial-stdio] has exited with exit status 255, make sure the URL is valid, and Berth is installed on the remote host: stderr=ssh: connect to host 127.0.0.1 port ${closed}: Connection refused\n`);
  r = await berth(['-H', `ssh://root@127.0.0.1:${port}/nonexistent.sock`, 'ps']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has exited with exit status 1, .*stderr=Cannot connect to the Berth daemon at unix:\/\/\/nonexistent\.sock\. Is berthd running\?\n$/);
  for (const [bad, why] of [
    ['ssh://root:secret@127.0.0.1', 'plain-text password is not supported'],
    ['ssh://127.0.0.1/x?a=b', 'query parameters are not allowed: "a=b"'],
    ['ssh://127.0.0.1/x#f', 'fragments are not allowed: "f"'],
  ]) {
    r = await berth(['-H', bad!, 'ps']);
    assert.equal(r.code, 1, bad);
    assert.equal(r.stderr, `Failed to initialize: ssh host connection is not valid: invalid SSH URL: ${why}\n`);
  }
});
