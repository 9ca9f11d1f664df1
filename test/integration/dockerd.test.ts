/**
 * Interop with a real dockerd (Debian's docker.io, started privately by the test: its own
 * data root and socket, no bridge, no firewall rules): archives berth saves load in dockerd and
 * run there, archives dockerd saves load in berth, with the same image IDs both ways, deletions
 * (whiteouts) and symlinks intact; flat exports go across through import.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, DOCKER, ROOT, startPrivateDockerd, type PrivateDockerd } from './harness.ts';
import { legacyArchive } from './synthetic.ts';

let d: TestDaemon;
let dockerd: PrivateDockerd | undefined;
let dir: string;

before(async () => {
  dir = mkdtempSync('/tmp/bt-dockerd-');
  dockerd = await startPrivateDockerd(join(dir, 'dockerd'));
  if (!dockerd) return;
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  await dockerd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: dockerd!.host, DOCKER_CONFIG: join(dir, 'docker-config') } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function dok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const skip = () => (dockerd ? false : 'dockerd (Debian\'s docker.io) is not installed or did not start');

/**
 * A TCP server on 127.0.0.1 keeping what log drivers send; `take(sep, n)` waits for n messages
 * ended by `sep` and returns the text received so far (then starts afresh).
 */
async function tcpCollector() {
  const { createServer } = await import('node:net');
  let stream = '';
  const server = createServer((c) => c.on('data', (b: Buffer) => (stream += b.toString())));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return {
    server,
    port: (server.address() as { port: number }).port,
    async take(sep: string, n: number): Promise<string> {
      for (let i = 0; i < 100 && stream.split(sep).length <= n; i++) await new Promise((res) => setTimeout(res, 50));
      const got = stream;
      stream = '';
      return got;
    },
  };
}

test('berth\'s archives load and run in dockerd, with the same image IDs', async (t) => {
  if (skip()) return t.skip(String(skip()));
  await ok(['run', '--name', 'src', 'busybox', 'sh', '-c', 'echo made-in-berth > /made; rm /bin/true; ln -s /made /link']);
  await ok(['commit', 'src', 'berth/made:1']);
  const file = join(dir, 'berth.tar');
  await ok(['save', '-o', file, 'berth/made:1', 'busybox']);
  const loaded = await dok(['load', '-i', file]);
  assert.match(loaded, /Loaded image: berth\/made:1/);
  assert.match(loaded, /Loaded image: busybox:latest/);
  for (const ref of ['berth/made:1', 'busybox:latest']) {
    assert.equal((await dok(['image', 'inspect', '-f', '{{.Id}}', ref])).trim(), (await ok(['image', 'inspect', '-f', '{{.Id}}', ref])).trim(), ref);
  }
  assert.equal(await dok(['run', '--rm', '--network', 'none', 'berth/made:1', 'sh', '-c', 'cat /link; ls /bin/true 2>&1 || echo gone']), 'made-in-berth\nls: /bin/true: No such file or directory\ngone\n');
  await ok(['rm', 'src']);
  await ok(['rmi', 'berth/made:1']);
});

test('dockerd\'s archives (its own layout) load and run in berth, with the same image IDs', async (t) => {
  if (skip()) return t.skip(String(skip()));
  await dok(['run', '--name', 'dsrc', '--network', 'none', 'busybox', 'sh', '-c', 'echo made-in-docker > /made; rm -r /usr; mkdir -p /deep/er && echo x > /deep/er/f']);
  await dok(['commit', 'dsrc', 'docker/made:1']);
  const file = join(dir, 'docker.tar');
  await dok(['save', '-o', file, 'docker/made:1']);
  assert.match(await ok(['load', '-i', file]), /Loaded image: docker\/made:1/);
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'docker/made:1'])).trim(), (await dok(['image', 'inspect', '-f', '{{.Id}}', 'docker/made:1'])).trim());
  assert.equal(await ok(['run', '--rm', 'docker/made:1', 'sh', '-c', 'cat /made /deep/er/f; [ -e /usr ] || echo no-usr']), 'made-in-docker\nx\nno-usr\n');
  // History as dockerd recorded it.
  assert.match(await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'docker/made:1']), /echo made-in-docker/);
  await dok(['rm', 'dsrc']);
  await ok(['rmi', 'docker/made:1']);
});

test('flat exports go across: berth export into docker import, docker export into berth import', async (t) => {
  if (skip()) return t.skip(String(skip()));
  await ok(['create', '--name', 'bexp', 'busybox']);
  const bfile = join(dir, 'berth-export.tar');
  await ok(['export', '-o', bfile, 'bexp']);
  await dok(['import', '-c', 'CMD ["sh"]', bfile, 'from/berth:1']);
  assert.equal(await dok(['run', '--rm', '--network', 'none', 'from/berth:1', 'echo', 'imported']), 'imported\n');
  await dok(['create', '--name', 'dexp', 'from/berth:1']);
  const dfile = join(dir, 'docker-export.tar');
  await dok(['export', '-o', dfile, 'dexp']);
  await ok(['import', dfile, 'from/docker:1']);
  assert.equal(await ok(['run', '--rm', 'from/docker:1', 'echo', 'round trip']), 'round trip\n');
  await ok(['rm', 'bexp']);
  await dok(['rm', 'dexp']);
});

test('the oldest archive layout (repositories, <id>/json, <id>/layer.tar) loads as in dockerd: same image IDs, parents, history', async (t) => {
  if (skip()) return t.skip(String(skip()));
  const rootfs = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  const file = join(dir, 'legacy.tar');
  writeFileSync(file, await legacyArchive(rootfs, 'old/legacy', 'v1'));
  await dok(['load', '-i', file]);
  const loaded = await ok(['load', '-i', file]);
  assert.match(loaded, /Loaded image: old\/legacy:v1/);
  const fmt = '{{.Id}} {{.Parent}} {{json .Config.Cmd}} {{.Author}} {{.DockerVersion}}';
  assert.equal((await ok(['image', 'inspect', '-f', fmt, 'old/legacy:v1'])).trim(), (await dok(['image', 'inspect', '-f', fmt, 'old/legacy:v1'])).trim());
  const parent = (await ok(['image', 'inspect', '-f', '{{.Parent}}', 'old/legacy:v1'])).trim();
  assert.match(parent, /^sha256:[a-f0-9]{64}$/, 'the base v1 image is an image of its own, the parent');
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', parent])).trim(), (await dok(['image', 'inspect', '-f', '{{.Id}}', parent])).trim());
  const hist = ['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}} {{.Comment}}', 'old/legacy:v1'];
  assert.equal(await ok(hist), await dok(hist));
  assert.equal(await ok(['run', '--rm', 'old/legacy:v1']), 'legacy\n');
  await ok(['rmi', 'old/legacy:v1']);
});

test('inspect shows every HostConfig and Config field dockerd shows, with docker\'s zero values', async (t) => {
  if (skip()) return t.skip(String(skip()));
  // The same create through the same docker CLI, against dockerd and against berthd.
  if ((await docker(['image', 'inspect', 'busybox'])).code !== 0) {
    await ok(['save', '-o', join(dir, 'bb.tar'), 'busybox']);
    await dok(['load', '-i', join(dir, 'bb.tar')]);
  }
  await dok(['create', '--name', 'keys', '--network', 'none', 'busybox']);
  const r = await d.docker(['create', '--name', 'keys', '--network', 'none', 'busybox']);
  assert.equal(r.code, 0, r.stderr);
  const theirs = JSON.parse(await dok(['inspect', 'keys']))[0];
  const ours = JSON.parse((await d.docker(['inspect', 'keys'])).stdout)[0];
  // API 1.41 (dockerd 20.10) still shows the kernel memory limits moby 28 leaves out at zero.
  const dropped = new Set(['KernelMemory', 'KernelMemoryTCP']);
  // (Field order is moby 28's, which moved ConsoleSize up since 20.10.)
  assert.deepEqual(Object.keys(ours.HostConfig).sort(), Object.keys(theirs.HostConfig).filter((k) => !dropped.has(k)).sort(), 'HostConfig fields');
  assert.deepEqual(Object.keys(ours.Config), Object.keys(theirs.Config), 'Config fields, in docker\'s order');
  // Values that depend on the engine or its version are left out.
  const hostSpecific = new Set(['Runtime', 'MaskedPaths', 'ReadonlyPaths', 'ConsoleSize']);
  for (const k of Object.keys(ours.HostConfig)) {
    if (hostSpecific.has(k)) continue;
    assert.deepEqual(ours.HostConfig[k], theirs.HostConfig[k], `HostConfig.${k}`);
  }
  for (const k of Object.keys(ours.Config)) {
    if (k === 'Hostname' || k === 'Image') continue;
    assert.deepEqual(ours.Config[k], theirs.Config[k], `Config.${k}`);
  }
  await dok(['rm', 'keys']);
  await ok(['rm', 'keys']);
});

test('the berth CLI talks to an older dockerd: its API version goes down to the daemon\'s, unless pinned', async (t) => {
  if (skip()) return t.skip(String(skip()));
  const theirs = (await dok(['version', '-f', '{{.Server.APIVersion}}'])).trim();
  const at = (args: string[], env: Record<string, string> = {}) => d.berth(['-H', dockerd!.host, ...args], { env });
  const v = await at(['version']);
  assert.equal(v.code, 0, `version: ${v.stderr}`);
  assert.match(v.stdout, new RegExp(`^ API version: +${theirs.replace('.', '\\.')} \\(downgraded from \\d+\\.\\d+\\)$`, 'm'));
  assert.equal((await at(['version', '-f', '{{.Client.APIVersion}}'])).stdout, `${theirs}\n`);
  // A body that cannot be sent twice (load) goes at the daemon's version from the start.
  const saved = join(dir, 'busybox.tar');
  await ok(['save', '-o', saved, 'busybox']);
  const load = await at(['load', '-i', saved]);
  assert.equal(load.code, 0, `load: ${load.stderr}`);
  assert.match(load.stdout, /Loaded image: busybox:latest/);
  const ps = await at(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'older']);
  assert.equal(ps.code, 0, `run: ${ps.stderr}`);
  assert.equal(ps.stdout, 'older\n');
  // DOCKER_API_VERSION pins the version, as for the docker CLI: too new is the daemon's error.
  const pinned = await at(['ps'], { DOCKER_API_VERSION: '1.50' });
  assert.equal(pinned.code, 1, pinned.stdout);
  assert.match(pinned.stderr, /client version 1\.50 is too new/);
  await dok(['rmi', 'busybox']);
});

test('the syslog driver sends what dockerd\'s sends, in each format; logs reads the cache; the address and options are checked', async (t) => {
  if (skip()) return t.skip(String(skip()));
  if ((await docker(['image', 'inspect', 'busybox'])).code !== 0) {
    await ok(['save', '-o', join(dir, 'bb.tar'), 'busybox']);
    await dok(['load', '-i', join(dir, 'bb.tar')]);
  }
  const { createSocket } = await import('node:dgram');
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const port = (sock.address() as { port: number }).port;
  const received = async (n: number) => {
    for (let i = 0; i < 100 && got.length < n; i++) await new Promise((res) => setTimeout(res, 50));
    return got.splice(0, got.length);
  };
  // Times and the daemon's pid differ between the two; everything else must not.
  const normal = (m: string) => m.replace(/^(<\d+>)(1 )?(\w{3} [ \d]\d \d\d:\d\d:\d\d|[\d-]+T[\d:.]+(Z|[+-]\d\d:\d\d))/, '$1$2TIME').replace(/\[\d+\]:/, '[PID]:').replace(/ \d+ (\S+) - /, ' PID $1 - ');
  try {
    for (const format of ['', 'rfc3164', 'rfc5424', 'rfc5424micro']) {
      const args = ['run', '--rm', '--network', 'none', '--log-driver', 'syslog', '--log-opt', `syslog-address=udp://127.0.0.1:${port}`, '--log-opt', 'tag={{.ImageName}}-{{.DaemonName}}',
        '--log-opt', 'syslog-facility=local3', ...(format ? ['--log-opt', `syslog-format=${format}`] : []), 'busybox', 'sh', '-c', 'echo out; echo err >&2'];
      await dok(args);
      const theirs = (await received(2)).map(normal).sort();
      const r = await d.docker(args);
      assert.equal(r.code, 0, r.stderr);
      const ours = (await received(2)).map(normal).sort();
      assert.equal(ours.length, 2, `${format}: ${ours.join('|')}`);
      assert.deepEqual(ours, theirs, `format ${format || '(default)'}`);
    }
  } finally {
    sock.close();
  }
  // Over TCP: one line per message, newline-framed, as dockerd's.
  const collector = await tcpCollector();
  const { server, port: tport } = collector;
  try {
    const args = ['run', '--rm', '--network', 'none', '--log-driver', 'syslog', '--log-opt', `syslog-address=tcp://127.0.0.1:${tport}`, '--log-opt', 'tag=t', 'busybox', 'sh', '-c', 'echo one; echo two'];
    const take = async () => (await collector.take('\n', 2)).split('\n').filter(Boolean).map(normal);
    await dok(args);
    const theirs = await take();
    assert.equal((await d.docker(args)).code, 0);
    assert.deepEqual(await take(), theirs);
    assert.equal(theirs.length, 2);
  } finally {
    server.close();
  }
  // Nothing listening: the driver's error, in the same words.
  const refusedArgs = ['run', '--rm', '--network', 'none', '--log-driver', 'syslog', '--log-opt', `syslog-address=tcp://127.0.0.1:${tport}`, 'busybox', 'true'];
  const theirsRefused = await docker(refusedArgs);
  const oursRefused = await d.docker(refusedArgs);
  assert.equal(oursRefused.code, theirsRefused.code);
  assert.match(theirsRefused.stderr, /failed to initialize logging driver: dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
  assert.equal(oursRefused.stderr.replace(/\n\nRun.*$/s, ''), theirsRefused.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''));

  // Dual logging: logs reads the local cache, whose file inspect does not show; without it, none.
  await ok(['run', '--name', 'sl', '--log-driver', 'syslog', '--log-opt', `syslog-address=udp://127.0.0.1:${port}`, 'busybox', 'echo', 'cached']);
  assert.equal(await ok(['logs', 'sl']), 'cached\n');
  assert.equal(await ok(['inspect', '-f', '[{{.LogPath}}]', 'sl']), '[]\n');
  await ok(['run', '--name', 'sln', '--log-driver', 'syslog', '--log-opt', 'cache-disabled=true', '--log-opt', `syslog-address=udp://127.0.0.1:${port}`, 'busybox', 'echo', 'x']);
  assert.match((await d.docker(['logs', 'sln'])).stderr, /configured logging driver does not support reading/);
  for (const [opt, re] of [
    ['syslog-address=http://x', /unsupported scheme: 'http'/],
    ['syslog-facility=nope', /invalid syslog facility/],
    ['syslog-format=nope', /Invalid syslog format/],
    ['max-size=1m', /unknown log opt 'max-size' for syslog log driver/],
    ['syslog-address=tcp+tls://127.0.0.1:1', /syslog over TLS \(tcp\+tls\) is not supported by Berth yet/],
  ] as [string, RegExp][]) {
    const bad = await d.berth(['run', '--rm', '--log-driver', 'syslog', '--log-opt', opt, 'busybox', 'true']);
    assert.equal(bad.code, 125, opt);
    assert.match(bad.stderr, re, opt);
  }
  await ok(['rm', 'sl', 'sln']);
});

test('the gelf driver sends what dockerd\'s sends, over UDP (gzip, zlib, none, chunked) and TCP; logs reads the cache; options are checked as dockerd checks them', async (t) => {
  if (skip()) return t.skip(String(skip()));
  if ((await docker(['image', 'inspect', 'busybox'])).code !== 0) {
    await ok(['save', '-o', join(dir, 'bb.tar'), 'busybox']);
    await dok(['load', '-i', join(dir, 'bb.tar')]);
  }
  const { gunzipSync, inflateSync } = await import('node:zlib');
  const { createSocket } = await import('node:dgram');
  const sock = createSocket('udp4');
  const got: string[] = [];
  const chunks = new Map<string, Buffer[]>();
  const kinds: string[] = [];
  const decode = (b: Buffer) => {
    if (b[0] === 0x1f && b[1] === 0x8b) return kinds.push('gzip'), gunzipSync(b).toString();
    if (b[0] === 0x78) return kinds.push('zlib'), inflateSync(b).toString();
    return kinds.push('none'), b.toString();
  };
  sock.on('message', (m) => {
    if (m[0] !== 0x1e || m[1] !== 0x0f) return void got.push(decode(m));
    // GELF chunks: magic, 8-byte id, sequence number, count.
    const id = m.subarray(2, 10).toString('hex');
    const parts = chunks.get(id) ?? new Array<Buffer>(m[11]);
    parts[m[10]] = m.subarray(12);
    chunks.set(id, parts);
    if ([...parts].every(Boolean)) {
      chunks.delete(id);
      got.push(decode(Buffer.concat(parts)));
    }
  });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const port = (sock.address() as { port: number }).port;
  const received = async (n: number) => {
    for (let i = 0; i < 100 && got.length < n; i++) await new Promise((res) => setTimeout(res, 50));
    return got.splice(0, got.length);
  };
  // What differs between the two engines: the time, the container's ID (and the default tag, its
  // prefix) and creation time. Everything else — field order, escaping, levels — must not.
  const normal = (m: string) => m.replace(/"timestamp":\d+(\.\d+)?/, '"timestamp":T').replace(/"_container_id":"\w+"/, '"_container_id":"ID"')
    .replace(/"_created":"[^"]+"/, '"_created":"C"').replace(/"_tag":"\w{12}"/, '"_tag":"ID"');
  const script = 'echo "out <&> \\"q\\" \\\\ é"; printf "tab\\there\\001\\n"; echo err >&2; echo; printf "bad \\377 utf8\\n"; head -c 3000 /dev/zero | tr "\\0" a; echo';
  const long = 'a'.repeat(3000);
  let name = 0;
  const both = async (opts: string[], lines: number) => {
    const common = ['--network', 'none', '--log-driver', 'gelf', '-l', 'team=core', '-e', 'STAGE=test', '--log-opt', 'labels=team', '--log-opt', 'env=STAGE', ...opts, 'busybox', 'sh', '-c', script];
    const n = `gelf${++name}`;
    await dok(['run', '--rm', '--name', n, ...common]);
    const theirs = (await received(lines)).map(normal).sort();
    const r = await d.docker(['run', '--rm', '--name', n, ...common]);
    assert.equal(r.code, 0, r.stderr);
    const ours = (await received(lines)).map(normal).sort();
    assert.equal(ours.length, lines, ours.join('\n'));
    assert.deepEqual(ours, theirs, opts.join(' '));
    return ours;
  };
  try {
    const udp = `gelf-address=udp://127.0.0.1:${port}`;
    const ours = await both(['--log-opt', udp], 5);
    assert.ok(ours.some((m) => m.includes(`"short_message":"${long}"`)), 'the long line arrives whole');
    assert.ok(ours.some((m) => m.includes('"short_message":"err","timestamp":T,"level":3,"_STAGE":"test","_command"')), ours.join('\n'));
    assert.ok(kinds.includes('gzip') && !kinds.includes('none'));
    kinds.length = 0;
    await both(['--log-opt', udp, '--log-opt', 'gelf-compression-type=zlib', '--log-opt', 'gelf-compression-level=9'], 5);
    assert.deepEqual([...new Set(kinds)], ['zlib']);
    kinds.length = 0;
    // Uncompressed, the 3,000-byte line needs three chunks.
    await both(['--log-opt', udp, '--log-opt', 'gelf-compression-type=none', '--log-opt', 'tag={{.Name}}/{{.ImageName}}'], 5);
    assert.deepEqual([...new Set(kinds)], ['none']);
  } finally {
    sock.close();
  }

  // TCP: uncompressed, each message ended by a NUL.
  const collector = await tcpCollector();
  const { server, port: tport } = collector;
  const tcp = ['run', '--rm', '--network', 'none', '--name', 'gelftcp', '--log-driver', 'gelf', '--log-opt', `gelf-address=tcp://127.0.0.1:${tport}`, 'busybox', 'sh', '-c', 'echo one; echo two'];
  const take = async () => {
    const msgs = (await collector.take('\0', 2)).split('\0');
    assert.equal(msgs.pop(), '', 'every message ends in a NUL');
    return msgs.map(normal);
  };
  try {
    await dok(tcp);
    const theirs = await take();
    assert.equal((await d.docker(tcp)).code, 0);
    assert.deepEqual(await take(), theirs);
    assert.equal(theirs.length, 2);
  } finally {
    server.close();
  }
  // Nothing listening: the driver's error, in the same words.
  const theirsRefused = await docker(tcp);
  const oursRefused = await d.docker(tcp);
  assert.equal(oursRefused.code, theirsRefused.code);
  assert.match(theirsRefused.stderr, /failed to initialize logging driver: gelf: cannot connect to GELF endpoint: 127\.0\.0\.1:\d+ dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
  assert.equal(oursRefused.stderr.replace(/\n\nRun.*$/s, ''), theirsRefused.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''));
  await docker(['rm', '-f', 'gelftcp']);

  // Bad options: refused at create with dockerd's messages.
  for (const opts of [
    [],
    ['gelf-address=http://127.0.0.1:1'],
    ['gelf-address=udp://127.0.0.1'],
    ['gelf-address=tcp://127.0.0.1:1', 'gelf-compression-type=gzip'],
    ['gelf-address=udp://127.0.0.1:1', 'gelf-compression-type=lz4'],
    ['gelf-address=udp://127.0.0.1:1', 'gelf-compression-level=10'],
    ['gelf-address=udp://127.0.0.1:1', 'gelf-tcp-max-reconnect=1'],
    ['gelf-address=tcp://127.0.0.1:1', 'gelf-tcp-reconnect-delay=-1'],
    ['gelf-address=udp://127.0.0.1:1', 'max-size=1m'],
  ]) {
    const args = ['create', '--log-driver', 'gelf', ...opts.flatMap((o) => ['--log-opt', o]), 'busybox', 'true'];
    const theirs = await docker(args);
    const ours = await d.docker(args);
    assert.equal(ours.code, theirs.code, opts.join(' '));
    assert.notEqual(theirs.code, 0, opts.join(' '));
    const mine = ours.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, '');
    // dockerd 20.10 words a scheme other than udp/tcp as its older url check did; current moby's words here.
    if (opts[0]?.startsWith('gelf-address=http')) assert.equal(mine, 'Error response from daemon: gelf: endpoint needs to be TCP or UDP\n');
    else assert.equal(mine, theirs.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''), opts.join(' '));
  }
});

test('gelf over TCP: a dropped connection is made again and the lines go on arriving; logs reads the cache', async () => {
  if (!d) return;
  const { createServer } = await import('node:net');
  const conns: string[] = [];
  const server = createServer((c) => {
    const i = conns.push('') - 1;
    c.on('data', (b: Buffer) => {
      conns[i] += b.toString();
      // The first connection is cut after its first message.
      if (i === 0 && conns[0].includes('\0')) c.destroy();
    });
    c.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as { port: number }).port;
  try {
    await ok(['run', '-d', '--name', 'gelfre', '--network', 'none', '--log-driver', 'gelf', '--log-opt', `gelf-address=tcp://127.0.0.1:${port}`,
      '--log-opt', 'gelf-tcp-reconnect-delay=0', 'busybox', 'sh', '-c', 'for i in $(seq 1 30); do echo line$i; sleep 0.1; done']);
    assert.equal(await ok(['wait', 'gelfre']), '0\n');
    for (let i = 0; i < 50 && !conns[1]?.includes('line30'); i++) await new Promise((res) => setTimeout(res, 100));
    assert.ok(conns.length >= 2, `reconnected: ${conns.length} connections`);
    assert.match(conns[0], /"short_message":"line1"/);
    assert.match(conns[conns.length - 1], /"short_message":"line30"/);
    // Dual logging: every line is in the cache, whatever the network did.
    const logs = await ok(['logs', 'gelfre']);
    assert.equal(logs.split('\n').filter(Boolean).length, 30);
    assert.equal(await ok(['inspect', '-f', '[{{.LogPath}}]', 'gelfre']), '[]\n');
  } finally {
    server.close();
    await d.berth(['rm', '-f', 'gelfre']);
  }
});

/** A fluentd forward-protocol receiver (on TCP or a Unix socket): each event decoded, acks answered. */
async function fluentdReceiver(path?: string) {
  const { createServer } = await import('node:net');
  const { decodeMultiStream, encode } = await import('@msgpack/msgpack');
  const events: unknown[][] = [];
  const server = createServer((c) => {
    c.on('error', () => {});
    void (async () => {
      try {
        for await (const ev of decodeMultiStream(c)) {
          const e = ev as unknown[];
          events.push(e);
          const chunk = (e[3] as Record<string, string> | undefined)?.chunk;
          if (chunk) c.write(encode({ ack: chunk }));
        }
      } catch { /* the peer went away */ }
    })();
  });
  await new Promise<void>((res) => (path ? server.listen(path, () => res()) : server.listen(0, '127.0.0.1', () => res())));
  const port = path ? 0 : (server.address() as { port: number }).port;
  return {
    port,
    server,
    async take(n: number) {
      for (let i = 0; i < 100 && events.length < n; i++) await new Promise((res) => setTimeout(res, 50));
      return events.splice(0, events.length);
    },
  };
}

test('the fluentd driver sends what dockerd\'s sends (records, partial lines, sub-second times, Unix sockets); its options are checked as dockerd checks them', async (t) => {
  if (skip()) return t.skip(String(skip()));
  if ((await docker(['image', 'inspect', 'busybox'])).code !== 0) {
    await ok(['save', '-o', join(dir, 'bb.tar'), 'busybox']);
    await dok(['load', '-i', join(dir, 'bb.tar')]);
  }
  const { ExtData } = await import('@msgpack/msgpack');
  const tcp = await fluentdReceiver();
  const sockPath = join(dir, 'fluent.sock');
  const unix = await fluentdReceiver(sockPath);
  // What differs between the two engines: times, the container's ID (the default tag too) and
  // a partial line's random ID. Records are maps (Go writes them in no fixed order).
  const normal = (e: unknown[]) => {
    const [tag, time, rec, opt] = e as [string, unknown, Record<string, string>, Record<string, string>];
    const r = { ...rec };
    if (r.container_id) r.container_id = 'ID';
    if (r.partial_id) r.partial_id = /^[0-9a-f]{64}$/.test(r.partial_id) ? 'PID' : r.partial_id;
    if (r.log) r.log = r.log.replace(/b{100,}/, (m) => `b×${m.length}`);
    const when = time instanceof ExtData ? `ext${time.type}/${time.data.length}` : typeof time === 'number' && Math.abs(time - Date.now() / 1000) < 120 ? 'now' : String(time);
    return JSON.stringify([/^[0-9a-f]{12}$/.test(tag) ? 'ID' : tag, when, Object.fromEntries(Object.entries(r).sort()), opt.chunk ? { chunk: /^[A-Za-z0-9+/]{22}==$/.test(opt.chunk) } : opt]);
  };
  const big = 20000;
  const script = `echo "out <&> é"; echo; echo err >&2; head -c ${big} /dev/zero | tr "\\0" b; echo; printf "no newline"`;
  let name = 0;
  const both = async (opts: string[], rx: typeof tcp, lines: number) => {
    const common = ['--network', 'none', '--log-driver', 'fluentd', '-l', 'team=core', '--log-opt', 'labels=team', ...opts, 'busybox', 'sh', '-c', script];
    const n = `fluent${++name}`;
    await dok(['run', '--rm', '--name', n, ...common]);
    const theirs = (await rx.take(lines)).map(normal).sort();
    const r = await d.docker(['run', '--rm', '--name', n, ...common]);
    assert.equal(r.code, 0, r.stderr);
    const ours = (await rx.take(lines)).map(normal).sort();
    assert.equal(ours.length, lines, ours.join('\n'));
    assert.deepEqual(ours, theirs, opts.join(' '));
    return ours;
  };
  try {
    const addr = `fluentd-address=127.0.0.1:${tcp.port}`;
    // 4 lines, the 20,000-byte one in two parts (16 KiB, then the rest), and the unended one.
    const ours = await both(['--log-opt', addr], tcp, 6);
    assert.ok(ours.some((e) => e.includes('"partial_last":"true","partial_message":"true","partial_ordinal":"2"')), ours.join('\n'));
    assert.ok(ours.some((e) => e.includes('"log":"","source":"stdout"')), 'the empty line is sent');
    await both(['--log-opt', `fluentd-address=tcp://127.0.0.1:${tcp.port}`, '--log-opt', 'fluentd-sub-second-precision=true', '--log-opt', 'tag=app.{{.Name}}'], tcp, 6);
    // Not with fluentd-async (dockerd then drops what is still queued when the container ends) nor
    // fluentd-request-ack (dockerd 20.10's acks can fall out of step and resend forever): both below.
    await both(['--log-opt', `fluentd-address=unix://${sockPath}`, '-e', 'STAGE=x', '--log-opt', 'env=STAGE'], unix, 6);
  } finally {
    tcp.server.close();
    unix.server.close();
  }

  // Nothing listening: synchronous mode fails the start in dockerd's words; async starts.
  const refused = ['run', '--rm', '--network', 'none', '--log-driver', 'fluentd', '--log-opt', `fluentd-address=127.0.0.1:${tcp.port}`, 'busybox', 'true'];
  const theirsRefused = await docker(refused);
  const oursRefused = await d.docker(refused);
  assert.equal(oursRefused.code, theirsRefused.code);
  assert.match(theirsRefused.stderr, /failed to initialize logging driver: dial tcp 127\.0\.0\.1:\d+: connect: connection refused/);
  assert.equal(oursRefused.stderr.replace(/\n\nRun.*$/s, ''), theirsRefused.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''));
  assert.equal((await d.berth([...refused.slice(0, -2), '--log-opt', 'fluentd-async=true', 'busybox', 'true'])).code, 0);

  // Bad options: refused at create with dockerd's messages.
  for (const opt of ['fluentd-retry-wait=soon', 'fluentd-max-retries=-1', 'fluentd-async=maybe', 'fluentd-buffer-limit=lots', 'fluentd-request-ack=2', 'max-size=1m']) {
    const args = ['create', '--log-driver', 'fluentd', '--log-opt', opt, 'busybox', 'true'];
    const theirs = await docker(args);
    const ours = await d.docker(args);
    assert.notEqual(theirs.code, 0, opt);
    assert.equal(ours.code, theirs.code, opt);
    assert.equal(ours.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''), theirs.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''), opt);
  }
  // Where dockerd 20.10's checks are older than moby's (the address, the reconnect interval): moby's words.
  for (const [opt, msg] of [
    ['fluentd-address=http://127.0.0.1:1', "invalid fluentd-address (http://127.0.0.1:1): unsupported scheme: 'http'"],
    ['fluentd-address=unix://', 'invalid fluentd-address (unix://): path is empty'],
    ['fluentd-address=tcp://127.0.0.1:1/x', 'invalid fluentd-address (tcp://127.0.0.1:1/x): should not contain a path element'],
    ['fluentd-address=127.0.0.1:99999', 'invalid fluentd-address (127.0.0.1:99999): invalid port: strconv.ParseUint: parsing "99999": value out of range'],
    ['fluentd-address=tls://127.0.0.1:1', 'invalid fluentd-address (tls://127.0.0.1:1): fluentd over TLS is not supported by Berth yet'],
    ['fluentd-async-reconnect-interval=50ms', 'invalid value for fluentd-async-reconnect-interval: value ("50ms") must be between 100ms and 10s'],
    ['fluentd-write-timeout=-1s', 'invalid value for fluentd-write-timeout: value must be a duration that is non-negative'],
    ['fluentd-async-connect=true', "unknown log opt 'fluentd-async-connect' for fluentd log driver"],
  ]) {
    const ours = await d.docker(['create', '--log-driver', 'fluentd', '--log-opt', opt, 'busybox', 'true']);
    assert.equal(ours.code, 1, opt);
    assert.equal(ours.stderr, `Error response from daemon: ${msg}\n`, opt);
  }

});

test('fluentd: async start with nothing listening, events sent once the server is up; acks (and a resend when none comes); logs reads the cache', async () => {
  if (!d) return;
  const { createServer } = await import('node:net');
  const { decodeMultiStream, encode } = await import('@msgpack/msgpack');
  // A port nothing listens on yet.
  const probe = createServer();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
  const port = (probe.address() as { port: number }).port;
  await new Promise((res) => probe.close(res));
  const events: Record<string, string>[] = [];
  let ackMode: 'ack' | 'silent' = 'ack';
  const server = createServer((c) => {
    c.on('error', () => {});
    void (async () => {
      try {
        for await (const ev of decodeMultiStream(c)) {
          const [, , rec, opt] = ev as [string, number, Record<string, string>, Record<string, string>];
          events.push(rec);
          if (opt.chunk && ackMode === 'ack') c.write(encode({ ack: opt.chunk }));
        }
      } catch { /* gone */ }
    })();
  });
  const wait = async (pred: () => boolean) => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((res) => setTimeout(res, 100));
  };
  try {
    // Asynchronous: the start does not wait for the server; the events wait for it.
    await ok(['run', '-d', '--name', 'flasync', '--network', 'none', '--log-driver', 'fluentd', '--log-opt', `fluentd-address=127.0.0.1:${port}`,
      '--log-opt', 'fluentd-async=true', '--log-opt', 'fluentd-retry-wait=100ms', 'busybox', 'sh', '-c', 'echo early; sleep 2; echo late']);
    await new Promise((res) => setTimeout(res, 700));
    assert.equal(events.length, 0);
    await new Promise<void>((res) => server.listen(port, '127.0.0.1', () => res()));
    await wait(() => events.length >= 2);
    assert.deepEqual(events.map((e) => e.log), ['early', 'late']);
    assert.equal(await ok(['logs', 'flasync']), 'early\nlate\n');
    assert.equal(await ok(['inspect', '-f', '[{{.LogPath}}]', 'flasync']), '[]\n');
    // Acks: each event once when the server answers.
    events.length = 0;
    await ok(['run', '--rm', '--network', 'none', '--log-driver', 'fluentd', '--log-opt', `fluentd-address=127.0.0.1:${port}`,
      '--log-opt', 'fluentd-request-ack=true', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo ack$i; done']);
    await wait(() => events.length >= 5);
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(events.map((e) => e.log), ['ack1', 'ack2', 'ack3', 'ack4', 'ack5']);
    // No answer within fluentd-read-timeout: the connection is dropped and the event sent again.
    events.length = 0;
    ackMode = 'silent';
    await ok(['run', '-d', '--name', 'flsilent', '--network', 'none', '--log-driver', 'fluentd', '--log-opt', `fluentd-address=127.0.0.1:${port}`,
      '--log-opt', 'fluentd-request-ack=true', '--log-opt', 'fluentd-read-timeout=200ms', '--log-opt', 'fluentd-retry-wait=50ms', 'busybox', 'sh', '-c', 'echo once; sleep 3']);
    await wait(() => events.length >= 3);
    assert.ok(events.length >= 3 && events.every((e) => e.log === 'once'), JSON.stringify(events));
  } finally {
    server.close();
    await d.berth(['rm', '-f', 'flasync', 'flsilent']);
  }
});

test('journald where the host runs no journal: the start fails in dockerd\'s words, and nothing is left', async (t) => {
  if (skip()) return t.skip(String(skip()));
  if (existsSync('/run/systemd/journal/socket')) return t.skip('this host runs a journal');
  if ((await docker(['image', 'inspect', 'busybox'])).code !== 0) {
    await ok(['save', '-o', join(dir, 'bb.tar'), 'busybox']);
    await dok(['load', '-i', join(dir, 'bb.tar')]);
  }
  const args = ['run', '--rm', '--network', 'none', '--log-driver', 'journald', 'busybox', 'true'];
  const theirs = await docker(args);
  const before = await ok(['ps', '-aq']);
  const ours = await d.docker(args);
  assert.equal(ours.code, theirs.code);
  assert.match(theirs.stderr, /failed to initialize logging driver: journald is not enabled on this host/);
  assert.equal(ours.stderr.replace(/\n\nRun.*$/s, ''), theirs.stderr.replace(/\n\nRun.*$/s, '').replace(/\.$/, ''));
  assert.equal(await ok(['ps', '-aq']), before);
});
