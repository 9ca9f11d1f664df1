/**
 * Image history and archives: `berth history`, `berth save`/`load` round trips (files and
 * pipes, several images and tags), archives in docker's older per-layer layout and in bare OCI
 * layout made by skopeo, the docker CLI through berthd, and bad archives that must change
 * nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import tar from 'tar-stream';
import { TestDaemon, NODE, BERTH, DOCKER, ROOT } from './harness.ts';
import { imageOf, makeImage, manyFilesLayer, ociArchive } from './synthetic.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let d: TestDaemon;
let dir: string;
const HAS_SKOPEO = spawnSync('skopeo', ['--version']).status === 0;
const HAS_UMOCI = spawnSync('umoci', ['--version']).status === 0 && spawnSync('oci-image-tool', ['--version']).status === 0;

before(async () => {
  dir = mkdtempSync('/tmp/bt-archive-');
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  if (process.env.DUMP_LOG) process.stderr.write(d.readLog().split('\n').slice(-30).join('\n'));
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[], input?: string | Buffer): Promise<string> {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function sh(cmd: string) {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, BERTH_HOST: d.host, BERTH: `${NODE} ${BERTH}`, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
}

const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function makeTar(entries: { name: string; data?: Buffer | string; type?: 'file' | 'symlink' | 'directory'; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    else pack.entry({ name: e.name, mode: 0o644 }, typeof e.data === 'string' ? Buffer.from(e.data) : e.data ?? Buffer.alloc(0));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('history: the import step, newest first, with docker\'s columns and flags', async () => {
  const out = await ok(['history', 'busybox']);
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.equal(lines.length, 2);
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  assert.ok(lines[1].startsWith(id.slice(7, 19)), lines[1]);
  assert.match(lines[1], /Imported from -$/);
  const raw = await ok(['history', '--no-trunc', '-H=false', '--format', '{{.ID}}|{{.Size}}|{{.CreatedAt}}|{{.Comment}}', 'busybox']);
  const [fid, size, created, comment] = raw.trim().split('|');
  assert.equal(fid, id);
  assert.match(size, /^\d+$/);
  assert.ok(Number(size) > 1_000_000);
  assert.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(comment, 'Imported from -');
  assert.equal((await ok(['history', '-q', 'busybox'])).trim(), id.slice(7, 19));
  const r = await d.berth(['history', 'nosuchimage']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image: nosuchimage:latest/);
  const bad = await d.berth(['history', '--format', '{{.Nope}}', 'busybox']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /can't evaluate field Nope/);
});

test('save and load round trip: several tags and images, by file and through a pipe', async () => {
  await ok(['tag', 'busybox', 'example/one:1']);
  await ok(['tag', 'busybox', 'example/one:2']);
  const file = join(dir, 'images.tar');
  await ok(['save', '-o', file, 'example/one', 'busybox:latest']);
  const listing = spawnSync('tar', ['tf', file], { encoding: 'utf8' }).stdout.split('\n');
  for (const n of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) assert.ok(listing.includes(n), n);
  const manifest = JSON.parse(spawnSync('tar', ['xOf', file, 'manifest.json'], { encoding: 'utf8' }).stdout) as { RepoTags: string[]; Layers: string[] }[];
  assert.equal(manifest.length, 1, 'one image, saved once');
  assert.deepEqual([...manifest[0].RepoTags].sort(), ['busybox:latest', 'example/one:1', 'example/one:2']);

  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  await ok(['rmi', 'example/one:1', 'example/one:2', 'busybox']);
  assert.equal((await d.berth(['image', 'inspect', id])).code, 1);
  const loaded = await ok(['load', '-i', file]);
  assert.deepEqual(loaded.trim().split('\n').sort(), ['Loaded image: busybox:latest', 'Loaded image: example/one:1', 'Loaded image: example/one:2']);
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'example/one:2'])).trim(), id, 'same image ID after the round trip');
  assert.equal(await ok(['run', '--rm', 'example/one:1', 'echo', 'loaded']), 'loaded\n');

  // Pipes: save to stdout, load from stdin; an image saved by ID loads without tags.
  const piped = sh(`$BERTH save ${id.slice(7, 19)} | $BERTH load`);
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, `Loaded image ID: ${id}\n`);
  const empty = await d.berth(['load']);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /Error response from daemon: invalid archive: it is empty/);
  await ok(['rmi', 'example/one:1', 'example/one:2']);
});

test('save refuses a terminal and unknown images; -o leaves no partial file on failure', async () => {
  const r = await d.berth(['save', '-o', join(dir, 'x.tar'), 'busybox', 'nosuch:image']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image: nosuch:image/);
  assert.equal(existsSync(join(dir, 'x.tar')), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('berth-')), []);
});

test('the docker CLI saves and loads through berthd', async () => {
  const file = join(dir, 'docker.tar');
  const s = spawnSync(DOCKER, ['save', '-o', file, 'busybox'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
  assert.equal(s.status, 0, s.stderr);
  await ok(['tag', 'busybox', 'keep:me']);
  await ok(['rmi', 'busybox']);
  const l = spawnSync(DOCKER, ['load', '-i', file], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /Loaded image: busybox:latest/);
  const piped = sh(`${DOCKER} save busybox | ${DOCKER} load`);
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /Loaded image: busybox:latest/);
  await ok(['rmi', 'keep:me']);
});

test('archives in docker\'s older layout (per-layer directories, symlinked duplicates) load', async () => {
  const layer1 = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/one', data: 'first layer\n' }]);
  const layer2 = await makeTar([{ name: 'etc/two', data: 'second layer\n' }]);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2020-01-01T00:00:00Z', config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [sha(layer1), sha(layer2), sha(layer1)] },
    history: [{ created_by: 'ADD one' }, { created_by: 'ADD two' }, { created_by: 'ADD one again' }],
  }));
  const cfgName = `${sha(config).slice(7)}.json`;
  const archive = await makeTar([
    { name: 'aaa/', type: 'directory' }, { name: 'aaa/VERSION', data: '1.0' }, { name: 'aaa/json', data: '{}' }, { name: 'aaa/layer.tar', data: layer1 },
    { name: 'bbb/', type: 'directory' }, { name: 'bbb/layer.tar', data: layer2 },
    { name: 'ccc/', type: 'directory' }, { name: 'ccc/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    { name: cfgName, data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: cfgName, RepoTags: ['legacy/app:old'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]) },
    { name: 'repositories', data: JSON.stringify({ 'legacy/app': { old: 'ccc' } }) },
  ]);
  writeFileSync(join(dir, 'legacy.tar'), archive);
  assert.equal((await ok(['load', '-i', join(dir, 'legacy.tar')])).trim(), 'Loaded image: legacy/app:old');
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'legacy/app:old'])).trim(), sha(config));
  const hist = await ok(['history', '--format', '{{.CreatedBy}}', 'legacy/app:old']);
  assert.deepEqual(hist.trim().split('\n'), ['ADD one again', 'ADD two', 'ADD one']);
  await ok(['rmi', 'legacy/app:old']);
});

test('skopeo reads berth\'s archives; archives skopeo writes (docker and OCI) load in berth', { skip: !HAS_SKOPEO && 'skopeo is not installed' }, async () => {
  const file = join(dir, 'for-skopeo.tar');
  await ok(['save', '-o', file, 'busybox']);
  for (const transport of ['docker-archive', 'oci-archive']) {
    const r = spawnSync('skopeo', ['inspect', '--raw', `${transport}:${file}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${transport}: ${r.stderr}`);
  }
  const dockerArchive = join(dir, 'skopeo-docker.tar');
  let r = spawnSync('skopeo', ['copy', `docker-archive:${file}`, `docker-archive:${dockerArchive}:skopeo/made:docker`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ociArchive = join(dir, 'skopeo-oci.tar');
  r = spawnSync('skopeo', ['copy', `docker-archive:${file}`, `oci-archive:${ociArchive}:skopeo/made:oci`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // Gzip-compressed layers, as a registry would hold them.
  const gzArchive = join(dir, 'skopeo-gz.tar');
  r = spawnSync('skopeo', ['copy', '--dest-compress', `docker-archive:${file}`, `docker-archive:${gzArchive}:skopeo/made:gz`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(await ok(['load', '-i', gzArchive]), /Loaded image: skopeo\/made:gz/);
  assert.equal(await ok(['run', '--rm', 'skopeo/made:gz', 'echo', 'gzip layers']), 'gzip layers\n');
  await ok(['rmi', 'skopeo/made:gz']);
  assert.match(await ok(['load', '-i', dockerArchive]), /Loaded image: skopeo\/made:docker/);
  assert.equal(await ok(['run', '--rm', 'skopeo/made:docker', 'echo', 'docker-archive']), 'docker-archive\n');
  // A bare OCI layout names its image only by the short ref: berth loads it by ID.
  const oci = await ok(['load', '-i', ociArchive]);
  const m = /^Loaded image (?:ID: (sha256:[0-9a-f]{64})|: (\S+))$/m.exec(oci);
  assert.ok(m, oci);
  assert.equal(await ok(['run', '--rm', m[1] ?? m[2], 'echo', 'oci-archive']), 'oci-archive\n');
  await ok(['rmi', 'skopeo/made:docker']);
});

test('umoci and oci-image-tool accept berth\'s OCI layout; an image umoci builds loads and runs in berth', { skip: !HAS_UMOCI && 'umoci/oci-image-tool are not installed' }, async () => {
  const file = join(dir, 'for-umoci.tar');
  await ok(['tag', 'busybox', 'umoci/src:v1']);
  await ok(['save', '-o', file, 'umoci/src:v1']);
  const layout = join(dir, 'layout');
  mkdirSync(layout);
  assert.equal(spawnSync('tar', ['-xf', file, '-C', layout]).status, 0);
  let r = spawnSync('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v1', layout], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // docker's index names the image by its tag (org.opencontainers.image.ref.name = "v1").
  const bundle = join(dir, 'bundle');
  r = spawnSync('umoci', ['unpack', '--image', `${layout}:v1`, bundle], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(bundle, 'rootfs', 'bin', 'busybox')));
  // The other way: umoci builds an image (busybox's files plus one of its own) in a fresh layout.
  const made = join(dir, 'made');
  const add = join(dir, 'add');
  mkdirSync(join(add, 'etc'), { recursive: true });
  writeFileSync(join(add, 'etc', 'made-by'), 'umoci\n');
  for (const args of [['init', '--layout', made], ['new', '--image', `${made}:v2`], ['insert', '--image', `${made}:v2`, join(bundle, 'rootfs'), '/'], ['insert', '--image', `${made}:v2`, add, '/']]) {
    r = spawnSync('umoci', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `umoci ${args.join(' ')}: ${r.stderr}`);
  }
  const archive = join(dir, 'umoci.tar');
  assert.equal(spawnSync('tar', ['-cf', archive, '-C', made, '.']).status, 0);
  const out = await ok(['load', '-i', archive]);
  const m = /^Loaded image (?:ID: (sha256:[0-9a-f]{64})|: (\S+))$/m.exec(out);
  assert.ok(m, out);
  assert.equal(await ok(['run', '--rm', m[1] ?? m[2], '/bin/cat', '/etc/made-by']), 'umoci\n');
  await ok(['rmi', 'umoci/src:v1']);
});

test('bad archives: traversal, missing members, wrong digests, wrong diff IDs, garbage — clear errors, nothing left behind', async () => {
  const layer = await makeTar([{ name: 'x', data: 'x\n' }]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const wrongDiff = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha('other')] } }));
  const blob = (b: Buffer) => `blobs/sha256/${sha(b).slice(7)}`;
  const man = (cfg: Buffer, layers: string[]) => JSON.stringify([{ Config: blob(cfg), RepoTags: ['bad/one:1'], Layers: layers }]);
  const cases: [string, Buffer, RegExp][] = [
    ['traversal', await makeTar([{ name: '../escape', data: 'x' }]), /entry "\.\.\/escape" points outside the archive/],
    ['absolute link', await makeTar([{ name: 'a/layer.tar', type: 'symlink', linkname: '../../../etc/passwd' }, { name: 'manifest.json', data: '[]' }]), /points outside the archive/],
    ['missing layer', await makeTar([{ name: blob(config), data: config }, { name: 'manifest.json', data: man(config, ['blobs/sha256/' + 'a'.repeat(64)]) }]), /layer blobs\/sha256\/a{64} is missing/],
    ['digest mismatch', await makeTar([{ name: blob(config), data: config }, { name: blob(layer), data: Buffer.from('tampered') }, { name: 'manifest.json', data: man(config, [blob(layer)]) }]), /does not match its digest/],
    ['diff ID mismatch', await makeTar([{ name: blob(wrongDiff), data: wrongDiff }, { name: blob(layer), data: layer }, { name: 'manifest.json', data: man(wrongDiff, [blob(layer)]) }]), /has diff ID sha256:[0-9a-f]{64}, the config says/],
    ['bad manifest', await makeTar([{ name: 'manifest.json', data: '{not json' }]), /manifest\.json is not valid JSON/],
    ['no manifest', await makeTar([{ name: 'hello', data: 'x' }]), /no manifest\.json or index\.json found/],
    ['not a tar', Buffer.from('this is not an archive at all, not even close. '.repeat(20)), /./],
  ];
  // Layers large enough to be stored and unpacked on a worker while the archive streams in.
  const big = await makeTar([{ name: 'big', data: Buffer.alloc(600 << 10, 1) }]);
  const bigOther = await makeTar([{ name: 'big', data: Buffer.alloc(600 << 10, 2) }]);
  const bigConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(big)] } }));
  const bigWrongDiff = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(bigOther)] } }));
  const cutOff = await makeTar([{ name: blob(bigConfig), data: bigConfig }, { name: blob(big), data: big }, { name: 'manifest.json', data: man(bigConfig, [blob(big)]) }]);
  cases.push(
    ['big digest mismatch', await makeTar([{ name: blob(bigConfig), data: bigConfig }, { name: blob(big), data: bigOther }, { name: 'manifest.json', data: man(bigConfig, [blob(big)]) }]), /does not match its digest/],
    ['big diff ID mismatch', await makeTar([{ name: blob(bigWrongDiff), data: bigWrongDiff }, { name: blob(big), data: big }, { name: 'manifest.json', data: man(bigWrongDiff, [blob(big)]) }]), /has diff ID sha256:[0-9a-f]{64}, the config says/],
    ['cut off in a big layer', cutOff.subarray(0, 2048 + (300 << 10)), /unexpected end of archive/],
    // Compressed layers take the other road (this thread stores, a worker unpacks).
    ['big gzip digest mismatch', await makeTar([{ name: blob(bigConfig), data: bigConfig }, { name: blob(gzipSync(big, { level: 0 })), data: gzipSync(bigOther, { level: 0 }) }, { name: 'manifest.json', data: man(bigConfig, [blob(gzipSync(big, { level: 0 }))]) }]), /does not match its digest/],
    ['big gzip diff ID mismatch', await makeTar([{ name: blob(bigWrongDiff), data: bigWrongDiff }, { name: blob(gzipSync(big, { level: 0 })), data: gzipSync(big, { level: 0 }) }, { name: 'manifest.json', data: man(bigWrongDiff, [blob(gzipSync(big, { level: 0 }))]) }]), /has diff ID sha256:[0-9a-f]{64}, the config says/],
  );
  const leftovers = () => [readdirSync(join(d.dataRoot, 'overlay2')).sort(), readdirSync(join(d.dataRoot, 'ingest')).sort()];
  const leftBefore = leftovers();
  const blobsDir = join(d.dataRoot, 'blobs', 'sha256');
  const before = readdirSync(blobsDir).sort();
  const imagesBefore = await ok(['images', '-q', '--no-trunc']);
  for (const [what, data, re] of cases) {
    const f = join(dir, `bad-${what.replace(/ /g, '-')}.tar`);
    writeFileSync(f, data);
    const r = await d.berth(['load', '-i', f]);
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    assert.match(r.stderr, re, what);
  }
  assert.equal(await ok(['images', '-q', '--no-trunc']), imagesBefore, 'no image was registered');
  assert.deepEqual(readdirSync(blobsDir).sort(), before, 'no blob was left behind');
  assert.deepEqual(leftovers(), leftBefore, 'no staged layer or ingest file was left behind');
  assert.equal(readFileSync(join(d.dataRoot, 'image', 'repositories.json'), 'utf8').includes('bad/one'), false);
});

test('import from a URL (berth and the docker CLI), with -c and -m; a bad URL is a clear error', async () => {
  const rootfs = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout;
  const srv = createServer((req, res) => {
    if (req.url === '/rootfs.tar') {
      res.writeHead(200, { 'Content-Length': rootfs.length });
      res.end(rootfs);
    } else {
      res.writeHead(404);
      res.end('not here');
    }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  try {
    const url = `http://127.0.0.1:${port}/rootfs.tar`;
    const id = (await ok(['import', '-c', 'CMD ["echo", "from url"]', url, 'fromurl:1'])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok(['run', '--rm', 'fromurl:1']), 'from url\n');
    assert.equal((await ok(['history', '--format', '{{.Comment}}', 'fromurl:1'])).trim(), `Imported from ${url}`);
    // Asynchronously: the server answering the daemon lives in this process.
    const r = await d.docker(['import', '-m', 'by docker', url, 'fromurl:2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await ok(['history', '--format', '{{.Comment}}', 'fromurl:2'])).trim(), 'by docker');
    const missing = await d.berth(['import', `http://127.0.0.1:${port}/nope.tar`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404/);
    const scheme = await d.berth(['import', 'ftp://127.0.0.1/x.tar']);
    assert.equal(scheme.code, 1);
    assert.match(scheme.stderr, /only http and https URLs can be imported/);
    await ok(['rmi', 'fromurl:1', 'fromurl:2']);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('more than 127 layers: docker\'s "max depth exceeded", nothing registered', async () => {
  const layer = await makeTar([{ name: 'f', data: 'x' }]);
  const n = 128;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: Array(n).fill(sha(layer)) } }));
  const archive = await makeTar([
    { name: `blobs/sha256/${sha(layer).slice(7)}`, data: layer },
    { name: `blobs/sha256/${sha(config).slice(7)}`, data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${sha(config).slice(7)}`, RepoTags: ['deep:1'], Layers: Array(n).fill(`blobs/sha256/${sha(layer).slice(7)}`) }]) },
  ]);
  writeFileSync(join(dir, 'deep.tar'), archive);
  const r = await d.berth(['load', '-i', join(dir, 'deep.tar')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /max depth exceeded/);
  assert.equal((await d.berth(['image', 'inspect', 'deep:1'])).code, 1);
});

test('extended attributes in a layer made by GNU tar arrive byte for byte (file capabilities, binary values)', async () => {
  // VFS_CAP_REVISION_2, effective, permitted = cap_net_raw: 20 bytes, mostly NUL.
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const blob = Buffer.from('ff0080c3280a3d00', 'hex'); // not UTF-8
  const src = join(dir, 'caps-src');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin', 'pinger'), '#!/bin/sh\n', { mode: 0o755 });
  for (const [n, v] of [['security.capability', cap], ['user.blob', blob]] as const) {
    const s = spawnSync('setfattr', ['-n', n, '-v', `0x${v.toString('hex')}`, join(src, 'bin', 'pinger')], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
  }
  const t = spawnSync('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '-cf', '-', '-C', src, 'bin'], { maxBuffer: 1 << 24 });
  assert.equal(t.status, 0, t.stderr?.toString());
  const layer = t.stdout;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const archive = await makeTar([
    { name: `blobs/sha256/${sha(layer).slice(7)}`, data: layer },
    { name: `blobs/sha256/${sha(config).slice(7)}`, data: config },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${sha(config).slice(7)}`, RepoTags: ['caps:1'], Layers: [`blobs/sha256/${sha(layer).slice(7)}`] }]) },
  ]);
  writeFileSync(join(dir, 'caps.tar'), archive);
  await ok(['load', '-i', join(dir, 'caps.tar')]);
  const upper = (await ok(['image', 'inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'caps:1'])).trim();
  const r = spawnSync('getfattr', ['--absolute-names', '-n', 'security.capability', '-e', 'hex', join(upper, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`security.capability=0x${cap.toString('hex')}`));
  const b = spawnSync('getfattr', ['--absolute-names', '-n', 'user.blob', '-e', 'hex', join(upper, 'bin', 'pinger')], { encoding: 'utf8' });
  assert.match(b.stdout, new RegExp(`user.blob=0x${blob.toString('hex')}`));
  await ok(['rmi', 'caps:1']);
});

test('load shows docker\'s "Loading layer" progress on a terminal and through the API; piped output has only the result lines', async () => {
  const file = join(dir, 'progress.tar');
  // A layer of its own (busybox's stays, so its layer is not loaded again).
  await ok(['run', '--name', 'progress-src', 'busybox', 'sh', '-c', 'head -c 3000000 /dev/urandom > /blob']);
  await ok(['commit', 'progress-src', 'progress:1']);
  await ok(['rm', 'progress-src']);
  await ok(['save', '-o', file, 'progress:1']);
  const diffId = (await ok(['image', 'inspect', '-f', '{{index .RootFS.Layers 1}}', 'progress:1'])).trim();
  await ok(['rmi', 'progress:1']);
  // The API: quiet=0 streams progress messages keyed by the layer's short diff ID.
  const { request } = await import('node:http');
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath: d.sock, method: 'POST', path: '/images/load?quiet=0', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (s += c));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.end(readFileSync(file));
  });
  const msgs = body.trim().split('\n').map((l) => JSON.parse(l) as { status?: string; id?: string; stream?: string; progressDetail?: { current: number; total: number } });
  const loading = msgs.filter((m) => m.status === 'Loading layer');
  assert.ok(loading.length > 0, body);
  assert.equal(loading[0].id, diffId.slice(7, 19));
  assert.equal(loading.at(-1)!.progressDetail!.current, loading.at(-1)!.progressDetail!.total);
  assert.equal(msgs.at(-1)!.stream, 'Loaded image: progress:1\n');
  // quiet=1 (what the CLIs send when piped): the result line only.
  await ok(['rmi', 'progress:1']);
  assert.equal(await ok(['load', '-i', file]), 'Loaded image: progress:1\n');
  await ok(['rmi', 'progress:1']);
  // A terminal: the bar, as the docker CLI draws it.
  if (spawnSync('tmux', ['-V']).status === 0) {
    const name = `berth-load-${process.pid}`;
    try {
      spawnSync('tmux', ['new-session', '-d', '-s', name, '-x', '150', '-y', '20', `env BERTH_HOST=${d.host} ${NODE} ${BERTH} load -i ${file}; echo EXIT=$?; sleep 600`], { env: { ...process.env, TERM: 'xterm' } });
      let screen = '';
      for (let i = 0; i < 100 && !/EXIT=\d/.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 100));
        screen = spawnSync('tmux', ['capture-pane', '-p', '-t', name]).stdout.toString();
      }
      assert.match(screen, new RegExp(`${diffId.slice(7, 19)}: Loading layer \\[=+>\\] +[\\d.]+[kMG]?B/[\\d.]+[kMG]?B`));
      assert.match(screen, /Loaded image: progress:1\nEXIT=0/);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', name]);
    }
  }
  await ok(['rmi', 'progress:1']);
});

test('--platform on save and load: the image\'s own platform works, another is refused (save) or skipped (load)', async () => {
  const file = join(dir, 'platform.tar');
  await ok(['tag', 'busybox', 'plat:1']);
  await ok(['save', '--platform', 'linux/amd64', '-o', file, 'plat:1']);
  const r = await d.berth(['save', '--platform', 'linux/arm64', '-o', join(dir, 'p2.tar'), 'plat:1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /image with reference plat:1 was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
  assert.equal(existsSync(join(dir, 'p2.tar')), false);
  const two = await d.berth(['save', '--platform', 'linux/amd64', '--platform', 'linux/arm64', 'plat:1']);
  assert.equal(two.code, 1);
  assert.match(two.stderr, /multiple platform parameters not supported/);
  // The docker CLI sends the platform as JSON: the same answers.
  const env = { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') };
  const ds = spawnSync(DOCKER, ['save', '--platform', 'linux/arm64', '-o', join(dir, 'p3.tar'), 'plat:1'], { encoding: 'utf8', env });
  assert.notEqual(ds.status, 0);
  assert.match(ds.stderr, /does not match the specified platform: wanted linux\/arm64/);
  await ok(['rmi', 'plat:1']);
  // load --platform: images for other platforms are left out.
  assert.equal(await ok(['load', '--platform', 'linux/arm64', '-i', file]), '');
  assert.equal((await d.berth(['image', 'inspect', 'plat:1'])).code, 1);
  const dl = spawnSync(DOCKER, ['load', '--platform', 'linux/amd64', '-i', file], { encoding: 'utf8', env });
  assert.equal(dl.status, 0, dl.stderr);
  assert.match(dl.stdout, /Loaded image: plat:1/);
  await ok(['rmi', 'plat:1']);
});

test('loading gzip layers, one already present, never stalls and leaves nothing behind (repeatedly)', async () => {
  // The blob store and the unpacker read each layer side by side. A wait for the blob store
  // to drain was once started after the drain had come, and the load stopped reading for
  // good. The failpoint slows the blob store so that it fills while the unpacker (many small
  // files) holds the feed back, as a slow disk does.
  const e = await TestDaemon.start({ env: { BERTH_FAILPOINT: 'load-blob-store=delay:2,load-unpack=delay:2' } });
  try {
    const shared = (await makeImage([8_000_000])).layers[0];
    const more = [...(await makeImage([8_000_000])).layers, await manyFilesLayer(15_000, 1024), (await makeImage([8_000_000])).layers[0]];
    const one = join(dir, 'one.tar');
    const four = join(dir, 'four.tar');
    writeFileSync(one, await ociArchive([{ ref: 'stall/one:1', image: imageOf([shared]) }]));
    writeFileSync(four, await ociArchive([{ ref: 'stall/four:1', image: imageOf([shared, ...more]) }]));
    const load = async (file: string) => {
      const r = await e.berth(['load', '-q', '-i', file], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, `load ${file}: ${r.code} ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(await load(one), 'Loaded image: stall/one:1\n');
    for (let i = 0; i < 3; i++) {
      assert.equal(await load(four), 'Loaded image: stall/four:1\n');
      const r = await e.berth(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'stall/four:1']);
      assert.equal(r.stdout.trim(), '4');
      assert.equal((await e.berth(['rmi', 'stall/four:1'])).code, 0);
    }
    assert.deepEqual(readdirSync(join(e.dataRoot, 'ingest')), []);
    assert.deepEqual(readdirSync(join(e.dataRoot, 'overlay2')).filter((n) => n.startsWith('.')), [], 'no staging left');
  } finally {
    await e.cleanup();
  }
});
