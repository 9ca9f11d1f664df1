/**
 * Interactive containers (issue 3), through a real pseudo-terminal (tmux) for both `berth`
 * and the real docker CLI: job control, resize, Ctrl-C, Ctrl-P Ctrl-Q, reattach, exit codes;
 * and without a TTY: stdin EOF, stream separation, -a, signal proxying, exec, the websocket
 * endpoint and bad input.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { TestDaemon, NODE, BERTH, DOCKER } from './harness.ts';

let d: TestDaemon;
const sessions: string[] = [];
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
});

afterEach(async () => {
  while (sessions.length) spawnSync('tmux', ['kill-session', '-t', sessions.pop()!]);
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', id]);
});

after(async () => {
  await d?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A terminal running `cmd` (with berth/docker pointed at the test daemon). */
function term(cmd: string, cols = 100, rows = 30): { keys: (...k: string[]) => void; screen: () => string; resize: (c: number, r: number) => void; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const name = `bt-${randomBytes(4).toString('hex')}`;
  sessions.push(name);
  const env = `BERTH_HOST=${d.host} DOCKER_HOST=${d.host} DOCKER_CONFIG=${d.root}/docker-config TERM=xterm`;
  const r = spawnSync('tmux', ['new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), `env ${env} ${cmd}; echo EXIT=$?; sleep 600`], { env: { ...process.env, TERM: 'xterm' } });
  assert.equal(r.status, 0, r.stderr.toString());
  const screen = () => spawnSync('tmux', ['capture-pane', '-p', '-t', name]).stdout.toString();
  return {
    keys: (...k) => void spawnSync('tmux', ['send-keys', '-t', name, ...k]),
    screen,
    resize: (c, rr) => void spawnSync('tmux', ['resize-window', '-t', name, '-x', String(c), '-y', String(rr)]),
    waitFor: async (re, ms = 10_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const s = screen();
        if (re.test(s)) return s;
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} on screen:\n${s}`);
        await sleep(100);
      }
    },
  };
}

for (const cli of ['berth', 'docker'] as const) {
  const skip = !hasTmux || (cli === 'docker' && !existsSync(DOCKER));
  const bin = cli === 'berth' ? `${NODE} ${BERTH}` : DOCKER;

  test(`${cli} run -it: a real TTY with job control, resize, Ctrl-C and the shell's exit code`, { skip }, async () => {
    const t = term(`${bin} run -it --name tty-${cli} busybox sh`);
    await t.waitFor(/\/ #\s*$/m);
    t.keys('stty size; tty', 'Enter');
    await t.waitFor(/^30 100$/m);
    assert.match(t.screen(), /\/dev\/pts\/0/);
    t.resize(120, 40);
    await sleep(300);
    t.keys('stty size', 'Enter');
    await t.waitFor(/^40 120$/m);
    t.keys('sleep 100 &', 'Enter');
    t.keys('jobs', 'Enter');
    await t.waitFor(/\[1\]\+\s+Running\s+sleep 100/);
    t.keys('sleep 50', 'Enter');
    await sleep(300);
    t.keys('C-c');
    t.keys('echo after-interrupt', 'Enter');
    await t.waitFor(/^after-interrupt$/m);
    t.keys('sleep 60', 'Enter');
    await sleep(300);
    t.keys('C-z');
    await t.waitFor(/Stopped\s+sleep 60/);
    t.keys('kill -9 %1 %2; sleep 0.2; exit 7', 'Enter');
    await t.waitFor(/EXIT=7/);
  });

  test(`${cli}: Ctrl-P Ctrl-Q detaches, attach reattaches, several clients see the output`, { skip }, async () => {
    const t = term(`${bin} run -it --name det-${cli} busybox sh`);
    await t.waitFor(/\/ #\s*$/m);
    t.keys('C-p', 'C-q');
    await t.waitFor(/EXIT=0/);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', `det-${cli}`])).stdout.trim(), 'true');
    const a1 = term(`${bin} attach det-${cli}`);
    const a2 = term(`${bin} attach det-${cli}`);
    await sleep(800);
    a1.keys('echo shared-output', 'Enter');
    await a1.waitFor(/^shared-output$/m);
    await a2.waitFor(/^shared-output$/m);
    a2.keys('C-p', 'C-q');
    // docker's own CLI reports a detached `attach` as "read escape sequence" with status 1
    // (client-side behaviour); berth exits 0.
    await a2.waitFor(cli === 'berth' ? /EXIT=0/ : /read escape sequence\s+EXIT=1/);
    a1.keys('exit 3', 'Enter');
    await a1.waitFor(/EXIT=3/);
    assert.equal((await d.berth(['inspect', '-f', '{{.State.ExitCode}}', `det-${cli}`])).stdout.trim(), '3');
  });

  test(`${cli} exec -it: the tutorial scenario`, { skip }, async () => {
    assert.equal((await d.berth(['run', '-d', '--name', `meow-${cli}`, 'busybox', 'sh', '-c', 'while :; do echo meow~; sleep 1; done'])).code, 0);
    const logs = term(`${bin} logs -f meow-${cli}`);
    await logs.waitFor(/meow~\nmeow~/);
    const t = term(`${bin} exec -it meow-${cli} sh`);
    await t.waitFor(/\/ #\s*$/m);
    t.keys('ps', 'Enter');
    await t.waitFor(/^\s+1 root\s+sh -c while :; do echo meow~; sleep 1; done$/m);
    assert.match(t.screen(), /^\s+\d+ root\s+sh$/m, 'the exec shell is listed');
    t.keys('kill -s 2 1', 'Enter');
    await logs.waitFor(/EXIT=0/);
    assert.match((await d.berth(['ps', '-a', '--filter', `name=meow-${cli}`])).stdout, /Exited \(130\)/);
  });
}

test('-i without a TTY: piped stdin, EOF, separate streams, -a', async () => {
  const r = await d.berth(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\n' });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'hi\n');
  const e = await d.berth(['run', '--rm', '-i', 'busybox', 'cat'], { input: '' });
  assert.equal(e.code, 0, 'an immediate EOF closes stdin');
  const s = await d.berth(['run', '--rm', '-a', 'stderr', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
  assert.equal(s.stdout, '');
  assert.equal(s.stderr, 'err\n');
  const tty = await d.berth(['run', '--rm', '-it', 'busybox', 'true'], { input: '' });
  assert.equal(tty.code, 1);
  assert.match(tty.stderr, /the input device is not a TTY/);
});

test('--sig-proxy forwards signals to the container', async () => {
  const p = spawn(NODE, [BERTH, 'run', '--rm', '--name', 'sigs', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done'], { env: { ...process.env, BERTH_HOST: d.host } });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(50);
  p.kill('SIGTERM');
  const code = await new Promise<number>((r) => p.on('close', (c) => r(c ?? -1)));
  assert.equal(code, 9);
  assert.match(out, /got-term/);
});

test('exec: exit codes, env, workdir, user, stdin, detach, inspect, 127/126', async () => {
  await d.berth(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']);
  const r = await d.berth(['exec', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'nobody', 'ex', 'sh', '-c', 'echo $FOO $(pwd) $(id -u); echo err >&2; exit 4']);
  assert.equal(r.code, 4);
  assert.equal(r.stdout, 'bar /tmp 65534\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal((await d.berth(['exec', '-i', 'ex', 'cat'], { input: 'piped\n' })).stdout, 'piped\n');
  assert.equal((await d.berth(['exec', '-i', 'ex', 'cat'], { input: '' })).code, 0);
  const nf = await d.berth(['exec', 'ex', 'nosuch']);
  assert.equal(nf.code, 127);
  assert.match(nf.stdout + nf.stderr, /executable file not found in \$PATH/);
  const na = await d.berth(['exec', 'ex', '/etc/passwd']);
  assert.equal(na.code, 126);
  assert.equal((await d.berth(['exec', '-d', 'ex', 'sh', '-c', 'sleep 2'])).code, 0);
  assert.match((await d.berth(['inspect', '-f', '{{len .ExecIDs}}', 'ex'])).stdout, /^1$/m);
  if (existsSync(DOCKER)) {
    const dr = await d.docker(['exec', 'ex', 'sh', '-c', 'exit 6']);
    assert.equal(dr.code, 6);
    const dnf = await d.docker(['exec', 'ex', 'nosuch']);
    assert.equal(dnf.code, 127, 'Berth answers 127 on exec too (moby issue 45795)');
    assert.equal((await d.docker(['exec', '-i', 'ex', 'cat'], { input: 'via docker\n' })).stdout, 'via docker\n');
  }
  await d.berth(['stop', '-t', '0', 'ex']);
  const stopped = await d.berth(['exec', 'ex', 'true']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /is not running/);
  const empty = await new Promise<number>((resolve) => {
    const s = connect(d.sock);
    s.end(`POST /v1.50/containers/ex/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{"Cmd":[]}`);
    let t = '';
    s.on('data', (c: Buffer) => (t += c.toString()));
    s.on('close', () => resolve(Number(t.split(' ')[1])));
  });
  assert.equal(empty, 400, 'exec with an empty command is rejected');
});

test('attach and resize: bad input gives clear errors', async () => {
  const missing = await d.berth(['attach', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such container: nosuch/);
  await d.berth(['create', '--name', 'idle', 'busybox', 'true']);
  const stopped = await d.berth(['attach', 'idle']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /You cannot attach to a stopped container, start it first/);
  await d.berth(['run', '-d', '-t', '--name', 'tt', 'busybox', 'sleep', '300']);
  const status = (path: string) => new Promise<number>((resolve) => {
    const s = connect(d.sock);
    s.end(`POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    let t = '';
    s.on('data', (c: Buffer) => (t += c.toString()));
    s.on('close', () => resolve(Number(t.split(' ')[1])));
  });
  assert.equal(await status('/v1.50/containers/tt/resize?h=abc&w=10'), 400);
  assert.equal(await status('/v1.50/containers/tt/resize?h=0&w=10'), 400);
  assert.equal(await status('/v1.50/containers/tt/resize?h=24&w=80'), 200);
  assert.equal(await status('/v1.50/containers/idle/resize?h=24&w=80'), 409);
});

test('a client that disconnects mid-stream or never reads does not stop the container or lose log lines', async () => {
  await d.berth(['run', '-d', '--name', 'chatty', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line$i; done; sleep 300']);
  // Attach and never read, then attach and hang up.
  const silent = connect(d.sock);
  silent.write('POST /v1.50/containers/chatty/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  silent.pause();
  const hangup = connect(d.sock);
  hangup.write('POST /v1.50/containers/chatty/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  await sleep(300);
  hangup.destroy();
  for (let i = 0; i < 50; i++) {
    const logs = (await d.berth(['logs', '--tail', '1', 'chatty'])).stdout;
    if (logs === 'line3000\n') break;
    await sleep(100);
  }
  silent.destroy();
  const all = (await d.berth(['logs', 'chatty'])).stdout.trim().split('\n');
  assert.equal(all.length, 3000);
  assert.equal(all[2999], 'line3000');
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', 'chatty'])).stdout.trim(), 'true');
  assert.equal((await d.berth(['version', '--format', '{{.Server.Version}}'])).code, 0, 'the daemon still answers');
});

test('the websocket attach endpoint streams output and takes stdin', async () => {
  await d.berth(['run', '-d', '-i', '--name', 'wsc', 'busybox', 'sh', '-c', 'while read l; do echo "got $l"; done']);
  const s = connect(d.sock);
  const key = randomBytes(16).toString('base64');
  s.write(`GET /v1.50/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
  await sleep(300);
  const payload = Buffer.from('hello\n');
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
  s.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  for (let i = 0; i < 50 && !buf.includes('got hello'); i++) await sleep(50);
  s.destroy();
  const text = buf.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  const accept = /Sec-WebSocket-Accept: (\S+)/.exec(text)?.[1];
  const { createHash } = await import('node:crypto');
  assert.equal(accept, createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64'));
  const body = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
  assert.equal(body[0], 0x82, 'a binary frame');
  assert.equal(body.subarray(2, 2 + body[1]).toString(), 'got hello\n', 'raw output, no stream headers');
});

test('the older plain hijack (no Upgrade header) carries stdin and output too', async () => {
  const id = (await d.berth(['create', '-i', 'busybox', 'cat'])).stdout.trim();
  const s = connect(d.sock);
  s.write(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  await sleep(200);
  assert.equal((await d.berth(['start', id])).code, 0);
  s.write('echo-me\n');
  s.end();
  await closed;
  const text = buf.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n(?:[A-Za-z-]+: [^\r]*\r\n)*\r\n/);
  // with the headers every answer carries, as moby copies them in
  assert.match(text.slice(0, text.indexOf('\r\n\r\n') + 2), /\r\nApi-Version: 1\.\d+\r\n[^]*\r\nOstype: linux\r\n/);
  const body = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
  assert.deepEqual([...body.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 8]);
  assert.equal(body.subarray(8).toString(), 'echo-me\n');
});

/**
 * A hijacked request whose body is sent in two pieces after its headers: returns once the
 * response head is in, with `finish(stdin)` to send stdin, half-close and get what followed
 * the head (the stream) and the whole response text.
 */
async function splitBodyHijack(head: string, body: string): Promise<{ finish: (stdin: string) => Promise<{ text: string; stream: Buffer }> }> {
  const s = connect(d.sock);
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.write(`${head}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  await sleep(150);
  s.write(body.slice(0, 7));
  await sleep(150);
  s.write(body.slice(7));
  for (let i = 0; i < 100 && !buf.includes('\r\n\r\n'); i++) await sleep(20);
  return {
    finish: async (stdin) => {
      s.write(stdin);
      s.end();
      await closed;
      return { text: buf.toString('latin1'), stream: buf.subarray(buf.indexOf('\r\n\r\n') + 4) };
    },
  };
}

test('a plain hijack discards the request body, even one that arrives after the headers', async () => {
  const id = (await d.berth(['create', '-i', 'busybox', 'cat'])).stdout.trim();
  const attach = await splitBodyHijack(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n`, '{"stream":true,"stdin":true,"stdout":true,"stderr":true,"hijack":true}');
  assert.equal((await d.berth(['start', id])).code, 0);
  const { stream: out } = await attach.finish('echo-me\n');
  assert.deepEqual([...out.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 8], out.toString('latin1'));
  assert.equal(out.subarray(8).toString(), 'echo-me\n');
});

test('exec start: the request body is not stdin, with Upgrade and without, even arriving after the headers', async () => {
  await d.berth(['run', '-d', '--name', 'execbody', 'busybox', 'sleep', '300']);
  for (const upgrade of [true, false]) {
    const create = await new Promise<string>((resolve, reject) => {
      const s = connect(d.sock);
      const body = JSON.stringify({ AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['cat'] });
      s.write(`POST /v1.44/containers/execbody/exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      let t = '';
      s.on('data', (c: Buffer) => (t += c.toString()));
      s.on('close', () => resolve((JSON.parse(t.slice(t.indexOf('{'))) as { Id: string }).Id));
      s.on('error', reject);
    });
    const start = await splitBodyHijack(`POST /v1.44/exec/${create}/start HTTP/1.1\r\nHost: x\r\n${upgrade ? 'Connection: Upgrade\r\nUpgrade: tcp\r\n' : ''}`, '{"Detach":false,"Tty":false}');
    const { text, stream: out } = await start.finish('only-this\n');
    assert.match(text, upgrade ? /^HTTP\/1\.1 101 UPGRADED\r\n/ : /^HTTP\/1\.1 200 OK\r\n/);
    assert.deepEqual([...out.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 10], `${upgrade ? 'Upgrade' : 'plain'}: ${out.toString('latin1')}`);
    assert.equal(out.subarray(8).toString(), 'only-this\n');
  }
});

test('detach keys come from --detach-keys or the CLI config file', { skip: !hasTmux }, async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const cfg = `${d.root}/cli-config`;
  mkdirSync(cfg, { recursive: true });
  writeFileSync(`${cfg}/config.json`, JSON.stringify({ detachKeys: 'ctrl-x,x' }));
  const t = term(`env BERTH_CONFIG=${cfg} ${NODE} ${BERTH} run -it --name keys busybox sh`);
  await t.waitFor(/\/ #\s*$/m);
  t.keys('C-p', 'C-q');
  await sleep(300);
  assert.doesNotMatch(t.screen(), /EXIT=/, 'the default keys no longer detach');
  t.keys('C-x', 'x');
  await t.waitFor(/EXIT=0/);
  const a = term(`${NODE} ${BERTH} attach --detach-keys ctrl-a keys`);
  await sleep(800);
  a.keys('C-a');
  await a.waitFor(/EXIT=0/);
  assert.equal((await d.berth(['inspect', '-f', '{{.State.Running}}', 'keys'])).stdout.trim(), 'true');
  const bad = await d.berth(['attach', '--detach-keys', 'ctrl-1', 'keys']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /Invalid detach keys/);
});
