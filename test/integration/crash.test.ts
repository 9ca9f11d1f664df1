/**
 * Crashes: berthd is killed (SIGKILL, through BERTH_FAILPOINT at a named step of its work) in
 * the middle of each multi-step operation; the client must see a failure, and the next berthd
 * must start, agree with its data root (nothing mounted, running, stored or unpacked that no
 * record explains) and let the operation succeed when retried. Then killed monitors, corrupt
 * records, a second daemon on the same data root, and blobs damaged on disk.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, truncateSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { TestDaemon, cgroupDirs, mountsUnder, NODE, BERTH } from './harness.ts';
import { startBerthRegistry, type RunningRegistry } from './registries.ts';

let d: TestDaemon;
let reg: RunningRegistry & { log(): string };
let dir: string;

before(async () => {
  dir = mkdtempSync('/tmp/bt-crash-');
  d = await TestDaemon.start();
  await d.importBusybox();
  reg = await startBerthRegistry();
  await ok(['tag', 'busybox', `${reg.host}/crash/busybox:1`]);
  await ok(['push', `${reg.host}/crash/busybox:1`]);
  await ok(['rmi', `${reg.host}/crash/busybox:1`]);
});

after(async () => {
  await d?.cleanup();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[], input?: Buffer): Promise<string> {
  const r = await d.berth(args, input ? { input } : {});
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `args` against a berthd that kills itself at `point`; returns the CLI's result. */
async function crashAt(point: string, args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  await d.stopDaemon();
  d.setEnv({ BERTH_FAILPOINT: point });
  await d.startDaemon();
  const r = await d.berth(args, input ? { input } : {});
  assert.ok(await d.exited(), `berthd reached the failpoint ${point}`);
  d.setEnv({});
  await d.startDaemon();
  return r;
}

function hasBridge(name: string): boolean {
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' }).status === 0;
}

/** The br-* bridges on the host (where user-defined networks of every daemon live). */
function bridgesNow(): string[] {
  return spawnSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).filter((n): n is string => !!n && n.startsWith('br-'));
}

/** Berth's firewall rules tagged with `bridge`. */
function rulesOf(bridge: string): string[] {
  return [['nat', 'BERTH-POSTROUTING'], ['filter', 'BERTH-FORWARD'], ['nat', 'BERTH-DNAT'], ['filter', 'BERTH-ISOLATION-1'], ['filter', 'BERTH-ISOLATION-2']].flatMap(([t, c]) =>
    spawnSync('iptables', ['-w', '-t', t, '-S', c], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`berth:${bridge}`) || l.includes(`berth-port:${bridge}:`)));
}

/** Runs `berth args`, kills berthd `delay` ms later, starts it again and checks it agrees with itself. */
async function killedAfter(delay: number, args: string[]): Promise<void> {
  const cli = spawn(NODE, [BERTH, ...args], { env: { ...process.env, BERTH_HOST: d.host }, stdio: 'ignore' });
  // Listened for at once: a command that finishes before the kill closes before it.
  const closed = new Promise((r) => cli.on('close', r));
  await new Promise((r) => setTimeout(r, delay));
  await d.stopDaemon('SIGKILL');
  await closed;
  await d.startDaemon();
  await consistent();
}

/** A running `sleep 300` container: its ID, its process and its monitor's. */
async function sleeper(name: string): Promise<{ id: string; pid: number; shimPid: number }> {
  await ok(['run', '-d', '--name', name, 'busybox', 'sleep', '300']);
  const id = (await ok(['inspect', '-f', '{{.Id}}', name])).trim();
  const pid = Number((await ok(['inspect', '-f', '{{.State.Pid}}', name])).trim());
  return { id, pid, shimPid: Number(readFileSync(join(d.execRoot, 'c', id, 'shim.pid'), 'utf8')) };
}

function sha256hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The data root agrees with the records: nothing stored, mounted or running that none explains. */
async function consistent(): Promise<void> {
  const ids = (await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean);
  const running = (await ok(['ps', '-q', '--no-trunc'])).split('\n').filter(Boolean);
  const overlay = join(d.dataRoot, 'overlay2');
  const layerDir = join(d.dataRoot, 'layerdb', 'sha256');
  const layerRecs = readdirSync(layerDir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(layerDir, n), 'utf8')) as { chainId: string; cacheId: string });
  const owned = new Set([...ids, ...layerRecs.map((l) => l.cacheId), 'l']);
  const dirs = readdirSync(overlay);
  assert.deepEqual(dirs.filter((n) => !owned.has(n)), [], 'overlay directories no record owns');
  for (const l of layerRecs) assert.ok(existsSync(join(overlay, l.cacheId, 'diff')), `layer ${l.cacheId} has its directory`);
  for (const short of readdirSync(join(overlay, 'l'))) assert.ok(existsSync(join(overlay, 'l', short)), `the layer link l/${short} leads somewhere`);
  const mounts = await mountsUnder(d.dataRoot);
  assert.deepEqual(mounts.filter((m) => !running.some((id) => m === join(overlay, id, 'merged'))), [], 'mounts of no running container');
  const monitors = existsSync(join(d.execRoot, 'c')) ? readdirSync(join(d.execRoot, 'c')) : [];
  assert.deepEqual(monitors.filter((id) => !running.includes(id)), [], 'monitors of no running container');
  // Nor cgroups, runtime state or shim processes of a container that is not running.
  const cgroups = cgroupDirs(d.cgroupParent).flatMap((p) => readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
  assert.deepEqual([...new Set(cgroups)].filter((id) => !running.includes(id)), [], 'cgroups of no running container');
  for (const rt of ['crun', 'runc']) {
    const state = join(d.execRoot, 'runtime', rt);
    assert.deepEqual((existsSync(state) ? readdirSync(state) : []).filter((id) => !running.includes(id)), [], `${rt} state of no running container`);
  }
  const shims = spawnSync('pgrep', ['-af', 'berth-shim'], { encoding: 'utf8' }).stdout.split('\n')
    .filter((l) => l.includes(`${d.execRoot}/`) && !l.includes('--exec-process')).map((l) => /--id (\S+)/.exec(l)?.[1] ?? l);
  assert.deepEqual(shims.filter((id) => !running.includes(id)), [], 'shim processes of no running container');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'ingest')), [], 'nothing half-ingested');
  // Every layer and blob is some image's: what an operation cut short stored was collected at
  // start. An image needs its config, its manifest, each layer's chain, and each layer's blob:
  // its manifest's, or (for a layer a pull found unpacked already) another stored copy.
  const recDir = join(d.dataRoot, 'image', 'images');
  const records = readdirSync(recDir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(recDir, n), 'utf8')) as { id: string; manifest?: string });
  const images = (await ok(['images', '-aq', '--no-trunc'])).split('\n').filter(Boolean);
  assert.deepEqual(records.map((r) => r.id).sort(), [...new Set(images)].sort(), 'image records and the image list agree');
  const blobFile = (digest: string) => join(d.dataRoot, 'blobs', ...digest.split(':'));
  const blobs = new Set(['sha256', 'sha512'].flatMap((alg) => (existsSync(join(d.dataRoot, 'blobs', alg)) ? readdirSync(join(d.dataRoot, 'blobs', alg)) : []).map((h) => `${alg}:${h}`)));
  for (const r of records) assert.ok(blobs.has(r.id), `the config of ${r.id} is stored`);
  const manifests = new Map(records.map((r) => [r.id, r.manifest && existsSync(blobFile(r.manifest)) ? (JSON.parse(readFileSync(blobFile(r.manifest), 'utf8')) as { layers: { digest: string }[] }).layers : []]));
  const configs = new Map(records.map((r) => [r.id, (JSON.parse(readFileSync(blobFile(r.id), 'utf8')) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids]));
  // Stored copies of each layer, by diffID: its uncompressed tar, and every manifest's blob of it.
  const copies = new Map<string, string[]>();
  for (const r of records) {
    const diffIds = configs.get(r.id)!;
    const layers = manifests.get(r.id)!;
    diffIds.forEach((diffId, i) => {
      const list = copies.get(diffId) ?? [];
      for (const c of [diffId, layers.length === diffIds.length ? layers[i].digest : undefined]) if (c && blobs.has(c) && !list.includes(c)) list.push(c);
      copies.set(diffId, list);
    });
  }
  const needed = new Set<string>();
  const standIns: string[][] = [];
  const chains = new Set<string>();
  for (const r of records) {
    needed.add(r.id);
    if (r.manifest) needed.add(r.manifest);
    const diffIds = configs.get(r.id)!;
    const layers = manifests.get(r.id)!;
    let chain = '';
    diffIds.forEach((diffId, i) => {
      chain = chain ? `sha256:${sha256hex(`${chain} ${diffId}`)}` : diffId;
      chains.add(chain);
      const own = layers.length === diffIds.length ? layers[i].digest : undefined;
      if (own && blobs.has(own)) needed.add(own);
      else if (copies.get(diffId)?.length) standIns.push(copies.get(diffId)!);
    });
  }
  // A layer without its own blob keeps exactly one other copy (whichever collection found first).
  for (const set of standIns) if (!set.some((b) => needed.has(b))) needed.add(set[0]);
  assert.deepEqual([...blobs].filter((b) => !needed.has(b)), [], 'blobs no image needs');
  assert.deepEqual(layerRecs.map((l) => l.chainId).filter((c) => !chains.has(c)), [], 'layers no image needs');
  // system df counts what the lists show.
  const df = new Map((await ok(['system', 'df', '--format', '{{.Type}}\t{{.TotalCount}}\t{{.Active}}'])).trim().split('\n').map((l) => {
    const [type, total, active] = l.split('\t');
    return [type, { total: Number(total), active: Number(active) }] as const;
  }));
  assert.equal(df.get('Images')?.total, new Set(images).size, 'system df: images');
  assert.equal(df.get('Containers')?.total, ids.length, 'system df: containers');
  assert.equal(df.get('Containers')?.active, running.length, 'system df: running containers');
  const volumes = (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);
  assert.equal(df.get('Local Volumes')?.total, volumes.length, 'system df: volumes');
}

test('container operations cut short: create, start (run -d), stop, rm — the client sees the failure, the next berthd cleans up, a retry works', async () => {
  const create = await crashAt('create-before-record', ['create', '--name', 'c1', 'busybox', 'true']);
  assert.notEqual(create.code, 0, 'create reports the failure');
  await consistent();
  await ok(['create', '--name', 'c1', 'busybox', 'true']);

  for (const point of ['start-before-run', 'start-before-record']) {
    const run = await crashAt(point, ['run', '-d', '--name', `r-${point}`, 'busybox', 'sleep', '300']);
    assert.notEqual(run.code, 0, `run -d reports the failure (${point})`);
    assert.match(run.stderr, /unexpected EOF|Cannot connect|closed the connection/);
    await consistent();
    const state = (await ok(['inspect', '-f', '{{.State.Status}}', `r-${point}`])).trim();
    assert.equal(state, 'created', 'the start was rolled back');
    await ok(['start', `r-${point}`]);
    assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', `r-${point}`])).trim(), 'true');
    await ok(['rm', '-f', `r-${point}`]);
    await consistent();
  }

  // The stop's signal went out before the crash: the exit it caused is recorded after it.
  await ok(['run', '-d', '--name', 's1', '-v', '/anon', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
  const anon = (await ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 's1'])).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  const stop = await crashAt('stop-after-signal', ['stop', 's1']);
  assert.notEqual(stop.code, 0, 'stop reports the failure');
  await consistent();
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 's1'])).trim(), 'exited 0');

  const rm = await crashAt('rm-after-record', ['rm', '-v', 's1']);
  assert.notEqual(rm.code, 0, 'rm reports the failure');
  await consistent();
  assert.notEqual((await d.berth(['inspect', 's1'])).code, 0, 'the half-removed container is gone');
  assert.ok(!(await ok(['volume', 'ls', '-q'])).includes(anon), 'and so is the anonymous volume rm -v was removing');
  await ok(['rm', 'c1']);
  await consistent();
});

test('image operations cut short: pull, load, import, commit, save, push, prune — failures reported, nothing stranded, retries work', async () => {
  const name = `${reg.host}/crash/busybox:1`;
  const pull = await crashAt('pull-before-image', ['pull', name]);
  assert.notEqual(pull.code, 0, `pull reports the failure: ${pull.stdout}`);
  await consistent();
  await ok(['pull', name]);

  const archive = join(dir, 'bb.tar');
  await ok(['save', '-o', archive, name]);
  await ok(['rmi', name]);
  const load = await crashAt('load-before-image', ['load', '-i', archive]);
  assert.notEqual(load.code, 0, 'load reports the failure');
  await consistent();
  await ok(['load', '-i', archive]);

  const rootfs = spawnSync('sh', [join(process.cwd(), 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  const imp = await crashAt('import-after-blob', ['import', '-', 'imported:1'], rootfs);
  assert.notEqual(imp.code, 0, 'import reports the failure');
  await consistent();
  await ok(['import', '-', 'imported:1'], rootfs);

  await ok(['run', '--name', 'comm', 'busybox', 'sh', '-c', 'echo x > /x']);
  const commit = await crashAt('commit-before-image', ['commit', 'comm', 'committed:1']);
  assert.notEqual(commit.code, 0, 'commit reports the failure');
  await consistent();
  await ok(['commit', 'comm', 'committed:1']);
  await ok(['rm', 'comm']);

  const out = join(dir, 'saved.tar');
  const save = await crashAt('save-after-blob', ['save', '-o', out, 'committed:1']);
  assert.notEqual(save.code, 0, 'save reports the failure');
  assert.ok(!existsSync(out), 'no partial archive is left');
  assert.ok(!readdirSync(dir).some((n) => n.includes('saved.tar')), 'nor its temporary file');

  await ok(['tag', 'committed:1', `${reg.host}/crash/committed:1`]);
  const push = await crashAt('push-before-manifest', ['push', `${reg.host}/crash/committed:1`]);
  assert.notEqual(push.code, 0, 'push reports the failure');
  await consistent();
  await ok(['push', `${reg.host}/crash/committed:1`]);

  await ok(['rmi', 'imported:1', 'committed:1', `${reg.host}/crash/committed:1`]);
  // Two images no container uses: the prune dies after the first.
  await ok(['import', '-c', 'CMD ["one"]', '-', 'p1:1'], rootfs);
  await ok(['import', '-c', 'CMD ["two"]', '-', 'p2:1'], rootfs);
  const prune = await crashAt('prune-after-first', ['image', 'prune', '-a', '-f']);
  assert.notEqual(prune.code, 0, 'image prune reports the failure');
  await consistent();
});

test('every image operation killed at each layer step (directory committed, record written) and push after compressing: cleaned up, retried', async () => {
  let n = 0;
  // An image whose top layer nothing else has: busybox plus a file of its own.
  const unique = async (tag: string): Promise<string> => {
    const c = `u${++n}`;
    await ok(['run', '--name', c, 'busybox', 'sh', '-c', `echo ${c}-${Date.now()} > /u`]);
    await ok(['commit', c, tag]);
    await ok(['rm', c]);
    return (await ok(['run', '--rm', tag, 'cat', '/u'])).trim();
  };
  for (const point of ['layer-after-dir', 'layer-after-record']) {
    const pulled = `${reg.host}/crash/steps:${point}`;
    const mark = await unique(pulled);
    await ok(['push', pulled]);
    await ok(['rmi', pulled]);
    assert.notEqual((await crashAt(point, ['pull', pulled])).code, 0, `pull killed at ${point} reports the failure`);
    await consistent();
    await ok(['pull', pulled]);
    assert.equal((await ok(['run', '--rm', pulled, 'cat', '/u'])).trim(), mark, `pull retried after ${point}`);

    const archive = join(dir, `steps-${point}.tar`);
    await ok(['save', '-o', archive, pulled]);
    await ok(['rmi', pulled]);
    assert.notEqual((await crashAt(point, ['load', '-i', archive])).code, 0, `load killed at ${point} reports the failure`);
    await consistent();
    await ok(['load', '-i', archive]);
    assert.equal((await ok(['run', '--rm', pulled, 'cat', '/u'])).trim(), mark, `load retried after ${point}`);
    await ok(['rmi', pulled]);

    const tree = join(dir, `tree-${point}`);
    spawnSync('mkdir', ['-p', tree]);
    writeFileSync(join(tree, 'only'), `${point}\n`);
    const tarball = spawnSync('tar', ['-C', tree, '-c', '.'], { maxBuffer: 1 << 20 }).stdout;
    assert.notEqual((await crashAt(point, ['import', '-', `imported:${point}`], tarball)).code, 0, `import killed at ${point} reports the failure`);
    await consistent();
    await ok(['import', '-', `imported:${point}`], tarball);
    const exported = spawnSync('sh', ['-c', `"$NODE" "$BERTH" create imported:${point} x > /dev/null && "$NODE" "$BERTH" ps -aq | head -1`], { env: { ...process.env, NODE, BERTH, BERTH_HOST: d.host }, encoding: 'utf8' }).stdout.trim();
    assert.equal((await ok(['cp', `${exported}:/only`, '-'])).includes(point), true, `import retried after ${point}`);
    await ok(['rm', exported]);
    await ok(['rmi', `imported:${point}`]);

    await ok(['run', '--name', 'steps', 'busybox', 'sh', '-c', `echo ${point} > /x`]);
    assert.notEqual((await crashAt(point, ['commit', 'steps', 'stepped:1'])).code, 0, `commit killed at ${point} reports the failure`);
    await consistent();
    await ok(['commit', 'steps', 'stepped:1']);
    assert.equal(await ok(['run', '--rm', 'stepped:1', 'cat', '/x']), `${point}\n`, `commit retried after ${point}`);
    await ok(['rm', 'steps']);
    await ok(['rmi', 'stepped:1']);
    await consistent();
  }
  // push of a committed image stores compressed copies of its layers first.
  await ok(['run', '--name', 'steps', 'busybox', 'sh', '-c', 'echo p > /p']);
  await ok(['commit', 'steps', `${reg.host}/crash/stepped:3`]);
  await ok(['rm', 'steps']);
  const push = await crashAt('push-after-compress', ['push', `${reg.host}/crash/stepped:3`]);
  assert.notEqual(push.code, 0, 'push reports the failure');
  await consistent();
  await ok(['push', `${reg.host}/crash/stepped:3`]);
  await ok(['rmi', `${reg.host}/crash/stepped:3`]);
  // rm -v killed after the container's layer went: the rest goes at the next start.
  await ok(['run', '-d', '--name', 'steps-v', '-v', '/anon', 'busybox', 'sleep', '300']);
  const anon = (await ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'steps-v'])).trim();
  const rm = await crashAt('rm-after-layer', ['rm', '-f', '-v', 'steps-v']);
  assert.notEqual(rm.code, 0, 'rm reports the failure');
  await consistent();
  assert.notEqual((await d.berth(['inspect', 'steps-v'])).code, 0, 'the container is gone');
  assert.ok(!(await ok(['volume', 'ls', '-q'])).includes(anon), 'and its anonymous volume');
  await consistent();
});

test('logs -f through a daemon that dies reports the failure', async () => {
  await ok(['run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'while :; do echo tick; sleep 0.2; done']);
  const logs = spawn(NODE, [BERTH, 'logs', '-f', 'talker'], { env: { ...process.env, BERTH_HOST: d.host } });
  let seen = '';
  logs.stdout.on('data', (c: Buffer) => (seen += c.toString()));
  const code = new Promise<number>((r) => logs.on('close', (c) => r(c ?? -1)));
  for (let i = 0; i < 50 && !seen.includes('tick'); i++) await new Promise((r) => setTimeout(r, 100));
  await d.stopDaemon('SIGKILL');
  assert.notEqual(await code, 0, 'logs -f exits with an error when the daemon dies');
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'talker'])).trim(), 'true', 'the container lived on');
  await ok(['rm', '-f', 'talker']);
  await consistent();
});

test('a killed monitor takes its container down, unmounts it and says so; restart policies apply after a restart', async () => {
  const { id, pid, shimPid } = await sleeper('orphan');
  process.kill(shimPid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    if ((await ok(['inspect', '-f', '{{.State.Running}}', 'orphan'])).trim() === 'false') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await ok(['inspect', '-f', '{{.State.ExitCode}} {{.State.Error}}', 'orphan'])).trim(), '255 the container monitor (berth-shim) died unexpectedly; the container was stopped');
  assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 'the container\'s process is gone');
  assert.deepEqual(await mountsUnder(join(d.dataRoot, 'overlay2', id)), [], 'its root is unmounted');
  await ok(['start', 'orphan']);
  await ok(['rm', '-f', 'orphan']);

  // Containers that exited while berthd was down restart by their policies when it is back.
  for (const policy of ['always', 'unless-stopped', 'on-failure']) await ok(['run', '-d', '--name', `p-${policy}`, '--restart', policy, 'busybox', 'sh', '-c', 'sleep 1; exit 3']);
  await ok(['run', '-d', '--name', 'p-no', 'busybox', 'sh', '-c', 'sleep 1; exit 3']);
  await d.stopDaemon('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  await d.startDaemon();
  for (const policy of ['always', 'unless-stopped', 'on-failure']) {
    let count = 0;
    for (let i = 0; i < 50 && count === 0; i++) {
      count = Number((await ok(['inspect', '-f', '{{.RestartCount}}', `p-${policy}`])).trim());
      if (!count) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(count >= 1, `${policy}: restarted after berthd came back`);
  }
  assert.equal((await ok(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'p-no'])).trim(), '0 exited');
  await ok(['rm', '-f', 'p-always', 'p-unless-stopped', 'p-on-failure', 'p-no']);
  await consistent();
});

test('rm -f while a start is under way: the start finishes, then the container is killed and removed; nothing is left', async () => {
  await d.stopDaemon();
  d.setEnv({ BERTH_FAILPOINT: 'start-slow=delay:1500' });
  await d.startDaemon();
  try {
    // A user's start, and a restart policy's, each caught half done by rm -f.
    await ok(['create', '--name', 'slowstart', 'busybox', 'sleep', '300']);
    const start = d.berth(['start', 'slowstart']);
    await new Promise((r) => setTimeout(r, 500));
    await ok(['rm', '-f', 'slowstart']);
    await start;
    await ok(['run', '-d', '--name', 'slowpolicy', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 3']);
    for (let i = 0; i < 100; i++) {
      if ((await ok(['inspect', '-f', '{{.State.Status}}', 'slowpolicy'])).trim() !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The policy's restart is past its back-off and inside its slow start by now.
    await new Promise((r) => setTimeout(r, 700));
    await ok(['rm', '-f', 'slowpolicy']);
    assert.equal((await ok(['ps', '-aq'])).trim(), '');
  } finally {
    await d.stopDaemon();
    d.setEnv({});
    await d.startDaemon();
  }
  await consistent();
});

test('a monitor killed while berthd is down: the next start stops the container, unmounts it, says why; start and rm work', async () => {
  const { id, pid, shimPid } = await sleeper('downshim');
  await d.stopDaemon('SIGKILL');
  process.kill(shimPid, 'SIGKILL');
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'downshim'])).trim(), 'exited 255 the container monitor (berth-shim) died unexpectedly; the container was stopped');
  assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z', 'the container\'s process is gone');
  assert.deepEqual(await mountsUnder(join(d.dataRoot, 'overlay2', id)), [], 'its root is unmounted');
  await consistent();
  await ok(['start', 'downshim']);
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}}', 'downshim'])).trim(), 'true');
  await ok(['rm', '-f', 'downshim']);
  await consistent();
});

test('the record of a running container set aside: the container is left running, untouched, and picked up again once the record is back', async () => {
  const { id, pid } = await sleeper('runbroken');
  const record = join(d.dataRoot, 'containers', id, 'config.v2.json');
  const original = readFileSync(record);
  await d.stopDaemon('SIGKILL');
  truncateSync(record, 30);
  await d.startDaemon();
  assert.match((await ok(['info', '--format', '{{json .Warnings}}'])).trim(), new RegExp(`the record of container ${id} is unreadable`));
  assert.equal((await d.berth(['inspect', 'runbroken'])).code, 1, 'left out of the lists');
  assert.ok(existsSync(`/proc/${pid}`), 'its process still runs');
  assert.deepEqual(await mountsUnder(join(d.dataRoot, 'overlay2', id)), [join(d.dataRoot, 'overlay2', id, 'merged')], 'still mounted');
  // The user puts the record back (as the warning says): the container is picked up, running.
  await d.stopDaemon();
  for (const f of readdirSync(join(d.dataRoot, 'containers', id))) if (f.startsWith('config.v2.json.corrupt-')) rmSync(join(d.dataRoot, 'containers', id, f));
  writeFileSync(record, original);
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'runbroken'])).trim(), `true ${pid}`);
  assert.equal((await ok(['exec', 'runbroken', 'echo', 'alive'])).trim(), 'alive');
  await ok(['rm', '-f', 'runbroken']);
  await consistent();
});

test('push of an imported image, then rmi: nothing of it stays, with no restart to collect it', async () => {
  await ok(['import', '-', `${reg.host}/leaky:1`], spawnSync('sh', [join(process.cwd(), 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout);
  await ok(['push', `${reg.host}/leaky:1`]);
  await ok(['rmi', `${reg.host}/leaky:1`]);
  await consistent();
  // And pulled back then removed, the same.
  await ok(['pull', `${reg.host}/leaky:1`]);
  await ok(['rmi', `${reg.host}/leaky:1`]);
  await consistent();
});

test('corrupt records are set aside and reported, never a reason to delete data or refuse to start', async () => {
  await ok(['create', '--name', 'broken', 'busybox', 'true']);
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'broken'])).trim();
  await ok(['import', '-', 'fragile:1'], spawnSync('sh', [join(process.cwd(), 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout);
  const imageId = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'fragile:1'])).trim();
  await d.stopDaemon();
  truncateSync(join(d.dataRoot, 'containers', id, 'config.v2.json'), 20);
  const imageRecord = join(d.dataRoot, 'image', 'images', `${imageId.slice(7)}.json`);
  assert.ok(existsSync(imageRecord));
  truncateSync(imageRecord, 10);
  await d.startDaemon();
  const warnings = (await ok(['info', '--format', '{{json .Warnings}}'])).trim();
  assert.match(warnings, new RegExp(`the record of container ${id} is unreadable`));
  assert.match(warnings, /image record .* is unreadable/);
  assert.ok(existsSync(join(d.dataRoot, 'overlay2', id, 'diff')), 'the container\'s layer is kept');
  assert.ok(readdirSync(join(d.dataRoot, 'containers', id)).some((n) => n.startsWith('config.v2.json.corrupt-')), 'its record is kept aside');
  assert.ok(existsSync(join(d.dataRoot, 'blobs', 'sha256', imageId.slice(7))), 'the image\'s config blob is kept');
  // And at every start after that, until someone removes the set-aside files.
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    await d.stopDaemon(signal);
    await d.startDaemon();
    const again = (await ok(['info', '--format', '{{json .Warnings}}'])).trim();
    assert.match(again, new RegExp(`the record of container ${id} was set aside`));
    assert.match(again, /image record .* was set aside/);
    assert.ok(existsSync(join(d.dataRoot, 'overlay2', id, 'diff')), `the container's layer is still kept (after ${signal})`);
    assert.ok(readdirSync(join(d.dataRoot, 'containers', id)).some((n) => n.startsWith('config.v2.json.corrupt-')), 'its record is still kept aside');
    assert.ok(existsSync(join(d.dataRoot, 'blobs', 'sha256', imageId.slice(7))), 'the image\'s config blob is still kept');
    assert.equal((await d.berth(['inspect', 'broken'])).code, 1, 'the container stays out');
  }
  // Clean up what the test broke, by hand, as a user would after reading the warnings.
  await d.stopDaemon();
  rmSync(join(d.dataRoot, 'containers', id), { recursive: true, force: true });
  for (const f of readdirSync(join(d.dataRoot, 'image', 'images'))) if (f.includes('.corrupt-')) rmSync(join(d.dataRoot, 'image', 'images', f));
  await d.startDaemon();
  await consistent();
});

test('an unreadable layer record or repositories.json is set aside and reported; nothing is deleted, and all is back once the files are', async () => {
  const data = join(dir, 'layerrec');
  spawnSync('mkdir', ['-p', data]);
  writeFileSync(join(data, 'f'), randomBytes(64 << 10));
  spawnSync('tar', ['-C', data, '-cf', join(dir, 'layerrec.tar'), '.']);
  await ok(['import', join(dir, 'layerrec.tar'), 'layerrec:1']);
  const diffId = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', 'layerrec:1'])).trim();
  const layerFile = join(d.dataRoot, 'layerdb', 'sha256', `${diffId.slice(7)}.json`);
  const layerRec = JSON.parse(readFileSync(layerFile, 'utf8')) as { cacheId: string };
  const repos = join(d.dataRoot, 'image', 'repositories.json');
  const saved = { layer: readFileSync(layerFile), repos: readFileSync(repos) };
  await d.stopDaemon();
  truncateSync(layerFile, 9);
  truncateSync(repos, 9);
  await d.startDaemon();
  const warnings = (await ok(['info', '--format', '{{json .Warnings}}'])).trim();
  assert.match(warnings, /the layer record .* is unreadable/);
  assert.match(warnings, /repositories.json/);
  assert.ok(existsSync(join(d.dataRoot, 'overlay2', layerRec.cacheId, 'diff', 'f')), 'the layer\'s files are kept');
  assert.ok(existsSync(join(d.dataRoot, 'blobs', 'sha256', diffId.slice(7))), 'its blob too');
  // Put back, as a user would after reading the warnings: the image and its tags are whole.
  await d.stopDaemon();
  for (const [dirOf, name] of [[join(d.dataRoot, 'layerdb', 'sha256'), `${diffId.slice(7)}.json`], [join(d.dataRoot, 'image'), 'repositories.json']]) {
    for (const f of readdirSync(dirOf)) if (f.startsWith(`${name}.corrupt-`)) rmSync(join(dirOf, f));
  }
  writeFileSync(layerFile, saved.layer);
  writeFileSync(repos, saved.repos);
  await d.startDaemon();
  assert.doesNotMatch((await ok(['info', '--format', '{{json .Warnings}}'])).trim(), /set aside|unreadable/);
  assert.equal((await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', 'layerrec:1'])).trim(), diffId);
  await ok(['create', '--name', 'lr', 'layerrec:1', '/f']);
  await ok(['cp', 'lr:/f', join(dir, 'layerrec.out')]);
  assert.ok(readFileSync(join(dir, 'layerrec.out')).equals(readFileSync(join(data, 'f'))), 'the layer\'s content is whole');
  await ok(['rm', 'lr']);
  await ok(['rmi', 'layerrec:1']);
  await consistent();
});

test('an unreadable network record is set aside and reported at every start, never deleted', async () => {
  const id = (await ok(['network', 'create', 'fragile-net'])).trim();
  const record = join(d.dataRoot, 'network', `${id}.json`);
  const original = readFileSync(record);
  const bridge = `br-${id.slice(0, 12)}`;
  assert.ok(hasBridge(bridge));
  await d.stopDaemon();
  truncateSync(record, 15);
  await d.startDaemon();
  assert.match((await ok(['info', '--format', '{{json .Warnings}}'])).trim(), /the network record .* is unreadable/);
  assert.ok(!hasBridge(bridge), 'the bridge of a network left out is removed');
  assert.deepEqual(rulesOf(bridge), [], 'and its rules');
  assert.equal((await d.berth(['network', 'inspect', 'fragile-net'])).code, 1, 'the network is left out');
  const aside = readdirSync(join(d.dataRoot, 'network')).filter((n) => n.startsWith(`${id}.json.corrupt-`));
  assert.equal(aside.length, 1, 'its record is kept aside');
  await d.stopDaemon();
  await d.startDaemon();
  assert.match((await ok(['info', '--format', '{{json .Warnings}}'])).trim(), /a network record was set aside as/, 'and reported at the next start too');
  // Put back as a user would, then remove it properly (its bridge and rules go with it).
  await d.stopDaemon();
  rmSync(join(d.dataRoot, 'network', aside[0]));
  writeFileSync(record, original);
  await d.startDaemon();
  assert.ok(hasBridge(bridge), 'put back, the network has its bridge again');
  assert.notDeepEqual(rulesOf(bridge), []);
  await ok(['network', 'rm', 'fragile-net']);
  assert.doesNotMatch((await ok(['info', '--format', '{{json .Warnings}}'])).trim(), /network record/);
  assert.ok(!hasBridge(bridge));
  assert.deepEqual(rulesOf(bridge), []);
});

test('a network create killed after its bridge was made: the next start removes the bridge and its rules; a retry works', async () => {
  const before = new Set(bridgesNow());
  const r = await crashAt('network-create-after-bridge', ['network', 'create', 'cut-net']);
  assert.notEqual(r.code, 0, 'the client saw the failure');
  assert.equal((await d.berth(['network', 'inspect', 'cut-net'])).code, 1);
  const left = bridgesNow().filter((b) => !before.has(b));
  assert.deepEqual(left, [], 'no bridge without a network');
  const id = (await ok(['network', 'create', 'cut-net'])).trim();
  assert.ok(hasBridge(`br-${id.slice(0, 12)}`));
  await ok(['network', 'rm', 'cut-net']);
  assert.deepEqual(bridgesNow().filter((b) => !before.has(b)), []);
});

test('a second berthd on the same data root is refused, and the first one\'s socket is never taken', async () => {
  const second = spawnSync(NODE, [join(process.cwd(), 'dist', 'berthd.js'), '--data-root', d.dataRoot, '--exec-root', join(dir, 'run2'), '-H', `unix://${join(dir, 'second.sock')}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(second.status, 1, `second berthd: ${second.status} ${second.signal} ${second.stdout} ${second.stderr}`);
  assert.match(second.stderr, new RegExp(`the data root ${d.dataRoot} is in use by another berthd \\(pid ${d.pid}\\)`));
  const third = spawnSync(NODE, [join(process.cwd(), 'dist', 'berthd.js'), '--data-root', join(dir, 'data3'), '--exec-root', join(dir, 'run3'), '-H', d.host], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(third.status, 1, `third berthd: ${third.status} ${third.signal} ${third.stdout} ${third.stderr}`);
  assert.match(third.stderr, /another daemon is listening on/);
  rmSync(join(dir, 'data3'), { recursive: true, force: true });
  assert.equal((await ok(['version', '--format', '{{.Server.Os}}'])).trim(), 'linux', 'the first daemon still answers');
});

test('a blob damaged on disk: save fails naming the image, the registry will not serve it', async () => {
  // A layer of its own: with one that another image has (busybox's), a push could send that
  // image's intact compressed copy instead of reading this one.
  const src = join(dir, 'damaged-src');
  spawnSync('mkdir', ['-p', src]);
  writeFileSync(join(src, 'noise'), randomBytes(500 << 10));
  spawnSync('tar', ['-C', src, '-cf', join(dir, 'damaged-src.tar'), '.']);
  await ok(['import', join(dir, 'damaged-src.tar'), 'damaged:1']);
  const manifest = JSON.parse((await ok(['image', 'inspect', '-f', '{{json .}}', 'damaged:1'])).trim()) as { Id: string };
  // An imported tar is stored as it came: the layer's blob is named by its diff ID. Flip a byte in it.
  const diffId = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', 'damaged:1'])).trim();
  const layer = join(d.dataRoot, 'blobs', 'sha256', diffId.slice(7));
  const buf = readFileSync(layer);
  buf[buf.length >> 1] ^= 0xff;
  writeFileSync(layer, buf);
  const out = join(dir, 'damaged.tar');
  const save = await d.berth(['save', '-o', out, 'damaged:1']);
  assert.notEqual(save.code, 0);
  assert.match(save.stderr, /unexpected EOF|corrupted/);
  assert.match(d.readLog(), /of image damaged:1 is corrupted/);
  assert.ok(!existsSync(out));
  void manifest;
  // push reads it through the same check: it fails naming the image, and the registry is left
  // without a manifest that would name the damaged layer.
  await ok(['tag', 'damaged:1', `${reg.host}/damaged:1`]);
  const push = await d.berth(['push', `${reg.host}/damaged:1`]);
  assert.equal(push.code, 1, push.stdout);
  assert.match(push.stderr, /of image .*damaged:1 is corrupted/);
  assert.equal((await fetch(`${reg.url}/v2/damaged/manifests/1`)).status, 404);
  await ok(['rmi', '-f', 'damaged:1', `${reg.host}/damaged:1`]);

  // The registry: a blob damaged in its storage is never served whole under its digest, the
  // pull fails, and the server says which blob of which repository is damaged.
  // An image of its own (a layer no other local image has, so the pull must fetch it).
  const ctx = join(dir, 'intact');
  spawnSync('mkdir', ['-p', ctx]);
  writeFileSync(join(ctx, 'noise'), randomBytes(300 << 10));
  spawnSync('tar', ['-C', ctx, '-cf', join(dir, 'intact.tar'), '.']);
  await ok(['import', join(dir, 'intact.tar'), `${reg.host}/intact:1`]);
  await ok(['push', `${reg.host}/intact:1`]);
  const pushed = await (await fetch(`${reg.url}/v2/intact/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as { layers: { digest: string }[] };
  const stored = join(reg.root, 'data', 'blobs', 'sha256', pushed.layers[0].digest.slice('sha256:'.length));
  const blob = readFileSync(stored);
  blob[blob.length >> 1] ^= 0xff;
  writeFileSync(stored, blob);
  await ok(['rmi', `${reg.host}/intact:1`]);
  const pull = await d.berth(['pull', `${reg.host}/intact:1`]);
  assert.notEqual(pull.code, 0, pull.stdout);
  assert.match(pull.stderr, /unexpected EOF|socket hang up|aborted/i, 'the transfer was cut off, not delivered whole');
  assert.equal((await d.berth(['image', 'inspect', `${reg.host}/intact:1`])).code, 1, 'nothing was stored as pulled');
  assert.match(reg.log(), /in intact is corrupted on disk/);
});

test('killed at any instant of run -d (a fixed set of delays), berthd starts again and agrees with itself', async () => {
  for (const delay of [10, 40, 70, 100, 150, 250]) {
    await killedAfter(delay, ['run', '-d', '--name', `kill-${delay}`, 'busybox', 'sleep', '300']);
    const exists = (await d.berth(['inspect', '-f', '{{.State.Status}}', `kill-${delay}`])).stdout.trim();
    assert.ok(['', 'created', 'running'].includes(exists), `after a kill at ${delay} ms: ${exists}`);
    if (exists) {
      if (exists === 'created') await ok(['start', `kill-${delay}`]);
      await ok(['rm', '-f', `kill-${delay}`]);
    }
    await consistent();
  }
});

test('killed at fixed instants of pull, load, import, commit, push and rm, berthd starts again, agrees with itself, and the retry works', async () => {
  // An image of its own (8 MiB that does not compress), so pull, load and push move real data.
  const noise = join(dir, 'noise');
  spawnSync('mkdir', ['-p', noise]);
  writeFileSync(join(noise, 'blob'), randomBytes(8 << 20));
  const noiseTar = join(dir, 'noise.tar');
  spawnSync('tar', ['-C', noise, '-cf', noiseTar, '.']);
  await ok(['import', noiseTar, `${reg.host}/kd/src:1`]);
  await ok(['push', `${reg.host}/kd/src:1`]);
  const saved = join(dir, 'kd.save.tar');
  await ok(['save', '-o', saved, `${reg.host}/kd/src:1`]);
  await ok(['rmi', `${reg.host}/kd/src:1`]);
  const gone = async (ref: string) => {
    await d.berth(['rmi', '-f', ref]);
  };
  let n = 0;
  const ops: { name: string; prep: () => Promise<string[]>; after: () => Promise<void> }[] = [
    { name: 'pull', prep: async () => ['pull', `${reg.host}/kd/src:1`], after: () => gone(`${reg.host}/kd/src:1`) },
    { name: 'load', prep: async () => ['load', '-i', saved], after: () => gone(`${reg.host}/kd/src:1`) },
    { name: 'import', prep: async () => ['import', noiseTar, 'kd-imp:1'], after: () => gone('kd-imp:1') },
    {
      name: 'commit',
      prep: async () => {
        await ok(['run', '-d', '--name', 'kd-c', 'busybox', 'sh', '-c', 'head -c 8388608 /dev/urandom > /big; sleep 300']);
        for (let i = 0; i < 100 && (await d.berth(['exec', 'kd-c', 'sh', '-c', 'test $(wc -c < /big) = 8388608'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
        return ['commit', 'kd-c', 'kd-c:1'];
      },
      after: async () => {
        await gone('kd-c:1');
        await ok(['rm', '-f', 'kd-c']);
      },
    },
    {
      name: 'push',
      prep: async () => {
        // A new image each time, so every push uploads (and compresses) its layer.
        writeFileSync(join(noise, 'blob'), randomBytes(8 << 20));
        spawnSync('tar', ['-C', noise, '-cf', noiseTar, '.']);
        await ok(['import', noiseTar, `${reg.host}/kd/push:${++n}`]);
        return ['push', `${reg.host}/kd/push:${n}`];
      },
      after: () => gone(`${reg.host}/kd/push:${n}`),
    },
    {
      name: 'rm',
      prep: async () => {
        await ok(['run', '-d', '--name', 'kd-rm', '-v', '/anon', 'busybox', 'sleep', '300']);
        return ['rm', '-f', '-v', 'kd-rm'];
      },
      after: async () => {},
    },
  ];
  for (const op of ops) {
    for (const delay of [30, 120, 300]) {
      const args = await op.prep();
      await killedAfter(delay, args);
      // The retry succeeds (rm: the container is gone, either way).
      if (op.name === 'rm') {
        if ((await d.berth(['inspect', 'kd-rm'])).code === 0) await ok(args);
        assert.equal((await d.berth(['inspect', 'kd-rm'])).code, 1, `${op.name} after a kill at ${delay} ms`);
      } else {
        const again = await d.berth(args);
        assert.equal(again.code, 0, `${op.name} retried after a kill at ${delay} ms: ${again.stderr}`);
      }
      await op.after();
      await consistent();
    }
  }
  await d.berth(['volume', 'prune', '-f']);
});
