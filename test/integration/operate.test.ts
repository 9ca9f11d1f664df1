/**
 * Operating containers: events, pause/unpause, rename, top, stats, update (resources and
 * restart policy), OOM kills, health checks, and what survives a restart of berthd — through
 * the docker CLI, docker-py and dockerode as much as through berth.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { TestDaemon } from './harness.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

afterEach(async () => {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', id]);
});

const ok = (args: string[]) => d.ok(args);
const dok = (args: string[]) => d.dockerOk(args);

/** Runs a docker-py script (Debian's python3-docker); its last line is JSON. */
function python(script: string): unknown {
  const r = spawnSync('/usr/bin/python3', ['-c', `import docker, json, time\nc = docker.DockerClient(base_url='unix://${d.sock}')\n${script}`], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('condition not reached in time');
}

const unixNow = () => (Date.now() / 1000).toFixed(3);

test('events: docker events and docker-py see a container\'s life, in order, with docker\'s attributes and filters', async () => {
  const since = unixNow();
  await ok(['run', '--name', 'ev1', '-l', 'team=blue', 'busybox', 'sh', '-c', 'exit 3']).catch(() => {});
  await ok(['tag', 'busybox', 'evtag:1']);
  await ok(['rmi', 'evtag:1']);
  await ok(['volume', 'create', 'evvol']);
  await ok(['volume', 'rm', 'evvol']);
  await ok(['rm', 'ev1']);
  const until = (Date.now() / 1000 + 1).toFixed(3);
  const out = await dok(['events', '--since', since, '--until', until, '--format', '{{json .}}']);
  const lines = out.trim().split('\n').map((l) => {
    const m = JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
    return `${m.Type} ${m.Action} ${m.Type === 'volume' ? m.Actor.ID : m.Actor.Attributes.name}`;
  });
  const idx = (l: string) => lines.indexOf(l);
  for (const l of ['container create ev1', 'container start ev1', 'container die ev1', 'container destroy ev1', 'image tag evtag:1', 'image untag evtag:1', 'volume create evvol', 'volume destroy evvol', 'network connect bridge']) {
    assert.ok(idx(l) >= 0, `missing "${l}" in:\n${lines.join('\n')}`);
  }
  assert.ok(idx('container create ev1') < idx('container start ev1') && idx('container start ev1') < idx('container die ev1') && idx('container die ev1') < idx('container destroy ev1'));
  // The die event carries the exit code and the container's labels.
  const die = await dok(['events', '--since', since, '--until', until, '--filter', 'event=die', '--filter', 'container=ev1', '--format', '{{json .}}']);
  const msg = JSON.parse(die.trim().split('\n')[0]) as { Actor: { Attributes: Record<string, string> }; status: string; from: string };
  assert.equal(msg.Actor.Attributes.exitCode, '3');
  assert.equal(msg.Actor.Attributes.team, 'blue');
  assert.equal(msg.status, 'die');
  assert.equal(msg.from, 'busybox');
  // Without --format, berth prints each event exactly as the docker CLI does.
  const plain = ['events', '--since', since, '--until', until, '--filter', 'container=ev1'];
  assert.equal(await ok(plain), await dok(plain));
  // docker-py streams them live, filtered by type.
  const got = python(`
import threading
since = time.time()
def work():
    time.sleep(0.5)
    c.containers.run('busybox', 'true', name='ev2', remove=True)
threading.Thread(target=work).start()
seen = []
for e in c.events(decode=True, filters={'type': 'container', 'container': 'ev2'}, since=since, until=since + 8):
    seen.append(e['Action'])
    if e['Action'] == 'destroy':
        break
print(json.dumps(seen))
`) as string[];
  assert.deepEqual(got.filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)), ['create', 'start', 'die', 'destroy']);
  // The whole sequence as dockerd writes it: attach, the none and host networks' endpoints,
  // die before the network lets go, and the kill of a forced removal.
  const since2 = unixNow();
  await d.docker(['run', '--rm', '--name', 'ev3', '--network', 'none', 'busybox', 'sh', '-c', 'exit 2']);
  await dok(['run', '-d', '--name', 'ev4', '--network', 'host', 'busybox', 'sleep', '100']);
  await dok(['exec', 'ev4', 'true']);
  await dok(['cp', '/etc/hostname', 'ev4:/tmp/h']);
  await dok(['cp', 'ev4:/tmp/h', '-']);
  await dok(['export', '-o', join(d.root, 'ev4.tar'), 'ev4']);
  await dok(['rm', '-f', 'ev4']);
  const seq = (await dok(['events', '--since', since2, '--until', (Date.now() / 1000 + 1).toFixed(3), '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'])).trim().split('\n');
  assert.deepEqual(seq, [
    'container create ev3', 'container attach ev3', 'network connect none', 'container start ev3', 'container die ev3', 'network disconnect none', 'container destroy ev3',
    'container create ev4', 'network connect host', 'container start ev4',
    // moby's exec actions: the program, a space, its arguments.
    'container exec_create: true  ev4', 'container exec_start: true  ev4', 'container exec_die ev4',
    'container extract-to-dir ev4', 'container archive-path ev4', 'container export ev4',
    'container kill ev4', 'container die ev4', 'network disconnect host', 'container destroy ev4',
  ]);
  // An image named as it is made (commit, import) is tagged first, then committed or imported.
  const since3 = unixNow();
  await dok(['create', '--name', 'ev5', 'busybox']);
  await dok(['commit', 'ev5', 'evcommit:1']);
  await dok(['rm', 'ev5']);
  const made = (await dok(['events', '--since', since3, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'event=tag', '--filter', 'event=commit', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'])).trim().split('\n');
  assert.deepEqual(made, ['image tag evcommit:1', 'container commit ev5']);
  await ok(['rmi', 'evcommit:1']);
  // A volume is mounted for a container's run and let go at its end; every prune says what it reclaimed.
  const since4 = unixNow();
  await dok(['volume', 'create', 'evvol2']);
  await dok(['run', '--rm', '--network', 'none', '-v', 'evvol2:/d', 'busybox', 'true']);
  await dok(['volume', 'rm', 'evvol2']);
  await dok(['volume', 'prune', '-f']);
  await dok(['image', 'prune', '-f']);
  const vols = (await dok(['events', '--since', since4, '--until', (Date.now() / 1000 + 1).toFixed(3), '--filter', 'type=volume', '--filter', 'type=image', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}'])).trim().split('\n');
  assert.deepEqual(vols.map((l) => l.replace(/[0-9a-f]{64}/g, 'ID')), [
    'volume create evvol2 {"driver":"local"}',
    'volume mount evvol2 {"container":"ID","destination":"/d","driver":"local","propagation":"","read/write":"true"}',
    'volume unmount evvol2 {"container":"ID","driver":"local"}',
    'volume destroy evvol2 {"driver":"local"}',
    'volume prune  {"reclaimed":"0"}',
    'image prune  {"reclaimed":"0"}',
  ]);
  // A filter docker does not know is refused.
  const bad = await d.docker(['events', '--filter', 'bogus=1', '--until', unixNow()]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'bogus'/);
  // A window that ends before it begins is refused, naming both ends as they were sent.
  const back = await d.docker(['events', '--since', '1000', '--until', '999']);
  assert.equal(back.code, 1);
  assert.equal(back.stderr, 'Error response from daemon: `since` time (1000) cannot be after `until` time (999)\n');
});

test('pause and unpause: processes freeze (docker ps shows Paused, exec is refused), then go on; stop and rm -f end a paused container', async () => {
  await dok(['run', '-d', '--name', 'pz', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done']);
  await new Promise((r) => setTimeout(r, 300));
  await dok(['pause', 'pz']);
  assert.match(await dok(['ps', '--filter', 'name=pz', '--format', '{{.Status}}']), /\(Paused\)/);
  assert.equal((await dok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'pz'])).trim(), 'paused true');
  assert.equal((await dok(['ps', '-q', '--filter', 'status=paused'])).trim().length, 12);
  const ex = await d.docker(['exec', 'pz', 'true']);
  assert.notEqual(ex.code, 0);
  assert.match(ex.stderr, /is paused, unpause the container before exec/);
  const again = await d.docker(['pause', 'pz']);
  assert.match(again.stderr, /is already paused/);
  await dok(['unpause', 'pz']);
  const a = Number((await dok(['exec', 'pz', 'cat', '/tmp/n'])).trim());
  await new Promise((r) => setTimeout(r, 300));
  const b = Number((await dok(['exec', 'pz', 'cat', '/tmp/n'])).trim());
  assert.ok(b > a, `the loop runs again after unpause (${a} → ${b})`);
  // A paused container still stops (it is thawed after the signal) and is removed by force.
  await dok(['pause', 'pz']);
  await dok(['stop', '-t', '2', 'pz']);
  assert.equal((await dok(['inspect', '-f', '{{.State.Status}}', 'pz'])).trim(), 'exited');
  await dok(['run', '-d', '--name', 'pz2', 'busybox', 'sleep', '100']);
  await dok(['pause', 'pz2']);
  const rm = await d.docker(['rm', 'pz2']);
  assert.match(rm.stderr, /paused/);
  await dok(['rm', '-f', 'pz2']);
});

test('rename through dockerode: the new name resolves, the old one is gone and free, and DNS on a user network follows', async () => {
  const docker = new Docker({ socketPath: d.sock });
  await ok(['network', 'create', 'rn-net']);
  try {
    await ok(['run', '-d', '--name', 'rn-old', '--network', 'rn-net', 'busybox', 'sleep', '100']);
    await docker.getContainer('rn-old').rename({ name: 'rn-new' });
    assert.equal((await docker.getContainer('rn-new').inspect()).Name, '/rn-new');
    await assert.rejects(docker.getContainer('rn-old').inspect(), /no such container/i);
    const r = await d.docker(['rename', 'rn-new', 'rn-new']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /same name as its current name/);
    // docker 28's order and words: the container looked up first, the new name allocated after
    assert.match((await d.docker(['rename', 'rn-nosuch', 'bad name'])).stderr, /No such container: rn-nosuch/);
    assert.match((await d.docker(['rename', 'rn-new', 'bad name'])).stderr, /Error when allocating new name: Invalid container name \(\/bad name\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);
    await ok(['create', '--name', 'rn-taken', 'busybox', 'true']);
    assert.match((await d.docker(['rename', 'rn-new', 'rn-taken'])).stderr, /Error when allocating new name: Conflict. The container name "\/rn-taken" is already in use by container "[0-9a-f]{64}"/);
    await ok(['rm', 'rn-taken']);
    // The name is free for another container; the renamed one answers to its new name.
    await ok(['run', '-d', '--name', 'rn-old', 'busybox', 'sleep', '100']);
    const dns = await ok(['run', '--rm', '--network', 'rn-net', 'busybox', 'nslookup', 'rn-new']);
    assert.match(dns, /Address: \d+\.\d+\.\d+\.\d+/);
  } finally {
    for (const n of ['rn-new', 'rn-old']) await d.berth(['rm', '-f', n]);
    await d.berth(['network', 'rm', 'rn-net']);
  }
});

test('top: docker top with ps options and docker-py top() list the container\'s processes only', async () => {
  await dok(['run', '-d', '--name', 'tp', 'busybox', 'sh', '-c', 'sleep 101 & sleep 102']);
  await new Promise((r) => setTimeout(r, 200));
  const out = await dok(['top', 'tp']);
  assert.match(out.split('\n')[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD/);
  assert.match(out, /sleep 101/);
  assert.match(out, /sleep 102/);
  // sh runs its last command in its own place: two sleeps, nothing of the host's.
  assert.equal(out.trim().split('\n').length, 3, out);
  const custom = await dok(['top', 'tp', '-o', 'pid,args']);
  assert.match(custom.split('\n')[0], /PID\s+COMMAND/);
  const py = python(`print(json.dumps(c.containers.get('tp').top(ps_args='aux')))`) as { Titles: string[]; Processes: string[][] };
  assert.ok(py.Titles.includes('PID'));
  assert.equal(py.Processes.length, 2);
  const stopped = await d.docker(['top', (await dok(['create', 'busybox'])).trim()]);
  assert.match(stopped.stderr, /is not running/);
});

test('stats: docker stats --no-stream and docker-py show CPU, memory against the limit, network and PIDs', async () => {
  await dok(['run', '-d', '--name', 'st', '-m', '64m', 'busybox', 'sh', '-c', 'while true; do :; done']);
  await dok(['run', '-d', '--name', 'st2', 'busybox', 'sleep', '100']);
  const out = await dok(['stats', '--no-stream']);
  assert.match(out.split('\n')[0], /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS/);
  const row = out.split('\n').find((l) => / st\s/.test(l)) ?? '';
  assert.match(row, / \/ 64MiB /);
  const json = JSON.parse(await dok(['stats', '--no-stream', '--format', '{{json .}}', 'st'])) as Record<string, string>;
  assert.ok(parseFloat(json.CPUPerc) > 20, `a busy loop shows CPU use: ${json.CPUPerc}`);
  assert.equal(json.PIDs, '1');
  assert.match(json.NetIO, /B \/ /);
  const s = python(`print(json.dumps(c.containers.get('st2').stats(stream=False)))`) as { memory_stats: { limit: number; usage: number }; cpu_stats: { online_cpus: number }; precpu_stats: { cpu_usage: { total_usage: number } }; pids_stats: { current: number }; networks: Record<string, unknown>; name: string };
  assert.ok(s.memory_stats.usage > 0);
  assert.ok(s.cpu_stats.online_cpus >= 1);
  assert.equal(s.pids_stats.current, 1);
  assert.ok('eth0' in s.networks);
  assert.equal(s.name, '/st2');
  // A stopped container: docker's empty figures; -a lists it.
  await dok(['stop', '-t', '0', 'st2']);
  const all = await dok(['stats', '--no-stream', '-a', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}']);
  assert.match(all, /^st2 0B \/ 0B 0$/m);
  // Streaming through dockerode: samples a second apart.
  const docker = new Docker({ socketPath: d.sock });
  const stream = (await docker.getContainer('st').stats({ stream: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const samples: { read: string }[] = [];
  await new Promise<void>((resolve) => {
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        samples.push(JSON.parse(buf.slice(0, i)) as { read: string });
        buf = buf.slice(i + 1);
      }
      if (samples.length >= 2) {
        stream.destroy();
        resolve();
      }
    });
  });
  assert.ok(Date.parse(samples[1].read) - Date.parse(samples[0].read) >= 900);
});

test('update: memory, CPU, PIDs and restart policy change on a running container and show inside it; bad values are refused', async () => {
  await dok(['run', '-d', '--name', 'up', '-m', '64m', '--pids-limit', '50', 'busybox', 'sleep', '1000']);
  const out = await dok(['update', '-m', '128m', '--memory-swap', '256m', '--cpus', '0.5', '--pids-limit', '70', '--restart', 'on-failure:3', 'up']);
  assert.equal(out.trim(), 'up');
  const f = (await dok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'up'])).trim();
  assert.equal(f, `${128 << 20} 500000000 70 on-failure:3`);
  // The container's own cgroup files say so (what a program inside would read).
  const id = (await dok(['inspect', '-f', '{{.Id}}', 'up'])).trim();
  const v1 = `/sys/fs/cgroup/memory${d.cgroupParent}/${id}/memory.limit_in_bytes`;
  const limit = Number(readFileSync(statSync(v1, { throwIfNoEntry: false }) ? v1 : `/sys/fs/cgroup${d.cgroupParent}/${id}/memory.max`, 'utf8'));
  assert.equal(limit, 128 << 20);
  const pidsMax = readFileSync(`/sys/fs/cgroup/pids${d.cgroupParent}/${id}/pids.max`, 'utf8').trim();
  assert.equal(pidsMax, '70');
  const quota = readFileSync(`/sys/fs/cgroup/cpu${d.cgroupParent}/${id}/cpu.cfs_quota_us`, 'utf8').trim();
  assert.equal(quota, '50000');
  // docker-py's update, then a refusal with docker's message.
  python(`c.containers.get('up').update(mem_limit='96m', memswap_limit='256m')\nprint('{}')`);
  assert.equal((await dok(['inspect', '-f', '{{.HostConfig.Memory}}', 'up'])).trim(), String(96 << 20));
  const bad = await d.docker(['update', '-m', '1m', 'up']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
  // What docker drops from an update unsaid is refused by name (docker-py sends what it is given).
  const swappiness = python(`c.api.update_container('up', mem_reservation='32m', blkio_weight=300, cpu_shares=512)
r = c.api._post_json(c.api._url('/containers/{0}/update', 'up'), data={'MemorySwappiness': 10, 'OomKillDisable': True})
print(json.dumps([r.status_code, r.json()['message']]))`) as [number, string];
  assert.equal(swappiness[0], 400);
  assert.match(swappiness[1], /MemorySwappiness, OomKillDisable cannot be updated/);
  // Each of them, one at a time, is refused naming it, and nothing of the request is applied.
  const each = python(`fields = {
  'BlkioWeightDevice': [{'Path': '/dev/null', 'Weight': 100}], 'BlkioDeviceReadBps': [{'Path': '/dev/null', 'Rate': 1024}],
  'BlkioDeviceWriteBps': [{'Path': '/dev/null', 'Rate': 1024}], 'BlkioDeviceReadIOps': [{'Path': '/dev/null', 'Rate': 10}],
  'BlkioDeviceWriteIOps': [{'Path': '/dev/null', 'Rate': 10}], 'Devices': [{'PathOnHost': '/dev/null', 'PathInContainer': '/dev/n2', 'CgroupPermissions': 'rwm'}],
  'DeviceCgroupRules': ['c 1:3 rwm'], 'DeviceRequests': [{'Count': 1, 'Capabilities': [['gpu']]}], 'Ulimits': [{'Name': 'nofile', 'Soft': 10, 'Hard': 10}],
  'CgroupParent': '/elsewhere', 'KernelMemoryTCP': 1 << 20, 'MemorySwappiness': 10, 'OomKillDisable': True, 'CpuCount': 1, 'CpuPercent': 50,
  'IOMaximumIOps': 100, 'IOMaximumBandwidth': 1 << 20, 'CpuRealtimePeriod': 1000, 'CpuRealtimeRuntime': 100}
out = []
for k, v in fields.items():
  r = c.api._post_json(c.api._url('/containers/{0}/update', 'up'), data={k: v, 'CpuShares': 256})
  out.append([k, r.status_code, r.json()['message']])
print(json.dumps(out))`) as [string, number, string][];
  for (const [field, status, message] of each) {
    assert.equal(status, 400, field);
    assert.match(message, field.startsWith('CpuRealtime') ? /real-time CPU scheduling is not supported/ : new RegExp(`: ${field} cannot be updated`), field);
  }
  assert.equal(each.length, 19);
  assert.equal((await dok(['inspect', '-f', '{{.HostConfig.MemoryReservation}} {{.HostConfig.CpuShares}}', 'up'])).trim(), `${32 << 20} 512`, 'what can be updated was, and the refused requests changed nothing');
  const none = await d.docker(['update', 'up']);
  assert.match(none.stderr, /you must provide one or more flags when using this command/);
  // The policy applies: a failing container restarts at most 3 times.
  await dok(['run', '-d', '--name', 'up2', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1']);
  await dok(['update', '--restart', 'on-failure:2', 'up2']);
  await waitFor(async () => (await dok(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'up2'])).trim() === '2 exited', 20_000);
});

test('OOM: a container over its memory limit is killed with 137, OOMKilled true and an oom event', async () => {
  const since = unixNow();
  const r = await d.docker(['run', '--name', 'oom', '-m', '8m', 'busybox', 'sh', '-c', 'x=aaaaaaaaaa; while true; do x=$x$x; done']);
  assert.equal(r.code, 137);
  assert.equal((await dok(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom'])).trim(), 'true 137');
  const ev = await dok(['events', '--since', since, '--until', (Date.now() / 1000 + 0.5).toFixed(3), '--filter', 'container=oom', '--format', '{{.Action}}']);
  assert.match(ev, /^oom$/m);
});

test('health checks: starting → healthy / unhealthy in ps and inspect, health_status events, the probe log, timeouts, --no-healthcheck', async () => {
  const since = unixNow();
  // Enough retries that a slow machine cannot fail it before the file appears (then it is healthy).
  await dok(['run', '-d', '--name', 'hok', '--health-cmd', 'test -f /tmp/ready', '--health-interval', '200ms', '--health-retries', '20', 'busybox', 'sh', '-c', 'sleep 1; touch /tmp/ready; sleep 100']);
  assert.match(await dok(['ps', '--filter', 'name=hok', '--format', '{{.Status}}']), /\(health: starting\)/);
  await dok(['run', '-d', '--name', 'hbad', '--health-cmd', 'echo sick; exit 1', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '100']);
  await dok(['run', '-d', '--name', 'hslow', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '100']);
  await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Health.Status}}', 'hok'])).trim() === 'healthy');
  await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Health.Status}}', 'hbad'])).trim() === 'unhealthy');
  await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Health.Status}}', 'hslow'])).trim() === 'unhealthy');
  assert.match(await dok(['ps', '--filter', 'name=hok', '--format', '{{.Status}}']), /\(healthy\)/);
  assert.equal((await dok(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}'])).trim().split('\n').sort().join(','), 'hbad,hslow');
  const bad = JSON.parse(await dok(['inspect', '-f', '{{json .State.Health}}', 'hbad'])) as { FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
  assert.ok(bad.FailingStreak >= 2);
  assert.ok(bad.Log.length >= 2 && bad.Log.length <= 5);
  assert.equal(bad.Log[0].ExitCode, 1);
  assert.equal(bad.Log[0].Output, 'sick\n');
  const slow = JSON.parse(await dok(['inspect', '-f', '{{json .State.Health}}', 'hslow'])) as { Log: { ExitCode: number; Output: string }[] };
  assert.equal(slow.Log[0].ExitCode, -1);
  assert.equal(slow.Log[0].Output, 'Health check exceeded timeout (300ms)');
  const ev = await dok(['events', '--since', since, '--until', (Date.now() / 1000 + 0.5).toFixed(3), '--filter', 'event=health_status', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  assert.match(ev, /^health_status: healthy hok$/m);
  assert.match(ev, /^health_status: unhealthy hbad$/m);
  // An image's HEALTHCHECK applies, and --no-healthcheck turns it off.
  const built = await d.berth(['build', '-q', '-t', 'hc:1', '-'], { input: 'FROM busybox\nHEALTHCHECK --interval=200ms CMD true\n' });
  assert.equal(built.code, 0, built.stderr);
  await dok(['run', '-d', '--name', 'himg', 'hc:1', 'sleep', '100']);
  await dok(['run', '-d', '--name', 'hnone', '--no-healthcheck', 'hc:1', 'sleep', '100']);
  await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Health.Status}}', 'himg'])).trim() === 'healthy');
  assert.equal((await dok(['inspect', '-f', '{{.State.Health}}', 'hnone'])).trim(), '<nil>');
  // A stopped container reads unhealthy, as in docker.
  await dok(['stop', '-t', '0', 'himg']);
  assert.equal((await dok(['inspect', '-f', '{{.State.Health.Status}}', 'himg'])).trim(), 'unhealthy');
});

test('a killed berthd keeps limits, restart policies and health state; its successor carries the health checks on', async () => {
  await dok(['run', '-d', '--name', 'keep', '-m', '48m', '--restart', 'unless-stopped', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '1000']);
  await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Health.Status}}', 'keep'])).trim() === 'healthy');
  await d.stopDaemon('SIGKILL');
  await d.startDaemon();
  const f = (await dok(['inspect', '-f', '{{.State.Status}} {{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}} {{.State.Health.Status}}', 'keep'])).trim();
  assert.equal(f, `running ${48 << 20} unless-stopped healthy`);
  const before = (JSON.parse(await dok(['inspect', '-f', '{{json .State.Health.Log}}', 'keep'])) as { End: string }[]).at(-1)!.End;
  await waitFor(async () => (JSON.parse(await dok(['inspect', '-f', '{{json .State.Health.Log}}', 'keep'])) as { End: string }[]).at(-1)!.End !== before);
});

test('--shutdown-stops-containers: a SIGTERM stops the containers; the next start brings back those with a restart policy', async () => {
  await d.stopDaemon();
  await d.startDaemon(['--shutdown-stops-containers']);
  try {
    await dok(['run', '-d', '--name', 'sd-always', '--restart', 'always', 'busybox', 'sleep', '1000']);
    await dok(['run', '-d', '--name', 'sd-plain', 'busybox', 'sleep', '1000']);
    assert.equal(JSON.parse(await dok(['info', '--format', '{{json .LiveRestoreEnabled}}'])), false);
    await d.stopDaemon('SIGTERM');
    await d.startDaemon();
    await waitFor(async () => (await dok(['inspect', '-f', '{{.State.Status}}', 'sd-always'])).trim() === 'running');
    assert.equal((await dok(['inspect', '-f', '{{.State.Status}}', 'sd-plain'])).trim(), 'exited');
  } finally {
    await d.stopDaemon();
    await d.startDaemon();
  }
});

test('block I/O limits: --device-read-bps reaches the cgroup; a weight the kernel cannot apply is dropped with docker\'s warning', async () => {
  const dev = ['/dev/vda', '/dev/sda', '/dev/nvme0n1', '/dev/loop0'].find((p) => statSync(p, { throwIfNoEntry: false })?.isBlockDevice());
  assert.ok(dev, 'a block device to limit');
  await dok(['run', '-d', '--name', 'bio', '--device-read-bps', `${dev}:1mb`, '--device-write-iops', `${dev}:100`, 'busybox', 'sleep', '100']);
  const id = (await dok(['inspect', '-f', '{{.Id}}', 'bio'])).trim();
  const st = statSync(dev);
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = st.rdev & 0xff;
  const rbps = readFileSync(`/sys/fs/cgroup/blkio${d.cgroupParent}/${id}/blkio.throttle.read_bps_device`, 'utf8');
  assert.match(rbps, new RegExp(`^${major}:${minor} 1048576$`, 'm'));
  const wiops = readFileSync(`/sys/fs/cgroup/blkio${d.cgroupParent}/${id}/blkio.throttle.write_iops_device`, 'utf8');
  assert.match(wiops, new RegExp(`^${major}:${minor} 100$`, 'm'));
  const bad = await d.docker(['run', '--rm', '--device-read-bps', '/dev/null:1mb', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not a block device/);
  const hasWeight = statSync('/sys/fs/cgroup/blkio/blkio.weight', { throwIfNoEntry: false }) || statSync('/sys/fs/cgroup/blkio/blkio.bfq.weight', { throwIfNoEntry: false });
  const w = await d.docker(['create', '--blkio-weight', '300', 'busybox']);
  assert.equal(w.code, 0, w.stderr);
  if (!hasWeight) assert.match(w.stderr, /does not support Block I\/O weight or the cgroup is not mounted\. Weight discarded\./);
  // moby discards a weight the kernel cannot apply before checking its range
  const range = await d.docker(['create', '--blkio-weight', '5', 'busybox']);
  if (hasWeight) assert.match(range.stderr, /Range of blkio weight is from 10 to 1000/);
  else assert.match(range.stderr, /Weight discarded\./);
});

test('wait --condition: next-exit waits for the coming exit, removed for the removal', async () => {
  await ok(['run', '-d', '--name', 'wt', 'busybox', 'sleep', '100']);
  const waiting = d.berth(['wait', '--condition', 'removed', 'wt']);
  await new Promise((r) => setTimeout(r, 300));
  await ok(['rm', '-f', 'wt']);
  const r = await waiting;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '137');
});
