/**
 * `build --cache-from`: a CI machine pulls last build's image and builds with it as the cache.
 * A pulled image has no parent links, so its steps are matched by history, as moby's classic
 * builder matches them. What a user checks: an unchanged build is all "Using cache" and gives
 * the pulled image itself; a changed file reruns from its step on; naming a cache source limits
 * the cache to it; the same through the docker CLI and docker-py.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon } from './harness.ts';
import { HAS_DOCKER_REGISTRY, startBerthRegistry, startDockerRegistry, type RunningRegistry } from './registries.ts';

let d: TestDaemon;
let reg: RunningRegistry;
let root: string;
let ctxDir: string;
let R: string;

function steps(out: string): string[] {
  return out.split('\n').filter((l) => / ---> (Using cache|Running in)/.test(l) || /^Step \d\/\d : COPY/.test(l)).map((l) => (l.includes('Using cache') ? 'cache' : l.includes('Running in') ? 'run' : 'copy'));
}

/** Only busybox left, then the source pulled back: an image without parent links, as on a fresh CI machine. */
async function freshPull(): Promise<string> {
  // Children go before their parents: a few rounds of removal.
  for (let round = 0; round < 10; round++) {
    const left = (await d.ok(['images', '-aq', '--no-trunc'])).trim().split('\n').filter((id) => id && id !== busybox);
    if (!left.length) break;
    for (const id of left) await d.berth(['rmi', '-f', id]);
  }
  assert.deepEqual((await d.ok(['images', '-aq', '--no-trunc'])).trim().split('\n'), [busybox]);
  await d.ok(['pull', '-q', `${R}/cf:1`]);
  return (await d.ok(['image', 'inspect', '-f', '{{.Id}}', `${R}/cf:1`])).trim();
}

let busybox: string;
let built: string;

before(async () => {
  d = await TestDaemon.start();
  busybox = (await d.importBusybox()).trim();
  reg = HAS_DOCKER_REGISTRY ? await startDockerRegistry() : await startBerthRegistry();
  R = reg.host;
  root = mkdtempSync('/tmp/bt-cachefrom-');
  ctxDir = join(root, 'ctx');
  mkdirSync(ctxDir);
  writeFileSync(join(ctxDir, 'Dockerfile'), 'FROM busybox\nRUN echo one > /one\nCOPY f /f\nRUN echo two > /two\nCMD ["cat", "/two"]\n');
  writeFileSync(join(ctxDir, 'f'), 'first\n');
  await d.ok(['build', '-t', `${R}/cf:1`, ctxDir]);
  built = (await d.ok(['image', 'inspect', '-f', '{{.Id}}', `${R}/cf:1`])).trim();
  await d.ok(['push', `${R}/cf:1`]);
});

after(async () => {
  await d?.cleanup();
  await reg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a pulled image is the cache of an unchanged build: every step from it, and the image itself as the result', async () => {
  assert.equal(await freshPull(), built);
  // Without --cache-from a pulled image is no cache (docker's classic builder neither).
  const without = await d.berth(['build', '-t', 'cf:nocf', ctxDir]);
  assert.equal(without.code, 0, without.stderr);
  assert.deepEqual(steps(without.stdout), ['run', 'copy', 'run']);

  assert.equal(await freshPull(), built);
  const r = await d.berth(['build', '--cache-from', `${R}/cf:1`, '-t', 'cf:2', ctxDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(steps(r.stdout).filter((s) => s !== 'copy'), ['cache', 'cache', 'cache', 'cache']);
  assert.match(r.stdout, new RegExp(`Successfully built ${built.slice(7, 19)}\n`));
  assert.equal(await d.ok(['run', '--rm', 'cf:2']), 'two\n');
  // The steps between are images of their own, over the same layers (history as the source's).
  const history = (await d.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'cf:2'])).split('\n').slice(0, 4);
  assert.deepEqual(history, ['/bin/sh -c #(nop)  CMD ["cat" "/two"]', '/bin/sh -c echo two > /two', history[2], '/bin/sh -c echo one > /one']);
  assert.match(history[2], /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/f $/);
});

test('a changed file reruns from its step; a named cache source is the only cache', async () => {
  assert.equal(await freshPull(), built);
  writeFileSync(join(ctxDir, 'f'), 'second\n');
  try {
    const r = await d.berth(['build', '--cache-from', `${R}/cf:1`, '-t', 'cf:3', ctxDir]);
    assert.equal(r.code, 0, r.stderr);
    // RUN one from the source; COPY and after made anew.
    assert.deepEqual(steps(r.stdout), ['cache', 'copy', 'run']);
    assert.equal(await d.ok(['run', '--rm', 'cf:3', 'cat', '/f', '/two']), 'second\ntwo\n');
  } finally {
    writeFileSync(join(ctxDir, 'f'), 'first\n');
  }
  // Another Dockerfile, built twice: from the local cache the second time, but not when the
  // build names a cache source it is no part of (moby's rule).
  const other = join(root, 'other');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'Dockerfile'), 'FROM busybox\nRUN echo other > /other\n');
  await d.ok(['build', '-t', 'other:1', other]);
  assert.deepEqual(steps(await d.ok(['build', '-t', 'other:2', other])), ['cache']);
  assert.deepEqual(steps(await d.ok(['build', '--cache-from', `${R}/cf:1`, '-t', 'other:3', other])), ['run']);
  // A source that is not here is skipped; the build goes on with none (the local cache is
  // still not used: the build named its sources).
  assert.deepEqual(steps(await d.ok(['build', '--cache-from', 'nosuch:1', '-t', 'other:4', other])), ['run']);
});

test('the docker CLI\'s --cache-from and docker-py\'s cache_from take a pulled image\'s steps too', async () => {
  assert.equal(await freshPull(), built);
  const r = await d.docker(['build', '--cache-from', `${R}/cf:1`, '-t', 'cf:docker', ctxDir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(steps(r.stdout).filter((s) => s !== 'copy'), ['cache', 'cache', 'cache', 'cache']);
  assert.match(r.stdout, new RegExp(`Successfully built ${built.slice(7, 19)}\n`));

  assert.equal(await freshPull(), built);
  const py = spawnSync('python3', ['-c', `
import docker
c = docker.DockerClient(base_url='${d.host}')
img, logs = c.images.build(path='${ctxDir}', tag='cf:py', cache_from=['${R}/cf:1'], rm=True)
print(img.id, sum(1 for l in logs if 'Using cache' in l.get('stream', '')))
`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout, `${built} 4\n`);
});
