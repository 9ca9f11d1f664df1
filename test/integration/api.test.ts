/**
 * The Engine API as any client sees it: version negotiation, headers, error bodies and
 * statuses; plus OOM reporting, log rotation, a missing runtime binary, and the CLI's help.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BERTH, DOCKER, TestDaemon } from './harness.ts';

let d: TestDaemon;

before(async () => {
  d = new (TestDaemon as unknown as { new(r: string): TestDaemon })('crun');
  d.writeConfig({ runtimes: { broken: { path: '/nonexistent/crun' } } });
  await d.startDaemon();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

function api(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.sock, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

test('_ping and version negotiation headers', async () => {
  const ping = await api('HEAD', '/_ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.headers['api-version'], '1.50');
  assert.equal(ping.headers.ostype, 'linux');
  assert.equal(ping.headers['docker-experimental'], 'false');
  assert.equal((await api('GET', '/v1.41/_ping')).body, 'OK');
  // dockerd 20.10's floor: skopeo's docker-daemon: transport speaks /v1.22.
  assert.equal((await api('GET', '/v1.12/version')).status, 200);
  assert.equal((await api('GET', '/v1.22/images/json')).status, 200);
  const old = await api('GET', '/v1.11/version');
  assert.equal(old.status, 400);
  assert.deepEqual(JSON.parse(old.body), { message: 'client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version' });
  const tooNew = await api('GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.match(JSON.parse(tooNew.body).message, /client version 1.99 is too new. Maximum supported API version is 1.50/);
  const v = JSON.parse((await api('GET', '/version')).body);
  assert.equal(v.ApiVersion, '1.50');
  assert.equal(v.MinAPIVersion, '1.12');
});

test('errors are {"message"} with docker\'s statuses', async () => {
  const nf = await api('GET', '/v1.50/containers/nope/json');
  assert.equal(nf.status, 404);
  assert.deepEqual(JSON.parse(nf.body), { message: 'No such container: nope' });
  const bad = await api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: 'not-an-array-but-ok', HostConfig: { Memory: 12 } });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /Minimum memory limit/);
  const noimg = await api('POST', '/v1.50/containers/create', { Image: 'ghost', Cmd: ['true'] });
  assert.equal(noimg.status, 404);
  assert.deepEqual(JSON.parse(noimg.body), { message: 'No such image: ghost:latest' });
  const created = JSON.parse((await api('POST', '/v1.50/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] })).body);
  assert.match(created.Id, /^[0-9a-f]{64}$/);
  const dup = await api('POST', '/v1.50/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(dup.status, 409);
  const kill = await api('POST', `/v1.50/containers/${created.Id}/kill`);
  assert.equal(kill.status, 409);
  assert.match(JSON.parse(kill.body).message, /is not running/);
  const stop = await api('POST', `/v1.50/containers/${created.Id}/stop`);
  assert.equal(stop.status, 304);
  assert.equal((await api('DELETE', `/v1.50/containers/${created.Id}`)).status, 204);
  const unknown = await api('GET', '/v1.50/nothing/here');
  assert.equal(unknown.status, 404);
  const badJson = await new Promise<number>((resolve) => {
    const req = request({ socketPath: d.sock, method: 'POST', path: '/v1.50/containers/create', headers: { 'Content-Type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.end('{"Image": ');
  });
  assert.equal(badJson, 400);
});

test('an OOM-killed container is reported as such', async () => {
  const r = await d.berth(['run', '--name', 'oom', '-m', '8m', 'busybox', 'sh', '-c', 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo ${#x}']);
  assert.equal(r.code, 137);
  assert.equal((await d.berth(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom'])).stdout.trim(), 'true 137');
  await d.berth(['rm', 'oom']);
});

test('--log-opt max-size/max-file rotate the json-file log and logs reads across files', async () => {
  const r = await d.berth(['run', '--name', 'rot', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', 'seq 1 3000']);
  assert.equal(r.code, 0, r.stderr);
  const logPath = (await d.berth(['inspect', '-f', '{{.LogPath}}', 'rot'])).stdout.trim();
  const files = readdirSync(dirname(logPath)).filter((f) => f.includes('-json.log'));
  assert.deepEqual(files.sort(), [`${dirname(logPath).split('/').pop()}-json.log`, `${dirname(logPath).split('/').pop()}-json.log.1`, `${dirname(logPath).split('/').pop()}-json.log.2`].sort());
  const lines = (await d.berth(['logs', 'rot'])).stdout.trim().split('\n');
  assert.equal(lines[lines.length - 1], '3000');
  for (let i = 1; i < lines.length; i++) assert.equal(Number(lines[i]), Number(lines[i - 1]) + 1, 'contiguous across rotated files');
  const bad = await d.berth(['run', '--rm', '--log-opt', 'max-file=0', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  await d.berth(['rm', 'rot']);
});

test('--log-opt compress=true gzips the rotated files, and logs (berth and the docker CLI) read through them', async () => {
  const r = await d.docker(['run', '--name', 'gz', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=4', '--log-opt', 'compress=true', 'busybox', 'sh', '-c', 'seq 1 4000']);
  assert.equal(r.code, 0, r.stderr);
  const logPath = (await d.berth(['inspect', '-f', '{{.LogPath}}', 'gz'])).stdout.trim();
  const base = logPath.split('/').pop()!;
  // The last rotation's gzip runs beside the log: wait until it has replaced FILE.1.
  for (let i = 0; i < 50 && existsSync(`${logPath}.1`); i++) await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(readdirSync(dirname(logPath)).filter((f) => f.includes('-json.log')).sort(), [base, `${base}.1.gz`, `${base}.2.gz`, `${base}.3.gz`]);
  const { gunzipSync } = await import('node:zlib');
  const older = gunzipSync(readFileSync(`${logPath}.3.gz`)).toString().split('\n').filter(Boolean);
  assert.match(older[0], /^\{"log":"\d+\\n","stream":"stdout","time":"[^"]+"\}$/, 'json-file lines, gzipped');
  // Every line the files hold, the compressed ones' too.
  const held = [`${logPath}.3.gz`, `${logPath}.2.gz`, `${logPath}.1.gz`].reduce((n, f) => n + gunzipSync(readFileSync(f)).toString().split('\n').filter(Boolean).length, 0)
    + readFileSync(logPath, 'utf8').split('\n').filter(Boolean).length;
  assert.ok(held > 300, String(held));
  for (const cli of ['berth', 'docker'] as const) {
    const out = cli === 'berth' ? await d.berth(['logs', 'gz']) : await d.docker(['logs', 'gz']);
    const lines = out.stdout.trim().split('\n');
    assert.equal(lines.at(-1), '4000', cli);
    assert.equal(lines.length, held, `${cli}: every line, from the gzipped files too`);
    for (let i = 1; i < lines.length; i++) assert.equal(Number(lines[i]), Number(lines[i - 1]) + 1, `${cli}: contiguous across compressed files`);
  }
  assert.equal((await d.berth(['logs', '--tail', '2', 'gz'])).stdout, '3999\n4000\n');
  // compress needs rotation, and a boolean.
  for (const [opts, re] of [
    [['--log-opt', 'compress=true'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
    [['--log-opt', 'compress=true', '--log-opt', 'max-size=1k'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
    [['--log-opt', 'compress=maybe', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2'], /strconv\.ParseBool: parsing "maybe": invalid syntax/],
  ] as [string[], RegExp][]) {
    const bad = await d.berth(['run', '--rm', ...opts, 'busybox', 'true']);
    assert.notEqual(bad.code, 0, opts.join(' '));
    assert.match(bad.stderr, re);
  }
  await d.berth(['rm', 'gz']);
});

test('--log-driver local: rotated and compressed by default (20m, 5 files), its file not shown, logs read it (berth and the docker CLI)', async () => {
  const r = await d.docker(['run', '--name', 'loc', '--log-driver', 'local', '--log-opt', 'max-size=10k', 'busybox', 'sh', '-c', 'seq 1 3000']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await d.docker(['inspect', '-f', '{{.LogPath}}|{{.HostConfig.LogConfig.Type}}', 'loc'])).stdout, '|local\n', 'moby does not show the local driver\'s file');
  const id = (await d.berth(['inspect', '-f', '{{.Id}}', 'loc'])).stdout.trim();
  const dir = join(d.dataRoot, 'containers', id, 'local-logs');
  for (let i = 0; i < 50 && existsSync(join(dir, 'container.log.1')); i++) await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(readdirSync(dir).sort(), ['container.log', 'container.log.1.gz', 'container.log.2.gz', 'container.log.3.gz', 'container.log.4.gz'], 'five files, the rotated ones gzipped');
  for (const cli of ['berth', 'docker'] as const) {
    const lines = (cli === 'berth' ? await d.berth(['logs', 'loc']) : await d.docker(['logs', 'loc'])).stdout.trim().split('\n');
    assert.equal(lines.at(-1), '3000', cli);
    for (let i = 1; i < lines.length; i++) assert.equal(Number(lines[i]), Number(lines[i - 1]) + 1, `${cli}: contiguous`);
  }
  const bad = await d.berth(['run', '--rm', '--log-driver', 'local', '--log-opt', 'labels=x', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /unknown log opt 'labels' for log driver local/);
  await d.berth(['rm', 'loc']);
  assert.ok(!existsSync(dir), 'its files go with it');
});

test('--log-opt labels/env/labels-regex/env-regex put attributes on each json-file line; logs --details shows them (berth and the docker CLI)', async () => {
  const r = await d.berth(['run', '--name', 'attrs', '-l', 'app=web', '-l', 'tier.name=x y', '-e', 'TIER=front', '-e', 'XA=a b', '-e', 'OTHER=no',
    '--log-opt', 'labels=app,missing', '--log-opt', 'labels-regex=^tier', '--log-opt', 'env=TIER', '--log-opt', 'env-regex=^X', '--log-opt', 'tag={{.Name}}',
    'busybox', 'sh', '-c', 'echo hello; echo oops >&2']);
  assert.equal(r.code, 0, r.stderr);
  const logPath = (await d.berth(['inspect', '-f', '{{.LogPath}}', 'attrs'])).stdout.trim();
  const first = JSON.parse(readFileSync(logPath, 'utf8').split('\n')[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ['log', 'stream', 'attrs', 'time'], 'moby\'s field order');
  assert.deepEqual(first.attrs, { TIER: 'front', XA: 'a b', app: 'web', 'tier.name': 'x y' });
  const want = 'TIER=front,XA=a+b,app=web,tier.name=x+y';
  for (const cli of ['berth', 'docker'] as const) {
    const run = (args: string[]) => (cli === 'berth' ? d.berth(args) : d.docker(args));
    assert.equal((await run(['logs', 'attrs'])).stdout, 'hello\n', `${cli}: plain logs unchanged`);
    const details = await run(['logs', '--details', 'attrs']);
    assert.equal(details.stdout, `${want} hello\n`, cli);
    assert.equal(details.stderr, `${want} oops\n`, cli);
    assert.match((await run(['logs', '--details', '-t', 'attrs'])).stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]{18}Z ${want.replace(/[.+]/g, '\\$&')} hello\n$`), cli);
  }
  // A container without them: --details shows the space alone, as dockerd.
  assert.equal((await d.berth(['run', '--rm', 'busybox', 'echo', 'x'])).code, 0);
  await d.berth(['run', '--name', 'noattrs', 'busybox', 'echo', 'plain']);
  assert.equal((await d.docker(['logs', '--details', 'noattrs'])).stdout, ' plain\n');
  const bad = await d.berth(['run', '--rm', '--log-opt', 'env-regex=(', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /error parsing regexp/);
  await d.berth(['rm', 'attrs', 'noattrs']);
});

test('a missing runtime binary gives a clear error and leaves nothing behind', async () => {
  const r = await d.berth(['run', '--rm', '--runtime', 'broken', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /\/nonexistent\/crun/);
  assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
  assert.ok(!existsSync(join(d.execRoot, 'c')) || readdirSync(join(d.execRoot, 'c')).length === 0, 'no shim state left');
});

test('berth --help and berth run --help list what exists, in docker\'s layout', async () => {
  const top = await d.berth(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Usage:  berth \[OPTIONS\] COMMAND\n/);
  assert.match(top.stdout, /Common Commands:\n  run +Create and run a new container from an image\n/);
  const run = await d.berth(['run', '--help']);
  assert.match(run.stdout, /Usage:  berth run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
  assert.match(run.stdout, /-m, --memory bytes +Memory limit/);
  const unknown = await d.berth(['frobnicate']);
  assert.equal(unknown.code, 1);
  // docker CLI 28's wording.
  assert.equal(unknown.stderr, "berth: unknown command: berth frobnicate\n\nRun 'berth --help' for more information\n");
  const badFlag = await d.berth(['ps', '--bogus']);
  assert.equal(badFlag.code, 125);
  assert.equal(badFlag.stderr, "unknown flag: --bogus\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n");
  const noArg = await d.berth(['logs']);
  assert.equal(noArg.code, 1);
  assert.equal(noArg.stderr, "berth: 'berth logs' requires 1 argument\n\nUsage:  berth logs [OPTIONS] CONTAINER\n\nRun 'berth logs --help' for more information\n");
  // Run as a user runs it (the launcher's #! line): a missing --env-file is berth's error in
  // docker's words, not node's (node takes --env-file for its own unless told where its options end).
  const { spawnSync } = await import('node:child_process');
  const envFile = spawnSync(BERTH, ['run', '--rm', '--env-file', '/nonexistent/app.env', 'busybox', 'true'], { encoding: 'utf8', env: { ...process.env, BERTH_HOST: d.host } });
  assert.equal(envFile.status, 125, envFile.stderr);
  assert.equal(envFile.stderr, "berth: open /nonexistent/app.env: no such file or directory\n\nRun 'berth run --help' for more information\n");
  // A bad option is refused before anything is made, in docker's words.
  const port = await d.berth(['run', '-p', '99999:80', 'busybox', 'true']);
  assert.equal(port.code, 125);
  assert.equal(port.stderr, "berth: invalid hostPort: 99999\n\nRun 'berth run --help' for more information\n");
  // create reports a daemon's refusal plainly (exit 1), run with its prefix (125), as docker's.
  const created = await d.berth(['create', '--name', 'bad/name', 'busybox']);
  assert.equal(created.code, 1);
  assert.equal(created.stderr, 'Error response from daemon: Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed\n');
  assert.equal((await d.berth(['ps', '-aq'])).stdout, '', 'nothing made');
});

test('bad options and names get the docker CLI\'s words and exit codes, and make nothing', async () => {
  const hostCpus = ['/sys/fs/cgroup/cpuset/cpuset.cpus', '/sys/fs/cgroup/cpuset.cpus.effective'].filter((p) => existsSync(p)).map((p) => readFileSync(p, 'utf8').trim())[0];
  const cases: { args: string[]; stderr: string; code: number }[] = [
    { args: ['run', '--label', '=x', 'busybox'], code: 125, stderr: 'invalid argument "=x" for "-l, --label" flag: invalid label \'=x\': empty name\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'berth run --help\' for more information\n' },
    { args: ['run', '--add-host', 'bad', 'busybox'], code: 125, stderr: 'invalid argument "bad" for "--add-host" flag: bad format for add-host: "bad"\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'berth run --help\' for more information\n' },
    { args: ['run', '--dns', 'notanip', 'busybox'], code: 125, stderr: 'invalid argument "notanip" for "--dns" flag: IP address is not correctly formatted: notanip\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'berth run --help\' for more information\n' },
    // The daemon judges restart policies and stop signals, in its words.
    { args: ['run', '--restart', 'bogus', 'busybox', 'true'], code: 125, stderr: "berth: Error response from daemon: invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'\n\nRun 'berth run --help' for more information\n" },
    { args: ['run', '--stop-signal', 'BOGUS', 'busybox', 'true'], code: 125, stderr: "berth: Error response from daemon: Invalid signal: BOGUS\n\nRun 'berth run --help' for more information\n" },
    // What cannot be found is 127 at create as at start.
    { args: ['run', '--device', '/nonexistent/dev', 'busybox', 'true'], code: 127, stderr: '' },
    { args: ['tag', 'busybox', 'Bad:Tag'], code: 1, stderr: 'Error parsing reference: "Bad:Tag" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase\n' },
    { args: ['inspect', '--type', 'bogus', 'x'], code: 1, stderr: 'unknown type: "bogus": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"\n' },
    { args: ['events', '--since', 'bogus', '--until', '1'], code: 1, stderr: 'failed to parse value as time or duration: "bogus"\n' },
    // An output path that cannot be written is refused before the daemon is asked.
    { args: ['save', '-o', '/nonexistent/dir/x.tar', 'busybox'], code: 1, stderr: 'failed to save image: invalid output path: stat /nonexistent/dir: no such file or directory\n' },
    { args: ['save', '-o', '/etc/passwd/x.tar', 'busybox'], code: 1, stderr: 'failed to save image: invalid output path: stat /etc/passwd: not a directory\n' },
    { args: ['export', '-o', '/nonexistent/dir/x.tar', 'logged'], code: 1, stderr: 'failed to export container: invalid output path: stat /nonexistent/dir: no such file or directory\n' },
    { args: ['run', '-d', '-a', 'stdout', 'busybox'], code: 1, stderr: 'conflicting options: cannot specify both --attach and --detach\n' },
    { args: ['save', '-o', '/tmp/bt-api-fifo', 'busybox'], code: 1, stderr: 'failed to save image: cannot write to a named pipe (FIFO)\n' },
    { args: ['logs', '--since', 'bogus', 'logged'], code: 1, stderr: 'invalid value for "since": failed to parse value as time or duration: "bogus"\n' },
    // What the daemon refuses at create or start, in moby's words.
    { args: ['run', '--rm', '--cpuset-cpus', '4095', 'busybox', 'true'], code: 125, stderr: `berth: Error response from daemon: Requested CPUs are not available - requested 4095, available: ${hostCpus}\n\nRun 'berth run --help' for more information\n` },
    { args: ['run', '--rm', '--cpuset-cpus', '1-0', 'busybox', 'true'], code: 125, stderr: "berth: Error response from daemon: Invalid value 1-0 for cpuset cpus: invalid format: 1-0\n\nRun 'berth run --help' for more information\n" },
    { args: ['run', '--rm', '--log-driver', 'nosuch', 'busybox', 'true'], code: 125, stderr: 'berth: Error response from daemon: error looking up logging plugin nosuch: plugin "nosuch" not found\n\nRun \'berth run --help\' for more information\n' },
    { args: ['run', '--rm', '--cap-add', 'NOSUCH', 'busybox', 'true'], code: 125, stderr: 'berth: Error response from daemon: invalid CapAdd: unknown capability: "CAP_NOSUCH"\n\nRun \'berth run --help\' for more information\n' },
    { args: ['ps', '--filter', 'exited=abc'], code: 1, stderr: 'Error response from daemon: invalid filter \'exited=abc\': strconv.Atoi: parsing "abc": invalid syntax\n' },
    { args: ['ps', '--filter', 'status=bogus'], code: 1, stderr: 'Error response from daemon: invalid filter \'status=bogus\': invalid value for state (bogus): must be one of created, running, paused, restarting, removing, exited, dead\n' },
    { args: ['ps', '--filter', 'health=bogus'], code: 1, stderr: 'Error response from daemon: invalid filter \'health=bogus\': invalid value for health (bogus): must be one of none, starting, healthy, unhealthy\n' },
    { args: ['ps', '--filter', 'is-task=bogus'], code: 1, stderr: 'Error response from daemon: invalid filter \'is-task=[bogus]\'\n' },
    { args: ['ps', '-aq', '--filter', 'is-task=true'], code: 0, stderr: '' },
    { args: ['kill', 'nosuch'], code: 1, stderr: 'Error response from daemon: cannot kill container: nosuch: No such container: nosuch\n' },
    { args: ['kill', '-s', '99', 'logged'], code: 1, stderr: 'Error response from daemon: cannot kill container: logged: the linux daemon does not support signal 99\n' },
    { args: ['run', '--rm', '--log-opt', 'max-size=abc', 'busybox', 'true'], code: 125, stderr: "berth: Error response from daemon: failed to initialize logging driver: invalid size: 'abc'\n\nRun 'berth run --help' for more information\n" },
  ];
  await d.ok(['create', '--name', 'logged', 'busybox']);
  const { spawnSync } = await import('node:child_process');
  spawnSync('mkfifo', ['/tmp/bt-api-fifo']);
  for (const c of cases) {
    const ours = await d.berth(c.args);
    assert.equal(ours.code, c.code, `${c.args.join(' ')}: ${ours.stderr}`);
    if (c.stderr) assert.equal(ours.stderr, c.stderr, c.args.join(' '));
    if (existsSync(DOCKER)) {
      const theirs = await d.docker(c.args);
      assert.equal(theirs.code, ours.code, `docker ${c.args.join(' ')}`);
      assert.equal(theirs.stderr.replace(/docker/g, 'berth'), ours.stderr, `docker ${c.args.join(' ')}`);
    }
  }
  rmSync('/tmp/bt-api-fifo', { force: true });
  await d.ok(['rm', 'logged']);
  assert.equal((await d.berth(['ps', '-aq'])).stdout, '', 'nothing made');
  // run -d prints the container's ID before starting it (docker): one that fails to start is
  // there to inspect, under the ID the user saw.
  const failed = await d.berth(['run', '-d', 'busybox', 'nosuchcmd']);
  assert.equal(failed.code, 127, failed.stderr);
  assert.match(failed.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal((await d.ok(['inspect', '-f', '{{.State.Status}}', failed.stdout.trim()])).trim(), 'created');
  await d.ok(['rm', failed.stdout.trim()]);
});

test('query parameters are applied or refused by name: platform, shared-size, manifests, system df type, search filters, network scope', async () => {
  const json = async (path: string, status = 200) => {
    const r = await api('GET', path);
    assert.equal(r.status, status, `${path}: ${r.body}`);
    return JSON.parse(r.body) as Record<string, unknown> & { message?: string };
  };
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const other = arch === 'amd64' ? 'arm64' : 'amd64';
  // An image's one platform is confirmed, another is not there.
  assert.equal((await json(`/v1.50/images/busybox/json?platform=linux/${arch}`)).Architecture, arch);
  assert.match((await json(`/v1.50/images/busybox/json?platform=linux/${other}`, 404)).message!, new RegExp(`wanted linux/${other}, actual: linux/${arch}`));
  assert.match((await json(`/v1.50/images/busybox/history?platform=${encodeURIComponent(JSON.stringify({ os: 'linux', architecture: other }))}`, 404)).message!, /does not match the specified platform/);
  const made = await api('POST', `/v1.50/containers/create?platform=linux/${other}`, { Image: 'busybox', Cmd: ['true'] });
  assert.equal(made.status, 404, made.body);
  assert.match(JSON.parse(made.body).message, /busybox was found but does not match the specified platform/);
  const fine = await api('POST', `/v1.50/containers/create?platform=linux/${arch}`, { Image: 'busybox', Cmd: ['true'] });
  assert.equal(fine.status, 201, fine.body);
  assert.equal((await api('DELETE', `/v1.50/containers/${JSON.parse(fine.body).Id}`)).status, 204);
  // manifests=1 (1.47+): each image's platform manifest, with the containers using it; ignored below 1.47.
  const mk = await api('POST', '/v1.50/containers/create', { Image: 'busybox', Cmd: ['true'] });
  const mkId = JSON.parse(mk.body).Id as string;
  assert.equal((await api('POST', `/v1.50/commit?container=${mkId}&repo=manifested&tag=1`)).status, 201);
  type WithManifests = { RepoTags: string[]; Manifests?: { ID: string; Kind: string; Available: boolean; Descriptor: { digest: string }; Size: { Content: number }; ImageData: { Platform: { architecture: string; os: string }; Containers: string[] } }[] }[];
  const withM = (await json('/v1.50/images/json?manifests=1')) as unknown as WithManifests;
  const committed = withM.find((i) => i.RepoTags.includes('manifested:1'))!;
  assert.equal(committed.Manifests?.length, 1);
  const m0 = committed.Manifests![0];
  assert.equal(m0.Kind, 'image');
  assert.equal(m0.Available, true);
  assert.equal(m0.Descriptor.digest, m0.ID);
  assert.ok(m0.Size.Content > 0);
  assert.deepEqual([m0.ImageData.Platform.os, m0.ImageData.Platform.architecture], ['linux', arch]);
  assert.deepEqual(withM.find((i) => i.RepoTags.includes('busybox:latest'))!.Manifests!.map((m) => m.ImageData.Containers), [[mkId]]);
  assert.ok(((await json('/v1.46/images/json?manifests=1')) as unknown as WithManifests).every((i) => i.Manifests === undefined));
  // The docker CLI's tree view is made from them.
  const tree = await d.docker(['images', '--tree'], { env: { NO_COLOR: '1' } });
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(tree.stdout, new RegExp(`busybox:latest[^\\n]*\\n[^\\n]*linux/${arch}`));
  assert.equal((await api('DELETE', `/v1.50/containers/${mkId}`)).status, 204);
  assert.equal((await api('DELETE', '/v1.50/images/manifested:1')).status, 200);
  const del = await api('DELETE', `/v1.50/images/busybox?platforms=${encodeURIComponent(JSON.stringify({ os: 'linux', architecture: arch }))}`);
  assert.equal(del.status, 400, del.body);
  // shared-size fills SharedSize and Containers (-1 without it).
  const plain = (await json('/v1.50/images/json')) as unknown as { SharedSize: number; Containers: number }[];
  assert.equal(plain[0].SharedSize, -1);
  const sized = (await json('/v1.50/images/json?shared-size=1')) as unknown as { SharedSize: number; Containers: number }[];
  assert.ok(sized.every((i) => i.SharedSize >= 0 && i.Containers >= 0), JSON.stringify(sized));
  // system df computes the sections asked for; the others are null.
  const df = await json('/v1.50/system/df?type=image&type=volume');
  assert.ok(Array.isArray(df.Images) && Array.isArray(df.Volumes), JSON.stringify(df));
  assert.equal(df.Containers, null);
  assert.equal(df.BuildCache, null);
  assert.match((await json('/v1.50/system/df?type=images', 400)).message!, /unknown object type: images/);
  // Every network of Berth's is local.
  assert.equal((await json('/v1.50/networks/bridge?scope=local&verbose=true')).Name, 'bridge');
  assert.match((await json('/v1.50/networks/bridge?scope=swarm', 404)).message!, /network bridge not found/);
  assert.match((await json('/v1.50/networks/bridge?verbose=yes', 400)).message!, /invalid value for verbose/);
  assert.match((await json('/v1.50/images/search?term=x&filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D', 400)).message!, /invalid filter 'bogus'/);
});

test('the CLI loads only what a command needs: no child processes, HTTP stack, file promises or workers for ps, version or pull', async () => {
  const { spawnSync } = await import('node:child_process');
  const { NODE } = await import('./harness.ts');
  const heavy = ['child_process', 'http', 'https', 'fs/promises', 'worker_threads', 'readline', 'zlib', 'crypto', 'vm'];
  const probe = `process.on('exit', () => process.stderr.write('\\nLOADED ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' ') + '\\n'));`;
  for (const args of [['ps', '-a'], ['version'], ['images']]) {
    const r = spawnSync(NODE, ['--import', `data:text/javascript,${encodeURIComponent(probe)}`, '--', BERTH, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, BERTH_CONFIG: join(d.root, 'berth-config') } });
    assert.equal(r.status, 0, r.stderr);
    const loaded = new Set(/LOADED (.*)\n/.exec(r.stderr)![1]!.split(' '));
    assert.deepEqual(heavy.filter((m) => loaded.has(m)), [], `berth ${args.join(' ')} loaded modules it does not use`);
  }
});

test('JSON shapes and errors as moby 28 writes them: nil slices as null, omitempty fields left out, fields by API version, decoding errors, a known path\'s other method', async () => {
  const raw = (method: string, path: string, text: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath: d.sock, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(text);
  });
  const id = (await d.ok(['create', '--name', 'shapes', 'busybox', 'true'])).trim();
  // nothing changed: null; a wait without an error: no Error field
  assert.equal((await api('GET', `/v1.50/containers/${id}/changes`)).body.trim(), 'null');
  await d.ok(['start', id]);
  assert.deepEqual(JSON.parse((await api('POST', `/v1.50/containers/${id}/wait`)).body), { StatusCode: 0 });
  // decoding errors
  assert.equal(JSON.parse((await raw('POST', '/v1.50/containers/create', '')).body).message, 'invalid JSON: got EOF while reading request body');
  assert.equal(JSON.parse((await raw('POST', '/v1.50/containers/create', '{"Image":')).body).message, 'invalid JSON: unexpected EOF');
  assert.equal(JSON.parse((await api('POST', '/v1.50/containers/create', {})).body).message, 'config cannot be empty in order to create a container');
  // a known path with another method: no page (moby's router answers 404)
  const other = await api('DELETE', '/v1.41/version');
  assert.equal(other.status, 404);
  assert.equal(JSON.parse(other.body).message, 'page not found');
  // below 1.42 system df ignores type; below 1.44 its images carry VirtualSize
  const df = JSON.parse((await api('GET', '/v1.41/system/df?type=volume')).body) as { Images: { Size: number; VirtualSize?: number }[] | null };
  assert.ok(df.Images?.length && df.Images.every((i) => i.VirtualSize === i.Size));
  // below 1.43 a tagged image without digests lists them as null
  const listed = JSON.parse((await api('GET', '/v1.41/images/json')).body) as { RepoTags: string[] | null; RepoDigests: string[] | null }[];
  assert.ok(listed.some((i) => i.RepoTags?.includes('busybox:latest') && i.RepoDigests === null));
  await d.ok(['rm', id]);
  // stats of a running container: the cgroup v1 block I/O lists are lists, empty or not; no zero failcnt
  await d.ok(['run', '-d', '--name', 'shapes2', 'busybox', 'sleep', '60']);
  const st = JSON.parse((await api('GET', '/v1.50/containers/shapes2/stats?stream=false')).body) as { blkio_stats: Record<string, unknown>; memory_stats: Record<string, unknown> };
  if (existsSync('/sys/fs/cgroup/memory')) {
    for (const [k, v] of Object.entries(st.blkio_stats)) assert.ok(Array.isArray(v), `${k} is a list`);
    assert.ok(!('failcnt' in st.memory_stats) || st.memory_stats.failcnt !== 0);
    assert.ok(!('shmem' in (st.memory_stats.stats as object)), 'moby\'s fixed list of memory.stat keys');
  }
  await d.ok(['rm', '-f', 'shapes2']);
});
