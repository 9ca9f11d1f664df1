/**
 * userns-remap: container root is an unprivileged user on the host. berthd creates the
 * `berthremap` user and its subordinate ranges when asked for `default` (the test removes them
 * again if it made them), keeps its state in <data-root>/<uid>.<gid>, stores layers shifted,
 * and shifts them back for commit and export.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, BERTH, NODE } from './harness.ts';

let d: TestDaemon;
let createdUser = false;
let start = 0;

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
}

before(async () => {
  createdUser = !lines('/etc/passwd').some((l) => l.startsWith('berthremap:'));
  d = await TestDaemon.start({ extraArgs: ['--userns-remap', 'default'] });
  await d.importBusybox();
  start = Number(lines('/etc/subuid').find((l) => l.startsWith('berthremap:'))!.split(':')[1]);
});

after(async () => {
  await d?.cleanup();
  if (createdUser) {
    spawnSync('userdel', ['berthremap']);
    spawnSync('groupdel', ['berthremap']);
    for (const f of ['/etc/subuid', '/etc/subgid']) writeFileSync(f, lines(f).filter((l) => !l.startsWith('berthremap:')).join('\n'));
  }
});

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('container root is root inside and an unprivileged user outside; layers are stored shifted', async () => {
  assert.ok(start >= 100000, 'berthremap has a subordinate range');
  const out = await ok(['run', '--name', 'mapped', 'busybox', 'sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "; stat -c %u /bin/busybox; touch /made-here && echo made']);
  assert.equal(out, `0\n 0 ${start} 65536\n0\nmade\n`);
  const info = JSON.parse(await ok(['info', '--format', '{{json .}}'])) as { SecurityOptions: string[]; DockerRootDir: string };
  assert.ok(info.SecurityOptions.includes('name=userns'));
  assert.equal(info.DockerRootDir, join(d.dataRoot, `${start}.${start}`));
  // On the host: the image's files and what the container wrote belong to the mapped range.
  const overlay = join(info.DockerRootDir, 'overlay2');
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'mapped'])).trim();
  assert.equal(statSync(join(overlay, id, 'diff', 'made-here')).uid, start);
  const layer = readdirSync(overlay).find((n) => n !== id && n !== 'l' && existsSync(join(overlay, n, 'diff', 'bin', 'busybox')));
  assert.ok(layer);
  assert.equal(statSync(join(overlay, layer, 'diff', 'bin', 'busybox')).uid, start);
  // Commit and export give the container's view back: root owns it.
  await ok(['commit', 'mapped', 'mapped:1']);
  assert.equal(await ok(['run', '--rm', 'mapped:1', 'stat', '-c', '%u:%g', '/made-here']), '0:0\n');
  const exported = spawnSync('sh', ['-c', `"$NODE" "$BERTH" export mapped | tar -tv | grep " made-here"`], { env: { ...process.env, NODE, BERTH, BERTH_HOST: d.host }, encoding: 'utf8' });
  assert.match(exported.stdout, /0\/0 .* made-here/);
  assert.equal((await ok(['exec', (await ok(['run', '-d', 'busybox', 'sleep', '60'])).trim(), 'id', '-u'])), '0\n', 'exec joins the user namespace');
  assert.equal((await d.docker(['run', '--rm', 'busybox', 'id', '-u'])).stdout, '0\n');
});

test('what a user namespace cannot share is refused as moby refuses it; --userns=host runs unmapped', async () => {
  const cases: [string[], RegExp][] = [
    [['--privileged'], /privileged mode is incompatible with user namespaces. {2}You must run the container in the host namespace when running privileged mode/],
    [['--network', 'host'], /cannot share the host's network namespace when user namespaces are enabled/],
    [['--pid', 'host'], /cannot share the host PID namespace when user namespaces are enabled/],
  ];
  for (const [opts, message] of cases) {
    const r = await d.berth(['run', '--rm', ...opts, 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, message);
  }
  assert.equal(await ok(['run', '--rm', '--userns', 'host', '--privileged', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " "']), ' 0 0 4294967295\n');
  // The same through the docker CLI: its refusals, and --userns=host lifting them.
  for (const [opts, message] of cases) {
    const r = await d.docker(['run', '--rm', ...opts, 'busybox', 'true']);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, message);
  }
  const viaDocker = await d.docker(['run', '--rm', '--userns=host', '--network', 'host', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map | tr -s " "; touch /made && stat -c %u /made']);
  assert.equal(viaDocker.stdout, ' 0 0 4294967295\n0\n', viaDocker.stderr);
  assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.UsernsMode}}', (await d.docker(['create', '--userns=host', 'busybox'])).stdout.trim()])).stdout, 'host\n');
});

test('volumes under userns-remap: named, pre-filled from the image and anonymous ones belong to the mapped root; binds keep host owners', async () => {
  const inside = await ok(['run', '--rm', '-v', 'remapped:/data', '-v', 'filled:/bin', '-v', '/anon', 'busybox', 'sh', '-c', 'touch /data/f /anon/g && stat -c %u /data/f /anon/g /bin/busybox /data /anon']);
  assert.equal(inside, '0\n0\n0\n0\n0\n');
  const mp = (name: string) => ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', name]).then((s) => s.trim());
  const remapped = await mp('remapped');
  assert.ok(remapped.startsWith(join(d.dataRoot, `${start}.${start}`, 'volumes')), remapped);
  assert.equal(statSync(join(remapped, 'f')).uid, start);
  assert.equal(statSync(remapped).uid, start);
  assert.equal(statSync(join(await mp('filled'), 'busybox')).uid, start, 'copied up from the image with the image\'s (shifted) owner');
  assert.equal(await ok(['run', '--rm', '-v', 'remapped:/data', 'busybox', 'sh', '-c', 'echo more >> /data/f && cat /data/f']), 'more\n', 'a second container writes to it too');
  // A bind mount is the host's directory as it is: root-owned is nobody's inside (read, not write).
  const host = join(d.root, 'bind-root');
  spawnSync('mkdir', ['-p', host]);
  writeFileSync(join(host, 'r'), 'hostfile\n');
  const bind = await d.berth(['run', '--rm', '-v', `${host}:/h`, 'busybox', 'sh', '-c', 'cat /h/r; stat -c %u /h/r; touch /h/w']);
  assert.notEqual(bind.code, 0);
  assert.equal(bind.stdout, 'hostfile\n65534\n');
  assert.match(bind.stderr, /Permission denied/);
  spawnSync('chown', [`${start}:${start}`, host]);
  assert.equal(await ok(['run', '--rm', '-v', `${host}:/h`, 'busybox', 'sh', '-c', 'touch /h/w && stat -c %u /h/w']), '0\n');
  assert.equal(statSync(join(host, 'w')).uid, start);
  await ok(['volume', 'prune', '-af']);
});
