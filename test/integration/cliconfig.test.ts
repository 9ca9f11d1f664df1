/**
 * The CLI's config file (`config.json`, shared here by both CLIs) and the listings' output
 * choices, against the docker CLI talking to the same berthd: default formats (`psFormat`,
 * `imagesFormat`, …), `--format` with `-q` and docker's unnamed `raw` format, malformed files,
 * `HttpHeaders` and DOCKER_CUSTOM_HEADERS on the wire, `proxies` in containers and builds,
 * `pruneFilters`, and `images --tree`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, type Result } from './harness.ts';

let d: TestDaemon;
let cfgDir: string;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  cfgDir = join(d.root, 'shared-config');
  mkdirSync(cfgDir, { recursive: true });
  await d.ok(['run', '-d', '--name', 'up', '-l', 'tier=web', 'busybox', 'sleep', '300']);
  // A second image with two tags in one repository (docker orders an image's repositories at
  // random, its tags within one as the daemon gives them).
  await d.ok(['commit', 'up', 'ex/tree:1']);
  await d.ok(['tag', 'ex/tree:1', 'ex/tree:longer-tag']);
  await d.ok(['network', 'create', 'n1']);
  await d.ok(['volume', 'create', 'v1']);
});

after(async () => {
  await d?.cleanup();
});

function config(json: string | object): void {
  writeFileSync(join(cfgDir, 'config.json'), typeof json === 'string' ? json : JSON.stringify(json));
}

const berth = (args: string[], env: Record<string, string> = {}) => d.berth(args, { env: { BERTH_CONFIG: cfgDir, ...env } });
const docker = (args: string[], env: Record<string, string> = {}) => d.docker(args, { env: { DOCKER_CONFIG: cfgDir, ...env } });

async function compare(cases: string[][], env: Record<string, string> = {}, fix: (s: string) => string = (s) => s): Promise<string[]> {
  const diffs: string[] = [];
  for (const args of cases) {
    const [b, k]: Result[] = await Promise.all([berth(args, env), docker(args, env)]);
    const kOut = fix(k.stdout);
    const kErr = fix(k.stderr);
    if (b.stdout !== kOut || b.stderr !== kErr || b.code !== k.code) {
      diffs.push(`${args.join(' ')}\n  docker (${k.code}): ${JSON.stringify(kOut)} ${JSON.stringify(kErr)}\n  berth  (${b.code}): ${JSON.stringify(b.stdout)} ${JSON.stringify(b.stderr)}`);
    }
  }
  return diffs;
}

test('--format with -q, and the unnamed raw format, print what the docker CLI prints', async () => {
  config({});
  const diffs = await compare([
    ['ps', '-q', '--format', '{{.Names}}'],
    ['ps', '--format', 'table', '-q'],
    ['ps', '--format', 'raw', '-q'],
    ['images', '-q', '--format', '{{.Repository}}:{{.Tag}}'],
    ['images', '--format', 'table', '-q'],
    ['images', '--format', 'raw', '-q'],
    ['network', 'ls', '-q', '--format', '{{.Name}}'],
    ['network', 'ls', '--format', 'raw'],
    ['network', 'ls', '--format', 'raw', '-q'],
    ['volume', 'ls', '-q', '--format', '{{.Driver}}'],
    ['volume', 'ls', '--format', 'raw'],
    ['volume', 'ls', '--format', 'raw', '-q'],
    ['plugin', 'ls', '--format', 'raw'],
    ['history', '-q', '--format', '{{.CreatedBy}}', 'busybox'],
    ['history', '-q', '--format', 'table', 'busybox'],
  ]);
  assert.deepEqual(diffs, []);
});

test('the config file\'s default formats apply as the docker CLI applies them', async () => {
  config({
    psFormat: 'table {{.Names}}\t{{.Image}}\t{{.Labels}}',
    imagesFormat: '{{.Repository}}:{{.Tag}}',
    networksFormat: 'table {{.Name}}\t{{.Driver}}',
    volumesFormat: '{{.Name}} {{.Driver}}',
    pluginsFormat: '{{.ID}}',
    statsFormat: '{{.Name}}',
  });
  const diffs = await compare([
    ['ps'], ['ps', '-q'], ['ps', '--format', '{{.ID}}'],
    ['images'], ['images', '-q'], ['images', '--format', 'table {{.ID}}'],
    ['network', 'ls'], ['network', 'ls', '-q'],
    ['volume', 'ls'], ['volume', 'ls', '-q'],
    ['plugin', 'ls'],
    ['stats', '--no-stream'],
  ]);
  assert.deepEqual(diffs, []);
  // The daemon's answer decides the row, the file the format.
  assert.equal((await berth(['ps'])).stdout, 'NAMES     IMAGE     LABELS\nup        busybox   tier=web\n');
});

test('a malformed config file: docker\'s warning, the settings that could be read kept', async () => {
  const diffs: string[] = [];
  for (const text of ['{"networksFormat": 5}', '{"networksFormat":"{{.Name}}","auths":5}', '{"NETWORKSFORMAT":"{{.Driver}}"}', '[1]', '']) {
    config(text);
    diffs.push(...await compare([['network', 'ls']]));
  }
  assert.deepEqual(diffs, []);
  // Text that is not JSON: the same warning (in JavaScript's words after the path) and no settings.
  config('{');
  const r = await berth(['ps', '-q']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^WARNING: Error parsing config file \(.*shared-config\/config\.json\): .+\n$/);
  assert.match(r.stdout, /^[0-9a-f]{12}\n$/);
});

/** A Unix socket that answers every request with `{}` and keeps each request's head. */
async function recorder(path: string): Promise<{ server: Server; heads: string[] }> {
  const heads: string[] = [];
  const server = createServer((s) => {
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      heads.push(buf.slice(0, end));
      buf = '';
      s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.50\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}');
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return { server, heads };
}

/** The headers of a recorded request that neither CLI sets itself, in a stable order. */
function custom(head: string): string[] {
  return head.split('\r\n').slice(1).filter((l) => !/^(host|user-agent|content-length|content-type|connection|accept-encoding):/i.test(l)).sort();
}

test('HttpHeaders and DOCKER_CUSTOM_HEADERS go with every request, as the docker CLI sends them', async () => {
  const sock = join(d.root, 'rec.sock');
  const rec = await recorder(sock);
  try {
    const sent = async (env: Record<string, string>): Promise<{ berth: string[]; docker: string[] }> => {
      rec.heads.length = 0;
      await berth(['-H', `unix://${sock}`, 'network', 'ls', '-q'], env);
      const b = rec.heads.filter((h) => h.startsWith('GET ')).map(custom);
      rec.heads.length = 0;
      await docker(['-H', `unix://${sock}`, 'network', 'ls', '-q'], env);
      const k = rec.heads.filter((h) => h.startsWith('GET ')).map(custom);
      assert.equal(b.length, 1);
      assert.equal(k.length, 1);
      return { berth: b[0]!, docker: k[0]! };
    };
    config({ HttpHeaders: { 'x-meta-source': 'config', MyHeader: ' a b ', 'User-Agent': 'not-this' } });
    let s = await sent({});
    assert.deepEqual(s.berth, ['Myheader: a b', 'X-Meta-Source: config']);
    assert.deepEqual(s.berth, s.docker);
    // The environment's list replaces the file's headers.
    s = await sent({ DOCKER_CUSTOM_HEADERS: 'one=1,"two=2,x", three = 3 ,four=' });
    assert.deepEqual(s.berth, ['Four: ', 'One: 1', 'Three: 3', 'Two: 2,x']);
    assert.deepEqual(s.berth, s.docker);
  } finally {
    rec.server.close();
    rmSync(sock, { force: true });
  }
  // A malformed list stops the command with a message (the docker CLI panics on these).
  for (const [value, message] of [
    ['a', `failed to set custom headers from DOCKER_CUSTOM_HEADERS environment variable: missing "=" in key=value pair: 'a'\n`],
    ['=b', `failed to set custom headers from DOCKER_CUSTOM_HEADERS environment variable: value contains a key=value pair with an empty key: '=b'\n`],
    ['a="b', 'failed to parse custom headers from DOCKER_CUSTOM_HEADERS environment variable: value must be formatted as comma-separated key=value pairs\n'],
  ] as const) {
    const r = await berth(['ps', '-q'], { DOCKER_CUSTOM_HEADERS: value });
    assert.equal(r.code, 1, value);
    assert.equal(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  config({ HttpHeaders: { 'X-Bad': 'a\r\nInjected: 1' } });
  const bad = await berth(['ps', '-q']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'invalid header field value for "X-Bad" in the config file\'s HttpHeaders\n');
});

test('proxies reach containers made by run and create, and builds, as the docker CLI passes them', async () => {
  config({ proxies: { default: { httpProxy: 'http://proxy.test:3128', noProxy: 'localhost,127.0.0.1' }, 'unix:///elsewhere.sock': { ftpProxy: 'ftp://no' } } });
  const env = async (cli: typeof berth, args: string[]) => {
    const r = await cli(['run', '--rm', ...args, 'busybox', 'env']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => /proxy/i.test(l)).sort();
  };
  const mine = ['-e', 'http_proxy=mine'];
  assert.deepEqual(await env(berth, mine), ['HTTP_PROXY=http://proxy.test:3128', 'NO_PROXY=localhost,127.0.0.1', 'http_proxy=mine', 'no_proxy=localhost,127.0.0.1']);
  assert.deepEqual(await env(berth, mine), await env(docker, mine));
  // An entry for the daemon's own address wins over `default`.
  config({ proxies: { default: { httpProxy: 'http://proxy.test:3128' }, [d.host]: { ftpProxy: 'ftp://here' } } });
  assert.deepEqual(await env(berth, []), ['FTP_PROXY=ftp://here', 'ftp_proxy=ftp://here']);
  assert.deepEqual(await env(berth, []), await env(docker, []));
  const created = (await berth(['create', 'busybox', 'true'])).stdout.trim();
  assert.match(await d.ok(['inspect', '-f', '{{json .Config.Env}}', created]), /"FTP_PROXY=ftp:\/\/here","ftp_proxy=ftp:\/\/here"/);
  await d.ok(['rm', created]);
  // Builds get them as build arguments, which stay out of the image's history and config.
  const ctxDir = join(d.root, 'proxy-build');
  mkdirSync(ctxDir, { recursive: true });
  writeFileSync(join(ctxDir, 'Dockerfile'), 'FROM busybox\nRUN echo "p=$FTP_PROXY/$ftp_proxy/$HTTP_PROXY" > /p\n');
  for (const [cli, tag] of [[berth, 'px:b'], [docker, 'px:d']] as const) {
    const r = await cli(['build', '-q', '-t', tag, ctxDir], { DOCKER_BUILDKIT: '0' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await d.ok(['run', '--rm', tag, 'cat', '/p']), 'p=ftp://here/ftp://here/\n');
    assert.doesNotMatch(await d.ok(['history', '--no-trunc', tag]) + await d.ok(['image', 'inspect', tag]), /ftp:\/\/here/);
  }
  assert.equal(await d.ok(['image', 'inspect', '-f', '{{.Id}}', 'px:b']), await d.ok(['image', 'inspect', '-f', '{{.Id}}', 'px:d']));
  await d.ok(['rmi', 'px:b', 'px:d']);
});

test('pruneFilters join each prune\'s filters; a label filter the command line contradicts is left out', async () => {
  config({ pruneFilters: ['label!=keep'] });
  const names = async () => (await d.ok(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort();
  await d.ok(['create', '--name', 'p-keep', '-l', 'keep', 'busybox', 'true']);
  await d.ok(['create', '--name', 'p-go', 'busybox', 'true']);
  assert.match((await berth(['container', 'prune', '-f'])).stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\n/);
  assert.deepEqual(await names(), ['p-keep', 'up']);
  // --filter label=keep contradicts the file's label!=keep, which is then left out.
  assert.match((await berth(['container', 'prune', '-f', '--filter', 'label=keep'])).stdout, /^Deleted Containers:\n[0-9a-f]{64}\n\n/);
  assert.deepEqual(await names(), ['up']);
  await d.ok(['network', 'create', '--label', 'keep', 'n-keep']);
  await d.ok(['network', 'create', 'n-go']);
  const pruned = (await berth(['network', 'prune', '-f'])).stdout.split('\n');
  assert.equal(pruned[0], 'Deleted Networks:');
  assert.deepEqual(pruned.slice(1).filter(Boolean).sort(), ['n-go', 'n1']);
  assert.match(await d.ok(['network', 'ls', '--format', '{{.Name}}']), /n-keep/);
  await d.ok(['network', 'rm', 'n-keep']);
  await d.ok(['network', 'create', 'n1']);
});

test('images --tree draws what the docker CLI draws; images NAME hints at the subcommand', async () => {
  config({});
  const diffs = await compare([['images', '--tree'], ['images', '--tree', '-a'], ['images', '--tree', 'ex/tree'], ['images', '--tree', '-q'], ['images', '--tree', '--digests'], ['images', '--tree', '--format', 'x']]);
  assert.deepEqual(diffs, []);
  const hint = await compare([['images', 'ls'], ['images', 'prune'], ['image', 'ls', 'ls']], {}, (s) => s.replace('"docker image', '"berth image'));
  assert.deepEqual(hint, []);
});

test('DOCKER_DEFAULT_PLATFORM (or BERTH_DEFAULT_PLATFORM) is --platform\'s default for run, create and import, as the docker CLI takes it', async () => {
  config({});
  const other = { DOCKER_DEFAULT_PLATFORM: 'linux/s390x' };
  const diffs = await compare([
    ['run', '--rm', '--pull', 'never', 'busybox', 'true'],
    ['create', '--pull', 'never', 'busybox', 'true'],
  ], other, (s) => s.replace(/^docker: /, 'berth: ').replace("Run 'docker run --help'", "Run 'berth run --help'"));
  assert.deepEqual(diffs, []);
  const r = await berth(['run', '--rm', '--pull', 'never', 'busybox', 'true'], other);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /linux\/s390x/);
  assert.equal((await berth(['run', '--rm', '--pull', 'never', 'busybox', 'echo', 'same'], { BERTH_DEFAULT_PLATFORM: 'linux/amd64' })).stdout, 'same\n');
  // The flag wins over the variable; import records the variable's platform.
  assert.equal((await berth(['run', '--rm', '--pull', 'never', '--platform', 'linux/amd64', 'busybox', 'echo', 'flag'], other)).stdout, 'flag\n');
  const exported = join(d.root, 'rootfs.tar');
  await d.ok(['export', '-o', exported, 'up']);
  const imported = await berth(['import', exported, 'ex/arm:1'], { DOCKER_DEFAULT_PLATFORM: 'linux/arm64' });
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(await d.ok(['image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', 'ex/arm:1']), 'linux/arm64\n');
  await d.ok(['rmi', 'ex/arm:1']);
  // --platform on image inspect, history and network inspect -v reach the daemon, as the docker CLI sends them.
  const sent = await compare([
    ['image', 'inspect', '--platform', 'linux/s390x', '-f', '{{.Os}}', 'busybox'],
    ['image', 'inspect', '--platform', 'linux/amd64', '-f', '{{.Os}}', 'busybox'],
    ['history', '--platform', 'linux/s390x', '--format', '{{.CreatedBy}}', 'busybox'],
    ['history', '--platform', 'linux/amd64', '--format', '{{.Size}}', 'busybox'],
    ['network', 'inspect', '-v', '-f', '{{.Name}} {{.Scope}}', 'n1'],
  ]);
  assert.deepEqual(sent, []);
  assert.match((await berth(['history', '--platform', 'linux/s390x', 'busybox'])).stderr, /does not match the specified platform/);
});

test('the CLI\'s own checks and help as docker CLI 28 prints them: --rm with --restart; --help starts with the usage line', async () => {
  config({});
  const fix = (s: string) => s.replace(/^docker: /, 'berth: ').replace(/'docker /g, "'berth ").replace(/Usage: {2}docker/g, 'Usage:  berth');
  const diffs = await compare([
    ['run', '--rm', '--restart', 'always', 'busybox', 'true'],
    ['create', '--rm', '--restart', 'on-failure:2', 'busybox', 'true'],
  ], {}, fix);
  assert.deepEqual(diffs, []);
  for (const args of [['--help'], ['ps', '--help'], ['container', '--help'], ['help', 'run']]) {
    const [b, k] = await Promise.all([berth(args), docker(args)]);
    assert.equal(b.stdout.split('\n')[0], fix(k.stdout.split('\n')[0]!), args.join(' '));
  }
});
