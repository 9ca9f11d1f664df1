/**
 * Clients written by others, unchanged, against berthd: the docker CLI, docker-py (Debian's
 * python3-docker), dockerode and skopeo's docker-daemon: transport. Each test is a gap one of
 * them hit: binary stdin, exec framing, detach keys sent in lowercase, attach bodies, the API
 * floor, load errors, the restarting state, registry lookups, and fields Berth cannot apply.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Docker from 'dockerode';
import { TestDaemon, BERTH, DOCKER, NODE } from './harness.ts';
import { startBerthRegistry, type RunningRegistry } from './registries.ts';
import { CREATE_FIELDS, createFieldPaths } from '../../src/daemon/container/fields.ts';
import { goSample } from '../../src/lib/gojson.ts';

let d: TestDaemon;
let dir: string;
const PYTHON = '/usr/bin/python3';

before(async () => {
  dir = mkdtempSync('/tmp/bt-clients-');
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Runs a program with binary stdin and stdout. */
function runBinary(cmd: string, args: string[], input: Buffer | undefined, env: Record<string, string> = {}): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr });
    });
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

const berthBin = (args: string[], input?: Buffer) => runBinary(NODE, [BERTH, ...args], input, { BERTH_HOST: d.host });
const dockerBin = (args: string[], input?: Buffer) => runBinary(DOCKER, args, input, { DOCKER_HOST: d.host, DOCKER_CONFIG: join(dir, 'docker-config') });

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a docker-py script (Debian's python3-docker) against berthd; its last line is JSON. */
function python(script: string): { out: unknown; stderr: string } {
  const r = spawnSync(PYTHON, ['-c', `import docker, json, socket, time\n${script}`], { env: { ...process.env, DOCKER_HOST: d.host }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { out: JSON.parse(lines[lines.length - 1]), stderr: r.stderr };
}

/** A raw Engine API request to berthd. */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = request({ socketPath: d.sock, method, path, headers: payload !== undefined ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test('stdin without a TTY is data: detach-key bytes and several MB of random binary pass untouched, both ways', async () => {
  // Ctrl-P Ctrl-Q is no detach without a terminal.
  const od = await berthBin(['run', '-i', '--rm', 'busybox', 'od', '-c'], Buffer.from('abc\x10\x11def\n'));
  assert.equal(od.code, 0, od.stderr);
  assert.match(od.stdout.toString(), /a\s+b\s+c\s+020\s+021\s+d\s+e\s+f\s+\\n/);
  const data = randomBytes(3 << 20);
  const sum = md5(data);
  for (const [who, run] of [['berth', berthBin], ['docker', dockerBin]] as const) {
    const r = await run(['run', '-i', '--rm', 'busybox', 'md5sum'], data);
    assert.equal(r.code, 0, `${who} run -i: ${r.stderr}`);
    assert.equal(r.stdout.toString().split(' ')[0], sum, `${who} run -i`);
  }
  await ok(['run', '-d', '--name', 'bin', 'busybox', 'sleep', '600']);
  for (const [who, run] of [['berth', berthBin], ['docker', dockerBin]] as const) {
    const w = await run(['exec', '-i', 'bin', 'sh', '-c', `cat > /data-${who}; md5sum < /data-${who}`], data);
    assert.equal(w.code, 0, `${who} exec -i: ${w.stderr}`);
    assert.equal(w.stdout.toString().split(' ')[0], sum, `${who} exec -i`);
    const back = await run(['exec', 'bin', 'cat', `/data-${who}`]);
    assert.equal(back.stdout.length, data.length, `${who} exec: the file comes back whole`);
    assert.equal(md5(back.stdout), sum, `${who} exec: the file comes back unchanged`);
    const logsOut = await run(['run', '--rm', '-i', 'busybox', 'cat'], data);
    assert.equal(md5(logsOut.stdout), sum, `${who} run -i cat: output unchanged`);
  }
  // attach: a container created with -i, started attached.
  for (const [who, run] of [['berth', berthBin], ['docker', dockerBin]] as const) {
    await ok(['create', '-i', '--name', `att-${who}`, 'busybox', 'md5sum']);
    const a = await run(['start', '-a', '-i', `att-${who}`], data);
    assert.equal(a.code, 0, `${who} start -ai: ${a.stderr}`);
    assert.equal(a.stdout.toString().split(' ')[0], sum, `${who} start -ai`);
    await ok(['rm', `att-${who}`]);
  }
  await ok(['rm', '-f', 'bin']);
});

test('skopeo reads and writes images through the docker-daemon: transport (API /v1.22)', async () => {
  const layout = join(dir, 'oci');
  const daemonHost = ['--src-daemon-host', d.host];
  const out = spawnSync('skopeo', ['copy', ...daemonHost, 'docker-daemon:busybox:latest', `oci:${layout}:busybox`], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(out.status, 0, `skopeo copy from berthd: ${out.stderr}`);
  const back = spawnSync('skopeo', ['copy', '--dest-daemon-host', d.host, `oci:${layout}:busybox`, 'docker-daemon:skopeo/copied:1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(back.status, 0, `skopeo copy into berthd: ${back.stderr}`);
  assert.equal(await ok(['run', '--rm', 'skopeo/copied:1', 'echo', 'through skopeo']), 'through skopeo\n');
  await ok(['rmi', 'skopeo/copied:1']);
});

test('docker-py: exec output is framed as the start request says; lowercase detachKeys are honoured', async () => {
  const { out } = python(`
cli = docker.APIClient(base_url='${d.host}', version='1.41')
c = cli.create_container('busybox', ['sleep', '600'], name='pyexec')
cli.start(c)
# Created with a TTY, started without: multiplexed, everything on stdout.
e = cli.exec_create(c, ['sh', '-c', 'echo out; echo err >&2'], tty=True)
framed = cli.exec_start(e, tty=False, demux=True)
# Created without, started with a TTY: raw, both streams.
e2 = cli.exec_create(c, ['sh', '-c', 'echo out; echo err >&2'], tty=False)
raw = cli.exec_start(e2, tty=True)
# Detach keys in docker-py's spelling (detachKeys): ctrl-x detaches, ctrl-p ctrl-q does not.
e3 = cli.exec_create(c, ['cat'], stdin=True, tty=True, detach_keys='ctrl-x')
s = cli.exec_start(e3, tty=True, socket=True)
s = getattr(s, '_sock', s)
s.settimeout(10)
s.sendall(b'abc\\x10\\x11def\\n')
seen = b''
while b'def' not in seen:
    seen += s.recv(4096)
s.sendall(b'\\x18')
rest = b''
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    rest += chunk
running = cli.exec_inspect(e3)['Running']
cli.remove_container(c, force=True)
print(json.dumps({'framed': [x.decode() if x else None for x in framed], 'raw': sorted(raw.decode().split()), 'detached_running': running}))
`);
  const r = out as { framed: [string | null, string | null]; raw: string[]; detached_running: boolean };
  assert.deepEqual(r.framed, ['out\r\nerr\r\n', null]);
  assert.deepEqual(r.raw, ['err', 'out']);
  assert.equal(r.detached_running, true, 'ctrl-x detached the client and left cat running');
});

test('docker-py: a bad archive fails load with the cause; a restarting container reads restarting and rm refuses it', async () => {
  const { out } = python(`
dc = docker.DockerClient(base_url='${d.host}', version='1.41')
try:
    dc.images.load(b'abc')
    load = 'loaded?'
except docker.errors.ImageLoadError as e:
    load = str(e)
ct = dc.containers.run('busybox', ['sh', '-c', 'exit 3'], detach=True, name='pyrestart', restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 50})
states = set()
deadline = time.time() + 20
while time.time() < deadline and 'restarting' not in states:
    ct.reload()
    states.add(ct.status)
    if ct.status == 'restarting':
        state = ct.attrs['State']
        try:
            ct.remove()
            rm = 'removed?'
        except docker.errors.APIError as e:
            rm = [e.status_code, e.explanation]
    time.sleep(0.01)
ct.remove(force=True)
print(json.dumps({'load': load, 'states': sorted(states), 'state': {k: state[k] for k in ('Status', 'Running', 'Restarting', 'ExitCode')}, 'rm': rm}))
`);
  const r = out as { load: string; states: string[]; state: Record<string, unknown>; rm: [number, string] };
  assert.match(r.load, /unexpected end of archive|unexpected EOF/);
  assert.ok(r.states.includes('restarting'), `states seen: ${r.states.join(', ')}`);
  assert.deepEqual(r.state, { Status: 'restarting', Running: true, Restarting: true, ExitCode: 3 });
  assert.equal(r.rm[0], 409);
  // named as the client named it (docker-py removes by ID), as moby's message does
  assert.match(r.rm[1], /^cannot remove container "[0-9a-f]{64}": container is restarting: stop the container before removing or force remove$/);
  // Through the API: the bad archive answers 200 with the error in the stream, as dockerd does.
  const load = await api('POST', '/v1.41/images/load?quiet=1', 'abc');
  assert.equal(load.status, 200);
  assert.match(JSON.parse(load.body.trim()).errorDetail.message, /unexpected end of archive/);
});

test('dockerode: the JSON body sent with an attach request is not the container\'s stdin', async () => {
  const docker = new Docker({ socketPath: d.sock });
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['wc', '-c'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  const ended = new Promise((r) => stream.on('end', r));
  await c.start();
  stream.end('hello');
  await ended;
  const { StatusCode } = await c.wait();
  assert.equal(StatusCode, 0);
  const text = Buffer.concat(chunks).subarray(8).toString().trim();
  assert.equal(text, '5', 'only the 5 bytes written after the upgrade reached stdin');
  await c.remove();
});

test('fields Berth cannot apply are refused by name at create, through the docker CLI and the API; nothing is created', async () => {
  const before = (await ok(['ps', '-aq'])).trim();
  const cases: [string[], RegExp][] = [
    [['-p', '8080:80/sctp'], /sctp ports are not supported by Berth yet/],
    [['--network', 'nosuchnet'], /network nosuchnet not found/],
    [['--network', 'container:other'], /No such container: other/],
    [['--ipc', 'container:other'], /No such container: other/],
    [['--health-interval', '500us', '--health-cmd', 'true'], /Interval in Healthcheck cannot be less than 1ms/],
    [['--security-opt', 'bogus=1'], /invalid --security-opt 2: "bogus=1"/],
    [['--device', '/nonexistent'], /error gathering device information while adding custom device "\/nonexistent": no such file or directory/],
    [['--gpus', 'all'], /HostConfig.DeviceRequests is not supported by Berth yet/],
    [['--isolation', 'hyperv'], /invalid isolation 'hyperv' on linux/],
  ];
  for (const [flags, message] of cases) {
    const r = await d.docker(['run', '--rm', ...flags, 'busybox', 'true']);
    // The docker CLI exits 127 for any error that says "no such file or directory".
    assert.equal(r.code, /no such file/.test(r.stderr) ? 127 : 125, `docker run ${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, flags.join(' '));
  }
  // Every refused field, each set to a value other than its zero value, over the raw API.
  for (const { path, type } of createFieldPaths()) {
    const p = CREATE_FIELDS[path];
    if (!('refused' in p)) continue;
    const [top, field] = path.includes('.') ? path.split('.') : [undefined, path];
    const value = goSample(type);
    const body = { Image: 'busybox', Cmd: ['true'], ...(top ? { [top]: { [field]: value } } : { [field]: value }) };
    const r = await api('POST', '/v1.50/containers/create', body);
    assert.equal(r.status, 400, `${path}: ${r.body}`);
    assert.match(JSON.parse(r.body).message, new RegExp(`^${path.replace('.', '\\.')} is not supported by Berth yet`), path);
  }
  const bogus = await api('POST', '/v1.50/containers/create', { Image: 'busybox', HostConfig: { SecurityOpt: ['bogus'] } });
  assert.equal(bogus.status, 400);
  assert.equal(JSON.parse(bogus.body).message, 'invalid --security-opt 1: "bogus"');
  // A wrong type names the field, as Go's decoder does.
  const typed = await api('POST', '/v1.50/containers/create', { Image: 'busybox', HostConfig: { Memory: '1g' } });
  assert.equal(typed.status, 400);
  assert.equal(JSON.parse(typed.body).message, 'invalid JSON: json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64');
  assert.equal((await ok(['ps', '-aq'])).trim(), before, 'no container was created');
});

test('inspect echoes what was asked: Isolation, DeviceCgroupRules, sysctls, annotations, and applies them', async () => {
  const r = await api('POST', '/v1.50/containers/create?name=echo', {
    Image: 'busybox', Cmd: ['sh', '-c', 'cat /proc/sys/kernel/shm_rmid_forced; head -c0 /dev/null && echo ok'],
    hostconfig: { isolation: 'default', DeviceCgroupRules: ['c 1:3 mr'], Sysctls: { 'kernel.shm_rmid_forced': '1' }, Annotations: { 'org.example/a': 'b' }, Init: true },
  });
  assert.equal(r.status, 201, r.body);
  const h = JSON.parse((await api('GET', '/v1.50/containers/echo/json')).body).HostConfig;
  assert.equal(h.Isolation, 'default');
  assert.deepEqual(h.DeviceCgroupRules, ['c 1:3 mr']);
  assert.deepEqual(h.Sysctls, { 'kernel.shm_rmid_forced': '1' });
  assert.deepEqual(h.Annotations, { 'org.example/a': 'b' });
  assert.equal(h.Init, true);
  await ok(['start', '-a', 'echo']).then((out) => assert.equal(out, '1\nok\n'));
  // --init: tini is PID 1 and the command its child.
  const [init, shellPid] = (await ok(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/comm; echo $$'])).trim().split('\n');
  assert.equal(init, 'docker-init');
  assert.ok(Number(shellPid) > 1, 'the command runs under the init');
  assert.equal((await d.docker(['run', '--rm', '--init', 'busybox', 'true'])).code, 0);
  await ok(['rm', 'echo']);
  // A rule that allows what the default device list does not (/dev/fuse, 10:229), through the docker CLI.
  const fuse = ['sh', '-c', 'mknod /tmp/f c 10 229 && (exec 3<>/tmp/f) 2>/dev/null && echo opened || echo refused'];
  assert.equal((await d.docker(['run', '--rm', 'busybox', ...fuse])).stdout, 'refused\n');
  assert.equal((await d.docker(['run', '--rm', '--device-cgroup-rule', 'c 10:229 rwm', 'busybox', ...fuse])).stdout, 'opened\n');
});

test('namespaces and the API floor: --pid/--uts/--ipc/--network host, --ipc none and --cgroupns private apply; DOCKER_MIN_API_VERSION raises the floor, a bad one stops berthd', async () => {
  const hostPid = await ok(['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'test -d /proc/1 && cat /proc/1/comm']);
  assert.equal(hostPid.trim(), spawnSync('cat', ['/proc/1/comm'], { encoding: 'utf8' }).stdout.trim());
  const uts = await ok(['run', '--rm', '--uts', 'host', '--network', 'host', 'busybox', 'hostname']);
  assert.equal(uts.trim(), spawnSync('hostname', { encoding: 'utf8' }).stdout.trim());
  const hostNs = (ns: string) => spawnSync('readlink', [`/proc/self/ns/${ns}`], { encoding: 'utf8' }).stdout.trim();
  const netns = await ok(['run', '--rm', '--network', 'host', 'busybox', 'readlink', '/proc/self/ns/net']);
  assert.equal(netns.trim(), hostNs('net'));
  assert.equal((await ok(['run', '--rm', '--ipc', 'host', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(), hostNs('ipc'));
  assert.notEqual((await ok(['run', '--rm', 'busybox', 'readlink', '/proc/self/ns/ipc'])).trim(), hostNs('ipc'));
  assert.notEqual((await ok(['run', '--rm', '--cgroupns', 'private', 'busybox', 'readlink', '/proc/self/ns/cgroup'])).trim(), hostNs('cgroup'));
  const noShm = await d.berth(['run', '--rm', '--ipc', 'none', 'busybox', 'sh', '-c', 'grep -c " /dev/shm " /proc/mounts']);
  assert.equal(noShm.stdout.trim(), '0', '--ipc none: no /dev/shm');
  // container:NAME joins the donor's namespaces (and IPC only from a shareable donor, as moby).
  await ok(['run', '-d', '--name', 'donor', '--ipc', 'shareable', '--hostname', 'donor-host', 'busybox', 'sleep', '300']);
  await ok(['run', '-d', '--name', 'private', 'busybox', 'sleep', '300']);
  try {
    const donorPid = (await ok(['inspect', '-f', '{{.State.Pid}}', 'donor'])).trim();
    const nsOf = (ns: string) => spawnSync('readlink', [`/proc/${donorPid}/ns/${ns}`], { encoding: 'utf8' }).stdout.trim();
    const joined = await ok(['run', '--rm', '--network', 'container:donor', '--pid', 'container:donor', '--ipc', 'container:donor', '--uts', 'container:donor', 'busybox', 'sh', '-c', 'for n in net pid ipc uts; do readlink /proc/self/ns/$n; done; hostname; ps -o args | grep -c "^sleep 300"']);
    assert.deepEqual(joined.trim().split('\n'), [nsOf('net'), nsOf('pid'), nsOf('ipc'), nsOf('uts'), 'donor-host', '1']);
    const own = await ok(['run', '--rm', 'busybox', 'readlink', '/proc/self/ns/net']);
    assert.notEqual(own.trim(), nsOf('net'));
    const notShareable = await d.berth(['run', '--rm', '--ipc', 'container:private', 'busybox', 'true']);
    assert.equal(notShareable.code, 125);
    assert.match(notShareable.stderr, /non-shareable IPC/);
  } finally {
    await ok(['rm', '-f', 'donor', 'private']);
  }
  // NetworkDisabled (docker-py's network_disabled): no network at all, only loopback.
  const disabled = python(`c = docker.from_env()
ctr = c.containers.create('busybox', ['sh', '-c', 'ls /sys/class/net'], network_disabled=True)
ctr.start(); ctr.wait()
out = ctr.logs().decode()
ctr.reload()
nets = ctr.attrs['NetworkSettings']['Networks']
try:
    c.networks.get('bridge').connect(ctr)
    refused = ''
except docker.errors.APIError as e:
    refused = str(e.explanation)
ctr.remove()
print(json.dumps({'out': out, 'disabled': ctr.attrs['Config'].get('NetworkDisabled'), 'nets': nets, 'refused': refused}))`).out as { out: string; disabled: boolean; nets: Record<string, unknown>; refused: string };
  assert.deepEqual(disabled, { out: 'lo\n', disabled: true, nets: {}, refused: disabled.refused });
  assert.match(disabled.refused, /has networking disabled/);
  const published = await api('POST', '/v1.50/containers/create?name=nonet', { Image: 'busybox', NetworkDisabled: true, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }] } } });
  assert.equal(published.status, 400);
  assert.match(published.body, /published ports need networking, and NetworkDisabled is set/);
  assert.equal((await d.berth(['inspect', 'nonet'])).code, 1, 'nothing created');
  const raised = await TestDaemon.start({ env: { DOCKER_MIN_API_VERSION: '1.30' } });
  try {
    const v = JSON.parse((await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: raised.sock, path: '/v1.24/version' }, (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => resolve(t)); });
      req.on('error', reject);
      req.end();
    })));
    assert.equal(v.message, 'client version 1.24 is too old. Minimum supported API version is 1.30, please upgrade your client to a newer version');
    assert.match(spawnSync('pgrep', ['-x', 'berthd'], { encoding: 'utf8' }).stdout, new RegExp(`^${raised.pid}$`, 'm'), 'berthd is named berthd');
  } finally {
    await raised.cleanup();
  }
  await assert.rejects(TestDaemon.start({ env: { DOCKER_MIN_API_VERSION: '1.5' } }), /DOCKER_MIN_API_VERSION: invalid API version \(1.5\): must be 1.12 or above/);
});

test('registry lookups: GET /distribution/{name}/json (docker-py inspect_distribution) answers with the descriptor and platforms', async () => {
  let reg: RunningRegistry | undefined;
  try {
    reg = await startBerthRegistry();
    const name = `${reg.host}/dist/busybox:1`;
    await ok(['tag', 'busybox', name]);
    const push = await ok(['push', name]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push)?.[1];
    assert.ok(digest, push);
    const { out } = python(`
cli = docker.APIClient(base_url='${d.host}', version='1.41')
print(json.dumps(cli.inspect_distribution('${name}')))
`);
    const r = out as { Descriptor: { digest: string; mediaType: string; size: number }; Platforms: { architecture: string; os: string }[] };
    assert.equal(r.Descriptor.digest, digest);
    assert.equal(r.Descriptor.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.ok(r.Descriptor.size > 0);
    assert.deepEqual(r.Platforms, [{ architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux' }]);
    const missing = await api('GET', `/v1.41/distribution/${reg.host}/dist/nosuch:1/json`);
    assert.equal(missing.status, 404);
    await ok(['rmi', name]);
  } finally {
    await reg?.stop();
  }
});

test('image inspect below API 1.45 carries Container and ContainerConfig (docker-py 5 at /v1.41 reads them); 1.50 does not', async () => {
  await ok(['run', '--name', 'committer', 'busybox', 'sh', '-c', 'echo x > /x']);
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'committer'])).trim();
  await ok(['commit', 'committer', 'committed:1']);
  const old = JSON.parse((await api('GET', '/v1.44/images/committed:1/json')).body);
  assert.equal(old.Container, id);
  assert.deepEqual(old.ContainerConfig.Cmd, ['sh', '-c', 'echo x > /x']);
  assert.equal(old.VirtualSize, undefined, 'VirtualSize only below 1.44');
  assert.equal(JSON.parse((await api('GET', '/v1.43/images/committed:1/json')).body).VirtualSize, old.Size);
  const listed = JSON.parse((await api('GET', '/v1.41/images/json')).body) as { Size: number; VirtualSize?: number }[];
  assert.ok(listed.every((i) => i.VirtualSize === i.Size), 'the image list below 1.44 has VirtualSize');
  assert.ok((JSON.parse((await api('GET', '/v1.50/images/json')).body) as object[]).every((i) => !('VirtualSize' in i)));
  const imported = JSON.parse((await api('GET', '/v1.44/images/busybox/json')).body);
  assert.equal(imported.Container, '');
  assert.equal(imported.ContainerConfig.Cmd, null, 'an image not committed has docker\'s empty ContainerConfig');
  const now = JSON.parse((await api('GET', '/v1.50/images/committed:1/json')).body);
  assert.ok(!('Container' in now) && !('ContainerConfig' in now));
  const { out } = python(`
dc = docker.DockerClient(base_url='${d.host}', version='1.41')
img = dc.images.get('committed:1')
print(json.dumps({'container': img.attrs['Container'], 'cmd': img.attrs['ContainerConfig']['Cmd']}))
`);
  assert.deepEqual(out, { container: id, cmd: ['sh', '-c', 'echo x > /x'] });
  // Config's legacy fields (moby's legacyConfigFields): all of container.Config's up to 1.49,
  // the eight without omitempty from 1.50, as null, "" or false where the image sets none.
  const { out: legacy } = python(`
dc = docker.DockerClient(base_url='${d.host}', version='1.41')
c = dc.images.get('busybox').attrs['Config']
print(json.dumps([c['Env'], c['Entrypoint'], c['Tty'], c['Hostname'], c['Cmd']]))
`);
  assert.deepEqual(legacy, [null, null, false, '', ['sh']]);
  assert.deepEqual(Object.keys(now.Config), ['Cmd', 'Entrypoint', 'Env', 'Labels', 'OnBuild', 'User', 'Volumes', 'WorkingDir']);
  // docker-py's commit(conf=...): the body's Config reaches the image.
  const { out: conf } = python(`
dc = docker.DockerClient(base_url='${d.host}', version='1.41')
img = dc.containers.get('committer').commit(repository='committed', tag='2', conf={'Cmd': ['cat', '/x'], 'Labels': {'from': 'body'}})
print(json.dumps({'cmd': img.attrs['Config']['Cmd'], 'labels': img.attrs['Config']['Labels']}))
`);
  assert.deepEqual(conf, { cmd: ['cat', '/x'], labels: { from: 'body' } });
  assert.equal(await ok(['run', '--rm', 'committed:2']), 'x\n');
  await ok(['rm', 'committer']);
  await ok(['rmi', 'committed:1', 'committed:2']);
});

test('the CLI runs as a process named berth; min-api-version in daemon.json raises the floor', async () => {
  await ok(['run', '-d', '--name', 'named', 'busybox', 'sleep', '600']);
  const logs = spawn(NODE, [BERTH, 'logs', '-f', 'named'], { env: { ...process.env, BERTH_HOST: d.host }, stdio: 'ignore' });
  try {
    let seen = false;
    for (let i = 0; i < 100 && !seen; i++) {
      seen = spawnSync('pgrep', ['-x', 'berth'], { encoding: 'utf8' }).stdout.split('\n').includes(String(logs.pid));
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen, 'pgrep -x berth finds the CLI');
  } finally {
    logs.kill();
    await ok(['rm', '-f', 'named']);
  }
  const raised = await TestDaemon.start({ config: { 'min-api-version': '1.40' } });
  try {
    const r = await raised.docker(['version', '--format', '{{.Server.MinAPIVersion}}']);
    assert.equal(r.stdout.trim(), '1.40');
  } finally {
    await raised.cleanup();
  }
});

test('API versions: a start request carrying a HostConfig is refused, not ignored; old clients get their defaults and lose newer fields', async () => {
  assert.equal((await api('POST', '/v1.41/containers/create?name=oldapi', { Image: 'busybox', Cmd: ['true'], HostConfig: { Annotations: { a: 'b' } } })).status, 201);
  const old = JSON.parse((await api('GET', '/v1.41/containers/oldapi/json')).body).HostConfig;
  assert.equal(old.Annotations, undefined, 'Annotations came in 1.43');
  const withBody = await api('POST', '/v1.41/containers/oldapi/start', { Binds: ['/tmp:/host'] });
  assert.equal(withBody.status, 400);
  assert.match(withBody.body, /starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24/);
  const ancient = await api('POST', '/v1.22/containers/oldapi/start', { Binds: ['/tmp:/host'] });
  assert.equal(ancient.status, 400);
  assert.match(ancient.body, /a HostConfig in the start request \(API below 1.24\) is not supported by Berth/);
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'oldapi'])).trim(), 'created', 'nothing started');
  assert.equal((await api('POST', '/v1.41/containers/oldapi/start', {})).status, 204, 'an empty object is no body (dockerode sends one)');
  assert.equal((await api('POST', '/v1.39/containers/create?name=oldipc', { Image: 'busybox', Cmd: ['true'] })).status, 201);
  assert.equal((await ok(['inspect', '-f', '{{.HostConfig.IpcMode}} {{.HostConfig.CgroupnsMode}}', 'oldipc'])).trim(), 'shareable host', 'the defaults API 1.39 clients expect');
  await ok(['rm', '-f', 'oldapi', 'oldipc']);
});

test('swarm and plugins: the docker CLI and docker-py see an inactive swarm and no plugins, in dockerd\'s words; init and install are refused', async () => {
  const noManager = 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n';
  for (const args of [['node', 'ls'], ['service', 'ls'], ['secret', 'ls'], ['config', 'ls'], ['service', 'inspect', 'x']]) {
    const r = await d.docker(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, noManager, args.join(' '));
  }
  const leave = await d.docker(['swarm', 'leave']);
  assert.equal(leave.stderr, 'Error response from daemon: This node is not part of a swarm\n');
  const init = await d.docker(['swarm', 'init']);
  assert.equal(init.code, 1);
  assert.match(init.stderr, /swarm mode is not supported by Berth/);
  const ls = await d.docker(['plugin', 'ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(ls.stdout, 'ID        NAME      DESCRIPTION   ENABLED\n');
  assert.equal((await d.docker(['plugin', 'ls', '--filter', 'enabled=true', '-q'])).stdout, '');
  const inspect = await d.docker(['plugin', 'inspect', 'foo']);
  assert.equal(inspect.code, 1);
  assert.equal(inspect.stderr, 'Error response from daemon: plugin "foo" not found\n');
  const py = spawnSync(PYTHON, ['-c', `
import docker
c = docker.DockerClient(base_url='${d.host}')
print(c.plugins.list())
try:
    c.swarm.reload()
except docker.errors.APIError as e:
    print(e.status_code, e.explanation)
try:
    c.plugins.install('vieux/sshfs')
except docker.errors.APIError as e:
    print(e.status_code, e.explanation)
`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout, '[]\n503 This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n501 plugins are not supported by Berth: none can be installed\n');
});

test('berth plugin answers as the docker CLI does on the same daemon: nothing listed, a named plugin not found, installing refused', async () => {
  const data = mkdtempSync('/tmp/bt-plugin-');
  try {
    mkdirSync(join(data, 'rootfs'));
    writeFileSync(join(data, 'config.json'), '{}');
    const cases = [
      ['plugin', 'ls'], ['plugin', 'ls', '-q'], ['plugin', 'ls', '--format', 'json'], ['plugin', 'ls', '-f', 'enabled=true'], ['plugin', 'ls', '-f', 'bogus=1'],
      ['plugin', 'ls', '--no-trunc', '--format', 'table {{.ID}}\t{{.Name}}\t{{.Description}}\t{{.Enabled}}\t{{.PluginReference}}'],
      ['plugin', 'inspect', 'foo'], ['plugin', 'inspect', '-f', '{{.Name}}', 'foo'], ['plugin', 'install', 'foo'], ['plugin', 'install', '--alias', 'x', '--grant-all-permissions', 'foo', 'a=b'],
      ['plugin', 'rm', '-f', 'foo', 'bar'], ['plugin', 'enable', '--timeout', '5', 'foo'], ['plugin', 'disable', '-f', 'foo'], ['plugin', 'set', 'foo', 'a=b'],
      ['plugin', 'upgrade', 'foo', 'bar:2'], ['plugin', 'push', 'foo'], ['plugin', 'create', 'foo', data], ['plugin', 'create', 'foo', join(data, 'rootfs')], ['plugin', 'set', 'foo'],
    ];
    for (const args of cases) {
      const [b, k] = [await d.berth(args), await d.docker(args)];
      const words = (x: string) => x.replaceAll('docker', 'berth');
      assert.deepEqual([b.code, b.stdout, b.stderr], [k.code, words(k.stdout), words(k.stderr)], args.join(' '));
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('info: the OS version, Docker Hub\'s index with its mirrors, and the deprecated fields by API version, as moby answers', async () => {
  const osVersion = /^VERSION_ID="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  const now = JSON.parse((await api('GET', '/v1.50/info')).body) as { OSVersion: string; RegistryConfig: Record<string, unknown> };
  assert.equal(now.OSVersion, osVersion);
  assert.deepEqual((now.RegistryConfig.IndexConfigs as Record<string, unknown>)['docker.io'], { Name: 'docker.io', Mirrors: [], Secure: true, Official: true });
  assert.deepEqual(now.RegistryConfig.Mirrors, []);
  assert.ok(!('AllowNondistributableArtifactsCIDRs' in now.RegistryConfig));
  // moby v28: null below 1.47, absent from it; Expected commits below 1.49; BridgeNf* below 1.50
  const old = JSON.parse((await api('GET', '/v1.41/info')).body) as { RegistryConfig: Record<string, unknown>; RuncCommit: { ID: string; Expected?: string }; BridgeNfIptables?: boolean };
  assert.equal(old.RegistryConfig.AllowNondistributableArtifactsCIDRs, null);
  assert.ok(!('AllowNondistributableArtifactsHostnames' in JSON.parse((await api('GET', '/v1.47/info')).body).RegistryConfig));
  assert.equal(old.RuncCommit.Expected, old.RuncCommit.ID);
  assert.equal(old.BridgeNfIptables, false);
  assert.ok(!('BridgeNfIptables' in now));
  // docker-py reads the index configs (docker.utils.resolve... through info()).
  const { out } = python(`
print(json.dumps(docker.DockerClient(base_url='${d.host}').info()['RegistryConfig']['IndexConfigs']['docker.io']['Official']))
`);
  assert.equal(out, true);
});

test('run --use-api-socket: the docker CLI inside the container reaches berthd through the mounted socket, with the credentials the CLI holds', async () => {
  const cfg = mkdtempSync('/tmp/bt-apisock-');
  try {
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { 'localhost:5999': { auth: Buffer.from('alice:secret').toString('base64') } } }));
    const r = await d.berth(['run', '--rm', '--name', 'apisock', '--use-api-socket', '-v', `${DOCKER}:/usr/local/bin/docker:ro`, 'busybox', 'sh', '-c',
      'test -S /var/run/docker.sock && echo "config=$DOCKER_CONFIG" && cat "$DOCKER_CONFIG/config.json" && echo && docker ps --format "{{.Names}}" && docker version --format "{{.Server.Version}}"'], { env: { BERTH_CONFIG: cfg } });
    assert.equal(r.code, 0, r.stderr);
    const [config, ...rest] = r.stdout.split('\n');
    assert.equal(config, 'config=/run/secrets/docker');
    const text = rest.join('\n');
    assert.ok(text.startsWith('{\n\t"auths": {\n\t\t"localhost:5999": {\n\t\t\t"auth": "YWxpY2U6c2VjcmV0"\n\t\t}\n\t}\n}'), text);
    assert.match(text, /\napisock\n/, 'the container sees itself through the API');
    assert.match(text, /berth\n$/);
    // Without credentials there is no config and no DOCKER_CONFIG; over TCP there is no socket to mount.
    const bare = await d.berth(['run', '--rm', '--use-api-socket', 'busybox', 'sh', '-c', 'test -S /var/run/docker.sock && echo "[$DOCKER_CONFIG]"'], { env: { BERTH_CONFIG: join(cfg, 'none') } });
    assert.equal(bare.stdout, '[]\n', bare.stderr);
    const tcp = await d.berth(['-H', 'tcp://127.0.0.1:1', 'run', '--rm', '--use-api-socket', 'busybox', 'true']);
    assert.equal(tcp.code, 125);
    assert.match(tcp.stderr, /--use-api-socket needs a daemon on a Unix socket of this host, not tcp:\/\/127\.0\.0\.1:1/);
  } finally {
    rmSync(cfg, { recursive: true, force: true });
  }
});
