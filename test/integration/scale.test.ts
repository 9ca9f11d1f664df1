/**
 * Many containers (CI's version of `npm run bench -- scale`): 50 started one after another on
 * the default bridge all run, each supervised by its own monitor with its own address; the
 * docker CLI lists them; one `rm -f` of all leaves no monitor, mount, veth or cgroup behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TestDaemon, mountsUnder, cgroupDirs } from './harness.ts';

let d: TestDaemon;
const N = 50;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

/** berthd's resident memory, in MiB. */
function rssMiB(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))![1]) / 1024;
}

test(`${N} containers run side by side and go with one rm -f; berthd gives the memory back`, async () => {
  // The import's burst is collected after 5 s without requests (lib/idlegc.ts).
  await new Promise((r) => setTimeout(r, 6500));
  const idle = rssMiB();
  for (let i = 0; i < N; i++) await d.ok(['run', '-d', '--name', `many${i}`, 'busybox', 'sleep', '1d']);
  const ids = (await d.dockerOk(['ps', '-q', '--no-trunc'])).trim().split('\n');
  assert.equal(ids.length, N);
  const ips = new Set((await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', ...ids])).trim().split('\n'));
  assert.equal(ips.size, N, 'an address each');
  assert.equal(readdirSync(join(d.execRoot, 'c')).length, N, 'a monitor each');
  const veths = spawnSync('ip', ['-o', 'link', 'show', 'master', d.bridge], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  assert.equal(veths.length, N);
  // Still answering: a container started and removed among them.
  assert.equal((await d.ok(['run', '--rm', 'busybox', 'echo', 'still here'])).trim(), 'still here');
  await d.ok(['rm', '-f', ...ids]);
  assert.equal((await d.ok(['ps', '-aq'])).trim(), '');
  const left = existsSync(join(d.execRoot, 'c')) ? readdirSync(join(d.execRoot, 'c')) : [];
  assert.deepEqual(left, [], 'no monitor left');
  assert.deepEqual(mountsUnder(join(d.dataRoot, 'overlay2')).filter((m) => m.endsWith('/merged')), [], 'no root file system left mounted');
  assert.equal(spawnSync('ip', ['-o', 'link', 'show', 'master', d.bridge], { encoding: 'utf8' }).stdout.trim(), '', 'no veth left');
  assert.deepEqual(cgroupDirs(d.cgroupParent).flatMap((p) => readdirSync(p).filter((e) => ids.includes(e))), [], 'no container cgroup left');
  const busy = rssMiB();
  let now = busy;
  for (let i = 0; i < 40 && now > idle + 8; i++) {
    await new Promise((r) => setTimeout(r, 500));
    now = rssMiB();
  }
  assert.ok(now <= idle + 8, `berthd's RSS: ${idle.toFixed(1)} MiB idle, ${busy.toFixed(1)} after ${N} containers came and went, ${now.toFixed(1)} 20 s later`);
});
