/**
 * `berth manifest`: manifest lists made from images in a registry (Debian's docker-registry,
 * on 127.0.0.1). What a user checks: a list pushed by berth is the list the docker CLI pushes
 * for the same images (the same digest), names manifests from other repositories (their blobs
 * brought into the list's repository), is read back by the docker CLI, and lists being made are
 * shared with the docker CLI through one config directory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { TestDaemon, type Result } from './harness.ts';
import { HAS_DOCKER_REGISTRY, startBerthRegistry, startDockerRegistry, type RunningRegistry } from './registries.ts';

let d: TestDaemon;
let reg: RunningRegistry;
let dir: string;
let R: string;

/** A manifest's digest and its layers', read from the registry through berth. */
async function layersOf(ref: string): Promise<string[]> {
  const m = JSON.parse(await d.ok(['manifest', 'inspect', ref])) as { config: { digest: string }; layers: { digest: string }[] };
  return [m.config.digest, ...m.layers.map((l) => l.digest)];
}

async function okr(r: Promise<Result>): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, x.stderr);
  return x.stdout;
}

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  reg = HAS_DOCKER_REGISTRY ? await startDockerRegistry() : await startBerthRegistry();
  R = reg.host;
  dir = mkdtempSync('/tmp/bt-manifest-');
  // Two images with different layers, in two repositories.
  await d.ok(['tag', 'busybox', `${R}/app:amd64`]);
  await d.ok(['push', `${R}/app:amd64`]);
  await d.ok(['run', '--name', 'mk', 'busybox', 'sh', '-c', 'echo arm > /arch']);
  await d.ok(['commit', 'mk', `${R}/other:arm`]);
  await d.ok(['push', `${R}/other:arm`]);
});

after(async () => {
  await d?.cleanup();
  await reg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a list made and pushed by berth is the one the docker CLI makes, and the docker CLI reads it', async () => {
  const created = await d.berth(['manifest', 'create', `${R}/app:multi`, `${R}/app:amd64`, `${R}/other:arm`]);
  assert.deepEqual([created.code, created.stdout, created.stderr], [0, `Created manifest list ${R}/app:multi\n`, '']);
  assert.equal((await d.berth(['manifest', 'annotate', `${R}/app:multi`, `${R}/other:arm`, '--arch', 'arm64', '--variant', 'v8'])).code, 0);
  const listed = JSON.parse(await d.ok(['manifest', 'inspect', `${R}/app:multi`])) as { manifests: { platform: Record<string, string> }[] };
  assert.deepEqual(listed.manifests.map((m) => m.platform), [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }]);
  const armLayers = await layersOf(`${R}/other:arm`);
  const pushed = (await d.ok(['manifest', 'push', `${R}/app:multi`])).split('\n').filter(Boolean);
  // The manifest from the other repository is put into the list's, then the list.
  assert.equal(pushed.length, 2, pushed.join('\n'));
  const armDigest = JSON.parse(await d.ok(['manifest', 'inspect', '-v', `${R}/other:arm`])).Descriptor.digest as string;
  assert.equal(pushed[0], `Pushed ref ${R}/app@${armDigest} with digest: ${armDigest}`);
  assert.match(pushed[1], /^sha256:[0-9a-f]{64}$/);

  // The other repository's manifest and blobs are now in the list's repository.
  for (const blob of armLayers) {
    const r = await fetch(`${reg.url}/v2/app/blobs/${blob}`, { method: 'HEAD' });
    assert.equal(r.status, 200, `${blob} in app`);
  }

  // The docker CLI, making the same list from the same images, pushes the same bytes.
  const dockerCfg = join(dir, 'docker-own');
  const env = { DOCKER_CONFIG: dockerCfg };
  await okr(d.docker(['manifest', 'create', '--insecure', `${R}/app:dmulti`, `${R}/app:amd64`, `${R}/other:arm`], { env }));
  await okr(d.docker(['manifest', 'annotate', `${R}/app:dmulti`, `${R}/other:arm`, '--arch', 'arm64', '--variant', 'v8'], { env }));
  const dockerPushed = (await okr(d.docker(['manifest', 'push', '--insecure', '--purge', `${R}/app:dmulti`], { env }))).split('\n').filter(Boolean);
  assert.deepEqual(dockerPushed, pushed, 'the same list, byte for byte, and the same report');

  // Read back: the docker CLI and berth show a registry's list and its manifests alike (the
  // list docker pushed: neither has it locally now).
  for (const args of [['manifest', 'inspect', `${R}/app:dmulti`], ['manifest', 'inspect', '-v', `${R}/app:dmulti`], ['manifest', 'inspect', `${R}/other:arm`], ['manifest', 'inspect', '-v', `${R}/app:amd64`]]) {
    assert.equal(await d.ok(args), await okr(d.docker([...args.slice(0, 2), '--insecure', ...args.slice(2)], { env })), args.join(' '));
  }
  // And a list pulls: the platform's image by the list's tag.
  await d.ok(['rmi', `${R}/app:amd64`]);
  await d.ok(['pull', `${R}/app:multi`]);
  assert.equal(await d.ok(['image', 'inspect', '-f', '{{.Architecture}}', `${R}/app:multi`]), 'amd64\n');
});

test('lists being made are shared with the docker CLI, and mistakes are refused in its words, leaving nothing', async () => {
  const cfg = join(dir, 'shared');
  const benv = { BERTH_CONFIG: cfg };
  const denv = { DOCKER_CONFIG: cfg };
  // Made by the docker CLI, pushed by berth (and the reverse): one store.
  await okr(d.docker(['manifest', 'create', '--insecure', `${R}/app:shared`, `${R}/other:arm`], { env: denv }));
  const bp = (await okr(d.berth(['manifest', 'push', '--purge', `${R}/app:shared`], { env: benv }))).split('\n').filter(Boolean);
  assert.equal(bp.length, 2, bp.join('\n'));
  assert.equal((await d.docker(['manifest', 'inspect', `${R}/app:shared`, `${R}/other:arm`], { env: denv })).stderr, `No such manifest: ${R}/other:arm\n`, '--purge removed the local list');
  await okr(d.berth(['manifest', 'create', `${R}/app:back`, `${R}/other:arm`], { env: benv }));
  await okr(d.docker(['manifest', 'push', '--insecure', '--purge', `${R}/app:back`], { env: denv }));

  const refuse = async (args: string[], stderr: string) => {
    const r = await d.berth(args, { env: benv });
    assert.deepEqual([r.code, r.stderr], [1, stderr], args.join(' '));
  };
  await okr(d.berth(['manifest', 'create', `${R}/app:m2`, `${R}/other:arm`], { env: benv }));
  await refuse(['manifest', 'create', `${R}/app:m2`, `${R}/other:arm`], 'refusing to amend an existing manifest list with no --amend flag\n');
  await refuse(['manifest', 'create', `${R}/app:m3`, `${R}/app:multi`], `${R}/app:multi is a manifest list\n`);
  await refuse(['manifest', 'create', `${R}/app:m3`, `${R}/other:nope`], `no such manifest: ${R}/other:nope\n`);
  await refuse(['manifest', 'annotate', `${R}/app:m2`, `${R}/other:arm`, '--arch', 'foo'], 'manifest entry for image has unsupported os/arch combination: /foo\n');
  await refuse(['manifest', 'annotate', `${R}/app:m2`, `${R}/app:zzz`, '--arch', 'arm64'], `manifest for image ${R}/app:zzz does not exist in ${R}/app:m2\n`);
  await refuse(['manifest', 'push', 'docker.io/library/x:1'], 'No such manifest: docker.io/library/x:1\n');
  await okr(d.berth(['manifest', 'create', 'x:1', `${R}/other:arm`], { env: benv }));
  await refuse(['manifest', 'push', 'x:1'], `cannot use source images from a different registry than the target image: ${R} != docker.io\n`);
  await refuse(['manifest', 'rm', `${R}/app:m2`, 'x:1', 'nolist:1'], 'No such manifest: docker.io/library/nolist:1\n');
  // The two lists that existed went; the missing one was reported. Nothing else was made.
  assert.equal((await d.berth(['manifest', 'inspect', 'x:1', `${R}/other:arm`], { env: benv })).code, 1);
  assert.deepEqual(await import('node:fs').then((fs) => fs.readdirSync(join(cfg, 'manifests'))), []);
  const tags = await (await fetch(`${reg.url}/v2/app/tags/list`)).json() as { tags: string[] };
  assert.deepEqual(tags.tags.sort(), ['amd64', 'back', 'dmulti', 'multi', 'shared']);
});

test('the manifest push endpoint refuses what is malformed or inconsistent, and the registry is left as it was', async () => {
  const post = (body: string) => new Promise<{ status: number; message: string }>((resolve, reject) => {
    const req = request({ socketPath: d.sock, method: 'POST', path: `/berth/distribution/${R}/app:bad/manifest`, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(text) as { message: string }).message }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const got = JSON.parse(await d.ok(['manifest', 'inspect', '-v', `${R}/other:arm`])) as { Descriptor: { mediaType: string; digest: string; size: number }; Raw: string };
  const list = (digest: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: got.Descriptor.mediaType, size: got.Descriptor.size, digest, platform: { architecture: 'arm64', os: 'linux' } }] })).toString('base64');
  const source = { Ref: `${R}/other:arm`, MediaType: got.Descriptor.mediaType, Raw: got.Raw };
  const cases: [string, RegExp][] = [
    ['{', /invalid JSON/],
    ['{"MediaType": "application/vnd.oci.image.index.v1+json"}', /needs the list: MediaType and Raw/],
    [JSON.stringify({ MediaType: 'application/vnd.oci.image.index.v1+json', Raw: list(got.Descriptor.digest), Manifests: [] }), /at least one manifest/],
    [JSON.stringify({ MediaType: 'application/vnd.oci.image.index.v1+json', Raw: list(`sha256:${'0'.repeat(64)}`), Manifests: [source] }), /the list does not name/],
    [JSON.stringify({ MediaType: 'application/vnd.oci.image.index.v1+json', Raw: got.Raw, Manifests: [source] }), /is not a manifest list/],
    [JSON.stringify({ MediaType: 'application/vnd.oci.image.index.v1+json', Raw: list(got.Descriptor.digest), Manifests: [{ ...source, Ref: 'elsewhere.example:5000/x:1' }] }), /cannot use source images from a different registry than the target image: elsewhere\.example:5000 != /],
  ];
  for (const [body, re] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, `${body}: ${r.message}`);
    assert.match(r.message, re);
  }
  assert.equal((await fetch(`${reg.url}/v2/app/manifests/bad`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.index.v1+json' } })).status, 404, 'nothing was pushed');
});
