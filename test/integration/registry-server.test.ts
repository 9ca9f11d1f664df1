/**
 * `berth registry serve` as users run it, with real clients on the other end: berthd through
 * `berth` and the docker CLI (push, pull, mounts, login with Basic and Bearer, TLS, read-only),
 * skopeo copying to and from it, and `berth registry gc|htpasswd` from the command line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TestDaemon, NODE, BERTH, ROOT } from './harness.ts';
import { startBerthRegistry, type RunningRegistry } from './registries.ts';
import { makeCert, pushBlob } from '../registry/helpers.ts';
import { makeImage, uploadImage } from './synthetic.ts';

let d: TestDaemon;
let dir: string;
const HAS_SKOPEO = spawnSync('skopeo', ['--version']).status === 0;

before(async () => {
  dir = mkdtempSync('/tmp/bt-regsrv-');
  d = await TestDaemon.start({ env: { BERTH_REGISTRY_TIMEOUT_MS: '5000' } });
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await d.berth(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function dockerOk(args: string[], input?: string): Promise<string> {
  const r = await d.docker(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function cli(args: string[], input?: string) {
  return spawnSync(NODE, [BERTH, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
}

async function withRegistry(opts: Parameters<typeof startBerthRegistry>[0], fn: (reg: RunningRegistry & { log(): string }) => Promise<void>): Promise<void> {
  const reg = await startBerthRegistry(opts);
  try {
    await fn(reg);
  } finally {
    await reg.stop();
  }
}

test('berthd ↔ berth registry: push, layer reuse, cross-repository mount, pull, run; gc from the CLI', async () => {
  const root = join(dir, 'plain');
  await withRegistry({ root }, async (reg) => {
    const name = `${reg.host}/team/box:1.0`;
    await ok(['tag', 'busybox', name]);
    const push = await ok(['push', name]);
    assert.match(push, new RegExp(`^The push refers to repository \\[${reg.host}/team/box\\]$`, 'm'));
    assert.match(push, /^[0-9a-f]{12}: Pushed$/m);
    const digest = /^1\.0: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push)?.[1];
    assert.ok(digest, push);
    assert.match(await ok(['push', name]), /^[0-9a-f]{12}: Layer already exists$/m);
    const other = `${reg.host}/team/copy:2`;
    await ok(['tag', 'busybox', other]);
    assert.match(await ok(['push', other]), /^[0-9a-f]{12}: Mounted from team\/box$/m);

    await ok(['rmi', name, other]);
    const pull = await ok(['pull', name]);
    assert.match(pull, new RegExp(`^Digest: ${digest}$`, 'm'));
    assert.match(pull, new RegExp(`^Status: Downloaded newer image for ${reg.host}/team/box:1\\.0$`, 'm'));
    assert.equal(await ok(['run', '--rm', name, 'echo', 'from berth registry']), 'from berth registry\n');
    assert.match(await ok(['search', `${reg.host}/team`]), /team\/box/);
    // Digests: listed for the repository asked for only; removable and pullable by digest.
    assert.equal(await ok(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', `${reg.host}/team/box`]), `${reg.host}/team/box 1.0 ${digest}\n`);
    const byDigest = `${reg.host}/team/box@${digest}`;
    assert.equal(await ok(['rmi', byDigest]), `Untagged: ${byDigest}\n`);
    assert.equal((await ok(['image', 'inspect', '-f', '{{len .RepoDigests}}', name])).trim(), '0', 'the tag stays, the digest ref is gone');
    assert.match(await ok(['pull', byDigest]), new RegExp(`Status: (Image is up to date|Downloaded newer image) for ${byDigest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(await ok(['image', 'inspect', '-f', '{{json .RepoDigests}}', name]), new RegExp(digest));
    await ok(['rmi', name]);

    // Delete the copy's tag through the API, then collect: the shared layer stays.
    const m = await fetch(`${reg.url}/v2/team/copy/manifests/2`, { method: 'DELETE' });
    assert.equal(m.status, 202);
  });
  const dry = cli(['registry', 'gc', '--root', join(root, 'data'), '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^\d+ blobs marked, 0 blobs would be deleted/m);
  const missing = cli(['registry', 'gc', '--root', join(dir, 'nowhere')]);
  assert.equal(missing.status, 125);
  assert.match(missing.stderr, /registry root .*nowhere does not exist/);
});

test('the docker CLI pushes to and pulls from berth registry through berthd', async () => {
  await withRegistry({}, async (reg) => {
    const name = `${reg.host}/comps/prod/box:1.14`;
    await dockerOk(['tag', 'busybox', name]);
    const push = await dockerOk(['push', name]);
    assert.match(push, /1\.14: digest: sha256:[0-9a-f]{64} size: \d+/);
    await dockerOk(['rmi', name]);
    const pull = await dockerOk(['pull', name]);
    assert.match(pull, /Status: Downloaded newer image for/);
    assert.equal(await dockerOk(['run', '--rm', name, 'echo', 'docker pulled']), 'docker pulled\n');
    await dockerOk(['rmi', name]);
  });
});

test('skopeo copies to and from berth registry; what it pushed runs in Berth', { skip: !HAS_SKOPEO && 'skopeo is not installed' }, async () => {
  await withRegistry({}, async (reg) => {
    await ok(['tag', 'busybox', `${reg.host}/src/box:1`]);
    await ok(['push', `${reg.host}/src/box:1`]);
    const layout = join(dir, 'oci-layout');
    let r = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/src/box:1`, `oci:${layout}:box`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const format of ['oci', 'v2s2']) {
      r = spawnSync('skopeo', ['copy', '--dest-tls-verify=false', '--format', format, `oci:${layout}:box`, `docker://${reg.host}/skopeo/box:${format}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    r = spawnSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${reg.host}/skopeo/box`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { Tags: string[] }).Tags, ['oci', 'v2s2']);
    r = spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/skopeo/box:oci`], { encoding: 'utf8' });
    assert.equal((JSON.parse(r.stdout) as { mediaType: string }).mediaType, 'application/vnd.oci.image.manifest.v1+json');
    for (const tag of ['oci', 'v2s2']) {
      assert.equal(await ok(['run', '--rm', `${reg.host}/skopeo/box:${tag}`, 'echo', `skopeo ${tag}`]), `skopeo ${tag}\n`);
    }
    r = spawnSync('skopeo', ['delete', '--tls-verify=false', `docker://${reg.host}/skopeo/box:v2s2`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${reg.host}/skopeo/box`], { encoding: 'utf8' });
    assert.deepEqual((JSON.parse(r.stdout) as { Tags: string[] }).Tags, ['oci']);
  });
});

for (const auth of ['htpasswd', 'token'] as const) {
  test(`login against berth registry with ${auth === 'token' ? 'Bearer tokens' : 'Basic auth'}: wrong password, push, logout, pull denied, docker login`, async () => {
    const htpasswd = join(dir, `htpasswd-${auth}`);
    let r = cli(['registry', 'htpasswd', '--file', htpasswd, '--cost', '4', 'alice', 's3cret']);
    assert.equal(r.status, 0, r.stderr);
    r = cli(['registry', 'htpasswd', '--file', htpasswd, '--cost', '4', '--password-stdin', 'bob'], 'hunter2\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(htpasswd).mode & 0o777, 0o600);
    assert.match(readFileSync(htpasswd, 'utf8'), /^alice:\$2[aby]\$04\$.{53}\nbob:\$2[aby]\$04\$.{53}\n$/);

    await withRegistry({ htpasswd, auth }, async (reg) => {
      const name = `${reg.host}/private/box:1`;
      await ok(['tag', 'busybox', name]);
      const anon = await d.berth(['push', name]);
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /unauthorized|authentication required|no basic auth credentials/);

      const wrong = await d.berth(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 'nope\n' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /Error response from daemon: .*(unauthorized|401)/);

      const login = await d.berth(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 's3cret\n' });
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /Login Succeeded/);
      const cfgPath = join(d.root, 'berth-config', 'config.json');
      assert.equal(statSync(cfgPath).mode & 0o777, 0o600);
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(cfg.auths[reg.host].auth, 'base64').toString(), 'alice:s3cret');

      assert.match(await ok(['push', name]), /1: digest: sha256:/);
      await ok(['rmi', name]);
      await ok(['logout', reg.host]);
      const denied = await d.berth(['pull', name]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, new RegExp(`pull access denied for ${reg.host}/private/box, repository does not exist or may require 'docker login'`));

      // The docker CLI logs in through berthd (POST /auth) and pulls with X-Registry-Auth.
      const dl = await d.docker(['login', '-u', 'bob', '--password-stdin', reg.host], { input: 'hunter2\n' });
      assert.equal(dl.code, 0, dl.stderr);
      assert.match(dl.stdout, /Login Succeeded/);
      const dbad = await d.docker(['login', '-u', 'bob', '--password-stdin', reg.host], { input: 'wrong\n' });
      assert.notEqual(dbad.code, 0);
      await dockerOk(['pull', name]);
      assert.equal(await dockerOk(['run', '--rm', name, 'echo', 'private']), 'private\n');
      await dockerOk(['rmi', name]);
      assert.match(reg.log(), / alice "PUT \/v2\/private\/box\/manifests\/1 /, 'requests are logged with the account');
    });
  });
}

test('builds pull private bases with the client\'s credentials (X-Registry-Config) from berth and the docker CLI; a credential helper (credsStore) keeps berth\'s logins', async () => {
  const htpasswd = join(dir, 'htpasswd-build');
  const r = cli(['registry', 'htpasswd', '--file', htpasswd, '--cost', '4', 'carol', 'pa55']);
  assert.equal(r.status, 0, r.stderr);
  // A helper as docker-credential-helpers' programs behave, keeping its secrets in a file.
  const bin = join(dir, 'helper-bin');
  const store = join(dir, 'helper-store.json');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'docker-credential-bttest'), `#!/usr/bin/python3
import json, sys, os
path = ${JSON.stringify(store)}
db = json.load(open(path)) if os.path.exists(path) else {}
action, data = sys.argv[1], sys.stdin.read().strip()
if action == 'store':
    c = json.loads(data); db[c['ServerURL']] = [c['Username'], c['Secret']]
elif action == 'get':
    if data not in db:
        print('credentials not found in native keychain'); sys.exit(1)
    print(json.dumps({'ServerURL': data, 'Username': db[data][0], 'Secret': db[data][1]}))
elif action == 'erase':
    db.pop(data, None)
elif action == 'list':
    print(json.dumps({k: v[0] for k, v in db.items()}))
json.dump(db, open(path, 'w'))
`, { mode: 0o755 });
  const helperEnv = { PATH: `${bin}:${process.env.PATH}` };
  await withRegistry({ htpasswd, auth: 'htpasswd' }, async (reg) => {
    const base = `${reg.host}/private/base:1`;
    const ctxDir = join(dir, 'private-build');
    spawnSync('mkdir', ['-p', ctxDir]);
    writeFileSync(join(ctxDir, 'Dockerfile'), `FROM ${base}\nRUN echo built on the private base > /note\n`);
    await ok(['tag', 'busybox', base]);
    await ok(['login', '-u', 'carol', '--password-stdin', reg.host], 'pa55\n');
    await ok(['push', base]);
    await ok(['rmi', base]);
    // berth build sends its logins; berthd pulls the base with them.
    const built = await d.berth(['build', '-t', 'onprivate:1', ctxDir]);
    assert.equal(built.code, 0, built.stderr);
    assert.equal(await ok(['run', '--rm', 'onprivate:1', 'cat', '/note']), 'built on the private base\n');
    await ok(['rmi', 'onprivate:1', base]);
    await ok(['logout', reg.host]);
    const denied = await d.berth(['build', ctxDir]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /pull access denied|unauthorized/);
    // The docker CLI's legacy builder sends X-Registry-Config from its own logins.
    await dockerOk(['login', '-u', 'carol', '--password-stdin', reg.host], 'pa55\n');
    const dk = await d.docker(['build', '-t', 'onprivate:2', ctxDir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(dk.code, 0, dk.stderr);
    await ok(['rmi', 'onprivate:2', base]);
    await dockerOk(['logout', reg.host]);
    // credsStore: logins go to the helper; the config file keeps the server's name only.
    const cfgPath = join(d.root, 'berth-config', 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ credsStore: 'bttest' }));
    const login = await d.berth(['login', '-u', 'carol', '--password-stdin', reg.host], { input: 'pa55\n', env: helperEnv });
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(JSON.parse(readFileSync(cfgPath, 'utf8')), { credsStore: 'bttest', auths: { [reg.host]: {} } });
    assert.deepEqual(JSON.parse(readFileSync(store, 'utf8')), { [reg.host]: ['carol', 'pa55'] });
    const viaHelper = await d.berth(['build', '-t', 'onprivate:3', ctxDir], { env: helperEnv });
    assert.equal(viaHelper.code, 0, viaHelper.stderr);
    await ok(['rmi', base]);
    const pulled = await d.berth(['pull', base], { env: helperEnv });
    assert.equal(pulled.code, 0, pulled.stderr);
    const out = await d.berth(['logout', reg.host], { env: helperEnv });
    assert.equal(out.stdout, `Removing login credentials for ${reg.host}\n`);
    assert.deepEqual(JSON.parse(readFileSync(store, 'utf8')), {});
    // A helper that is not installed is an error naming it, not a silent anonymous pull.
    const missing = await d.berth(['pull', base]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /docker-credential-bttest.*executable file not found/);
    // A build whose pulls need none goes on, saying so (the docker CLI ignores it silently).
    const warned = await d.berth(['build', '-q', ctxDir]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /^WARNING: .*docker-credential-bttest.*; the build's pulls go without credentials\n$/);
    rmSync(cfgPath);
    await ok(['rmi', 'onprivate:3', base]);
  });
});

test('berthd ↔ berth registry over TLS', async () => {
  const tls = makeCert(dir);
  await withRegistry({ tls }, async (reg) => {
    assert.match(reg.log(), new RegExp(`listening on https://${reg.host}`));
    const name = `${reg.host}/secure/box:1`;
    await ok(['tag', 'busybox', name]);
    assert.match(await ok(['push', name]), /1: digest: sha256:/);
    await ok(['rmi', name]);
    assert.match(await ok(['pull', name]), /Status: Downloaded newer image/);
    // The server speaks only TLS, so these requests cannot have fallen back to plain HTTP.
    assert.match(reg.log(), /"GET \/v2\/secure\/box\/manifests\/1 HTTP\/1\.1" 200/);
    await ok(['rmi', name]);
  });
});

test('a read-only registry serves pulls and refuses pushes clearly', async () => {
  const root = join(dir, 'ro');
  await withRegistry({ root }, async (reg) => {
    await ok(['tag', 'busybox', `${reg.host}/ro/box:1`]);
    await ok(['push', `${reg.host}/ro/box:1`]);
    await ok(['rmi', `${reg.host}/ro/box:1`]);
  });
  await withRegistry({ root, readOnly: true }, async (reg) => {
    await ok(['pull', `${reg.host}/ro/box:1`]);
    await ok(['tag', 'busybox', `${reg.host}/ro/other:1`]);
    const r = await d.berth(['push', `${reg.host}/ro/other:1`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /read-only|unsupported/i);
    await ok(['rmi', `${reg.host}/ro/box:1`, `${reg.host}/ro/other:1`]);
  });
});

test('berth registry rejects bad configuration with a clear message and exit 125', () => {
  let r = cli(['registry', 'serve', '--addr', 'nonsense', '--root', join(dir, 'x')]);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /invalid listen address "nonsense"/);
  r = cli(['registry', 'serve', '--auth', 'magic', '--root', join(dir, 'x')]);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /invalid --auth "magic"/);
  r = cli(['registry', 'serve', '--auth', 'htpasswd', '--addr', '127.0.0.1:0', '--root', join(dir, 'x')]);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /needs an htpasswd file/);
  r = cli(['registry', 'serve', '--htpasswd', join(dir, 'missing'), '--root', join(dir, 'x')]);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /cannot read htpasswd file/);
  r = cli(['registry', 'serve', '--tls-cert', join(dir, 'cert.pem'), '--root', join(dir, 'x')]);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /--tls-cert and --tls-key go together/);
  r = cli(['registry', 'htpasswd', 'alice']);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /a password is required/);
});

test('a push cut off mid-upload leaves no partial blob or manifest; the next push succeeds', async () => {
  const src = await startBerthRegistry({ root: join(dir, 'cut-src') });
  const dstRoot = join(dir, 'cut-dst');
  try {
    const big = await makeImage([40 << 20, 40 << 20]);
    await uploadImage(src.url, 'syn/big', 'v1', big);
    await ok(['pull', `${src.host}/syn/big:v1`]);
    let dst = await startBerthRegistry({ root: dstRoot });
    const name = `${dst.host}/cut/big:v1`;
    await ok(['tag', `${src.host}/syn/big:v1`, name]);
    const push = d.berth(['push', name]);
    // Drop the registry as soon as layer bytes start arriving.
    const uploads = join(dstRoot, 'data', 'uploads');
    for (let i = 0; i < 2000; i++) {
      const sizes = existsSync(uploads) ? readdirSync(uploads).map((u) => (existsSync(join(uploads, u, 'data')) ? statSync(join(uploads, u, 'data')).size : 0)) : [];
      if (sizes.some((n) => n > 0)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await dst.stop();
    const failed = await push;
    assert.notEqual(failed.code, 0, 'the push cannot have finished');
    assert.doesNotMatch(failed.stderr, /^\s*$/, 'it says why');
    const blobsDir = join(dstRoot, 'data', 'blobs', 'sha256');
    for (const f of readdirSync(blobsDir)) {
      assert.equal(createHash('sha256').update(readFileSync(join(blobsDir, f))).digest('hex'), f, `blob ${f} is complete`);
    }
    assert.equal(existsSync(join(dstRoot, 'data', 'repositories', 'cut', 'big', '_manifests', 'tags', 'v1')), false, 'no tag');

    dst = await startBerthRegistry({ root: dstRoot, port: Number(dst.host.split(':')[1]) });
    try {
      assert.match(await ok(['push', name]), /v1: digest: sha256:/);
      await ok(['rmi', name, `${src.host}/syn/big:v1`]);
      await ok(['pull', name]);
      assert.equal((await ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', name])).trim(), '2');
      await ok(['rmi', name]);
    } finally {
      await dst.stop();
    }
  } finally {
    await src.stop();
  }
});

test('an image named entirely by sha512 (manifest, config, layer) pulls, runs, pushes and is removed by its ID', async () => {
  await withRegistry({}, async (reg) => {
    const layer = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 }).stdout as Buffer;
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: ['sha256:' + createHash('sha256').update(layer).digest('hex')] } }));
    const cd = await pushBlob(reg.url, 'wide/box', config, {}, 'sha512');
    const ld = await pushBlob(reg.url, 'wide/box', layer, {}, 'sha512');
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ld, size: layer.length }],
    }));
    const md = 'sha512:' + createHash('sha512').update(manifest).digest('hex');
    const put = await fetch(`${reg.url}/v2/wide/box/manifests/${md}?tag=v1`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201);
    const name = `${reg.host}/wide/box:v1`;
    const pulled = await ok(['pull', name]);
    // By tag the manifest is named by its canonical (sha256) digest, as moby names it.
    assert.match(pulled, new RegExp(`Digest: sha256:${createHash('sha256').update(manifest).digest('hex')}`));
    assert.equal(await ok(['run', '--rm', name, 'echo', 'wide']), 'wide\n');
    const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', name])).trim();
    assert.equal(id, cd, 'the image ID is its config digest');
    assert.equal((await ok(['images', '--no-trunc', '--format', '{{.ID}}', `${reg.host}/wide/box`])).trim(), cd);
    assert.match(await ok(['pull', `${reg.host}/wide/box@${md}`]), new RegExp(`Digest: ${md}`));
    assert.match(await ok(['image', 'inspect', '-f', '{{json .RepoDigests}}', name]), new RegExp(`wide/box@${md}`));
    // The pull found the layer unpacked already ("Already exists"): its stored copy came from
    // busybox's import, and stays for this image when busybox goes.
    await ok(['rmi', 'busybox']);
    await ok(['system', 'prune', '-f']);
    assert.equal(await ok(['run', '--rm', name, 'echo', 'still']), 'still\n');
    // save writes the other stored copy too, under a manifest naming it; the archive loads back.
    const archive = join(d.root, 'wide.tar');
    await ok(['save', '-o', archive, name]);
    await ok(['tag', name, `${reg.host}/wide/copy:v1`]);
    const pushed = await ok(['push', `${reg.host}/wide/copy:v1`]);
    assert.match(pushed, /v1: digest: sha(256|512):[0-9a-f]+ size: \d+/);
    assert.match(await ok(['rmi', '-f', id.slice(0, 19)]), new RegExp(`Deleted: ${cd}`));
    assert.match(await ok(['load', '-i', archive]), new RegExp(`Loaded image: ${reg.host}/wide/box:v1`));
    assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', name])).trim(), cd, 'same image ID after the round trip');
    assert.equal(await ok(['run', '--rm', name, 'echo', 'loaded']), 'loaded\n');
    await ok(['rmi', name]);
    await d.importBusybox();
    assert.equal((await d.berth(['image', 'inspect', name])).code, 1);
  });
});
