/**
 * The real docker CLI (28.2.2) against berthd: version, info, images, import, tag, rmi,
 * run --rm, run -d, ps, logs, stop, start, wait, rm, inspect print what they print against
 * dockerd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TestDaemon, DOCKER, ROOT } from './harness.ts';

let d: TestDaemon;
const skip = !existsSync(DOCKER);

before(async () => {
  if (skip) return;
  d = await TestDaemon.start();
});

after(async () => {
  await d?.cleanup();
});

async function docker(args: string[], input?: Buffer | string) {
  const r = await d.docker(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

test('docker version and info talk to berthd', { skip }, async () => {
  const v = await docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Client.APIVersion}}']);
  assert.equal(v.trim(), '28.2.2-berth 1.50 1.50');
  const info = await docker(['info', '--format', '{{.Driver}} {{.OSType}} {{.DefaultRuntime}}']);
  assert.equal(info.trim(), 'overlay2 linux crun');
  // The runtime and init versions, as dockerd reports runc's and docker-init's.
  const crun = spawnSync('crun', ['--version'], { encoding: 'utf8' }).stdout;
  const crunVersion = /^crun version (\S+)/m.exec(crun)![1]!;
  const crunCommit = /^commit: (\S+)/m.exec(crun)![1]!;
  const text = await docker(['version']);
  assert.match(text, new RegExp(`\n crun:\n  Version:          ${crunVersion.replaceAll('.', '\\.')}\n  GitCommit:        ${crunCommit}\n`));
  const initPath = ['/usr/bin/docker-init', '/usr/bin/tini-static'].find((p) => existsSync(p))!;
  const init = await docker(['info', '--format', '{{.InitBinary}}|{{.RuncCommit.ID}}']);
  assert.equal(init.trim(), `${basename(initPath)}|${crunCommit}`);
  const tini = spawnSync(initPath, ['--version'], { encoding: 'utf8' }).stdout;
  assert.match(text, new RegExp(`\n ${basename(initPath)}:\n  Version:          ${/tini version (\S+)/.exec(tini)![1]!.replaceAll('.', '\\.')}\n`));
});

test('docker import, images, tag, inspect, rmi', { skip }, async () => {
  const tar = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  const id = (await docker(['import', '--change', 'CMD ["sh"]', '-', 'busybox:latest'], tar)).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const images = await docker(['images']);
  assert.match(images, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+[0-9a-f]{12}\s+.* ago\s+[\d.]+MB\n$/);
  await docker(['tag', 'busybox', 'copy:1']);
  assert.equal((await docker(['image', 'inspect', '-f', '{{.Id}}', 'copy:1'])).trim(), id);
  assert.deepEqual(JSON.parse(await docker(['image', 'inspect', '-f', '{{json .RepoTags}}', 'busybox'])).sort(), ['busybox:latest', 'copy:1']);
  assert.equal(await docker(['rmi', 'copy:1']), 'Untagged: copy:1\n');
  const cfg = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config.Cmd}}', 'busybox']));
  assert.deepEqual(cfg, ['sh']);
});

test('docker run --rm, exit codes and stream separation', { skip }, async () => {
  assert.equal(await docker(['run', '--rm', 'busybox', 'echo', 'Hello from Berth']), 'Hello from Berth\n');
  const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 42']);
  assert.equal(r.code, 42);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const nf = await d.docker(['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(nf.code, 127, nf.stderr);
  assert.match(nf.stderr, /executable file not found in \$PATH/);
  const piped = await d.docker(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'piped\n' });
  assert.equal(piped.stdout, 'piped\n');
  assert.equal(piped.code, 0);
});

test('docker run -d, ps, logs, stop, start, wait, inspect, rm', { skip }, async () => {
  const id = (await docker(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; trap "exit 3" TERM; while :; do sleep 0.1; done'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await docker(['ps']);
  assert.match(ps, new RegExp(`^CONTAINER ID\\s+IMAGE\\s+COMMAND\\s+CREATED\\s+STATUS\\s+PORTS\\s+NAMES\\n${id.slice(0, 12)}\\s+busybox\\s+"sh -c 'echo started…"\\s+.* ago\\s+Up .*\\s+web\\n$`));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await docker(['logs', 'web']), 'started\n');
  // --details: each line after its (here empty) log attributes and a space, as dockerd writes it.
  assert.equal(await docker(['logs', '--details', 'web']), ' started\n');
  assert.match(await docker(['logs', '--details', '-t', 'web']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z  started\n$/);
  assert.equal((await d.berth(['logs', '--details', 'web'])).stdout, ' started\n');
  assert.equal(await docker(['stop', 'web']), 'web\n');
  assert.equal((await docker(['inspect', '-f', '{{.State.ExitCode}}', 'web'])).trim(), '3');
  assert.equal(await docker(['start', 'web']), 'web\n');
  const waiter = d.docker(['wait', 'web']);
  await docker(['kill', '-s', 'TERM', 'web']);
  assert.equal((await waiter).stdout, '3\n');
  const [c] = JSON.parse(await docker(['inspect', 'web']));
  assert.equal(c.Name, '/web');
  assert.equal(c.State.Status, 'exited');
  assert.equal(await docker(['rm', 'web']), 'web\n');
  const missing = await d.docker(['rm', 'web']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error response from daemon: No such container: web\n');
});

test('docker run of a missing image reports it and fails', { skip }, async () => {
  const r = await d.docker(['run', '--rm', '127.0.0.1:1/nosuchimage']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, "Unable to find image '127.0.0.1:1/nosuchimage:latest' locally\ndocker: Error response from daemon: GET http://127.0.0.1:1/v2/nosuchimage/manifests/latest: connection refused\n\nRun 'docker run --help' for more information\n");
});

test('as docker 28 through its CLI: /.dockerenv in every container (not in diff or commit), commit --change on top of the container\'s config, exec failures before the process starts (126 and the reason in the stream), an image others were built on kept from rmi, prune\'s dangling and until filters', { skip }, async () => {
  const id = (await d.docker(['images', '-q', 'busybox'])).stdout.trim();
  if (!id) await docker(['import', '-', 'busybox:latest'], spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout);
  // /.dockerenv, docker's marker (scripts test for it), 0755 and empty; never a change
  await docker(['run', '--name', 'marked', '-e', 'X=1', '-l', 'foo=bar', '-w', '/tmp', 'busybox', 'sh', '-c', 'stat -c "%a %s" /.dockerenv; touch /made']);
  assert.equal(await docker(['logs', 'marked']), '755 0\n');
  assert.equal(await docker(['diff', 'marked']), 'A /made\n');
  // commit's --change goes on top of the container's config (ENV and LABEL added, WORKDIR relative)
  await docker(['commit', '-c', 'ENV B=2', '-c', 'LABEL z=9', '-c', 'WORKDIR rel', 'marked', 'marked:img']);
  assert.equal((await docker(['image', 'inspect', '-f', '{{json .Config.Env}} {{json .Config.Labels}} {{.Config.WorkingDir}}', 'marked:img'])).trim(),
    '["X=1","B=2"] {"foo":"bar","z":"9"} /tmp/rel');
  // an image's events carry its labels (so a label filter finds them), its name after them
  const since = (Date.now() / 1000).toFixed(3);
  await docker(['tag', 'marked:img', 'marked:two']);
  const tagged = await docker(['events', '--since', since, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'type=image', '--filter', 'label=z=9', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.foo}}']);
  assert.equal(tagged, 'tag marked:two bar\n');
  await docker(['rmi', 'marked:two']);
  const bad = await d.docker(['commit', '-c', 'bogus x', 'marked', 'nope:1']);
  assert.match(bad.stderr, /bogus is not a valid change command/);
  // exec failures: the reason reaches the docker CLI as output, then its exit code
  await docker(['run', '-d', '--name', 'execs', 'busybox', 'sleep', '600']);
  const user = await d.docker(['exec', '-u', 'nosuch', 'execs', 'true']);
  assert.equal(user.code, 126);
  assert.match(user.stdout + user.stderr, /unable to find user nosuch: no matching entries in passwd file/);
  assert.doesNotMatch(user.stderr, /Unrecognized input header/);
  const dir = await d.docker(['exec', 'execs', '/etc']);
  assert.equal(dir.code, 126, dir.stdout + dir.stderr);
  assert.equal((await d.docker(['exec', 'execs', '/nonexist'])).code, 127);
  const cwd = await d.docker(['exec', '-w', '/nonexist', 'execs', 'pwd']);
  assert.equal(cwd.code, 127);
  assert.match(cwd.stdout + cwd.stderr, /chdir to cwd \("\/nonexist"\) set in config.json failed: no such file or directory/);
  // top: what ps said first is why it failed
  assert.match((await d.docker(['top', 'execs', '--bogus'])).stderr, /Error response from daemon: ps: error: unknown gnu long option/);
  await docker(['rm', '-f', 'execs', 'marked']);
  // an image another was built on stays, by ID, forced or not (moby's hard conflict)
  const parent = (await docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  for (const force of [[], ['-f']]) {
    const r = await d.docker(['rmi', ...force, parent.slice(7, 19)]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`conflict: unable to delete ${parent.slice(7, 19)} \\(cannot be forced\\) - image has dependent child images`));
  }
  // prune: contradicting dangling values and more than one until refused; Go durations taken
  const both = await d.docker(['image', 'prune', '-f', '--filter', 'dangling=false']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /invalid filter 'dangling=\[(false true|true false)\]'/);
  assert.equal((await d.docker(['image', 'inspect', 'marked:img'])).code, 0, 'nothing was pruned');
  assert.match((await d.docker(['image', 'prune', '-f', '--filter', 'until=1h', '--filter', 'until=2h'])).stderr, /more than one until filter specified/);
  assert.equal((await d.docker(['container', 'prune', '-f', '--filter', 'until=1h30m'])).code, 0);
  await docker(['rmi', 'marked:img']);
});
