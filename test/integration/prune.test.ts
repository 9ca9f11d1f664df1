/**
 * Listing filters, dangling images, prune (images, containers, system) and `system df`, as
 * docker computes and prints them, through berth and the docker CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TestDaemon, DOCKER, ROOT } from './harness.ts';

let d: TestDaemon;
let rootfs: Buffer;

before(async () => {
  d = await TestDaemon.start();
  rootfs = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

async function ok(args: string[], input?: string | Buffer): Promise<string> {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function docker(args: string[], input?: string) {
  return spawnSync(DOCKER, args, { encoding: 'utf8', input, env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
}

test('a tag moved to a new image leaves the old one dangling; filters dangling, before, since, label, reference', async () => {
  const old = (await ok(['import', '-c', 'LABEL tier=old', '-', 'app:1'], rootfs)).trim();
  await new Promise((r) => setTimeout(r, 1100));
  const next = (await ok(['import', '-c', 'LABEL tier=new', '-m', 'second', '-', 'app:1'], Buffer.concat([rootfs]))).trim();
  assert.notEqual(old, next);
  const dangling = await ok(['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
  assert.ok(dangling.includes(`${old.slice(7, 19)} <none>:<none>`), dangling);
  assert.equal(await ok(['images', '-q', '--filter', 'label=tier=new']), `${next.slice(7, 19)}\n`);
  assert.equal(await ok(['images', '-q', '--filter', `before=${next.slice(7, 19)}`, '--filter', 'label=tier']), `${old.slice(7, 19)}\n`);
  assert.equal(await ok(['images', '-q', '--filter', `since=${old.slice(7, 19)}`, '--filter', 'label=tier']), `${next.slice(7, 19)}\n`);
  assert.equal(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}', 'app']), 'app:1\n');
  assert.equal(await ok(['images', '--format', '{{.Repository}}', '--filter', 'reference=a*']), 'app\n');
  const bad = await d.berth(['images', '--filter', 'color=red']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'color'/);
});

test('image prune removes dangling images only (-a: every unused one), reporting space; the docker CLI agrees', async () => {
  const out = await ok(['image', 'prune', '-f']);
  assert.match(out, /^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n/);
  assert.match(out, /\nTotal reclaimed space: \S+\n$/);
  assert.equal(await ok(['images', '-q', '--filter', 'dangling=true']), '');
  assert.match(await ok(['images', '--format', '{{.Repository}}']), /app/, 'tagged images stay');
  // Declining the prompt changes nothing.
  await ok(['tag', 'busybox', 'keep:1']);
  const declined = await ok(['image', 'prune', '-a'], 'n\n');
  assert.match(declined, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure you want to continue\? \[y\/N\] $/);
  assert.match(await ok(['images']), /keep/);
  // An image a container uses survives -a.
  await ok(['create', '--name', 'user', 'keep:1', 'true']);
  const r = docker(['image', 'prune', '-a', '-f']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /untagged: app:1/);
  assert.match(r.stdout, /Total reclaimed space:/);
  const left = await ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.match(left, /keep:1/);
  assert.doesNotMatch(left, /app:1/);
  await ok(['rm', 'user']);
});

test('container prune removes stopped containers only; label and until filters', async () => {
  await ok(['run', '--name', 'done1', '-l', 'team=a', 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /blob']);
  await ok(['run', '--name', 'done2', '-l', 'team=b', 'busybox', 'true']);
  await ok(['run', '-d', '--name', 'alive', 'busybox', 'sleep', '60']);
  const byLabel = await ok(['container', 'prune', '-f', '--filter', 'label=team=a']);
  const id1 = (await d.berth(['inspect', '-f', '{{.Id}}', 'done1'])).stdout.trim();
  assert.equal(id1, '', 'done1 is gone');
  assert.match(byLabel, /^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 30\dkB\n$/);
  assert.equal(await ok(['container', 'prune', '-f', '--filter', 'until=2000-01-01T00:00:00Z']), 'Total reclaimed space: 0B\n');
  const all = await ok(['container', 'prune', '-f']);
  assert.match(all, /^Deleted Containers:\n[0-9a-f]{64}\n\n/);
  const names = await ok(['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(names, 'alive\n');
  await ok(['rm', '-f', 'alive']);
});

test('system df counts shared layers once and containers\' own layers; -v and --format; docker system df', async () => {
  await ok(['tag', 'busybox', 'same:1']);
  await ok(['run', '--name', 'writer', 'busybox', 'sh', '-c', 'head -c 200000 /dev/zero > /data']);
  const out = await ok(['system', 'df']);
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0], /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  assert.match(lines[1], /^Images\s+1\s+1\s+1\.\d+MB\s+0B \(0%\)$/, 'one image (three tags), used by a container: nothing reclaimable');
  assert.match(lines[2], /^Containers\s+1\s+0\s+200kB\s+200kB \(100%\)$/);
  assert.match(lines[3], /^Local Volumes\s+0\s+0\s+0B\s+0B$/);
  assert.match(lines[4], /^Build Cache\s+0\s+0\s+0B\s+0B$/);
  const v = await ok(['system', 'df', '-v']);
  assert.match(v, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\n/);
  assert.match(v, /Containers space usage:\n\nCONTAINER ID\s+IMAGE\s+COMMAND\s+LOCAL VOLUMES\s+SIZE\s+CREATED\s+STATUS\s+NAMES\n[0-9a-f]{12}\s+busybox\s+"sh -c 'head -c 2000…"\s+0\s+200kB/);
  assert.equal(await ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']), 'Images=1\nContainers=1\nLocal Volumes=0\nBuild Cache=0\n');
  const r = docker(['system', 'df']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Images\s+1\s+1\s/m);
  assert.match(r.stdout, /^Containers\s+1\s+0\s+200kB/m);
});

test('system prune: stopped containers, dangling images (-a: unused ones), space reclaimed', async () => {
  const out = await ok(['system', 'prune', '-f']);
  assert.match(out, /^Deleted Containers:\n[0-9a-f]{64}\n\n/);
  assert.match(out, /Total reclaimed space: 200kB\n$/);
  assert.equal(await ok(['ps', '-aq']), '');
  const prompt = await ok(['system', 'prune', '-a'], 'no\n');
  assert.equal(prompt, 'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue? [y/N] ');
  const r = docker(['system', 'prune', '-a', '-f']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /untagged: busybox:latest/);
  assert.equal(await ok(['images', '-q']), '');
  await d.importBusybox();
});

test('--format on listings and version: docker\'s JSON (sorted keys, escaped <>), Go field names, tables', async () => {
  const json = (await ok(['images', '--format', 'json'])).trim().split('\n')[0];
  const keys = Object.keys(JSON.parse(json) as Record<string, unknown>);
  assert.deepEqual(keys, [...keys].sort(), 'keys sorted as Go marshals a map');
  assert.match(json, /"CreatedAt":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC"/);
  await ok(['import', '-', 'dangler:1'], rootfs);
  await ok(['import', '-', 'dangler:1'], rootfs);
  assert.match(await ok(['images', '--format', 'json', '--filter', 'dangling=true']), /"Repository":"\\u003cnone\\u003e"/);
  assert.equal((await ok(['version', '--format', '{{.Client.APIVersion}} {{.Server.APIVersion}}'])).trim(), '1.50 1.50');
  const table = await ok(['images', '--format', 'table {{.Repository}}\t{{.Tag}}', 'dangler']);
  assert.match(table, /^REPOSITORY\s+TAG\ndangler\s+1\n$/);
  await ok(['image', 'prune', '-f']);
  await ok(['rmi', 'dangler:1']);
});

test('prune racing with run: a container never ends up on a deleted image', async () => {
  for (let i = 0; i < 4; i++) {
    await ok(['import', '-', `racy:${i}`], rootfs);
    const [run, prune] = await Promise.all([d.berth(['create', '--pull', 'never', '--name', `racer${i}`, `racy:${i}`, 'true']), d.berth(['image', 'prune', '-a', '-f'])]);
    assert.equal(prune.code, 0, prune.stderr);
    if (run.code === 0) {
      const img = (await ok(['inspect', '-f', '{{.Image}}', `racer${i}`])).trim();
      assert.equal((await d.berth(['image', 'inspect', img])).code, 0, `container racer${i} points at a deleted image`);
      await ok(['rm', `racer${i}`]);
    } else {
      assert.match(run.stderr, /No such image: racy:/);
    }
  }
  await ok(['image', 'prune', '-a', '-f']);
  await d.importBusybox();
});

test('listings print exactly what the docker CLI prints against the same daemon', async () => {
  await ok(['run', '--name', 'lister', 'busybox', 'sh', '-c', 'echo x > /y']);
  for (const args of [['images'], ['images', '--digests'], ['images', '--format', 'json'], ['history', 'busybox'], ['history', '-H=false', '--no-trunc', 'busybox'], ['ps', '-a'], ['ps', '-a', '--format', 'json'], ['system', 'df'], ['system', 'df', '-v']]) {
    const ours = await ok(args);
    const theirs = docker(args);
    assert.equal(theirs.status, 0, theirs.stderr);
    // Relative times may tick between the two runs.
    const norm = (t: string) => t.replace(/(Less than a second|About a minute|\d+ seconds?|\d+ minutes?) ago/g, 'A WHILE ago').replace(/ {2,}/g, '  ');
    assert.equal(norm(ours), norm(theirs.stdout), `berth ${args.join(' ')}`);
  }
  await ok(['rm', 'lister']);
});
