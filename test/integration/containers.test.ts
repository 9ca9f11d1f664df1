/**
 * The walking skeleton end to end through `berth`: images, run, isolation, lifecycle,
 * logs, inspect, exit codes and bad input, against a real berthd, crun and berth-shim.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { TestDaemon, mountsUnder, cgroupDirs, ROOT } from './harness.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** Removes every container after each test, so one failure cannot cascade into the next. */
afterEach(async () => {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', id]);
});

async function ok(args: string[], input?: string) {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

test('images lists the imported busybox with docker columns', async () => {
  const out = await ok(['images']);
  const [header, row] = out.split('\n');
  assert.match(header, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(row, /^busybox\s+latest\s+[0-9a-f]{12}\s+(Less than a second|\d+ seconds?) ago\s+[\d.]+MB$/);
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await ok(['images', '-q'])).trim(), id.slice(7, 19));
});

test('run prints the container output and removes it with --rm', async () => {
  const out = await ok(['run', '--rm', 'busybox', 'echo', 'Hello from Berth']);
  assert.equal(out, 'Hello from Berth\n');
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
});

test('run keeps stdout and stderr apart and returns the exit code', async () => {
  const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('a missing command exits 127 with docker\'s message; a non-executable one 126', async () => {
  const r = await d.berth(['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(r.code, 127, r.stderr);
  assert.match(r.stderr, /executable file not found in \$PATH/);
  const r2 = await d.berth(['run', '--rm', 'busybox', '/etc/passwd']);
  assert.equal(r2.code, 126, r2.stderr);
  assert.match(r2.stderr, /permission denied/);
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'failed --rm containers are removed');
});

test('the image config and run flags are honoured', async () => {
  const out = await ok(['run', '--rm', '-e', 'FOO=bar', '-w', '/tmp/work', '-u', 'nobody', '-h', 'myhost', 'busybox', 'sh', '-c', 'echo $FOO; pwd; id -u; hostname; echo $PATH']);
  assert.deepEqual(out.trim().split('\n'), ['bar', '/tmp/work', '65534', 'myhost', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  const envFile = join(d.root, 'env.list');
  writeFileSync(envFile, '# comment\nA=1\n\nB=two words\n');
  assert.equal(await ok(['run', '--rm', '--env-file', envFile, 'busybox', 'sh', '-c', 'echo "$A|$B"']), '1|two words\n');
  assert.equal(await ok(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'via', 'entrypoint']), 'via entrypoint\n');
  // the image's CMD is ["sh"]: with stdin closed, sh exits 0 at once
  assert.equal((await d.berth(['run', '--rm', 'busybox'])).code, 0);
});

test('containers are isolated: pid, uts, ipc, network and mount namespaces', async () => {
  const nsList = ['pid', 'uts', 'ipc', 'net', 'mnt'];
  const out = await ok(['run', '--name', 'iso', 'busybox', 'sh', '-c',
    `echo $$; hostname; echo $(ls /sys/class/net); for n in ${nsList.join(' ')}; do readlink /proc/self/ns/$n; done; test -s /proc/kcore && echo kcore-visible || echo kcore-masked; touch /sys/x 2>/dev/null || echo rosys; grep -c CapEff /proc/self/status`]);
  const lines = out.trim().split('\n');
  assert.equal(lines[0], '1', 'the command is PID 1');
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'iso'])).trim();
  assert.equal(lines[1], id.slice(0, 12), 'hostname is the short ID');
  assert.equal(lines[2], 'eth0 lo', 'loopback and its own eth0 in the network namespace');
  nsList.forEach((n, i) => assert.notEqual(lines[3 + i], readlinkSync(`/proc/self/ns/${n}`), `${n} namespace is the container's own`));
  assert.equal(lines[8], 'kcore-masked', '/proc/kcore is masked');
  assert.equal(lines[9], 'rosys', '/sys is read-only');
});

test('run -d, ps, logs, stop, start, restart, wait, rm', async () => {
  const id = (await ok(['run', '-d', '--name', 'ticker', '-l', 'app=tick', 'busybox', 'sh', '-c', 'i=0; trap "echo bye; exit 7" TERM; while :; do i=$((i+1)); echo line$i; sleep 0.1; done'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await ok(['ps']);
  assert.match(ps.split('\n')[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  assert.match(ps, new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'i=0; trap \\\\"e…"\\s+.*ago\\s+Up .*\\s+ticker$`, 'm'));
  assert.equal((await ok(['ps', '-q', '--filter', 'label=app=tick'])).trim(), id.slice(0, 12));
  assert.equal((await ok(['ps', '-q', '--filter', 'name=nomatch'])).trim(), '');
  assert.equal((await ok(['ps', '-q', '--filter', 'status=running', '--filter', 'ancestor=busybox'])).trim(), id.slice(0, 12));
  await new Promise((r) => setTimeout(r, 500));
  const logs = await ok(['logs', '--tail', '2', 'ticker']);
  assert.equal(logs.trim().split('\n').length, 2);
  assert.match(logs, /^line\d+\nline\d+\n$/);
  const ts = await ok(['logs', '-t', '--tail', '1', 'ticker']);
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line\d+\n$/);
  assert.equal((await ok(['stop', '-t', '5', 'ticker'])).trim(), 'ticker');
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', 'ticker'])).trim(), 'exited 7 false');
  assert.match(await ok(['logs', 'ticker']), /bye\n$/);
  assert.match(await ok(['ps', '-a', '--filter', 'status=exited']), /Exited \(7\) .* ago\s+ticker/);
  const before = (await ok(['logs', 'ticker'])).split('\n').length;
  await ok(['start', 'ticker']);
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'ticker'])).trim(), 'true');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok((await ok(['logs', 'ticker'])).split('\n').length > before, 'the log continues after a restart');
  await ok(['restart', '-t', '1', 'ticker']);
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'ticker'])).trim(), 'true');
  const kill = await d.berth(['kill', 'ticker']);
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal((await ok(['wait', 'ticker'])).trim(), '137');
  await ok(['rm', 'ticker']);
  assert.equal((await d.berth(['inspect', 'ticker'])).code, 1);
});

test('logs -f streams until the container exits; --since/--until filter', async () => {
  await ok(['run', '-d', '--name', 'fl', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo n$i; sleep 0.3; done']);
  const r = await ok(['logs', '-f', 'fl']);
  assert.equal(r, 'n1\nn2\nn3\n');
  assert.equal(await ok(['logs', '--until', '2000-01-01T00:00:00Z', 'fl']), '');
  assert.equal(await ok(['logs', '--since', '1h', 'fl']), 'n1\nn2\nn3\n');
  await ok(['rm', 'fl']);
});

test('names, IDs and prefixes resolve as in docker; conflicts are reported', async () => {
  const id = (await ok(['create', '--name', 'named', 'busybox', 'true'])).trim();
  assert.equal((await ok(['inspect', '-f', '{{.Name}}', id.slice(0, 6)])).trim(), '/named');
  // create reports the daemon's refusal plainly, with exit 1 (docker CLI 28).
  const dup = await d.berth(['create', '--name', 'named', 'busybox', 'true']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /Conflict\. The container name "\/named" is already in use by container "[0-9a-f]{64}"/);
  const generated = (await ok(['create', 'busybox', 'true'])).trim();
  const name = (await ok(['inspect', '-f', '{{.Name}}', generated])).trim();
  assert.match(name, /^\/[a-z]+_[a-z]+\d?$/);
  const missing = await d.berth(['rm', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error response from daemon: No such container: nosuch\n');
  await ok(['rm', 'named', generated]);
});

test('restart policies: on-failure with a retry limit, always until stopped', async () => {
  await ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3']);
  let state = '';
  for (let i = 0; i < 50 && state !== 'exited 2'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    state = (await ok(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'flaky'])).trim();
  }
  assert.equal(state, 'exited 2', 'restarted twice, then left exited');
  assert.equal((await ok(['logs', 'flaky'])), 'run\nrun\nrun\n');
  await ok(['run', '-d', '--name', 'forever', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 0']);
  let count = 0;
  for (let i = 0; i < 50 && count < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    count = Number((await ok(['inspect', '-f', '{{.RestartCount}}', 'forever'])).trim());
  }
  assert.ok(count >= 2, 'always restarts');
  await ok(['stop', '-t', '1', 'forever']);
  const after = (await ok(['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', 'forever'])).trim();
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await ok(['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', 'forever'])).trim(), after.replace('true', 'false'), 'a stopped container stays stopped');
  // The CLI refuses the pair itself, as docker's does; the daemon too, for other clients.
  const bad = await d.berth(['run', '--rm', '--restart', 'always', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /conflicting options: cannot specify both --restart and --rm/);
  const api = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath: d.sock, method: 'POST', path: '/v1.50/containers/create', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }));
  });
  assert.equal(api.status, 400);
  assert.match(api.body, /can't create 'AutoRemove' container with restart policy/);
});

test('rm refuses a running container unless forced', async () => {
  await ok(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '100']);
  const r = await d.berth(['rm', 'busy']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot remove container "busy": container is running: stop the container before removing or force remove/);
  assert.equal((await ok(['rm', '-f', 'busy'])).trim(), 'busy');
  // The directory of sandboxes stays mounted, as docker's /run/docker/netns does.
  assert.deepEqual(mountsUnder(d.root).filter((m) => !m.endsWith('/netns')), [], 'no mounts left');
});

test('inspect has docker\'s shape', async () => {
  await ok(['create', '--name', 'shape', '-m', '64m', '--cpus', '0.5', '--pids-limit', '50', 'busybox', 'echo', 'hi']);
  const [c] = JSON.parse(await ok(['inspect', 'shape'])) as Record<string, any>[];
  assert.equal(c.Name, '/shape');
  assert.equal(c.Path, 'echo');
  assert.deepEqual(c.Args, ['hi']);
  assert.equal(c.State.Status, 'created');
  assert.equal(c.State.StartedAt, '0001-01-01T00:00:00Z');
  assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(c.HostConfig.NanoCpus, 500000000);
  assert.equal(c.HostConfig.PidsLimit, 50);
  assert.equal(c.GraphDriver.Name, 'overlay2');
  assert.ok(existsSync(c.GraphDriver.Data.UpperDir));
  assert.ok(c.GraphDriver.Data.LowerDir.split(':').every((p: string) => existsSync(p)));
  assert.equal(c.Config.Image, 'busybox');
  assert.match(c.Image, /^sha256:/);
  await ok(['rm', 'shape']);
});

test('resource limits reach the cgroup', async () => {
  const out = await ok(['run', '--rm', '-m', '64m', '--pids-limit', '50', '--cpus', '0.5', 'busybox', 'sh', '-c',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max']);
  const v = out.trim().split('\n');
  assert.equal(v[0], String(64 * 1024 * 1024));
  assert.equal(v[1], '50');
  assert.match(v[2], /^50000/);
});

test('the writable layer survives stop/start and goes with rm', async () => {
  await ok(['run', '--name', 'cow', 'busybox', 'sh', '-c', 'echo data > /file; rm /bin/vi']);
  await ok(['start', '-a', 'cow']).catch(() => {});
  const upper = (await ok(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'cow'])).trim();
  assert.equal(readFileSync(join(upper, 'file'), 'utf8'), 'data\n');
  const r = await d.berth(['start', '-a', 'cow']);
  assert.equal(r.code, 1, 'second run: /bin/vi is already gone so rm fails');
  await ok(['rm', 'cow']);
  assert.ok(!existsSync(upper));
  const r2 = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'test -e /file || echo clean; test -e /bin/vi && echo vi']);
  assert.equal(r2.stdout, 'clean\nvi\n', 'the image is untouched');
});

test('tag and rmi follow docker\'s rules', async () => {
  await ok(['tag', 'busybox', 'mybox:1']);
  await ok(['tag', 'busybox:latest', 'registry.local:5000/team/mybox']);
  const imgs = await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.deepEqual(imgs.trim().split('\n').sort(), ['busybox:latest', 'mybox:1', 'registry.local:5000/team/mybox:latest']);
  assert.equal(await ok(['rmi', 'mybox:1']), 'Untagged: mybox:1\n');
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  const conflict = await d.berth(['rmi', id.slice(7, 19)]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
  await ok(['rmi', 'registry.local:5000/team/mybox']);
  const bad = await d.berth(['tag', 'busybox', 'UPPER']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid reference format: repository name \(library\/UPPER\) must be lowercase/);
  const missing = await d.berth(['rmi', 'nosuch']);
  assert.equal(missing.stderr, 'Error response from daemon: No such image: nosuch:latest\n');
});

test('rmi of an image in use by a container is refused; import of a second image and delete', async () => {
  await ok(['create', '--name', 'user', 'busybox', 'true']);
  const r = await d.berth(['rmi', 'busybox']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image [0-9a-f]{12}/);
  await ok(['rm', 'user']);
  const id2 = await d.importBusybox('other:v1');
  assert.match(id2, /^sha256:/);
  const del = await ok(['rmi', 'other:v1']);
  // same content as busybox → same layer, so only the tag and the image (config) go
  assert.match(del, /^Untagged: other:v1\nDeleted: sha256:[0-9a-f]{64}\n$/);
});

test('bad input: unknown image, bad flags, empty command, corrupt import', async () => {
  // A registry on 127.0.0.1 that is not there (never Docker Hub): said as docker says it, no pull chatter.
  const r1 = await d.berth(['run', '--rm', '127.0.0.1:1/nosuchimage']);
  assert.equal(r1.code, 125);
  assert.equal(r1.stderr, "Unable to find image '127.0.0.1:1/nosuchimage:latest' locally\nberth: Error response from daemon: GET http://127.0.0.1:1/v2/nosuchimage/manifests/latest: connection refused\n\nRun 'berth run --help' for more information\n");
  const r1b = await d.berth(['run', '--rm', '--pull', 'never', 'nosuchimage']);
  assert.equal(r1b.code, 125);
  assert.match(r1b.stderr, /No such image: nosuchimage:latest/);
  const r2 = await d.berth(['run', '--memory=abc', 'busybox']);
  assert.equal(r2.code, 125);
  assert.match(r2.stderr, /invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'/);
  const r3 = await d.berth(['run', '--name', 'bad/name', 'busybox']);
  assert.equal(r3.code, 125);
  assert.match(r3.stderr, /Invalid container name \(bad\/name\)/);
  const r4 = await d.berth(['run', '-e', '=x', 'busybox']);
  assert.equal(r4.code, 125);
  assert.match(r4.stderr, /invalid environment variable: =x/);
  const r5 = await d.berth(['import', '-', 'junk:1'], { input: 'this is not a tar archive at all, not even close, really not one' });
  assert.equal(r5.code, 1);
  assert.match(r5.stderr, /invalid tar header|archive/);
  assert.equal((await d.berth(['image', 'inspect', 'junk:1'])).code, 1, 'nothing registered');
  const r6 = await d.berth(['run', '--rm', '--ulimit', 'nofile=1000000:1000000', 'busybox', 'true']);
  assert.equal(r6.code, 125);
  assert.match(r6.stderr, /hard limit/);
  const r7 = await d.berth(['run', '--rm', '--runtime', 'nosuch', 'busybox', 'true']);
  assert.equal(r7.code, 125);
  assert.match(r7.stderr, /unknown or invalid runtime name: nosuch/);
  const tar = (await import('node:child_process')).spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  assert.equal((await d.berth(['import', '-', 'nocmd:1'], { input: tar })).code, 0);
  const r8 = await d.berth(['run', '--rm', 'nocmd:1']);
  assert.equal(r8.code, 125);
  assert.match(r8.stderr, /no command specified/);
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'nothing half-made');
  const blobs = readdirSync(join(d.dataRoot, 'blobs', 'sha256'));
  assert.ok(blobs.length > 0);
  assert.equal(readdirSync(join(d.dataRoot, 'ingest')).length, 0, 'no partial blobs');
  assert.equal(cgroupDirs(d.cgroupParent).flatMap((p) => readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory())).length, 0, 'no cgroups left');
});

test('create --rm: the container goes once it has run, as with run --rm (berth and the docker CLI)', async () => {
  for (const [cli, name] of [['berth', 'createrm-b'], ['docker', 'createrm-d']] as const) {
    const made = cli === 'berth' ? await d.berth(['create', '--rm', '--name', name, 'busybox', 'echo', 'ran']) : await d.docker(['create', '--rm', '--name', name, 'busybox', 'echo', 'ran']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await ok(['inspect', '-f', '{{.HostConfig.AutoRemove}}', name]), 'true\n');
    assert.equal(await ok(['start', '-a', name]), 'ran\n');
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      gone = (await d.berth(['inspect', name])).code !== 0;
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(gone, `${name} was removed after it ran`);
  }
  // Without --rm it stays.
  await ok(['create', '--name', 'createkeep', 'busybox', 'true']);
  assert.equal(await ok(['inspect', '-f', '{{.HostConfig.AutoRemove}}', 'createkeep']), 'false\n');
  await ok(['rm', 'createkeep']);
});

test('--gpus, --storage-opt and the real-time limits reach berthd and are refused there by name, as through the docker CLI; the Windows-only ones are refused by the CLI; nothing is created', async () => {
  const before = (await ok(['ps', '-aq'])).trim();
  for (const [flag, value, re] of [
    ['--gpus', 'all', /HostConfig\.DeviceRequests is not supported by Berth yet/],
    ['--storage-opt', 'size=1G', /HostConfig\.StorageOpt is not supported by Berth yet/],
    ['--cpu-rt-runtime', '950000', /HostConfig\.CpuRealtimeRuntime is not supported by Berth yet/],
  ] as const) {
    const b = await d.berth(['run', '--rm', flag, value, 'busybox', 'true']);
    const k = await d.docker(['run', '--rm', flag, value, 'busybox', 'true']);
    assert.equal(b.code, 125, flag);
    assert.equal(k.code, 125, flag);
    assert.match(b.stderr, re);
    assert.equal(b.stderr.split('\n')[0].replace(/^berth: /, ''), k.stderr.split('\n')[0].replace(/^docker: /, ''), flag);
  }
  // The Windows-only limits are refused by the CLI, as the docker CLI refuses them for a Linux daemon.
  for (const [flag, value] of [['--cpu-count', '2'], ['--cpu-percent', '50'], ['--io-maxbandwidth', '10m'], ['--io-maxiops', '100']]) {
    const b = await d.berth(['run', '--rm', flag, value, 'busybox', 'true']);
    const k = await d.docker(['run', '--rm', flag, value, 'busybox', 'true']);
    assert.equal(b.code, 1, flag);
    assert.equal(k.code, 1, flag);
    assert.equal(b.stderr.replace(/^berth: /, '').split('\n')[0], `"${flag}" is only supported on a daemon running on windows, but the Berth daemon is running on linux`);
    assert.match(k.stderr, new RegExp(`"${flag}" is only supported on a Docker daemon running on windows`));
  }
  // Content trust is refused in the CLI, before any request.
  const trust = await d.berth(['run', '--rm', '--disable-content-trust=false', 'busybox', 'true']);
  assert.equal(trust.code, 125);
  assert.match(trust.stderr, /content trust is not supported by Berth: give --disable-content-trust/);
  assert.equal((await ok(['ps', '-aq'])).trim(), before);
  // The deprecated kernel memory limit: dockerd's warning, and the container runs.
  const km = await d.berth(['run', '--rm', '--kernel-memory', '50m', 'busybox', 'echo', 'ran']);
  assert.equal(km.code, 0, km.stderr);
  assert.equal(km.stdout, 'ran\n');
  assert.match(km.stderr, /Specifying a kernel memory limit is deprecated and will be removed in a future release\./);
});
