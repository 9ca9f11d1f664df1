/**
 * `berth context`: named endpoints, stored as the docker CLI stores them. What a user checks:
 * a context reaches its daemon (over a Unix socket, and over TCP with its own TLS material),
 * `context use` and the variables choose it as docker's do, and the docker CLI and berth use
 * each other's contexts from one config directory, exports included.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH, NODE, TestDaemon, type Result } from './harness.ts';
import { freePort } from './registries.ts';

let d: TestDaemon;
let dir: string;
let cfg: string;
let certs: string;
let tcp: string;

/** No host variable: contexts decide (an empty variable counts as unset, as in docker). */
const NOHOST = { BERTH_HOST: '', DOCKER_HOST: '', BERTH_CONTEXT: '', DOCKER_CONTEXT: '' };

function berth(args: string[], env: Record<string, string> = {}, input?: string | Buffer): Promise<Result> {
  return d.berth(args, { env: { ...NOHOST, BERTH_CONFIG: cfg, ...env }, ...(input !== undefined ? { input } : {}) });
}

function docker(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return d.docker(args, { env: { ...NOHOST, DOCKER_CONFIG: cfg, ...env } });
}

async function ok(r: Promise<Result>): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, x.stderr);
  return x.stdout;
}

before(async () => {
  dir = mkdtempSync('/tmp/bt-ctx-');
  cfg = join(dir, 'config');
  certs = join(dir, 'certs');
  const sh = (cmd: string) => {
    const r = spawnSync('sh', ['-c', cmd], { cwd: certs, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  };
  spawnSync('mkdir', ['-p', certs]);
  sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=ca 2>/dev/null');
  sh('openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1 2>/dev/null');
  sh('printf "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" > s.ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 1 -extfile s.ext 2>/dev/null');
  sh('openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=client 2>/dev/null');
  sh('printf "extendedKeyUsage=clientAuth\\n" > c.ext && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 1 -extfile c.ext 2>/dev/null');
  for (const f of readdirSync(certs)) chmodSync(join(certs, f), 0o600);
  tcp = `tcp://127.0.0.1:${await freePort()}`;
  d = await TestDaemon.start({ extraArgs: ['-H', tcp, '--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server-cert.pem'), '--tlskey', join(certs, 'server-key.pem')] });
  await d.ok(['volume', 'create', 'ctxvol']);
});

after(async () => {
  await d?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a context made by berth reaches its daemon, is chosen as docker chooses, and the docker CLI uses it', async () => {
  const made = await berth(['context', 'create', 'bt', '--description', 'the test daemon', '--docker', `host=${d.host}`]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(made.stdout, 'bt\n');
  assert.equal(made.stderr, 'Successfully created context "bt"\n');
  assert.equal(await ok(berth(['--context', 'bt', 'volume', 'ls', '-q'])), 'ctxvol\n');

  // `context use` writes config.json's currentContext (other keys kept); every command follows it.
  writeFileSync(join(cfg, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-x' }));
  const used = await berth(['context', 'use', 'bt']);
  assert.equal(used.stdout, 'bt\n');
  assert.equal(used.stderr, 'Current context is now "bt"\n');
  assert.deepEqual(JSON.parse(readFileSync(join(cfg, 'config.json'), 'utf8')), { detachKeys: 'ctrl-x', currentContext: 'bt' });
  assert.equal(await ok(berth(['volume', 'ls', '-q'])), 'ctxvol\n');
  assert.equal(await ok(berth(['context', 'show'])), 'bt\n');
  assert.equal(await ok(berth(['version', '--format', '{{.Client.Context}}'])), 'bt\n');
  assert.match(await ok(berth(['info'])), /^ Context: {4}bt$/m);

  // The docker CLI, on the same config directory, lists it as current and talks through it.
  const listed = await ok(docker(['context', 'ls', '--format', '{{.Name}}|{{.Current}}|{{.DockerEndpoint}}|{{.Description}}']));
  assert.match(listed, new RegExp(`^bt\\|true\\|${d.host.replace(/[/.]/g, '\\$&')}\\|the test daemon$`, 'm'));
  assert.equal(await ok(docker(['volume', 'ls', '-q'])), 'ctxvol\n');
  // Both show the same context the same way.
  assert.equal(await ok(berth(['context', 'inspect', 'bt'])), await ok(docker(['context', 'inspect', 'bt'])));
  assert.equal(await ok(berth(['context', 'ls', '--format', 'json'])).then((s) => s.split('\n').filter((l) => !l.includes('"default"')).join('\n')),
    await ok(docker(['context', 'ls', '--format', 'json'])).then((s) => s.split('\n').filter((l) => !l.includes('"default"')).join('\n')));

  // A host given by flag or variable wins over the current context ("default" then), with
  // docker's warning in the listing; a context variable wins over config.json.
  const other = join(dir, 'nothing.sock');
  const over = await berth(['context', 'ls', '-q'], { BERTH_HOST: `unix://${other}` });
  assert.match(over.stderr, /^Warning: BERTH_HOST environment variable overrides the active context\. To use a context, either set the global --context flag, or unset BERTH_HOST environment variable\.$/m);
  assert.equal(await ok(berth(['context', 'show'], { DOCKER_HOST: `unix://${other}` })), 'default\n');
  assert.notEqual((await berth(['volume', 'ls'], { BERTH_HOST: `unix://${other}` })).code, 0, 'the variable\'s host, not the context\'s');
  assert.equal(await ok(berth(['-H', d.host, 'context', 'show'])), 'default\n');
  assert.equal(await ok(berth(['context', 'show'], { DOCKER_CONTEXT: 'default' })), 'default\n');

  // Mistakes, in docker's words.
  const both = await berth(['--context', 'bt', '-H', d.host, 'ps']);
  assert.equal(both.code, 1);
  assert.equal(both.stderr, 'conflicting options: cannot specify both --host and --context\n');
  const missing = await berth(['ps'], { BERTH_CONTEXT: 'nope' });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: open .*\/contexts\/meta\/[0-9a-f]{64}\/meta\.json: no such file or directory\n$/);
  assert.equal((await berth(['context', 'rm', 'bt'])).stderr, 'context "bt" is in use, set -f flag to force remove\n');
  assert.equal((await berth(['context', 'rm', 'default'])).stderr, 'context "default" cannot be removed\n');
  assert.equal((await berth(['context', 'create', 'bt'])).stderr, 'context "bt" already exists\n');
  assert.equal((await berth(['context', 'create', 'a b'])).stderr, 'context name "a b" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"\n');
  const badKey = await berth(['context', 'create', 'bad', '--docker', 'hots=unix:///x']);
  assert.deepEqual([badKey.code, badKey.stderr], [1, 'unable to create docker endpoint config: unrecognized config key: hots\n']);
  assert.equal((await berth(['context', 'ls', '-q'])).stdout, 'bt\ndefault\n', 'nothing was made by the refusals');

  // A current context that went away: commands stop, `context` still works to mend it.
  writeFileSync(join(cfg, 'config.json'), JSON.stringify({ currentContext: 'gone' }));
  assert.match((await berth(['volume', 'ls'])).stderr, /^Failed to initialize: unable to resolve docker endpoint: context "gone": context not found/);
  assert.match(await ok(berth(['context', 'ls'])), /^gone \* +context "gone": context not found: open \/tmp…$/m);
  assert.equal(await ok(berth(['context', 'use', 'default'])), 'default\n');
  assert.deepEqual(JSON.parse(readFileSync(join(cfg, 'config.json'), 'utf8')), {});
  assert.equal(await ok(berth(['context', 'rm', 'bt'])), 'bt\n');
  assert.equal(await ok(berth(['context', 'ls', '-q'])), 'default\n');
});

test('a context with TLS material reaches a daemon that verifies clients; docker\'s contexts and exports work in berth and berth\'s in docker', async () => {
  // Made by the docker CLI: its files are copied into the store, and berth connects with them.
  await ok(docker(['context', 'create', 'dtls', '--docker', `host=${tcp},ca=${join(certs, 'ca.pem')},cert=${join(certs, 'cert.pem')},key=${join(certs, 'key.pem')}`]));
  assert.equal(await ok(berth(['--context', 'dtls', 'volume', 'ls', '-q'])), 'ctxvol\n');
  assert.deepEqual(JSON.parse(await ok(berth(['context', 'inspect', '-f', '{{json .TLSMaterial}}', 'dtls']))), { docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  // The same address without the material is refused by the daemon (no client certificate).
  await ok(berth(['context', 'create', 'plain', '--docker', `host=${tcp}`]));
  assert.notEqual((await berth(['--context', 'plain', 'volume', 'ls'])).code, 0);
  // Updating the endpoint replaces its material whole.
  await ok(berth(['context', 'update', 'plain', '--docker', `host=${tcp},ca=${join(certs, 'ca.pem')},cert=${join(certs, 'cert.pem')},key=${join(certs, 'key.pem')}`]));
  assert.equal(await ok(docker(['--context', 'plain', 'volume', 'ls', '-q'])), 'ctxvol\n');

  // Exports: docker's archive (it has no end marker) imports into berth; berth's into docker.
  const dockerExport = join(dir, 'dtls.dockercontext');
  await ok(docker(['context', 'export', 'dtls', dockerExport]));
  const imported = await berth(['context', 'import', 'fromdocker', dockerExport]);
  assert.deepEqual([imported.code, imported.stdout, imported.stderr], [0, 'fromdocker\n', 'Successfully imported context "fromdocker"\n']);
  assert.equal(await ok(berth(['--context', 'fromdocker', 'volume', 'ls', '-q'])), 'ctxvol\n');
  const berthExport = join(dir, 'berth.dockercontext');
  const exported = await berth(['context', 'export', 'plain', berthExport]);
  assert.equal(exported.stderr, `Written file "${berthExport}"\n`);
  await ok(docker(['context', 'import', 'fromberth', berthExport]));
  assert.equal(await ok(docker(['--context', 'fromberth', 'volume', 'ls', '-q'])), 'ctxvol\n');
  // Through stdin and stdout too.
  const streamed = spawnSync('sh', ['-c', '"$0" -- "$1" context export dtls - | "$0" -- "$1" context import piped -', NODE, BERTH], { env: { ...process.env, ...NOHOST, BERTH_CONFIG: cfg }, encoding: 'utf8' });
  assert.equal(streamed.status, 0, streamed.stderr);
  assert.equal(await ok(berth(['--context', 'piped', 'volume', 'ls', '-q'])), 'ctxvol\n');
  // Not an archive: refused, nothing made.
  const junk = join(dir, 'junk');
  writeFileSync(junk, 'not a tar at all');
  const bad = await berth(['context', 'import', 'junk', junk]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid context/);
  assert.doesNotMatch(await ok(berth(['context', 'ls', '-q'])), /junk/);

  // `--from` copies a context whole (material included); `from=` only the endpoint's settings, as docker.
  await ok(berth(['context', 'create', 'copy', '--from', 'dtls']));
  assert.equal(await ok(berth(['--context', 'copy', 'volume', 'ls', '-q'])), 'ctxvol\n');
  await ok(berth(['context', 'create', 'settings', '--docker', 'from=dtls']));
  assert.equal(await ok(berth(['context', 'inspect', '-f', '{{.Endpoints.docker.Host}} {{json .TLSMaterial}}', 'settings'])), `${tcp} {}\n`);
  assert.equal(await ok(berth(['context', 'rm', 'dtls', 'plain', 'fromdocker', 'fromberth', 'piped', 'copy', 'settings'])), 'dtls\nplain\nfromdocker\nfromberth\npiped\ncopy\nsettings\n');
  assert.deepEqual(readdirSync(join(cfg, 'contexts', 'meta')), []);
  assert.deepEqual(readdirSync(join(cfg, 'contexts', 'tls')), []);
});
