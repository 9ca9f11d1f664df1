/**
 * Files in and out of containers: `berth cp` and `docker cp` both ways on created, running,
 * paused and stopped containers, docker's rules for trailing `/` and `/.`, paths through
 * volumes and symlinks (resolved in the container), read-only mounts, ownership (-a), and
 * archives that try to land outside their target (refused whole, nothing written) — through
 * the archive API as docker-py and raw HTTP use it too.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TestDaemon, NODE, BERTH } from './harness.ts';
import { encodeHeader, padding, END, type WriteHeader } from '../../src/lib/tar/header.ts';

let d: TestDaemon;
let local: string;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  local = mkdtempSync('/tmp/bt-cp-');
});

after(async () => {
  await d?.cleanup();
  if (local) rmSync(local, { recursive: true, force: true });
});

afterEach(async () => {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', '-v', id]);
});

async function ok(args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function dok(args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function api(method: string, path: string, body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.sock, path, method, headers: body ? { 'Content-Length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function tarOf(entries: [WriteHeader, Buffer?][]): Buffer {
  const parts: Buffer[] = [];
  for (const [h, body] of entries) {
    parts.push(encodeHeader({ mode: 0o644, mtime: 1700000000, ...h, size: body?.length ?? 0 }));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END);
  return Buffer.concat(parts);
}

function tarNames(buf: Buffer): string[] {
  const r = spawnSync('tar', ['-t'], { input: buf, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function localTree(): string {
  const dir = mkdtempSync(join(local, 'src-'));
  writeFileSync(join(dir, 'file.txt'), 'hello\n');
  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'a'), 'A\n');
  writeFileSync(join(dir, 'tree', 'sub', 'b'), 'B\n');
  symlinkSync('a', join(dir, 'tree', 'link-to-a'));
  return dir;
}

test('cp into a never-started container follows docker\'s rules for files, directories, / and /.', async () => {
  const src = localTree();
  await ok(['create', '--name', 'fresh', 'busybox', 'sleep', '600']);
  await ok(['cp', join(src, 'file.txt'), 'fresh:/tmp/']); // into an existing directory
  await ok(['cp', join(src, 'file.txt'), 'fresh:/tmp/renamed.txt']); // a new name
  await ok(['cp', join(src, 'tree'), 'fresh:/tmp/newtree']); // a directory to a new name: its contents
  await ok(['cp', join(src, 'tree'), 'fresh:/tmp/']); // into a directory: tmp/tree
  await ok(['cp', `${join(src, 'tree')}/.`, 'fresh:/root']); // contents merged
  const missingDir = await d.berth(['cp', join(src, 'file.txt'), 'fresh:/tmp/nodir/']);
  assert.equal(missingDir.code, 1);
  assert.match(missingDir.stderr, /no such directory/);
  const dirOnFile = await d.berth(['cp', join(src, 'tree'), 'fresh:/tmp/renamed.txt']);
  assert.equal(dirOnFile.code, 1);
  assert.match(dirOnFile.stderr, /cannot copy directory/);
  const noParent = await d.berth(['cp', join(src, 'file.txt'), 'fresh:/nonexistent/x']);
  assert.equal(noParent.code, 1);
  assert.match(noParent.stderr, /Error response from daemon: Could not find the file \/nonexistent in container fresh/);
  await ok(['start', 'fresh']);
  const out = await ok(['exec', 'fresh', 'sh', '-c', 'cat /tmp/file.txt /tmp/renamed.txt; ls /tmp/newtree /tmp/tree /root; readlink /root/link-to-a; cat /tmp/newtree/sub/b']);
  assert.equal(out, 'hello\nhello\n/root:\na\nlink-to-a\nsub\n\n/tmp/newtree:\na\nlink-to-a\nsub\n\n/tmp/tree:\na\nlink-to-a\nsub\na\nB\n');
});

test('cp out of a container: files, directories, a tar on stdout, -L, and the messages', async () => {
  await ok(['run', '--name', 'src', 'busybox', 'sh', '-c', 'mkdir -p /out/sub && echo one > /out/one && echo two > /out/sub/two && ln -s /out/one /out/ln && ln -s /etc /etclink']);
  const dst = mkdtempSync(join(local, 'out-'));
  await ok(['cp', 'src:/out/one', dst]);
  assert.equal(readFileSync(join(dst, 'one'), 'utf8'), 'one\n');
  await ok(['cp', 'src:/out', join(dst, 'copy')]);
  assert.deepEqual(readdirSync(join(dst, 'copy')).sort(), ['ln', 'one', 'sub']);
  assert.equal(readFileSync(join(dst, 'copy', 'sub', 'two'), 'utf8'), 'two\n');
  // Without -L a symlink is copied as a link; with -L what it points to.
  await ok(['cp', 'src:/out/ln', join(dst, 'asis')]);
  assert.ok(lstatSync(join(dst, 'asis')).isSymbolicLink());
  await ok(['cp', '-L', 'src:/out/ln', join(dst, 'followed')]);
  assert.equal(readFileSync(join(dst, 'followed'), 'utf8'), 'one\n');
  // A tar on stdout (ASCII content: the harness reads stdout as text).
  const raw = await d.berth(['cp', 'src:/out', '-']);
  assert.equal(raw.code, 0);
  assert.equal(raw.stderr, '');
  assert.deepEqual(tarNames(Buffer.from(raw.stdout, 'latin1')), ['out/', 'out/ln', 'out/one', 'out/sub/', 'out/sub/two']);
  // Missing path, docker's message, exit 1.
  const missing = await d.berth(['cp', 'src:/nope', dst]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error response from daemon: Could not find the file /nope in container src\n');
  const both = await d.berth(['cp', 'src:/a', 'src:/b']);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /copying between containers is not supported/);
  const none = await d.berth(['cp', '/a', '/b']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /must specify at least one container source/);
  // "Successfully copied" only when stdout is a terminal (piped here: quiet).
  const quiet = await d.berth(['cp', 'src:/out/one', join(dst, 'q')]);
  assert.equal(quiet.stderr, '');
});

test('the success message on a terminal, as docker prints it', async () => {
  await ok(['create', '--name', 'msg', 'busybox']);
  const f = join(local, 'six');
  writeFileSync(f, 'hello\n');
  const berthCmd = `${NODE} ${BERTH}`;
  const r = spawnSync('script', ['-qec', `${berthCmd} cp ${f} msg:/tmp/six`, '/dev/null'], { env: { ...process.env, BERTH_HOST: d.host }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /Successfully copied 2\.05kB to msg:\/tmp\/six/);
});

test('paths resolve inside the container: through volumes, binds and symlinks, never the host\'s', async () => {
  const bind = mkdtempSync(join(local, 'bind-'));
  await ok(['create', '--name', 'vols', '-v', 'cpdata:/data', '-v', `${bind}:/bind`, '-v', `${bind}:/robind:ro`, 'busybox', 'sleep', '600']);
  writeFileSync(join(local, 'v.txt'), 'in volume\n');
  await ok(['cp', join(local, 'v.txt'), 'vols:/data/']);
  const mp = (await ok(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'cpdata'])).trim();
  assert.equal(readFileSync(join(mp, 'v.txt'), 'utf8'), 'in volume\n');
  await ok(['cp', join(local, 'v.txt'), 'vols:/bind/']);
  assert.equal(readFileSync(join(bind, 'v.txt'), 'utf8'), 'in volume\n');
  const ro = await d.berth(['cp', join(local, 'v.txt'), 'vols:/robind/other.txt']);
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /mounted volume is marked read-only/);
  assert.ok(!existsSync(join(bind, 'other.txt')));
  // Out of a volume of a stopped container.
  const dst = mkdtempSync(join(local, 'vout-'));
  await ok(['cp', 'vols:/data/v.txt', join(dst, 'back.txt')]);
  assert.equal(readFileSync(join(dst, 'back.txt'), 'utf8'), 'in volume\n');

  // Symlinks: /etclink -> /etc and a link that climbs with .. both mean the container's /etc.
  await ok(['start', 'vols']);
  await ok(['exec', 'vols', 'sh', '-c', 'ln -s /etc /etclink && ln -s ../../../../../../etc /climb && echo container > /etc/whoami']);
  const viaLink = await api('GET', '/containers/vols/archive?path=/etclink/whoami');
  assert.equal(viaLink.status, 200);
  assert.match(viaLink.body.toString('latin1'), /container\n/);
  const viaClimb = await api('GET', '/containers/vols/archive?path=/climb/whoami');
  assert.equal(viaClimb.status, 200);
  const st = await api('HEAD', '/containers/vols/archive?path=/climb');
  const stat = JSON.parse(Buffer.from(String(st.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
  assert.deepEqual({ name: stat.name, linkTarget: stat.linkTarget, mode: stat.mode }, { name: 'climb', linkTarget: '/etc', mode: 134218239 });
  // cp into a symlink to a directory lands in the container's directory.
  await ok(['cp', join(local, 'v.txt'), 'vols:/etclink/']);
  assert.equal(await ok(['exec', 'vols', 'cat', '/etc/v.txt']), 'in volume\n');
  assert.ok(!existsSync('/etc/v.txt'), 'never the host\'s /etc');
});

test('running and stopped containers; a read-only root; -a takes the container user', async () => {
  await ok(['run', '-d', '--name', 'live', '--user', '1000:1000', 'busybox', 'sleep', '600']);
  writeFileSync(join(local, 'owned'), 'x');
  await ok(['cp', '-a', join(local, 'owned'), 'live:/tmp/']);
  await ok(['cp', join(local, 'owned'), 'live:/tmp/plain']);
  assert.equal(await ok(['exec', 'live', 'stat', '-c', '%u:%g', '/tmp/owned', '/tmp/plain']), `1000:1000\n${process.getuid!()}:${process.getgid!()}\n`);
  // Out of and into a running container, and into it once it has stopped.
  const dst = mkdtempSync(join(local, 'running-'));
  await ok(['cp', 'live:/tmp/owned', dst]);
  assert.equal(readFileSync(join(dst, 'owned'), 'utf8'), 'x');
  await ok(['stop', '-t', '0', 'live']);
  await ok(['cp', join(local, 'owned'), 'live:/tmp/while-stopped']);
  await ok(['start', 'live']);
  assert.equal(await ok(['exec', 'live', 'cat', '/tmp/while-stopped']), 'x');
  await ok(['create', '--name', 'rofs', '--read-only', 'busybox']);
  const r = await d.berth(['cp', join(local, 'owned'), 'rofs:/tmp/']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /container rootfs is marked read-only/);
});

test('tmpfs mounts of a running container are in the view (docker cp sees the directory below); a paused container works too', async () => {
  await ok(['run', '-d', '--name', 'tmp', '--tmpfs', '/scratch', '--mount', 'type=tmpfs,target=/t2', 'busybox', 'sleep', '600']);
  writeFileSync(join(local, 'in-tmpfs'), 'into the tmpfs\n');
  await ok(['cp', join(local, 'in-tmpfs'), 'tmp:/scratch/']);
  assert.equal(await ok(['exec', 'tmp', 'cat', '/scratch/in-tmpfs']), 'into the tmpfs\n');
  assert.equal(await ok(['exec', 'tmp', 'sh', '-c', 'grep -c " /scratch tmpfs " /proc/mounts']), '1\n', 'it went into the mount, not below it');
  await ok(['exec', 'tmp', 'sh', '-c', 'echo from the container > /t2/made']);
  const dst = mkdtempSync(join(local, 'tmpfs-'));
  await dok(['cp', 'tmp:/t2/made', join(dst, 'made')]);
  assert.equal(readFileSync(join(dst, 'made'), 'utf8'), 'from the container\n');
  // Paused: both ways still work (the files are reached from the host, nothing runs inside).
  await ok(['pause', 'tmp']);
  await ok(['cp', join(local, 'in-tmpfs'), 'tmp:/tmp/while-paused']);
  await ok(['cp', 'tmp:/scratch/in-tmpfs', join(dst, 'paused-out')]);
  assert.equal(readFileSync(join(dst, 'paused-out'), 'utf8'), 'into the tmpfs\n');
  await ok(['unpause', 'tmp']);
  assert.equal(await ok(['exec', 'tmp', 'cat', '/tmp/while-paused']), 'into the tmpfs\n');
  // Stopped: the tmpfs is gone, and the view is the directory below, as docker's.
  await ok(['stop', '-t', '0', 'tmp']);
  const gone = await d.berth(['cp', 'tmp:/scratch/in-tmpfs', join(dst, 'never')]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /Could not find the file \/scratch\/in-tmpfs in container tmp/);
});

test('cp - reads a tar from stdin; -q and the progress line on a terminal', async () => {
  await ok(['create', '--name', 'stdin', 'busybox']);
  const dir = mkdtempSync(join(local, 'tarin-'));
  writeFileSync(join(dir, 'a.txt'), 'from a tar on stdin\n');
  const tar = spawnSync('tar', ['-C', dir, '-cf', '-', 'a.txt']).stdout;
  const r = await d.berth(['cp', '-', 'stdin:/tmp'], { input: tar });
  assert.equal(r.code, 0, r.stderr);
  const out = await d.berth(['cp', 'stdin:/tmp/a.txt', '-']);
  assert.match(out.stdout, /from a tar on stdin/);
  // Not a tar: refused, nothing written.
  const bad = await d.berth(['cp', '-', 'stdin:/tmp'], { input: Buffer.from('not a tar at all') });
  assert.notEqual(bad.code, 0);
  // On a terminal: the progress line (docker's "Copying to container - 2.05kB") and the
  // summary; -q prints neither.
  const big = join(local, 'big');
  writeFileSync(big, randomBytes(32 << 20));
  const berthCmd = `${NODE} ${BERTH}`;
  const shown = spawnSync('script', ['-qec', `${berthCmd} cp ${big} stdin:/tmp/big`, '/dev/null'], { env: { ...process.env, BERTH_HOST: d.host }, encoding: 'utf8' });
  assert.equal(shown.status, 0, shown.stdout);
  assert.match(shown.stdout, /Copying to container - [\d.]+[kMG]?B/);
  assert.match(shown.stdout, /Successfully copied 33\.6MB to stdin:\/tmp\/big/);
  const quiet = spawnSync('script', ['-qec', `${berthCmd} cp -q ${big} stdin:/tmp/big2`, '/dev/null'], { env: { ...process.env, BERTH_HOST: d.host }, encoding: 'utf8' });
  assert.equal(quiet.status, 0, quiet.stdout);
  assert.equal(quiet.stdout, '');
  const back = mkdtempSync(join(local, 'big-'));
  await ok(['cp', 'stdin:/tmp/big2', join(back, 'big')]);
  assert.ok(readFileSync(join(back, 'big')).equals(readFileSync(big)));
});

test('archives that would land outside their target are refused whole; nothing is written', async () => {
  await ok(['run', '--name', 'esc', 'busybox', 'mkdir', '-p', '/target']);
  const good = Buffer.from('fine\n');
  const cases: [string, [WriteHeader, Buffer?][], RegExp][] = [
    ['dotdot', [[{ name: 'ok1', type: 'file' }, good], [{ name: '../../etc/evil', type: 'file' }, good]], /"\.\.\/\.\.\/etc\/evil" is outside of "\/target"/],
    ['through a symlink', [[{ name: 'ok2', type: 'file' }, good], [{ name: 'lnk', type: 'symlink', linkname: '/etc' }], [{ name: 'lnk/evil', type: 'file' }, good]], /"lnk\/evil" is outside of "\/target"/],
    ['hard link out', [[{ name: 'ok3', type: 'file' }, good], [{ name: 'hl', type: 'link', linkname: '../../etc/passwd' }]], /invalid hardlink/],
    ['relative symlink out', [[{ name: 'ok4', type: 'file' }, good], [{ name: 'rel', type: 'symlink', linkname: '../../../etc' }]], /invalid symlink "\/target\/rel" -> "\.\.\/\.\.\/\.\.\/etc"/],
  ];
  for (const [what, entries, re] of cases) {
    const r = await api('PUT', '/containers/esc/archive?path=/target', tarOf(entries));
    assert.equal(r.status, 400, `${what}: ${r.body.toString()}`);
    assert.match(JSON.parse(r.body.toString()).message, re, what);
  }
  const listing = await api('GET', '/containers/esc/archive?path=/target');
  assert.deepEqual(tarNames(listing.body), ['target/'], 'nothing written by a refused archive');
  // What is there already survives a refused archive that would have replaced it, and what
  // a refused archive created (implied parents included) is gone again.
  const seed = await api('PUT', '/containers/esc/archive?path=/target', tarOf([[{ name: 'keep.txt', type: 'file' }, Buffer.from('original\n')], [{ name: 'lnk', type: 'symlink', linkname: 'keep.txt' }]]));
  assert.equal(seed.status, 200);
  const refused = await api('PUT', '/containers/esc/archive?path=/target', tarOf([
    [{ name: 'keep.txt', type: 'file' }, Buffer.from('replaced\n')],
    [{ name: 'lnk', type: 'directory' }],
    [{ name: 'lnk/inside', type: 'file' }, good],
    [{ name: 'new/deep/file', type: 'file' }, good],
    [{ name: '../escape', type: 'file' }, good],
  ]));
  assert.equal(refused.status, 400);
  const after = await api('GET', '/containers/esc/archive?path=/target');
  assert.deepEqual(tarNames(after.body), ['target/', 'target/keep.txt', 'target/lnk']);
  assert.match(after.body.toString('latin1'), /original\n/);
  // The same archive without its bad entry: the file replaced, the link turned into a directory.
  const applied = await api('PUT', '/containers/esc/archive?path=/target', tarOf([
    [{ name: 'keep.txt', type: 'file' }, Buffer.from('replaced\n')],
    [{ name: 'lnk', type: 'directory', mode: 0o755 }],
    [{ name: 'lnk/inside', type: 'file' }, good],
    [{ name: 'new/deep/file', type: 'file' }, good],
  ]));
  assert.equal(applied.status, 200, applied.body.toString());
  const shown = await api('GET', '/containers/esc/archive?path=/target');
  assert.deepEqual(tarNames(shown.body), ['target/', 'target/keep.txt', 'target/lnk/', 'target/lnk/inside', 'target/new/', 'target/new/deep/', 'target/new/deep/file']);
  assert.match(shown.body.toString('latin1'), /replaced\n/);
  assert.ok(!tarNames(shown.body).some((n) => n.includes('.berth-cp-')), 'no temporary file left');
  const etc = tarNames((await api('GET', '/containers/esc/archive?path=/etc')).body);
  assert.ok(!etc.includes('etc/evil'));
  // A well-formed archive, gzip-compressed as testcontainers-go sends it, with absolute names at /.
  const ok2 = await api('PUT', '/containers/esc/archive?path=/', gzipSync(tarOf([[{ name: '/opt/app/config.yml', type: 'file' }, Buffer.from('k: v\n')], [{ name: '/opt/app/ln', type: 'symlink', linkname: '/etc/passwd' }]])));
  assert.equal(ok2.status, 200, ok2.body.toString());
  const back = await api('GET', '/containers/esc/archive?path=/opt/app');
  assert.deepEqual(tarNames(back.body), ['app/', 'app/config.yml', 'app/ln']);
  // Bad requests.
  assert.equal((await api('GET', '/containers/esc/archive?path=')).status, 400);
  assert.equal(JSON.parse((await api('GET', '/containers/esc/archive')).body.toString()).message, 'bad parameter: pathcannot be empty');
  const notDir = await api('PUT', '/containers/esc/archive?path=/etc/passwd', tarOf([]));
  assert.equal(notDir.status, 400);
  assert.equal(JSON.parse(notDir.body.toString()).message, 'extraction point is not a directory');
  const noSuch = await api('GET', '/containers/nosuch/archive?path=/');
  assert.equal(noSuch.status, 404);
  const garbage = await api('PUT', '/containers/esc/archive?path=/target', Buffer.alloc(1024, 7));
  assert.equal(garbage.status, 400);
  assert.match(JSON.parse(garbage.body.toString()).message, /archive\/tar: invalid tar header/);
  // noOverwriteDirNonDir, as the docker CLI always sends it.
  const clash = await api('PUT', '/containers/esc/archive?path=/&noOverwriteDirNonDir=true', tarOf([[{ name: 'target', type: 'file' }, good]]));
  assert.equal(clash.status, 400);
  assert.match(JSON.parse(clash.body.toString()).message, /cannot overwrite directory "\/target" with non-directory "\/"/);
});

test('GET names entries as docker does; HEAD gives the path stat in docker\'s encoding', async () => {
  await ok(['run', '--name', 'names', 'busybox', 'sh', '-c', 'mkdir -p /bar/quux && echo z > /bar/quux/baz && ln -s quux /bar/dirsymlink && chmod 755 /bar/quux && touch -d @1717236030 /bar/quux/baz']);
  const names = async (p: string) => tarNames((await api('GET', `/containers/names/archive?path=${encodeURIComponent(p)}`)).body);
  assert.deepEqual(await names('bar/quux'), ['quux/', 'quux/baz']);
  assert.deepEqual(await names('bar/quux/'), ['quux/', 'quux/baz']);
  assert.deepEqual(await names('bar/quux/.'), ['./', './baz']);
  assert.deepEqual(await names('bar/quux/baz'), ['baz']);
  assert.deepEqual(await names('bar/dirsymlink'), ['dirsymlink']);
  assert.deepEqual(await names('bar/dirsymlink/'), ['dirsymlink/', 'dirsymlink/baz']);
  const h = await api('HEAD', '/containers/names/archive?path=/bar/quux/baz');
  assert.equal(h.status, 200);
  const stat = JSON.parse(Buffer.from(String(h.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
  assert.deepEqual(stat, { name: 'baz', size: 2, mode: 420, mtime: '2024-06-01T10:00:30Z', linkTarget: '' });
  const dir = JSON.parse(Buffer.from(String((await api('HEAD', '/containers/names/archive?path=/bar/quux')).headers['x-docker-container-path-stat']), 'base64').toString()) as { mode: number };
  assert.equal(dir.mode, 2147484141);
  const link = JSON.parse(Buffer.from(String((await api('HEAD', '/containers/names/archive?path=/bar/dirsymlink')).headers['x-docker-container-path-stat']), 'base64').toString()) as { linkTarget: string };
  assert.equal(link.linkTarget, '/bar/quux');
});

test('docker CLI and docker-py: cp both ways, get_archive and put_archive, large files intact', async () => {
  const src = localTree();
  await dok(['create', '--name', 'dk', '-v', 'dkvol:/vol', 'busybox', 'sleep', '600']);
  await dok(['cp', join(src, 'tree'), 'dk:/vol/tree']);
  await dok(['start', 'dk']);
  assert.equal(await dok(['exec', 'dk', 'cat', '/vol/tree/sub/b']), 'B\n');
  const big = randomBytes(24 << 20);
  writeFileSync(join(local, 'big.bin'), big);
  await dok(['cp', join(local, 'big.bin'), 'dk:/tmp/big.bin']);
  const back = mkdtempSync(join(local, 'dkback-'));
  await dok(['cp', 'dk:/tmp/big.bin', join(back, 'big.bin')]);
  assert.equal(md5(readFileSync(join(back, 'big.bin'))), md5(big));
  await ok(['cp', 'dk:/tmp/big.bin', join(back, 'big2.bin')]);
  assert.equal(md5(readFileSync(join(back, 'big2.bin'))), md5(big));
  assert.equal(statSync(join(back, 'big2.bin')).size, big.length);
  const missing = await d.docker(['cp', 'dk:/nope', back]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Could not find the file \/nope in container dk/);

  const script = `
import docker, io, json, tarfile
c = docker.from_env()
ct = c.containers.get("dk")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"from docker-py\\n"
    ti = tarfile.TarInfo("py.txt"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
ok = ct.put_archive("/tmp", buf.getvalue())
stream, stat = ct.get_archive("/tmp/py.txt")
raw = b"".join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    content = t.extractfile("py.txt").read().decode()
try:
    ct.get_archive("/nope")
    nf = None
except docker.errors.NotFound as e:
    nf = e.explanation
print(json.dumps({"ok": ok, "stat": stat, "content": content, "nf": nf}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; stat: Record<string, unknown>; content: string; nf: string };
  assert.equal(res.ok, true);
  assert.equal(res.content, 'from docker-py\n');
  assert.equal(res.stat.name, 'py.txt');
  assert.equal(res.stat.size, 15);
  // docker-py asks by ID: the message names the container as the request did.
  assert.match(res.nf, /^Could not find the file \/nope in container [0-9a-f]{64}$/);
});
