/**
 * CLI plugins (`docker-NAME` executables, as Docker Compose v2 and Buildx are installed): berth
 * lists them in its help and `info` as the docker CLI does (checked against the docker CLI
 * reading the same plugin directory), runs `berth NAME …` through them with its arguments and
 * exit status, hands them the endpoint it resolved (so the docker CLI run inside the plugin
 * reaches this berthd), and closes the plugin socket when it is told to stop.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, NODE, BERTH } from './harness.ts';

let d: TestDaemon;
let configDir: string;
let plugins: string;

function plugin(name: string, meta: string, body: string): void {
  const path = join(plugins, `docker-${name}`);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = docker-cli-plugin-metadata ]; then\n  echo '${meta}'\n  exit 0\nfi\n${body}\n`);
  chmodSync(path, 0o755);
}

/** The lines of `text` from the one starting with `from` up to the next blank line. */
function section(text: string, from: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(from));
  assert.ok(start >= 0, `no ${from} in:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l === '');
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  configDir = join(d.root, 'berth-config');
  plugins = join(configDir, 'cli-plugins');
  mkdirSync(plugins, { recursive: true });
  // The docker CLI inside the plugin lists this daemon's containers: it reaches berthd only
  // through the DOCKER_HOST / DOCKER_CONTEXT berth gives it.
  plugin('hello', '{"SchemaVersion":"0.1.0","Vendor":"Berth Tests","Version":"v1.2.3","ShortDescription":"Say hello"}',
    'echo "args: $*"\necho "context: ${DOCKER_CONTEXT:-none}"\necho "reexec: $DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"\ndocker ps -a --format "{{.Names}}"\nexit 3');
  plugin('ps', '{"SchemaVersion":"0.1.0","Vendor":"x"}', 'exit 0');
  plugin('old', '{"SchemaVersion":"0.0.9","Vendor":"x"}', 'exit 0');
  plugin('novendor', '{"SchemaVersion":"0.1.0"}', 'exit 0');
  // Waits on the plugin socket and says when berth closed it (docker's plugin.Run does the same).
  writeFileSync(join(plugins, 'docker-waiter'), `#!/usr/bin/python3
import os, socket, sys
if sys.argv[1:2] == ['docker-cli-plugin-metadata']:
    print('{"SchemaVersion":"0.1.0","Vendor":"Berth Tests","ShortDescription":"Wait"}')
    sys.exit(0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect('\\0' + os.environ['DOCKER_CLI_PLUGIN_SOCKET'][1:])
print('connected', flush=True)
s.recv(1)
print('socket closed', flush=True)
sys.exit(7)
`);
  chmodSync(join(plugins, 'docker-waiter'), 0o755);
  await d.ok(['create', '--name', 'plugged', 'busybox', 'true']);
});

after(async () => {
  await d?.cleanup();
});

test('a plugin runs with berth\'s arguments, its exit status, and berth\'s endpoint', async () => {
  // DOCKER_HOST names nothing: the plugin must get BERTH_HOST's socket in its place.
  const r = await d.berth(['hello', 'a', '-x', '--y'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^args: hello a -x --y$/m);
  assert.match(r.stdout, /^context: none$/m);
  assert.match(r.stdout, new RegExp(`^reexec: ${BERTH}$`, 'm'));
  assert.match(r.stdout, /^plugged$/m);
  // `berth help NAME` is the plugin's own help, as docker's
  const h = await d.berth(['help', 'hello']);
  assert.match(h.stdout, /^args: help hello$/m);
});

test('a plugin gets the context berth resolved', async () => {
  await d.ok(['context', 'create', 'plugctx', '--docker', `host=${d.host}`]);
  try {
    const r = await d.berth(['--context', 'plugctx', 'hello'], { env: { BERTH_HOST: '', DOCKER_HOST: '' } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^context: plugctx$/m);
    assert.match(r.stdout, /^plugged$/m);
  } finally {
    await d.ok(['context', 'rm', 'plugctx']);
  }
});

test('help and info list plugins as the docker CLI does', async () => {
  const env = { DOCKER_CONFIG: configDir };
  const bh = await d.ok(['--help']);
  const dh = (await d.docker(['--help'], { env })).stdout;
  assert.match(bh, /^ {2}hello\* {6}Say hello$/m);
  assert.match(bh, /^ {2}waiter\* {5}Wait$/m);
  assert.equal(section(bh, 'Invalid Plugins:'), section(dh, 'Invalid Plugins:'));
  const bi = await d.berth(['info']);
  const di = await d.docker(['info'], { env });
  assert.equal(section(bi.stdout, ' Plugins:'), section(di.stdout, ' Plugins:'));
  assert.equal(bi.stderr.split('\n').filter((l) => l.startsWith('WARNING: Plugin')).join('\n'), di.stderr.split('\n').filter((l) => l.startsWith('WARNING: Plugin')).join('\n'));
  const fmt = ['info', '--format', '{{json .ClientInfo.Plugins}}'];
  assert.equal(await d.ok(fmt), (await d.docker(fmt, { env })).stdout);
  // no such plugin: still docker's unknown command
  const u = await d.berth(['nosuch']);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /unknown command: berth nosuch/);
  // an invalid plugin is not run
  assert.equal((await d.berth(['old'])).code, 1);
});

test('berth closes the plugin socket when it is stopped, and ends with the plugin\'s status', async () => {
  const p = spawn(NODE, ['--', BERTH, 'waiter'], { env: { ...process.env, BERTH_HOST: d.host, BERTH_CONFIG: configDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('connected') && Date.now() < deadline && p.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /connected/);
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    assert.equal(code, 7);
    assert.match(out, /socket closed/);
  } finally {
    p.kill('SIGKILL');
  }
});
