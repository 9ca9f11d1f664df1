/**
 * Volumes and mounts end to end: the tutorials' three examples (a data volume, --volumes-from,
 * a host directory), named volumes and their copy-up, tmpfs, read-only mounts, the volume
 * commands, rm -v, prune, option volumes, persistence across a daemon restart and bad input —
 * through `berth`, the docker CLI and docker-py against a real berthd.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { TestDaemon, mountsUnder } from './harness.ts';

let d: TestDaemon;
let host: string;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  host = mkdtempSync('/tmp/bt-host-');
});

after(async () => {
  await d?.cleanup();
  if (host) rmSync(host, { recursive: true, force: true });
});

afterEach(async () => {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', id]);
  const vols = (await d.berth(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  for (const v of vols) await d.berth(['volume', 'rm', '-f', v]);
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function dok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

interface MountView {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

async function mountsOf(name: string): Promise<MountView[]> {
  return JSON.parse(await ok(['inspect', '-f', '{{json .Mounts}}', name])) as MountView[];
}

async function volumes(): Promise<string[]> {
  return (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean).sort();
}

test('tutorial: a data volume outlives its container and lives under volumes/<name>/_data', async () => {
  await ok(['run', '--name', 'demo', '-v', '/chest', 'busybox', 'touch', '/chest/coins']);
  const [m] = await mountsOf('demo');
  assert.match(m.Name ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(m, {
    Type: 'volume', Name: m.Name, Source: join(d.dataRoot, 'volumes', m.Name!, '_data'), Destination: '/chest',
    Driver: 'local', Mode: '', RW: true, Propagation: '',
  });
  assert.ok(existsSync(join(m.Source, 'coins')), 'the file is in the volume on the host');
  await ok(['rm', 'demo']);
  assert.deepEqual(await volumes(), [m.Name]);
  assert.ok(existsSync(join(m.Source, 'coins')), 'removing the container keeps the volume');
  // The docker CLI sees the same volume.
  const v = JSON.parse(await dok(['volume', 'inspect', m.Name!])) as { Name: string; Mountpoint: string; Driver: string; Scope: string; Labels: Record<string, string> }[];
  assert.equal(v[0].Mountpoint, m.Source);
  assert.equal(v[0].Driver, 'local');
  assert.equal(v[0].Scope, 'local');
  assert.deepEqual(v[0].Labels, { 'com.docker.volume.anonymous': '' });
});

test('tutorial: --volumes-from shares a never-started holder\'s volume, in chains and read-only', async () => {
  // docker refuses the tutorial's one-letter names.
  const bad = await d.berth(['create', '--name', 'A', '--volumes-from', 'box', 'busybox']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Invalid container name \(A\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);

  await ok(['create', '--name', 'box', '-v', '/data', 'busybox']);
  await ok(['run', '--name', 'aa', '--volumes-from', 'box', 'busybox', 'sh', '-c', 'echo from-aa > /data/file']);
  assert.equal(await ok(['run', '--rm', '--volumes-from', 'box', 'busybox', 'cat', '/data/file']), 'from-aa\n');
  // A chain: cc takes bb's mounts, which are box's.
  await ok(['create', '--name', 'bb', '--volumes-from', 'aa', 'busybox']);
  assert.equal(await ok(['run', '--rm', '--volumes-from', 'bb', 'busybox', 'cat', '/data/file']), 'from-aa\n');
  const [boxMount] = await mountsOf('box');
  const [bbMount] = await mountsOf('bb');
  assert.equal(bbMount.Name, boxMount.Name);
  // :ro makes the shared volume read-only for the taker only.
  const ro = await d.berth(['run', '--rm', '--volumes-from', 'box:ro', 'busybox', 'sh', '-c', 'echo x > /data/other']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  await ok(['run', '--rm', '--volumes-from', 'box', 'busybox', 'sh', '-c', 'echo x > /data/other']);
  // Through the docker CLI too.
  assert.equal(await dok(['run', '--rm', '--volumes-from', 'box', 'busybox', 'cat', '/data/other']), 'x\n');
  const missing = await d.berth(['run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /No such container: nosuch/);
});

test('tutorial: a host directory bind-mounted, read-write and read-only, never copied up', async () => {
  const dir = join(host, 'site');
  mkdirSync(dir);
  writeFileSync(join(dir, 'index.html'), 'hello\n');
  assert.equal(await ok(['run', '--rm', '-v', `${dir}:/etc`, 'busybox', 'ls', '/etc']), 'index.html\n');
  await ok(['run', '--rm', '-v', `${dir}:/srv`, 'busybox', 'sh', '-c', 'echo written > /srv/out']);
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'written\n');
  const ro = await d.berth(['run', '--rm', '-v', `${dir}:/srv:ro`, 'busybox', 'sh', '-c', 'echo no > /srv/out']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'written\n');

  await ok(['create', '--name', 'bound', '-v', `${dir}:/srv:ro`, 'busybox']);
  assert.deepEqual(await mountsOf('bound'), [{ Type: 'bind', Source: dir, Destination: '/srv', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);

  // -v creates a missing host directory; --mount refuses it.
  const made = join(host, 'made', 'deep');
  await ok(['run', '--rm', '-v', `${made}:/m`, 'busybox', 'true']);
  assert.ok(existsSync(made));
  const gone = join(host, 'gone');
  const r = await d.berth(['run', '--rm', '--mount', `type=bind,source=${gone},target=/m`, 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, new RegExp(`bind source path does not exist: ${gone}`));
  assert.ok(!existsSync(gone));
  // A file onto a file works; docker CLI --mount with readonly.
  writeFileSync(join(host, 'conf'), 'cfg\n');
  assert.equal(await dok(['run', '--rm', '--mount', `type=bind,src=${join(host, 'conf')},dst=/etc/app.conf,readonly`, 'busybox', 'cat', '/etc/app.conf']), 'cfg\n');
});

test('named volumes: created on first use, filled from the image (copy-up) unless nocopy, shared by name', async () => {
  assert.deepEqual(await volumes(), []);
  const passwd = await ok(['run', '--rm', 'busybox', 'cat', '/etc/passwd']);
  assert.equal(await ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']), passwd);
  assert.deepEqual(await volumes(), ['etcvol']);
  const mp = (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'etcvol'])).trim();
  assert.equal(readFileSync(join(mp, 'passwd'), 'utf8'), passwd);
  // Copied once: a change made in the volume is what the next container sees.
  await ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'sh', '-c', 'echo changed > /etc/passwd']);
  assert.equal(await ok(['run', '--rm', '-v', 'etcvol:/mnt', 'busybox', 'cat', '/mnt/passwd']), 'changed\n');
  // nocopy leaves a new volume empty.
  assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=empty,dst=/etc,volume-nocopy', 'busybox', 'ls', '-A', '/etc']), '');
  assert.equal(await ok(['run', '--rm', '-v', 'empty2:/etc:nocopy', 'busybox', 'ls', '-A', '/etc']), '');
  // Named volumes survive --rm and rm -v.
  await ok(['run', '--name', 'keep', '-v', 'named:/n', '-v', '/anon', 'busybox', 'true']);
  const anon = (await mountsOf('keep')).find((m) => m.Destination === '/anon')!.Name!;
  await ok(['rm', '-v', 'keep']);
  assert.deepEqual(await volumes(), ['empty', 'empty2', 'etcvol', 'named']);
  assert.ok(!(await volumes()).includes(anon));
});

test('image VOLUME: run creates an anonymous volume filled from the image; --rm and rm -v remove it', async () => {
  await ok(['run', '--name', 'seed', 'busybox', 'sh', '-c', 'mkdir -p /vol && echo seeded > /vol/f']);
  await ok(['commit', '-c', 'VOLUME /vol', 'seed', 'withvol']);
  await ok(['rm', 'seed']);
  const before = await volumes();
  assert.equal(await ok(['run', '--rm', 'withvol', 'cat', '/vol/f']), 'seeded\n');
  assert.deepEqual(await volumes(), before, '--rm removes the anonymous volume');
  await ok(['run', '--name', 'kept', 'withvol', 'true']);
  const [m] = await mountsOf('kept');
  assert.equal(m.Destination, '/vol');
  assert.equal(readFileSync(join(m.Source, 'f'), 'utf8'), 'seeded\n');
  await ok(['rm', 'kept']);
  assert.ok((await volumes()).includes(m.Name!), 'rm without -v keeps it');
  // A -v for the same path replaces the image's volume.
  assert.equal(await ok(['run', '--rm', '-v', 'over:/vol', 'withvol', 'cat', '/vol/f']), 'seeded\n');
  await ok(['rmi', 'withvol']);
});

test('tmpfs: --tmpfs and --mount type=tmpfs with size and mode; data gone with the container', async () => {
  const mounts = await ok(['run', '--rm', '--tmpfs', '/scratch:size=1m,mode=1777', '--mount', 'type=tmpfs,dst=/t2,tmpfs-size=2097152,tmpfs-mode=0700', 'busybox', 'sh', '-c',
    'grep -E " /(scratch|t2) " /proc/mounts; stat -c "%a %n" /scratch /t2']);
  assert.match(mounts, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k(,mode=1777)?/m);
  assert.match(mounts, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=700/m);
  assert.match(mounts, /^1777 \/scratch$/m);
  assert.match(mounts, /^700 \/t2$/m);
  await ok(['create', '--name', 'tm', '--mount', 'type=tmpfs,dst=/t2', 'busybox']);
  assert.deepEqual(await mountsOf('tm'), [{ Type: 'tmpfs', Source: '', Destination: '/t2', Mode: '', RW: true, Propagation: '' }]);
  const full = await d.berth(['run', '--rm', '--tmpfs', '/s:size=64k', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/s/f bs=1k count=128']);
  assert.notEqual(full.code, 0);
  assert.match(full.stderr, /No space left on device/);
});

test('volume commands: create with labels and options, ls filters/-q/--format, inspect, rm in use, prune', async () => {
  assert.equal((await ok(['volume', 'create', '--label', 'team=db', '--label', 'tier', 'dbdata'])).trim(), 'dbdata');
  assert.equal((await ok(['volume', 'create', 'other'])).trim(), 'other');
  const anon = (await ok(['volume', 'create'])).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  const table = await ok(['volume', 'ls']);
  assert.match(table.split('\n')[0], /^DRIVER\s+VOLUME NAME$/);
  assert.match(table, /^local\s+dbdata$/m);
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'label=team=db'])).trim(), 'dbdata');
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'label=tier'])).trim(), 'dbdata');
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'name=oth'])).trim(), 'other');
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'driver=local'])).trim().split('\n').sort(), [anon, 'dbdata', 'other'].sort());
  assert.equal(await ok(['volume', 'ls', '--filter', 'name=dbdata', '--format', '{{.Name}} {{.Driver}} {{.Labels}}']), 'dbdata local team=db,tier=\n');
  const bad = await d.berth(['volume', 'ls', '--filter', 'dangling=maybe']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid filter 'dangling=\[maybe\]'/i);

  const info = JSON.parse(await ok(['volume', 'inspect', 'dbdata'])) as Record<string, unknown>[];
  assert.equal(info.length, 1);
  assert.deepEqual(Object.keys(info[0]).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  assert.deepEqual(info[0].Labels, { team: 'db', tier: '' });
  assert.match(String(info[0].CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[Z+-]/);
  const missing = await d.berth(['volume', 'inspect', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such volume/i);
  // Creating an existing name again is not an error (docker: idempotent).
  assert.equal((await ok(['volume', 'create', 'dbdata'])).trim(), 'dbdata');

  // In use: refused with docker's message even with -f; dangling filter reflects use.
  await ok(['create', '--name', 'user', '-v', 'dbdata:/db', 'busybox']);
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'user'])).trim();
  for (const args of [['volume', 'rm', 'dbdata'], ['volume', 'rm', '-f', 'dbdata']]) {
    const inUse = await d.berth(args);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, new RegExp(`remove dbdata: volume is in use - \\[${id}\\]`));
  }
  assert.deepEqual((await ok(['volume', 'ls', '-q', '--filter', 'dangling=true'])).trim().split('\n').sort(), [anon, 'other'].sort());
  assert.equal((await ok(['volume', 'ls', '-q', '--filter', 'dangling=false'])).trim(), 'dbdata');
  // rm -f of a missing volume is quiet; without -f it fails.
  assert.equal((await d.berth(['volume', 'rm', '-f', 'nosuch'])).code, 0);
  assert.equal((await d.berth(['volume', 'rm', 'nosuch'])).code, 1);

  // prune: anonymous unused volumes only by default, -a all unused, in-use never.
  const p1 = await ok(['volume', 'prune', '-f']);
  assert.match(p1, new RegExp(`Deleted Volumes:\\n${anon}\\n`));
  assert.match(p1, /Total reclaimed space: /);
  assert.deepEqual(await volumes(), ['dbdata', 'other']);
  const p2 = await ok(['volume', 'prune', '-f', '-a', '--filter', 'label!=keep']);
  assert.match(p2, /Deleted Volumes:\nother\n/);
  assert.deepEqual(await volumes(), ['dbdata']);
  await ok(['rm', 'user']);
  await ok(['volume', 'rm', 'dbdata']);
  assert.deepEqual(await volumes(), []);
});

test('docker CLI and docker-py: volume create/ls/inspect/rm and containers with volumes', async () => {
  // The tutorial's first example, through the docker CLI.
  await dok(['run', '--name', 'demo2', '-v', '/chest', 'busybox', 'touch', '/chest/coins']);
  const [tm] = JSON.parse(await dok(['inspect', '-f', '{{json .Mounts}}', 'demo2'])) as MountView[];
  assert.equal(tm.Type, 'volume');
  assert.equal(tm.Source, join(d.dataRoot, 'volumes', tm.Name!, '_data'));
  assert.ok(existsSync(join(tm.Source, 'coins')));
  await dok(['rm', '-v', 'demo2']);
  assert.ok(!existsSync(tm.Source), 'docker rm -v removes the anonymous volume');
  assert.equal((await dok(['volume', 'create', '--label', 'via=docker', 'dvol'])).trim(), 'dvol');
  assert.match(await dok(['volume', 'ls']), /^local\s+dvol$/m);
  assert.equal(await dok(['run', '--rm', '-v', 'dvol:/d', 'busybox', 'sh', '-c', 'echo hi > /d/f; cat /d/f']), 'hi\n');
  await dok(['create', '--name', 'dc', '-v', 'dvol:/d:ro', '--tmpfs', '/t', 'busybox']);
  const m = JSON.parse(await dok(['inspect', '-f', '{{json .Mounts}}', 'dc'])) as MountView[];
  assert.deepEqual(m.find((x) => x.Type === 'volume'), {
    Type: 'volume', Name: 'dvol', Source: join(d.dataRoot, 'volumes', 'dvol', '_data'), Destination: '/d', Driver: 'local', Mode: 'ro', RW: false, Propagation: '',
  });
  const inUse = await d.docker(['volume', 'rm', 'dvol']);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);
  await dok(['rm', 'dc']);
  assert.equal((await dok(['volume', 'rm', 'dvol'])).trim(), 'dvol');

  const script = `
c = docker.from_env()
v = c.volumes.create(name="pyvol", labels={"a": "b"})
out = c.containers.run("busybox", ["sh", "-c", "echo py > /v/f; cat /v/f"], volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
names = sorted(x.name for x in c.volumes.list(filters={"label": "a=b"}))
got = c.volumes.get("pyvol").attrs
ct = c.containers.create("busybox", volumes=["/anonpy"], name="pyc")
ct.reload()
mounts = ct.attrs["Mounts"]
ct.remove(v=True)
v.remove()
pruned = c.volumes.prune()
print(json.dumps({"out": out.decode(), "names": names, "labels": got["Labels"], "mounts": [[m["Type"], m["Destination"]] for m in mounts], "left": [x.name for x in c.volumes.list()]}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', `import docker, json\n${script}`], { env: { ...process.env, DOCKER_HOST: d.host }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.deepEqual(res, { out: 'py\n', names: ['pyvol'], labels: { a: 'b' }, mounts: [['volume', '/anonpy']], left: [] });
});

test('option volumes (type=tmpfs, o=bind) are mounted while in use; system df counts volumes', async () => {
  await ok(['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=1m', 'tv']);
  const out = await ok(['run', '--rm', '-v', 'tv:/t', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts']);
  assert.match(out, /^tmpfs \/t tmpfs rw,.*size=1024k/m);
  const mp = (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'tv'])).trim();
  assert.deepEqual(mountsUnder(mp), [], 'unmounted once no container uses it');
  assert.deepEqual(JSON.parse(await ok(['volume', 'inspect', '-f', '{{json .Options}}', 'tv'])), { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });

  const src = join(host, 'bindsrc');
  mkdirSync(src);
  writeFileSync(join(src, 'hello'), 'from host\n');
  await ok(['volume', 'create', '--opt', 'type=none', '--opt', `device=${src}`, '--opt', 'o=bind', 'bv']);
  assert.equal(await ok(['run', '--rm', '-v', 'bv:/b', 'busybox', 'cat', '/b/hello']), 'from host\n');
  const badOpt = await d.berth(['volume', 'create', '--opt', 'bogus=1', 'badopt']);
  assert.equal(badOpt.code, 1);
  assert.match(badOpt.stderr, /invalid option: "bogus"/);
  assert.ok(!(await volumes()).includes('badopt'));

  await ok(['run', '--name', 'sized', '-v', 'sizedvol:/s', 'busybox', 'dd', 'if=/dev/zero', 'of=/s/f', 'bs=1k', 'count=300']);
  // As moby's LocalVolumesSize: volumes with driver options (tv, bv) are not sized or counted.
  const df = await ok(['system', 'df']);
  assert.match(df, /^Local Volumes\s+1\s+1\s+30\d(\.\d+)?kB\s+0B \(0%\)$/m);
  const dfv = await ok(['system', 'df', '-v']);
  assert.match(dfv, /^sizedvol\s+1\s+30\d(\.\d+)?kB$/m);
});

test('bad input: clear errors and nothing created', async () => {
  const cases: [string[], RegExp][] = [
    [['-v', 'rel/path:/x'], /includes invalid characters for a local volume name/],
    [['-v', '/tmp:rel'], /invalid mount path: 'rel' mount path must be absolute|invalid volume specification/],
    [['-v', 'vol:/'], /destination can't be '\/'|invalid volume specification/],
    [['-v', 'vol:/proc/x'], /\/proc/],
    [['-v', 'vol:/x:bogus'], /invalid mode: bogus/],
    [['-v', 'a:/x'], /volume name is too short/],
    [['--mount', 'type=bind,target=/x'], /field Source must not be empty/],
    [['--mount', 'type=volume,src=v,dst=/x,bogus=1'], /unexpected key 'bogus'/],
    [['--mount', 'type=weird,dst=/x'], /type|weird/],
    [['-v', '/a:/x', '-v', '/b:/x'], /Duplicate mount point: \/x/],
    [['--tmpfs', 'rel'], /mount path must be absolute|invalid/],
  ];
  for (const [args, re] of cases) {
    const r = await d.berth(['run', '--rm', ...args, 'busybox', 'true']);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual(await volumes(), [], 'no volume left by a refused run');
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'no container left by a refused run');
  assert.ok(!existsSync('/a') && !existsSync('/b'));
  const name = await d.berth(['volume', 'create', 'bad name']);
  assert.equal(name.code, 1);
  assert.match(name.stderr, /includes invalid characters for a local volume name/);
  // A file source where the image has a directory: the runtime's error, no container left running.
  writeFileSync(join(host, 'afile'), 'x');
  const fileOnDir = await d.berth(['run', '--rm', '-v', `${join(host, 'afile')}:/etc`, 'busybox', 'true']);
  assert.notEqual(fileOnDir.code, 0);
  assert.match(fileOnDir.stderr, /not a directory|Not a directory|Are you trying to mount a directory onto a file/i);
});

test('a mount target that is a symlink resolves inside the container\'s root, never the host\'s', async () => {
  const outside = join(host, 'outside-target');
  await ok(['run', '--name', 'lnk', 'busybox', 'sh', '-c', `ln -s ../../../../../../..${outside} /esc && ln -s /etc /etclink`]);
  await ok(['commit', 'lnk', 'linky']);
  await ok(['rm', 'lnk']);
  const out = await ok(['run', '--rm', '-v', 'lv:/esc', 'linky', 'sh', '-c', `echo in > /esc/f; ls ${outside}/f`]);
  assert.equal(out, `${outside}/f\n`, 'the mount lands inside the container at the symlink\'s in-root target');
  assert.ok(!existsSync(outside), 'nothing is created on the host');
  // A symlink to /etc means the container's /etc.
  assert.match(await ok(['run', '--rm', '-v', 'ev:/etclink', 'linky', 'ls', '/etc']), /passwd/);
  await ok(['rmi', 'linky']);
});

test('volume data and metadata survive a daemon restart; an unreadable record is set aside, not lost', async () => {
  await ok(['volume', 'create', '--label', 'k=v', 'persist']);
  await ok(['run', '--rm', '-v', 'persist:/p', 'busybox', 'sh', '-c', 'echo durable > /p/f']);
  await ok(['run', '--name', 'holder', '-v', 'persist:/p', 'busybox', 'true']);
  await ok(['volume', 'create', 'broken']);
  await ok(['run', '--rm', '-v', 'broken:/b', 'busybox', 'sh', '-c', 'echo kept > /b/f']);
  // Killed, not stopped: nothing gets a chance to flush or tidy up.
  await d.stopDaemon('SIGKILL');
  writeFileSync(join(d.dataRoot, 'volumes', 'broken', 'volume.json'), '{not json');
  await d.startDaemon();
  assert.deepEqual(await volumes(), ['broken', 'persist']);
  assert.equal(await ok(['run', '--rm', '-v', 'persist:/p', 'busybox', 'cat', '/p/f']), 'durable\n');
  assert.equal(await ok(['run', '--rm', '-v', 'broken:/b', 'busybox', 'cat', '/b/f']), 'kept\n');
  assert.equal((await ok(['volume', 'inspect', '-f', '{{json .Labels}}', 'persist'])).trim(), '{"k":"v"}');
  const warn = await ok(['info', '-f', '{{json .Warnings}}']);
  assert.match(warn, /volume broken: its record could not be read/);
  // Still in use by the stopped container after the restart.
  const inUse = await d.berth(['volume', 'rm', 'persist']);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /volume is in use/);
  assert.ok(readdirSync(join(d.dataRoot, 'volumes', 'broken')).some((f) => f.startsWith('volume.json.corrupt-')));
});

test('volume-opt in --mount, z/Z, targets with .. cleaned as docker does, a Dockerfile VOLUME through a build, dockerode', async () => {
  // --mount volume-opt makes a new named volume with driver options (here a tmpfs volume).
  const mounted = await dok(['run', '--rm', '--mount', 'type=volume,src=optvol,dst=/o,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m', 'busybox', 'sh', '-c', 'grep " /o " /proc/mounts | cut -d" " -f3']);
  assert.equal(mounted, 'tmpfs\n');
  assert.equal((await ok(['volume', 'inspect', '-f', '{{json .Options}}', 'optvol'])).trim(), '{"device":"tmpfs","o":"size=1m","type":"tmpfs"}');
  await ok(['volume', 'rm', 'optvol']);
  // z and Z are accepted (no SELinux here) and shown in the mount's Mode, as dockerd shows them.
  await ok(['create', '--name', 'labels', '-v', 'zvol:/z:z', '-v', `${host}:/zz:ro,Z`, 'busybox']);
  const modes = (await mountsOf('labels')).map((m) => `${m.Destination}=${m.Mode}:${m.RW}`).sort();
  assert.deepEqual(modes, ['/z=z:true', '/zz=ro,Z:false']);
  await ok(['rm', '-v', 'labels']);
  await ok(['volume', 'rm', 'zvol']);
  // A target with .. is cleaned (docker's filepath.Clean): it stays inside the container.
  const dotdot = await ok(['run', '--name', 'dots', '-v', 'dotvol:/a/../../cleaned', 'busybox', 'sh', '-c', 'grep -c " /cleaned " /proc/mounts']);
  assert.equal(dotdot, '1\n');
  assert.equal((await mountsOf('dots'))[0].Destination, '/cleaned');
  await ok(['rm', 'dots']);
  await ok(['volume', 'rm', 'dotvol']);
  // VOLUME in a Dockerfile: run gives an anonymous volume filled from the image.
  const ctx = mkdtempSync(join(host, 'ctx-'));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN mkdir /data && echo seed > /data/f\nVOLUME /data\n');
  await ok(['build', '-q', '-t', 'volbuilt', ctx]);
  assert.equal((await ok(['image', 'inspect', '-f', '{{json .Config.Volumes}}', 'volbuilt'])).trim(), '{"/data":{}}');
  await ok(['run', '--name', 'fromvol', 'volbuilt', 'sh', '-c', 'cat /data/f']).then((o) => assert.equal(o, 'seed\n'));
  const [m] = await mountsOf('fromvol');
  assert.equal(m.Type, 'volume');
  assert.match(m.Name ?? '', /^[0-9a-f]{64}$/);
  assert.equal(readFileSync(join(m.Source, 'f'), 'utf8'), 'seed\n');
  await ok(['rm', '-v', 'fromvol']);
  assert.ok(!(await volumes()).includes(m.Name!));
  await ok(['rmi', 'volbuilt']);
  // dockerode (testcontainers' client): volumes, and files in and out through the archive API.
  const api = new Docker({ socketPath: d.sock });
  await api.createVolume({ Name: 'odevol', Labels: { by: 'dockerode' } });
  const listed = await api.listVolumes({ filters: JSON.stringify({ label: ['by=dockerode'] }) });
  assert.deepEqual(listed.Volumes.map((v) => v.Name), ['odevol']);
  const c = await api.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { Binds: ['odevol:/v'] } });
  const tar = spawnSync('tar', ['-C', ctx, '-cf', '-', 'Dockerfile']).stdout;
  await c.putArchive(tar, { path: '/v' });
  const out = await c.getArchive({ path: '/v/Dockerfile' });
  const chunks: Buffer[] = [];
  for await (const chunk of out) chunks.push(chunk as Buffer);
  assert.match(Buffer.concat(chunks).toString('latin1'), /VOLUME \/data/);
  await c.remove({ force: true, v: true });
  await api.getVolume('odevol').remove();
  assert.ok(!(await volumes()).includes('odevol'));
});
