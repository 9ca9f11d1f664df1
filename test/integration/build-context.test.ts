/**
 * Berth's own context transfer: `berth build` tells berthd the context's tree with a stat key
 * per file first, and sends only the bodies berthd does not hold from a recent build. What a
 * user checks: rebuilds come out right whatever changed (same-size edits, edits just made, a
 * restarted daemon), and what travels is only what changed. The manifest endpoint's refusals
 * are checked through raw HTTP, as a client we did not write would see them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BERTH, DOCKER, NODE, TestDaemon } from './harness.ts';

let d: TestDaemon;
let root: string;

/** berthd also listens here: over TCP the CLI sends whole contexts, as the classic API does. */
const TCP = `tcp://127.0.0.1:${30000 + (process.pid % 20000)}`;

before(async () => {
  d = await TestDaemon.start({ extraArgs: ['-H', TCP] });
  await d.importBusybox();
  root = mkdtempSync('/tmp/bt-bctx-');
});

after(async () => {
  await d?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

function api(method: string, path: string, body: string | Buffer, type: string): Promise<{ status: number; body: string; headers: import('node:http').IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.sock, method, path, headers: { 'Content-Type': type } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The manifest `berth build` sends for a directory (no .dockerignore), with its stat keys. */
function manifest(dir: string): unknown[] {
  const out: unknown[] = [];
  const now = Date.now();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(abs, name));
      if (st.isDirectory()) {
        out.push([r, 'dir', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000) * 1000, 0, '', '']);
        walk(join(abs, name), r);
      } else {
        const settled = st.ctimeMs <= now - 2000 && st.mtimeMs <= now - 2000;
        out.push([r, 'file', st.mode & 0o7777, Math.floor(st.mtimeMs / 1000) * 1000, st.size, '', settled ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '']);
      }
    }
  };
  walk(dir, '');
  return out;
}

/** The files berthd would ask `berth build` to send for this directory now. */
async function needed(dir: string): Promise<string[]> {
  const r = await api('POST', '/berth/build/context', JSON.stringify({ Entries: manifest(dir) }), 'application/json');
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { Need: string[] }).Need;
}

function steps(out: string): string[] {
  return out.split('\n').filter((l) => / ---> (Using cache|Running in)/.test(l)).map((l) => (l.includes('Using cache') ? 'cache' : 'run'));
}

/** The size `berth build` reports sending. */
function sentSize(out: string): string {
  const m = /^Sending build context to Berth daemon {2}(\S+)$/m.exec(out);
  assert.ok(m, out);
  return m[1];
}

/**
 * A context whose Dockerfile copies it in and concatenates a.txt ("one") and sub/b.txt ("bee")
 * into /out, with `more` files; settled (files changed in the last two seconds are always sent).
 */
async function context(name: string, more: Record<string, string> = {}): Promise<string> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const files = { Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN cat /ctx/a.txt /ctx/sub/b.txt > /out\n', 'a.txt': 'one\n', 'sub/b.txt': 'bee\n', ...more };
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  await sleep(2100);
  return dir;
}

test('over TCP the whole context travels as a tar, and the build is the same', async () => {
  const dir = await context('tcp');
  const viaTcp = await d.ok(['-H', TCP, 'build', '-t', 'bctcp:1', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bctcp:1', 'cat', '/out']), 'one\nbee\n');
  assert.deepEqual(await needed(dir), ['Dockerfile', 'a.txt', 'sub/b.txt'], 'a whole tar leaves no bodies known by key');
  const viaUnix = await d.ok(['build', '-t', 'bctcp:2', dir]);
  assert.equal(sentSize(viaUnix), sentSize(viaTcp), 'the reported size is the context\'s, however little travels');
  assert.equal((await d.ok(['image', 'inspect', '-f', '{{.Id}}', 'bctcp:2'])), await d.ok(['image', 'inspect', '-f', '{{.Id}}', 'bctcp:1']), 'the same image from the cache');
  // --compress: the tar goes gzipped, and the build is the same.
  const gz = await d.ok(['-H', TCP, 'build', '--compress', '--no-cache', '-t', 'bctcp:3', dir]);
  assert.match(gz, /Successfully tagged bctcp:3/);
  assert.equal(await d.ok(['run', '--rm', 'bctcp:3', 'cat', '/out']), 'one\nbee\n');
});

test('a rebuild sends only what changed since a recent build and is never built from a stale body', async () => {
  const dir = await context('ctx', { empty: '' });
  assert.deepEqual(await needed(dir), ['Dockerfile', 'a.txt', 'sub/b.txt'], 'a fresh daemon holds no bodies (an empty file needs none)');
  const first = await d.ok(['build', '-t', 'bctx:1', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bctx:1', 'cat', '/out']), 'one\nbee\n');
  assert.deepEqual(await needed(dir), [], 'after a build every settled body is held');

  // An edit of the same size, built at once: the file has no key yet, so it travels.
  writeFileSync(join(dir, 'a.txt'), 'two\n');
  assert.deepEqual(await needed(dir), ['a.txt']);
  assert.deepEqual(steps(await d.ok(['build', '-t', 'bctx:2', dir])), ['run'], 'COPY and RUN rerun');
  assert.equal(await d.ok(['run', '--rm', 'bctx:2', 'cat', '/out']), 'two\nbee\n');

  // Settled, it has a key berthd has not seen (its ctime moved), so it travels once more; the
  // build is all cache, and afterwards nothing is needed.
  await sleep(2100);
  assert.deepEqual(await needed(dir), ['a.txt']);
  const third = await d.ok(['build', '-t', 'bctx:3', dir]);
  assert.deepEqual(steps(third), ['cache', 'cache']);
  assert.equal(sentSize(third), sentSize(first), 'the context\'s size, not what travelled');
  assert.deepEqual(await needed(dir), []);

  // Another edit of the same size after settling: a new key, never the old body.
  writeFileSync(join(dir, 'a.txt'), 'six\n');
  await sleep(2100);
  assert.deepEqual(await needed(dir), ['a.txt']);
  await d.ok(['build', '-t', 'bctx:4', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bctx:4', 'cat', '/out']), 'six\nbee\n');

  // A new file and a removed one.
  writeFileSync(join(dir, 'sub', 'c.txt'), 'sea\n');
  rmSync(join(dir, 'empty'));
  await d.ok(['build', '-t', 'bctx:5', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bctx:5', 'ls', '/ctx', '/ctx/sub']), '/ctx:\nDockerfile\na.txt\nsub\n\n/ctx/sub:\nb.txt\nc.txt\n');

  // A restarted berthd holds nothing and asks for every body again; builds stay right.
  await d.stopDaemon();
  await d.startDaemon();
  assert.deepEqual(await needed(dir), ['Dockerfile', 'a.txt', 'sub/b.txt', 'sub/c.txt']);
  assert.deepEqual(steps(await d.ok(['build', '-t', 'bctx:6', dir])), ['cache', 'cache']);
  assert.equal(await d.ok(['run', '--rm', 'bctx:6', 'cat', '/out']), 'six\nbee\n');
});

test('a context whose bodies berthd holds is built from its manifest request alone', async () => {
  const dir = await context('one');
  await d.ok(['build', '-t', 'bcone:1', dir]);
  const idOf = async (ref: string) => (await d.ok(['image', 'inspect', '-f', '{{.Id}}', ref])).trim();
  const built = await api('POST', '/berth/build/context?build=1&t=bcone:2&q=1&dockerfile=Dockerfile', JSON.stringify({ Entries: manifest(dir) }), 'application/json');
  assert.equal(built.status, 200, built.body);
  assert.equal(built.headers['x-berth-build'], '1', 'the answer is the build\'s stream');
  // Quiet, as dockerd answers q=1: the image's ID alone, as a stream line.
  const lines = built.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { stream?: string });
  assert.deepEqual(lines, [{ stream: `${await idOf('bcone:1')}\n` }]);
  assert.equal(await idOf('bcone:2'), await idOf('bcone:1'), 'tagged as asked');
  // A body berthd lacks: the answer names it and nothing is built until it comes.
  writeFileSync(join(dir, 'a.txt'), 'ten\n');
  const asked = await api('POST', '/berth/build/context?build=1&t=bcone:3&q=1', JSON.stringify({ Entries: manifest(dir) }), 'application/json');
  assert.equal(asked.headers['x-berth-build'], undefined);
  assert.deepEqual((JSON.parse(asked.body) as { Need: string[] }).Need, ['a.txt']);
  assert.notEqual((await d.berth(['image', 'inspect', 'bcone:3'])).code, 0, 'not built');
  await d.ok(['build', '-t', 'bcone:3', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bcone:3', 'cat', '/out']), 'ten\nbee\n');
});

test('the manifest endpoint refuses what is malformed, and a build must send exactly the bodies asked for', async () => {
  const bad = async (body: string, re: RegExp) => {
    const r = await api('POST', '/berth/build/context', body, 'application/json');
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, re);
  };
  await bad('{', /invalid build context manifest/);
  await bad('{"Entries": 3}', /Entries must be a list/);
  await bad('{"Entries": [["a", "fifo", 420, 0, 0, "", ""]]}', /entry 0 is not \[name, type/);
  await bad('{"Entries": [["../x", "file", 420, 0, 1, "", ""]]}', /outside the context/);
  await bad('{"Entries": [["a", "file", 420, 0, 1, "", ""], ["a", "file", 420, 0, 1, "", ""]]}', /a is named twice/);

  const unknown = await api('POST', '/build?berthcontext=0123', Buffer.alloc(1024), 'application/x-tar');
  assert.equal(unknown.status, 400);
  assert.match(JSON.parse(unknown.body).message, /no prepared build context 0123/);

  // Asked for Dockerfile and a.txt; a tar with only the Dockerfile is refused, naming a.txt.
  const prep = await api('POST', '/berth/build/context', JSON.stringify({ Entries: [['Dockerfile', 'file', 0o644, 0, 14, '', ''], ['a.txt', 'file', 0o644, 0, 2, '', '']] }), 'application/json');
  const { ID, Need } = JSON.parse(prep.body) as { ID: string; Need: string[] };
  assert.deepEqual(Need, ['Dockerfile', 'a.txt']);
  const { encodeHeader } = await import('../../src/lib/tar/header.ts');
  const df = Buffer.from('FROM busybox\n\n');
  const tar = Buffer.concat([encodeHeader({ name: 'Dockerfile', type: 'file', size: 14, mode: 0o644, mtime: new Date() }), df, Buffer.alloc(512 - 14), Buffer.alloc(1024)]);
  const short = await api('POST', `/build?berthcontext=${ID}&q=1`, tar, 'application/x-tar');
  assert.equal(short.status, 400, short.body);
  assert.match(JSON.parse(short.body).message, /the archive lacks a\.txt, named by its manifest/);
  // The prepared context was used up by that attempt.
  const again = await api('POST', `/build?berthcontext=${ID}&q=1`, tar, 'application/x-tar');
  assert.match(JSON.parse(again.body).message, /no prepared build context/);
});

test('berthd walks the context of a root CLI on its host; another directory is not walked; a non-root CLI lists its context itself', async () => {
  const dir = await context('walk', { '.dockerignore': 'skip.txt\n', 'skip.txt': 'no\n' });
  const rootKey = () => {
    const st = lstatSync(dir);
    return `${st.dev}:${st.ino}`;
  };
  type Walk = { Walked: boolean; ID?: string; Need?: [string, string, number, number, number, string, string][]; ContextSize?: number };
  const walk = async (body: unknown, query = '') => {
    const r = await api('POST', `/berth/build/context/walk${query}`, JSON.stringify(body), 'application/json');
    assert.equal(r.status, 200, r.body);
    return { ...(JSON.parse(r.headers['x-berth-build'] ? '{}' : r.body) as Walk), headers: r.headers, body: r.body };
  };
  // Fresh: every body is needed, as walked (with its size), .dockerignore applied. Field names
  // are matched as Go matches them.
  const fresh = await walk({ path: dir, ROOT: rootKey(), Keep: ['Dockerfile', '.dockerignore'] });
  assert.equal(fresh.Walked, true);
  assert.deepEqual(fresh.Need?.map((e) => [e[0], e[4]]), [['.dockerignore', 9], ['Dockerfile', 67], ['a.txt', 4], ['sub/b.txt', 4]]);
  assert.ok((fresh.ContextSize ?? 0) > 4 * 512, String(fresh.ContextSize));
  // The same path seen as another directory (another mount namespace's): not walked.
  assert.equal((await walk({ Path: dir, Root: '1:1', Keep: [] })).Walked, false);
  assert.equal((await walk({ Path: join(dir, 'missing'), Root: rootKey(), Keep: [] })).Walked, false);

  // Built by the CLI (as root: walked by berthd), then a rebuild is one request.
  const first = await d.ok(['build', '-t', 'bcwalk:1', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bcwalk:1', 'ls', '-A', '/ctx']), '.dockerignore\nDockerfile\na.txt\nsub\n');
  const built = await walk({ Path: dir, Root: rootKey(), Keep: ['Dockerfile', '.dockerignore'] }, '?build=1&t=bcwalk:2&dockerfile=Dockerfile');
  assert.equal(built.headers['x-berth-build'], '1', built.body);
  assert.equal(built.headers['x-berth-context-size'], String(fresh.ContextSize));
  assert.match(built.body, /Successfully tagged bcwalk:2/);
  // A carried Dockerfile (from outside the context) travels in its request; only it is needed.
  const carried = await walk({ Path: dir, Root: rootKey(), Keep: ['.df'], Entries: [['.df', 'file', 0o644, 0, 13, '', '']] });
  assert.deepEqual(carried.Need?.map((e) => e[0]), ['.df']);
  const outside = join(root, 'Dockerfile.outside');
  writeFileSync(outside, 'FROM busybox\nCOPY a.txt /a\n');
  await d.ok(['build', '-f', outside, '-t', 'bcwalk:3', dir]);
  assert.equal(await d.ok(['run', '--rm', 'bcwalk:3', 'cat', '/a']), 'one\n');
  // And a Dockerfile from stdin, with the directory as the context.
  const piped = await d.berth(['build', '-f', '-', '-t', 'bcwalk:5', dir], { input: 'FROM busybox\nCOPY sub/b.txt /b\n' });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(await d.ok(['run', '--rm', 'bcwalk:5', 'cat', '/b']), 'bee\n');

  // A CLI that is not root lists the context itself (it must not reach what it cannot read),
  // and builds the same image from the same bodies.
  const cfg = mkdtempSync(join(root, 'cfg-'));
  spawnSync('chown', ['65534', cfg]);
  chmodSync(root, 0o755);
  // (In the socket's group, as a member of the docker group would be.)
  const group = String(lstatSync(d.sock).gid);
  const asNobody = spawnSync('setpriv', ['--reuid', '65534', '--regid', group, '--clear-groups', NODE, BERTH, 'build', '-t', 'bcwalk:4', dir], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cfg, BERTH_CONFIG: cfg, BERTH_HOST: d.host }, timeout: 60_000 });
  assert.equal(asNobody.status, 0, asNobody.stderr);
  assert.equal(sentSize(asNobody.stdout), sentSize(first), 'the same context');
  assert.deepEqual(steps(asNobody.stdout), ['cache', 'cache'], 'from the bodies the walked build left');
  // An unreadable file stops a non-root CLI's build with its error, as docker's CLI.
  writeFileSync(join(dir, 'private.txt'), 'root only\n', { mode: 0o600 });
  const denied = spawnSync('setpriv', ['--reuid', '65534', '--regid', group, '--clear-groups', NODE, BERTH, 'build', dir], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cfg, BERTH_CONFIG: cfg, BERTH_HOST: d.host }, timeout: 60_000 });
  assert.equal(denied.status, 1, denied.stdout);
  assert.equal(denied.stderr, `error checking context: 'no permission to read from '${join(dir, 'private.txt')}''.\n`);
  rmSync(join(dir, 'private.txt'));
});

test('the walk endpoint refuses what is malformed', async () => {
  const bad = async (body: string, re: RegExp) => {
    const r = await api('POST', '/berth/build/context/walk', body, 'application/json');
    assert.equal(r.status, 400, r.body);
    assert.match(JSON.parse(r.body).message, re);
  };
  await bad('[', /invalid build context walk request/);
  await bad('[]', /not an object/);
  await bad('{"Path": "relative", "Root": "1:2"}', /Path must be an absolute path/);
  await bad('{"Path": "/tmp", "Root": "x"}', /Root must be "dev:ino"/);
  await bad('{"Path": "/tmp", "Root": "1:2", "Keep": [1]}', /Keep must be a list of names/);
  await bad('{"Path": "/tmp", "Root": "1:2", "Entries": [["a", "fifo", 420, 0, 0, "", ""]]}', /entry 0 is not \[name, type/);
  await bad('{"Path": "/tmp", "Root": "1:2", "Extra": 1}', /unknown field extra/);
});

test('the context path: a symbolic link to a directory is followed; a file or a missing path is refused as the docker CLI refuses it', async () => {
  const dir = await context('linked');
  const link = join(root, 'linked-link');
  symlinkSync(dir, link);
  await d.ok(['build', '-t', 'bclink:1', link]);
  assert.equal(await d.ok(['run', '--rm', 'bclink:1', 'cat', '/out']), 'one\nbee\n');
  const file = join(dir, 'a.txt');
  for (const path of [file, join(root, 'no-such-dir')]) {
    const ours = await d.berth(['build', path]);
    assert.equal(ours.code, 1, ours.stdout);
    assert.match(ours.stderr, path === file ? /^unable to prepare context: context must be a directory: / : /^unable to prepare context: path ".*no-such-dir" not found$/m);
    if (existsSync(DOCKER)) {
      const theirs = await d.docker(['build', path], { env: { DOCKER_BUILDKIT: '0' } });
      // (After its banner on the legacy builder.)
      assert.equal(ours.stderr.trim(), theirs.stderr.trim().split('\n').pop(), 'the docker CLI\'s words');
    }
  }
});
