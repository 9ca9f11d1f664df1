/**
 * Pull and push against Debian's reference registry (docker-registry, distribution 2.8),
 * through `berth` and the real docker CLI: round trips, shared layers, digests, mirrors,
 * an interrupted pull, Docker Hub unreachable, and registries that misbehave.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { TestDaemon, DOCKER, ROOT, NODE, BERTH } from './harness.ts';
import { HAS_DOCKER_REGISTRY, startDockerRegistry, freePort, type RunningRegistry } from './registries.ts';
import { makeImage, uploadImage, imageFromTar, uploadIndex } from './synthetic.ts';

const skip = !HAS_DOCKER_REGISTRY && 'docker-registry is not installed';
let d: TestDaemon;
let reg: RunningRegistry;

before(async () => {
  if (skip) return;
  reg = await startDockerRegistry();
  d = await TestDaemon.start({ env: { BERTH_REGISTRY_TIMEOUT_MS: '3000' } });
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  await reg?.stop();
});

async function ok(args: string[], input?: string) {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

test('berth push then pull round trip, with docker\'s messages and digests', { skip }, async () => {
  const name = `${reg.host}/team/box:1.0`;
  await ok(['tag', 'busybox', name]);
  const push = await ok(['push', name]);
  assert.match(push, new RegExp(`^The push refers to repository \\[${reg.host}/team/box\\]\n`));
  assert.match(push, /^[0-9a-f]{12}: Pushed$/m);
  const digest = /^1\.0: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push)?.[1];
  assert.ok(digest, push);
  const again = await ok(['push', name]);
  assert.match(again, /^[0-9a-f]{12}: Layer already exists$/m);
  await ok(['rmi', name]);
  const pull = await ok(['pull', name]);
  assert.match(pull, /^1\.0: Pulling from team\/box$/m);
  assert.match(pull, new RegExp(`^Digest: ${digest}$`, 'm'));
  assert.match(pull, new RegExp(`^Status: Downloaded newer image for ${reg.host}/team/box:1\\.0$`, 'm'));
  assert.match(pull, new RegExp(`^${reg.host}/team/box:1\\.0$`, 'm'));
  assert.doesNotMatch(pull, /Downloading/, 'no byte counters when piped');
  assert.match(await ok(['pull', name]), /Status: Image is up to date for/);
  assert.match(await ok(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}']), new RegExp(`${reg.host}/team/box ${digest}`));
  assert.equal(await ok(['run', '--rm', name, 'echo', 'pulled']), 'pulled\n');
  await ok(['rmi', name]);
  assert.equal((await ok(['pull', '-q', `${reg.host}/team/box@${digest}`])).trim(), `${reg.host}/team/box@${digest}`, 'pull by digest');
});

test('push progress: byte counts through the API, docker\'s bar on a terminal, only the result when piped', { skip }, async () => {
  // A committed layer is stored plain, so this push compresses it as it uploads.
  await ok(['run', '--name', 'progress-src', 'busybox', 'sh', '-c', 'head -c 3000000 /dev/urandom > /blob']);
  const name = `${reg.host}/progress/img`;
  try {
    await ok(['commit', 'progress-src', `${name}:api`]);
    const layer = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 1}}', `${name}:api`])).trim();
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: d.sock, method: 'POST', path: `/v1.50/images/${encodeURIComponent(name)}/push?tag=api`, headers: { 'X-Registry-Auth': Buffer.from('{}').toString('base64') } }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    type Msg = { status?: string; id?: string; error?: string; progressDetail?: { current?: number; total?: number }; aux?: { Tag: string; Digest: string } };
    const msgs = body.trim().split('\n').map((l) => JSON.parse(l) as Msg);
    assert.ok(!msgs.some((m) => m.error), body);
    // The new layer's messages: Preparing, then byte counts that only grow and never pass the total, then Pushed.
    const id = layer.slice(7, 19);
    const mine = msgs.filter((m) => m.id === id);
    assert.equal(mine[0].status, 'Preparing');
    assert.equal(mine.at(-1)!.status, 'Pushed');
    const counts = mine.filter((m) => m.status === 'Pushing').map((m) => m.progressDetail!);
    assert.ok(counts.length > 0);
    for (let i = 0; i < counts.length; i++) {
      assert.ok(counts[i].total! > 3_000_000, `a total of the layer's bytes: ${JSON.stringify(counts[i])}`);
      assert.ok(counts[i].current! <= counts[i].total!, JSON.stringify(counts[i]));
      if (i) assert.ok(counts[i].current! >= counts[i - 1].current!, 'counts only grow');
    }
    assert.deepEqual(msgs.at(-1)!.aux?.Tag, 'api');
    // Piped: the result lines only. Another image with the same layers (a second commit of the
    // container) sends none again, as docker: the compressed copies kept from the first push
    // are found, not made and uploaded anew. Each line is named by the layer's diff ID.
    await ok(['commit', 'progress-src', `${name}:piped`]);
    const piped = await ok(['push', `${name}:piped`]);
    assert.doesNotMatch(piped, /Pushing|Pushed|\[=/, piped);
    const diffIds = JSON.parse(await ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', `${name}:piped`])) as string[];
    for (const d of diffIds) assert.match(piped, new RegExp(`^${d.slice(7, 19)}: Layer already exists$`, 'm'));
    assert.match(piped, /^piped: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    // A terminal: the bar while it goes, and the final lines as docker leaves them.
    if (spawnSync('tmux', ['-V']).status === 0) {
      await ok(['run', '--name', 'progress-tty', 'busybox', 'sh', '-c', 'head -c 3000000 /dev/urandom > /blob']);
      await ok(['commit', 'progress-tty', `${name}:tty`]);
      const session = `berth-push-${process.pid}`;
      try {
        spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '150', '-y', '20', `env BERTH_HOST=${d.host} ${NODE} ${BERTH} push ${name}:tty; echo EXIT=$?; sleep 600`], { env: { ...process.env, TERM: 'xterm' } });
        let screen = '';
        for (let i = 0; i < 200 && !/EXIT=\d/.test(screen); i++) {
          await new Promise((r) => setTimeout(r, 100));
          screen = spawnSync('tmux', ['capture-pane', '-p', '-t', session]).stdout.toString();
        }
        assert.match(screen, new RegExp(`^The push refers to repository \\[${reg.host}/progress/img\\]$`, 'm'));
        assert.match(screen, /^[0-9a-f]{12}: Pushed$/m, 'the new layer');
        assert.match(screen, /^[0-9a-f]{12}: Layer already exists$/m, 'busybox\'s');
        assert.match(screen, /^tty: digest: sha256:[0-9a-f]{64} size: \d+\nEXIT=0$/m);
        assert.doesNotMatch(screen, /Pushing|Preparing|Waiting/, 'every layer line ends as its final status');
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
    }
  } finally {
    await d.berth(['rm', '-f', 'progress-src', 'progress-tty']);
    for (const t of ['api', 'piped', 'tty']) await d.berth(['rmi', `${name}:${t}`]);
  }
});

test('layers are downloaded in parallel, verified, unpacked once and shared', { skip }, async () => {
  const base = await makeImage([300_000, 200_000]);
  const child = await makeImage([100_000]);
  // child shares base's layers: same blobs, one more on top
  child.layers = [...base.layers, ...child.layers];
  const cfg = JSON.parse(child.config.data.toString());
  cfg.rootfs.diff_ids = child.layers.map((l) => l.diffId);
  child.config.data = Buffer.from(JSON.stringify(cfg));
  child.config.digest = 'sha256:' + createHash('sha256').update(child.config.data).digest('hex');
  child.manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: child.config.mediaType, digest: child.config.digest, size: child.config.data.length }, layers: child.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })) }));
  await uploadImage(reg.url, 'syn/base', 'v1', base);
  await uploadImage(reg.url, 'syn/child', 'v1', child);
  const before = readdirSync(join(d.dataRoot, 'layerdb', 'sha256')).length;
  await ok(['pull', `${reg.host}/syn/base:v1`]);
  const out = await ok(['pull', `${reg.host}/syn/child:v1`]);
  assert.equal((out.match(/: Already exists$/gm) ?? []).length, 2, out);
  assert.equal(readdirSync(join(d.dataRoot, 'layerdb', 'sha256')).length, before + 3, 'three distinct layers stored');
});

test('indexes: the host platform or --platform is picked; zstd layers unpack', { skip }, async () => {
  const amd = await makeImage([10_000], ['sh'], { compression: 'zstd' });
  const arm = await makeImage([10_000], ['sh'], { arch: 'arm64' });
  const idx = await uploadIndex(reg.url, 'multi/img', 'v1', [
    { platform: { os: 'linux', architecture: 'arm64' }, image: arm },
    { platform: { os: 'linux', architecture: 'amd64' }, image: amd },
  ]);
  const out = await ok(['pull', `${reg.host}/multi/img:v1`]);
  assert.match(out, new RegExp(`Digest: ${idx}`), 'the index digest is the repo digest, as in docker');
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Architecture}} {{index .RepoDigests 0}}', `${reg.host}/multi/img:v1`])).trim(), `amd64 ${reg.host}/multi/img@${idx}`);
  await ok(['rmi', `${reg.host}/multi/img:v1`]);
  await ok(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/img:v1`]);
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Architecture}}', `${reg.host}/multi/img:v1`])).trim(), 'arm64');
  const none = await d.berth(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/img:v1`]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('pull -a fetches every tag; search lists the catalog', { skip }, async () => {
  const a = await makeImage([1000]);
  const b = await makeImage([1000]);
  await uploadImage(reg.url, 'tags/many', 'one', a);
  await uploadImage(reg.url, 'tags/many', 'two', b);
  const out = await ok(['pull', '-a', `${reg.host}/tags/many`]);
  assert.match(out, /one: Pulling from tags\/many/);
  assert.match(out, /two: Pulling from tags\/many/);
  const tags = (await ok(['images', '--format', '{{.Tag}}', `${reg.host}/tags/many`])).trim().split('\n').sort();
  assert.deepEqual(tags, ['one', 'two']);
  const s = await ok(['search', `${reg.host}/tags`]);
  assert.match(s, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL\n/);
  assert.match(s, new RegExp(`^${reg.host}/tags/many\\s+0`, 'm'));
  // --filter reaches the daemon: a registry's results have no stars and none is official.
  assert.doesNotMatch(await ok(['search', '--filter', 'stars=1', `${reg.host}/tags`]), /tags\/many/);
  assert.doesNotMatch(await ok(['search', '--filter', 'is-official=true', `${reg.host}/tags`]), /tags\/many/);
  assert.match(await ok(['search', '--filter', 'is-official=false', `${reg.host}/tags`]), /tags\/many/);
  const bad = await d.berth(['search', '--filter', 'nope=1', `${reg.host}/tags`]);
  assert.match(bad.stderr, /invalid filter 'nope'/);
});

test('push --compression zstd stores OCI tar+zstd layers that pull back; push -a (berth and the docker CLI) pushes every tag', { skip }, async () => {
  const dir = mkdtempSync('/tmp/bt-zstd-');
  try {
    writeFileSync(join(dir, 'f'), 'zstd layer content\n'.repeat(10_000));
    spawnSync('tar', ['-C', dir, '-cf', join(dir, 'l.tar'), 'f']);
    const name = `${reg.host}/zs/img:1`;
    await ok(['import', join(dir, 'l.tar'), name]);
    await ok(['push', '--compression', 'zstd', name]);
    const m = await (await fetch(`${reg.url}/v2/zs/img/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as { layers: { mediaType: string; digest: string }[] };
    assert.deepEqual(m.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+zstd']);
    const blob = Buffer.from(await (await fetch(`${reg.url}/v2/zs/img/blobs/${m.layers[0].digest}`)).arrayBuffer());
    assert.equal(blob.readUInt32LE(0), 0xfd2fb528, 'a zstd frame');
    await ok(['rmi', name]);
    await ok(['pull', name]);
    await ok(['create', '--name', 'zs', name, '/f']);
    await ok(['cp', 'zs:/f', join(dir, 'back')]);
    assert.equal(readFileSync(join(dir, 'back'), 'utf8'), 'zstd layer content\n'.repeat(10_000));
    await ok(['rm', 'zs']);
    const bad = await d.berth(['push', '--compression', 'lz4', name]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid argument "lz4" for "--compression" flag/);
    // The API refuses what it cannot apply by name (a client we did not write: curl).
    for (const [q, message, code] of [
      ['compression=lz4', /unknown compression \\"lz4\\": use gzip or zstd/, 400],
      ['platform=%7B%22os%22%3A%22linux%22%7D', /invalid platform parameter/, 400],
      ['platform=%7B%22os%22%3A%22linux%22%2C%22architecture%22%3A%22s390x%22%7D', /was found but does not match the specified platform: wanted linux\/s390x/, 404],
    ] as const) {
      const r = spawnSync('curl', ['-s', '-w', ' %{http_code}', '--unix-socket', d.sock, '-X', 'POST', `http://x/v1.50/images/${reg.host}/zs/img/push?tag=1&${q}`], { encoding: 'utf8' });
      assert.match(r.stdout, new RegExp(` ${code}$`), r.stdout);
      assert.match(r.stdout, message);
    }
    // --platform: the image's own platform pushes; another is docker's NotFound (both CLIs).
    const arch = (await ok(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', name])).trim();
    assert.equal((await d.berth(['push', '--platform', arch, name])).code, 0);
    const other = await d.docker(['push', '--platform', 'linux/s390x', name]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /does not match the specified platform: wanted linux\/s390x/);
    assert.match((await d.berth(['push', '--platform', 'linux/s390x', name])).stderr, /does not match the specified platform/);
    // -a: every tag of the repository, through berth and through the docker CLI.
    await ok(['tag', name, `${reg.host}/zs/img:2`]);
    await ok(['tag', 'busybox', `${reg.host}/zs/img:3`]);
    await ok(['push', '-a', `${reg.host}/zs/img`]);
    const tags = await (await fetch(`${reg.url}/v2/zs/img/tags/list`)).json() as { tags: string[] };
    assert.deepEqual(tags.tags.sort(), ['1', '2', '3']);
    await ok(['tag', 'busybox', `${reg.host}/zs/other:a`]);
    await ok(['tag', 'busybox', `${reg.host}/zs/other:b`]);
    const viaDocker = await d.docker(['push', '-a', `${reg.host}/zs/other`]);
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    assert.deepEqual(((await (await fetch(`${reg.url}/v2/zs/other/tags/list`)).json()) as { tags: string[] }).tags.sort(), ['a', 'b']);
    await ok(['rmi', name, `${reg.host}/zs/img:2`, `${reg.host}/zs/img:3`, `${reg.host}/zs/other:a`, `${reg.host}/zs/other:b`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a mirror configured in daemon.json serves docker.io pulls', { skip }, async () => {
  const tar = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  await uploadImage(reg.url, 'library/mirrored', 'latest', await imageFromTar(tar));
  const m = await TestDaemon.start({ config: { 'registry-mirrors': [reg.url] } });
  try {
    const r = await m.berth(['pull', 'mirrored']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Status: Downloaded newer image for mirrored:latest/);
    assert.match(r.stdout, /^docker\.io\/library\/mirrored:latest$/m);
    assert.equal((await m.berth(['run', '--rm', 'mirrored', 'echo', 'from-mirror'])).stdout, 'from-mirror\n');
    const info = JSON.parse((await m.berth(['info', '--format', '{{json .RegistryConfig.Mirrors}}'])).stdout);
    assert.deepEqual(info, [reg.url]);
  } finally {
    await m.cleanup();
  }
});

test('a registry that is not there: a clear network error naming it', { skip }, async () => {
  const r = await d.berth(['pull', '127.0.0.1:1/busybox:definitely-not-local']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: GET http://127.0.0.1:1/v2/busybox/manifests/definitely-not-local: connection refused\n');
  const run = await d.berth(['run', '--rm', '127.0.0.1:1/alpine']);
  assert.equal(run.code, 125);
  assert.match(run.stderr, /^Unable to find image '127\.0\.0\.1:1\/alpine:latest' locally\n/);
  // Pushing what is not here names the repository first and fails in the stream, as dockerd.
  for (const push of [await d.berth(['push', '127.0.0.1:1/nothing:v1']), await d.docker(['push', '127.0.0.1:1/nothing:v1'])]) {
    assert.equal(push.code, 1, push.stderr);
    assert.equal(push.stdout, 'The push refers to repository [127.0.0.1:1/nothing]\n');
    assert.equal(push.stderr, 'An image does not exist locally with the tag: 127.0.0.1:1/nothing\n');
  }
});

test('an interrupted pull leaves nothing half-registered and the next one succeeds', { skip }, async () => {
  const big = await makeImage([40 << 20, 40 << 20]);
  await uploadImage(reg.url, 'syn/big', 'v1', big);
  const p = d.berth(['pull', `${reg.host}/syn/big:v1`]);
  // Killed while a layer is on its way in (not after a fixed time: a fast machine finishes first).
  const ingest = join(d.dataRoot, 'ingest');
  for (let i = 0; i < 500 && readdirSync(ingest).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(readdirSync(ingest).length > 0, 'a download under way');
  await d.stopDaemon('SIGKILL');
  await p;
  await d.startDaemon();
  assert.equal((await d.berth(['image', 'inspect', `${reg.host}/syn/big:v1`])).code, 1, 'no image after the crash');
  assert.equal(readdirSync(join(d.dataRoot, 'ingest')).length, 0, 'partial downloads cleaned');
  assert.ok(!readdirSync(join(d.dataRoot, 'overlay2')).some((n) => n.startsWith('.staging')), 'partial layers cleaned');
  await ok(['pull', `${reg.host}/syn/big:v1`]);
  assert.equal((await ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', `${reg.host}/syn/big:v1`])).trim(), '2');
});

test('a push whose upload the registry refuses fails, stores nothing and keeps the image as it was; the next push succeeds', { skip }, async () => {
  await ok(['run', '--name', 'refused', 'busybox', 'sh', '-c', 'echo refused > /r']);
  // A registry that has no blob, opens upload sessions and fails every upload into them, whether
  // streamed (PATCH, for a layer compressed on the way) or whole (PUT, for one compressed before).
  const port = await freePort();
  const srv: Server = createServer((req, res) => {
    const url = req.url ?? '';
    req.resume();
    if (url === '/v2/') return void res.end('{}');
    if (req.method === 'POST' && url.startsWith('/v2/refuse/img/blobs/uploads/')) {
      res.writeHead(202, { Location: '/v2/refuse/img/blobs/uploads/u1', 'Content-Length': 0 });
      return void res.end();
    }
    if (url.startsWith('/v2/refuse/img/blobs/uploads/u1')) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      return void res.end('{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}');
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  const evil = { host: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
  try {
    const name = `${evil.host}/refuse/img:1`;
    // A committed image's layer is stored uncompressed: the push compresses it as it uploads.
    await ok(['commit', 'refused', name]);
    const blobs = () => readdirSync(join(d.dataRoot, 'blobs', 'sha256')).sort();
    const before = blobs();
    const manifest = () => ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', name]);
    const layers = await manifest();
    const r = await d.berth(['push', name]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /disk on fire|EPIPE|ECONNRESET|socket hang up/, r.stderr);
    assert.deepEqual(blobs(), before, 'no compressed copy kept from the failed push');
    assert.deepEqual(readdirSync(join(d.dataRoot, 'ingest')), [], 'nothing half-ingested');
    assert.equal(await manifest(), layers);
    const good = `${reg.host}/refuse/img:1`;
    await ok(['tag', name, good]);
    assert.match(await ok(['push', good]), /^[0-9a-f]{12}: Pushed$/m);
    // The compressed copies were kept: pushing again sends nothing.
    const again = await ok(['push', good]);
    assert.doesNotMatch(again, /Pushed/, again);
    assert.match(again, /^[0-9a-f]{12}: Layer already exists$/m);
    await ok(['rm', 'refused']);
    await ok(['rmi', name, good]);
    assert.equal(await ok(['run', '--rm', good, 'cat', '/r']), 'refused\n', 'pulled back');
    await ok(['rmi', good]);
  } finally {
    await d.berth(['rm', '-f', 'refused']);
    await evil.close();
  }
});

/** A registry that lies: wrong bytes, hostile tars, stalls. A peer to defend against, not a mock. */
async function hostileRegistry(routes: Record<string, (res: import('node:http').ServerResponse) => void>): Promise<{ host: string; close: () => Promise<void> }> {
  const port = await freePort();
  const srv: Server = createServer((req, res) => {
    const h = routes[`${req.method} ${req.url}`] ?? routes[`GET ${req.url}`];
    if (req.url === '/v2/') return void res.end('{}');
    if (h) return h(res);
    res.statusCode = 404;
    res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return { host: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}

/** A blob sent 1 KiB every 20 ms; `started` once its request arrived, `aborted` once the client hung up before the end. */
type Trickle = { trickle: true; started: boolean; aborted: boolean };

function serveImage(img: { manifest: Buffer; config: { digest: string; data: Buffer }; layers: { digest: string; data: Buffer }[] }, overrides: Record<string, Buffer | 'stall' | Trickle> = {}): Record<string, (res: import('node:http').ServerResponse) => void> {
  const routes: Record<string, (res: import('node:http').ServerResponse) => void> = {};
  const blob = (digest: string, data: Buffer) => (res: import('node:http').ServerResponse) => {
    const o = overrides[digest];
    if (typeof o === 'object' && 'trickle' in o) {
      o.started = true;
      res.writeHead(200, { 'Content-Length': data.length, 'Docker-Content-Digest': digest });
      let off = 0;
      const t = setInterval(() => {
        res.write(data.subarray(off, off + 1024));
        off += 1024;
        if (off >= data.length) {
          clearInterval(t);
          res.end();
        }
      }, 20);
      res.on('close', () => {
        clearInterval(t);
        if (off < data.length) o.aborted = true;
      });
      return;
    }
    if (o === 'stall') {
      res.writeHead(200, { 'Content-Length': data.length });
      res.write(data.subarray(0, 100));
      return;
    }
    const body = o ?? data;
    res.writeHead(200, { 'Content-Length': body.length, 'Docker-Content-Digest': digest });
    res.end(body);
  };
  for (const b of [img.config, ...img.layers]) routes[`GET /v2/evil/img/blobs/${b.digest}`] = blob(b.digest, b.data);
  routes['GET /v2/evil/img/manifests/v1'] = (res) => {
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': img.manifest.length });
    res.end(img.manifest);
  };
  return routes;
}

test('bad registries: wrong bytes, unknown media types, escaping tars, stalls — clear errors, nothing stored', { skip }, async () => {
  const img = await makeImage([50_000]);
  const check = async (routes: Record<string, (res: import('node:http').ServerResponse) => void>, expect: RegExp) => {
    const r = await hostileRegistry(routes);
    try {
      const out = await d.berth(['pull', `${r.host}/evil/img:v1`]);
      assert.equal(out.code, 1, out.stdout);
      assert.match(out.stderr, expect);
      assert.equal((await d.berth(['image', 'inspect', `${r.host}/evil/img:v1`])).code, 1, 'nothing registered');
      assert.equal(readdirSync(join(d.dataRoot, 'ingest')).length, 0, 'no partial blob');
    } finally {
      await r.close();
    }
  };
  // A layer whose bytes do not match its digest.
  const tampered = Buffer.from(img.layers[0].data);
  tampered[tampered.length - 20] ^= 0xff;
  await check(serveImage(img, { [img.layers[0].digest]: tampered }), /digest mismatch/);
  // A manifest with a layer of an unknown media type.
  const odd = { ...img, manifest: Buffer.from(img.manifest.toString().replace('tar+gzip', 'tar+lzma')) };
  await check(serveImage(odd), /unsupported layer media type/);
  // A manifest that is not JSON, and one that is much too big.
  await check(serveImage({ ...img, manifest: Buffer.from('not json') }), /invalid manifest/);
  await check(serveImage({ ...img, manifest: Buffer.alloc(5 << 20, 0x20) }), /larger than/);
  // A layer whose tar escapes the layer directory.
  const evilTar = Buffer.concat([tarHeader('../../../../tmp/berth-escape', 4), Buffer.from('pwn!'.padEnd(512, '\0')), Buffer.alloc(1024)]);
  const gz = gzipSync(evilTar);
  const layer = { digest: 'sha256:' + createHash('sha256').update(gz).digest('hex'), data: gz, diffId: 'sha256:' + createHash('sha256').update(evilTar).digest('hex') };
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.diffId] } }));
  const cfgD = 'sha256:' + createHash('sha256').update(cfg).digest('hex');
  const man = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgD, size: cfg.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: gz.length }] }));
  await check(serveImage({ manifest: man, config: { digest: cfgD, data: cfg }, layers: [layer] }), /escapes the layer root/);
  assert.ok(!existsSync('/tmp/berth-escape'), 'nothing written outside the layer');
  // A registry that stalls mid-transfer.
  await check(serveImage(img, { [img.layers[0].digest]: 'stall' }), /stalled|timed out/);
});

test('a layer that fails while another is still downloading: its error, the other download stopped, nothing kept', { skip }, async () => {
  const img = await makeImage([50_000, 400_000]);
  const tampered = Buffer.from(img.layers[0].data);
  tampered[tampered.length - 20] ^= 0xff;
  const slow: Trickle = { trickle: true, started: false, aborted: false };
  const routes = serveImage(img, { [img.layers[0].digest]: tampered, [img.layers[1].digest]: slow });
  // The bad layer answers only once the slow one is downloading: otherwise the pull may fail
  // before the slow layer's request reaches the registry, and there is nothing to stop.
  const bad = `GET /v2/evil/img/blobs/${img.layers[0].digest}`;
  const badRoute = routes[bad];
  routes[bad] = (res) => {
    const t = setInterval(() => {
      if (!slow.started && !res.destroyed) return;
      clearInterval(t);
      badRoute(res);
    }, 5);
  };
  const r = await hostileRegistry(routes);
  try {
    const out = await d.berth(['pull', `${r.host}/evil/img:v1`]);
    assert.equal(out.code, 1, out.stdout);
    // The failing layer's own error, not the stopped one's abort.
    assert.match(out.stderr, /digest mismatch/);
    assert.doesNotMatch(out.stderr, /abort/i);
    // 400 KB at 1 KiB per 20 ms would take 8 s: the pull stopped the download instead.
    for (let i = 0; i < 100 && !slow.aborted; i++) await new Promise((res) => setTimeout(res, 20));
    assert.ok(slow.started && slow.aborted, 'the other layer stopped downloading');
    assert.equal((await d.berth(['image', 'inspect', `${r.host}/evil/img:v1`])).code, 1, 'nothing registered');
    assert.equal(readdirSync(join(d.dataRoot, 'ingest')).length, 0, 'no partial blob');
    assert.ok(!readdirSync(join(d.dataRoot, 'overlay2')).some((n) => n.startsWith('.staging')), 'no partial layer');
  } finally {
    await r.close();
  }
  // The same image, served whole by a real registry, pulls.
  await uploadImage(reg.url, 'syn/twolayer', 'v1', img);
  await ok(['pull', `${reg.host}/syn/twolayer:v1`]);
  assert.equal((await ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', `${reg.host}/syn/twolayer:v1`])).trim(), '2');
  await ok(['rmi', `${reg.host}/syn/twolayer:v1`]);
});

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

test('the real docker CLI tags, pushes, removes and pulls through berthd', { skip: skip || !existsSync(DOCKER) }, async () => {
  const name = `${reg.host}/comps/prod/bb:1.14`;
  assert.equal((await d.docker(['tag', 'busybox', name])).code, 0);
  const push = await d.docker(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /1\.14: digest: sha256:[0-9a-f]{64} size: \d+/);
  // Progress lines name each layer by its diff ID, as dockerd's; piped, the CLI shows only the
  // final state of each (no byte counts).
  const layer = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 0}}', name])).trim().slice('sha256:'.length, 'sha256:'.length + 12);
  // (Mounted when an earlier test pushed busybox to another repository of this registry.)
  assert.match(push.stdout, new RegExp(`^${layer}: (Pushed|Mounted from \\S+)$`, 'm'), push.stdout);
  assert.doesNotMatch(push.stdout, /\[=|Pushing/, push.stdout);
  // Another tag of the same repository: the layer is already there, nothing is uploaded.
  assert.equal((await d.docker(['tag', 'busybox', `${name}-again`])).code, 0);
  const again = await d.docker(['push', `${name}-again`]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`^${layer}: Layer already exists$`, 'm'), again.stdout);
  assert.doesNotMatch(again.stdout, /Pushed/, again.stdout);
  assert.equal((await d.docker(['rmi', `${name}-again`])).code, 0);
  assert.equal((await d.docker(['rmi', name])).code, 0);
  const pull = await d.docker(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Status: Downloaded newer image for/);
  assert.equal((await d.docker(['run', '--rm', name, 'echo', 'via-docker'])).stdout, 'via-docker\n');
});
