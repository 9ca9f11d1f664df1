/**
 * Dockerfile builds: the classic builder's output and cache through berth and the docker CLI
 * (DOCKER_BUILDKIT=0), multi-stage builds, COPY/ADD rules, .dockerignore, ARG/ENV/ONBUILD,
 * heredocs, failures that leave nothing behind, and docker-py and dockerode building through
 * the API.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { TestDaemon, mountsUnder, NODE, BERTH } from './harness.ts';

const BERTH_BIN = [NODE, BERTH];

let d: TestDaemon;
let root: string;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  root = mkdtempSync('/tmp/bt-build-');
});

after(async () => {
  await d?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

const ok = (args: string[]) => d.ok(args);

/** A context directory with these files. */
function context(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), content);
  }
  return dir;
}

function steps(out: string): string[] {
  return out.split('\n').filter((l) => /^Step \d+\/\d+ : |^ ---> (Using cache|Running in)/.test(l));
}

test('a tutorial Dockerfile through berth and the docker CLI: classic output, history, a working image, then all from cache', async () => {
  const dir = context('tutorial', {
    Dockerfile: 'FROM busybox\nLABEL maintainer="someone@example.com"\nENV APP_HOME=/app GREETING="hello world"\nWORKDIR $APP_HOME\nCOPY app.sh .\nRUN chmod +x app.sh && echo built > built.txt\nEXPOSE 8080\nCMD ["./app.sh"]\n',
    'app.sh': '#!/bin/sh\necho "$GREETING from $(pwd) $(cat built.txt)"\n',
  });
  const r = await d.berth(['build', '-t', 'tut:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Sending build context to Berth daemon {2}\S+\nStep 1\/8 : FROM busybox\n ---> [0-9a-f]{12}\nStep 2\/8 : LABEL maintainer="someone@example.com"\n/);
  assert.match(r.stdout, /Step 6\/8 : RUN chmod \+x app.sh && echo built > built.txt\n ---> Running in ([0-9a-f]{12})\nRemoving intermediate container \1\n ---> [0-9a-f]{12}\n/);
  assert.match(r.stdout, /Successfully built ([0-9a-f]{12})\nSuccessfully tagged tut:1\n$/);
  assert.equal(await ok(['run', '--rm', 'tut:1']), 'hello world from /app built\n');
  const inspect = JSON.parse(await ok(['image', 'inspect', '-f', '{{json .Config}}', 'tut:1'])) as { Env: string[]; WorkingDir: string; ExposedPorts: Record<string, unknown>; Labels: Record<string, string>; Cmd: string[] };
  assert.deepEqual(inspect.Env.slice(-2), ['APP_HOME=/app', 'GREETING=hello world']);
  assert.equal(inspect.WorkingDir, '/app');
  assert.deepEqual(Object.keys(inspect.ExposedPorts), ['8080/tcp']);
  assert.equal(inspect.Labels.maintainer, 'someone@example.com');
  const history = await ok(['history', '--format', '{{.CreatedBy}}', '--no-trunc', 'tut:1']);
  // docker's own spacing: two after #(nop) for config steps, one for WORKDIR/COPY/ADD.
  assert.match(history.split('\n')[0], /^\/bin\/sh -c #\(nop\) {2}CMD \["\.\/app\.sh"\]$/);
  assert.match(history, /^\/bin\/sh -c #\(nop\) WORKDIR \/app$/m);
  assert.match(history, /^\/bin\/sh -c #\(nop\) {2}EXPOSE 8080$/m, 'the ports as written');
  assert.match(history, /^\/bin\/sh -c chmod \+x app\.sh && echo built > built\.txt$/m);
  assert.match(history, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app $/m);
  // The docker CLI's legacy builder through berthd: the same steps, all from the cache now.
  const dk = await d.docker(['build', '-t', 'tut:2', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(dk.code, 0, dk.stderr);
  assert.equal(steps(dk.stdout).filter((l) => l === ' ---> Using cache').length, 7, dk.stdout);
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'tut:2'])).trim(), (await ok(['image', 'inspect', '-f', '{{.Id}}', 'tut:1'])).trim());
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'no intermediate containers left');
});

test('ENTRYPOINT keeps this stage\'s CMD, MAINTAINER is the Author, history as docker records it (SHELL, |N build args), STOPSIGNAL, -f, --iidfile, COPY --from an image', async () => {
  const dir = context('semantics', {
    'Build.df': [
      'FROM busybox',
      'MAINTAINER Jane Doe <jane@example.com>',
      'ARG WHO',
      'RUN echo "hi $WHO" > /who',
      'CMD ["world"]',
      'ENTRYPOINT ["echo", "hello"]',
      'STOPSIGNAL SIGUSR1',
      'SHELL ["/bin/sh", "-ec"]',
      'ENV AFTER=shell',
      'COPY --from=busybox /bin/busybox /opt/busybox',
    ].join('\n') + '\n',
  });
  const iid = join(dir, 'iid.txt');
  await ok(['build', '-f', join(dir, 'Build.df'), '--build-arg', 'WHO=you', '--iidfile', iid, '-t', 'sem:1', dir]);
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'sem:1'])).trim();
  assert.equal(readFileSync(iid, 'utf8'), id, '--iidfile holds the image ID');
  assert.equal(await ok(['run', '--rm', 'sem:1']), 'hello world\n', 'ENTRYPOINT after CMD in the same stage keeps the CMD (moby)');
  assert.equal((await ok(['image', 'inspect', '-f', '{{.Author}}|{{.Config.StopSignal}}|{{json .Config.Cmd}}', 'sem:1'])).trim(), 'Jane Doe <jane@example.com>|SIGUSR1|["world"]');
  const history = (await ok(['history', '--format', '{{.CreatedBy}}', '--no-trunc', 'sem:1'])).split('\n');
  assert.match(history[0], /^\/bin\/sh -ec #\(nop\) COPY file:[0-9a-f]{64} in \/opt\/busybox $/, 'the shell in effect');
  assert.equal(history[1], '/bin/sh -ec #(nop)  ENV AFTER=shell');
  assert.ok(history.includes('|1 WHO=you /bin/sh -c echo "hi $WHO" > /who'), history.join('\n'));
  assert.ok(history.includes('/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>'));
  assert.equal(await ok(['run', '--rm', '--entrypoint', 'cat', 'sem:1', '/who']), 'hi you\n');
  assert.equal(await ok(['run', '--rm', '--entrypoint', '/opt/busybox', 'sem:1', 'echo', 'copied']), 'copied\n');
  // A base image's CMD is still reset by ENTRYPOINT.
  const reset = context('reset', { Dockerfile: 'FROM sem:1\nENTRYPOINT ["echo", "only"]\n' });
  await ok(['build', '-t', 'sem:2', reset]);
  assert.equal(await ok(['run', '--rm', 'sem:2']), 'only\n');
  await ok(['rmi', 'sem:2', 'sem:1']);
});

test('# escape=`, ADD of a gzipped tar, COPY --chown by name, proxy build args (in RUN, not in history or cache key), build --network none (docker CLI)', async () => {
  const dir = context('more', {
    Dockerfile: [
      '# escape=`',
      'FROM busybox',
      'ADD layer.tar.gz /unpacked/',
      'COPY --chown=nobody:nogroup a.txt /owned.txt',
      'RUN echo "proxy=$HTTP_PROXY" > /proxy && `',
      '    ip -o link | wc -l > /links',
    ].join('\n') + '\n',
    'a.txt': 'owned\n',
  });
  const inner = mkdtempSync(join(dir, 'inner-'));
  writeFileSync(join(inner, 'in-archive.txt'), 'from the archive\n');
  spawnSync('sh', ['-c', `tar -C ${inner} -czf ${join(dir, 'layer.tar.gz')} in-archive.txt && rm -r ${inner}`]);
  // The other compressions ADD unpacks (docker's: gzip, bzip2, xz; and zstd), each by its magic.
  const formats: [string, string][] = [['xz', '-J'], ['bz2', '-j'], ['zst', '--zstd']];
  for (const [ext, flag] of formats) {
    const sub = mkdtempSync(join(dir, `in-${ext}-`));
    writeFileSync(join(sub, `from-${ext}.txt`), `${ext}\n`);
    const made = spawnSync('sh', ['-c', `tar -C ${sub} ${flag} -cf ${join(dir, `more.tar.${ext}`)} from-${ext}.txt && rm -r ${sub}`], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  }
  writeFileSync(join(dir, 'Dockerfile'), readFileSync(join(dir, 'Dockerfile'), 'utf8') + formats.map(([ext]) => `ADD more.tar.${ext} /unpacked/\n`).join(''));
  const r = await d.docker(['build', '--network', 'none', '--build-arg', 'HTTP_PROXY=http://127.0.0.1:3128', '-t', 'more:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stdout, /were not consumed/, 'proxy args need no ARG');
  assert.equal(await ok(['run', '--rm', 'more:1', 'cat', '/unpacked/in-archive.txt', '/unpacked/from-xz.txt', '/unpacked/from-bz2.txt', '/unpacked/from-zst.txt']), 'from the archive\nxz\nbz2\nzst\n');
  assert.equal(await ok(['run', '--rm', 'more:1', 'stat', '-c', '%U:%G', '/owned.txt']), 'nobody:nogroup\n');
  assert.equal(await ok(['run', '--rm', 'more:1', 'cat', '/proxy']), 'proxy=http://127.0.0.1:3128\n');
  assert.equal(await ok(['run', '--rm', 'more:1', 'cat', '/links']), '1\n', 'the build ran without a network: loopback only');
  const history = await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'more:1']);
  // (The proxy URL, not its port alone: a layer digest in the history may hold "3128".)
  assert.doesNotMatch(history, /127\.0\.0\.1:3128/, 'proxy values stay out of the history');
  assert.match(history, /^\/bin\/sh -c echo "proxy=\$HTTP_PROXY" > \/proxy && {5}ip -o link \| wc -l > \/links$/m, 'the escape character continued the line');
  // Another proxy value: still all from cache (proxies are not part of the key).
  const again = await d.docker(['build', '--network', 'none', '--build-arg', 'HTTP_PROXY=http://127.0.0.1:9999', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(steps(again.stdout).filter((l) => l === ' ---> Using cache').length, 6, again.stdout);
  await ok(['rmi', 'more:1']);
});

test('the cache: a changed file reruns its COPY and what follows; --no-cache reruns all; ARG values are part of RUN\'s key', async () => {
  const dir = context('cache', {
    Dockerfile: 'FROM busybox\nARG V=1\nRUN echo first $V > /first\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy\n',
    'data.txt': 'one\n',
  });
  await ok(['build', '-t', 'cache:1', dir]);
  const again = await ok(['build', dir]);
  assert.equal(steps(again).filter((l) => l === ' ---> Using cache').length, 4);
  writeFileSync(join(dir, 'data.txt'), 'two\n');
  const changed = steps(await ok(['build', '-t', 'cache:2', dir]));
  assert.deepEqual(changed.filter((l) => l.startsWith(' --->')).map((l) => l.startsWith(' ---> Using') ? 'cache' : 'run'), ['cache', 'cache', 'run']);
  assert.equal(await ok(['run', '--rm', 'cache:2', 'cat', '/copy']), 'two\n');
  // Only the contents count, not the file's time.
  utimesSync(join(dir, 'data.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  assert.equal(steps(await ok(['build', dir])).filter((l) => l === ' ---> Using cache').length, 4);
  const arg = steps(await ok(['build', '--build-arg', 'V=2', dir]));
  assert.equal(arg.filter((l) => l === ' ---> Using cache').length, 1, 'ARG itself from cache, the RUN that uses it not');
  const none = steps(await ok(['build', '--no-cache', dir]));
  assert.equal(none.filter((l) => l === ' ---> Using cache').length, 0);
});

test('multi-stage: COPY --from a stage, --target, unneeded stages skipped; the final image has only its stage\'s layers', async () => {
  const dir = context('multi', {
    Dockerfile: [
      'FROM busybox AS builder', 'RUN mkdir -p /out && echo artifact > /out/result && dd if=/dev/zero of=/out/big bs=1024 count=512 2>/dev/null',
      'FROM busybox AS unused', 'RUN echo never-run',
      'FROM busybox', 'COPY --from=builder /out/result /result', 'CMD ["cat", "/result"]', '',
    ].join('\n'),
  });
  const out = await ok(['build', '-t', 'multi:1', dir]);
  assert.doesNotMatch(out, /never-run/);
  assert.equal(await ok(['run', '--rm', 'multi:1']), 'artifact\n');
  const layers = JSON.parse(await ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'multi:1'])) as string[];
  const base = JSON.parse(await ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'busybox'])) as string[];
  assert.equal(layers.length, base.length + 1, 'busybox and the one COPY');
  await ok(['build', '--target', 'builder', '-t', 'multi:builder', dir]);
  assert.equal(await ok(['run', '--rm', 'multi:builder', 'cat', '/out/result']), 'artifact\n');
  const missing = await d.berth(['build', '--target', 'nosuch', dir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /failed to reach build target nosuch in Dockerfile/);
});

test('COPY and ADD rules: directories, globs, trailing slashes, --chown/--chmod, ADD of a local tar, .dockerignore', async () => {
  const dir = context('copy', {
    Dockerfile: [
      'FROM busybox',
      'COPY dir /dst/dir/', 'COPY *.txt /txt/', 'COPY a.txt /renamed', 'COPY --chown=1000:1000 --chmod=600 a.txt /owned',
      'ADD archive.tar /unpacked/', 'COPY . /ctx/', '',
    ].join('\n'),
    'dir/sub/x': 'x\n', 'a.txt': 'a\n', 'b.txt': 'b\n', 'secret.key': 'nope\n', 'logs/app.log': 'log\n', 'keep.log': 'kept\n',
    '.dockerignore': '*.key\nlogs\n*.log\n!keep.log\n',
  });
  spawnSync('tar', ['-cf', join(dir, 'archive.tar'), '-C', join(dir, 'dir'), 'sub']);
  await ok(['build', '-t', 'copy:1', dir]);
  const out = await ok(['run', '--rm', 'copy:1', 'sh', '-c',
    'cat /dst/dir/sub/x; ls /txt; cat /renamed; stat -c "%u:%g %a" /owned; cat /unpacked/sub/x; ls -a /ctx | sort | tr "\\n" " "']);
  assert.equal(out, 'x\na.txt\nb.txt\na\n1000:1000 600\nx\n. .. .dockerignore Dockerfile a.txt archive.tar b.txt dir keep.log ');
  // a .dockerignore that names the Dockerfile and itself: both read, neither copied (moby), through both CLIs
  const self = context('copy-self', { Dockerfile: 'FROM busybox\nCOPY . /ctx/\n', '.dockerignore': '.dockerignore\nDockerfile\n', 'a.txt': 'a\n' });
  await ok(['build', '-t', 'copy:2', self]);
  assert.equal(await ok(['run', '--rm', 'copy:2', 'ls', '-A', '/ctx']), 'a.txt\n');
  const viaDocker = await d.docker(['build', '--no-cache', '-t', 'copy:3', self], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(await ok(['run', '--rm', 'copy:3', 'ls', '-A', '/ctx']), 'a.txt\n');
  await ok(['rmi', 'copy:2', 'copy:3']);
});

test('ARG before FROM, --build-arg, ENV expansion, ONBUILD triggers, heredocs, SHELL', async () => {
  const base = context('onbuild-base', { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /trigger\n' });
  await ok(['build', '-t', 'onbase:1', base]);
  assert.equal((await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'onbase:1'])).split('\n')[0], '/bin/sh -c #(nop)  ONBUILD RUN echo triggered > /trigger', 'history as moby records an ONBUILD');
  assert.equal((await ok(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'onbase:1'])).trim(), '["RUN echo triggered > /trigger"]');
  const dir = context('args', {
    Dockerfile: [
      'ARG BASE=onbase:1', 'FROM $BASE', 'ARG WHO=nobody', 'ENV HELLO="hi ${WHO}"',
      'RUN <<EOF', 'echo "$HELLO" > /hello', 'echo line2 >> /hello', 'EOF',
      'COPY <<EOT /note.txt', 'a note', 'EOT',
      'SHELL ["/bin/sh", "-ec"]', 'RUN test -f /trigger', '',
    ].join('\n'),
  });
  const out = await ok(['build', '--build-arg', 'WHO=you', '--build-arg', 'UNUSED=1', '-t', 'args:1', dir]);
  // moby's order: the global ARG is a step; the base's triggers run before the stage's image is shown, once
  assert.match(out, /^Step 1\/8 : ARG BASE=onbase:1\nStep 2\/8 : FROM \$BASE\n# Executing 1 build trigger\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\nStep 3\/8 : ARG WHO=nobody\n/m);
  assert.match(out, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
  assert.equal(await ok(['run', '--rm', 'args:1', 'cat', '/hello', '/note.txt', '/trigger']), 'hi you\nline2\na note\ntriggered\n');
  assert.equal((await ok(['image', 'inspect', '-f', '{{len .Config.OnBuild}}', 'args:1'])).trim(), '0', 'triggers run once, not inherited');
});

test('failures: a failing RUN exits with its code and leaves nothing; bad Dockerfiles and sources are refused with their line', async () => {
  const before = (await ok(['images', '-q', '-a'])).trim().split('\n').length;
  const dir = context('fail', { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 7\n' });
  const r = await d.berth(['build', dir]);
  assert.equal(r.code, 7);
  assert.match(r.stdout, /about to fail/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo about to fail && exit 7' returned a non-zero code: 7/);
  const dk = await d.docker(['build', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(dk.code, 7, dk.stderr);
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'the failed step\'s container is gone');
  assert.deepEqual(mountsUnder(d.dataRoot).filter((m) => !m.includes('/netns')), []);
  const cases: [Record<string, string>, RegExp, string[]?][] = [
    [{ Dockerfile: 'FROM busybox\nRUN true\nRUNN x\n' }, /Dockerfile parse error line 3: unknown instruction: RUNN/],
    [{ Dockerfile: 'FROM busybox\nCOPY ../outside /x\n' }, /forbidden path outside the build context: \.\.\/outside/],
    [{ Dockerfile: 'FROM busybox\nCOPY missing.txt /x\n' }, /file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/],
    // Not a stage, so an image: pulled (from a registry on 127.0.0.1 that is not there), with its default tag.
    [{ Dockerfile: 'FROM busybox\nCOPY --from=127.0.0.1:1/nostage /a /b\n' }, /GET http:\/\/127\.0\.0\.1:1\/v2\/nostage\/manifests\/latest: connection refused/],
    [{ Dockerfile: '' }, /cannot be empty/],
    [{ Dockerfile: 'FROM busybox\nRUN <<EOF\necho never ends\n' }, /line 2: unterminated heredoc EOF/],
    [{ Dockerfile: 'FROM busybox\nCOPY a b c\n', a: '', b: '' }, /When using COPY with more than one source file, the destination must be a directory and end with a \//],
  ];
  for (const [files, msg] of cases) {
    const c = context('bad', files);
    const res = await d.berth(['build', c]);
    assert.notEqual(res.code, 0, JSON.stringify(files));
    assert.match(res.stderr, msg, `${JSON.stringify(files)}: ${res.stderr}`);
  }
  // A symlink in the context that leads out of it is not followed.
  const link = context('link', { Dockerfile: 'FROM busybox\nCOPY escape /x\n' });
  symlinkSync('/etc', join(link, 'escape'));
  const esc = await d.berth(['build', link]);
  assert.notEqual(esc.code, 0);
  assert.match(esc.stderr, /forbidden path outside the build context: escape/);
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
  void before;
});

test('build -q answers the image ID alone (berth, the docker CLI, docker-py); a quiet failure shows what was held back; an imported base gets the default PATH', async () => {
  const dir = context('quiet', { Dockerfile: 'FROM busybox\nENV A=1\nRUN echo quiet > /q\n' });
  const r = await d.berth(['build', '-q', '-t', 'quiet:1', '--iidfile', join(root, 'quiet.iid'), dir]);
  assert.equal(r.code, 0, r.stderr);
  const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'quiet:1'])).trim();
  assert.equal(r.stdout, `${id}\n`);
  assert.equal(r.stderr, '');
  assert.equal(readFileSync(join(root, 'quiet.iid'), 'utf8'), id);
  const dk = await d.docker(['build', '-q', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(dk.code, 0, dk.stderr);
  assert.equal(dk.stdout, `${id}\n`, 'the docker CLI prints what the daemon answers');
  const py = spawnSync('python3', ['-c', `
import docker
c = docker.DockerClient(base_url='${d.host}')
img, logs = c.images.build(path='${dir}', quiet=True)
print(img.id, [l for l in logs])
`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout, `${id} [{'stream': '${id}\\n'}]\n`);
  // moby's builder gives a stage without PATH the default one (busybox here is imported bare).
  const env = JSON.parse(await ok(['image', 'inspect', '-f', '{{json .Config.Env}}', 'quiet:1'])) as string[];
  assert.deepEqual(env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
  const fail = context('quietfail', { Dockerfile: 'FROM busybox\nRUN echo held back && exit 3\n' });
  for (const res of [await d.berth(['build', '-q', fail]), await d.docker(['build', '-q', fail], { env: { DOCKER_BUILDKIT: '0' } })]) {
    assert.equal(res.code, 3, res.stderr);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^Sending build context to (Berth|Docker) daemon {2}\S+\r*\nStep 1\/2 : FROM busybox\n ---> [0-9a-f]{12}\nStep 2\/2 : RUN echo held back && exit 3\n ---> Running in [0-9a-f]{12}\nheld back\n/m);
    assert.match(res.stderr, /The command '\/bin\/sh -c echo held back && exit 3' returned a non-zero code: 3\n$/);
  }
  // rm=false (docker-py's default, as above, and --rm=false) keeps each RUN's container, exited.
  const keep = await d.berth(['build', '--rm=false', '--no-cache', dir]);
  assert.equal(keep.code, 0, keep.stderr);
  assert.doesNotMatch(keep.stdout, /Removing intermediate container/);
  const ran = /---> Running in ([0-9a-f]{12})/.exec(keep.stdout)![1]!;
  const kept = (await ok(['ps', '-a', '--format', '{{.ID}} {{.Status}} {{.Command}}'])).trim().split('\n');
  // Config steps (ENV here) make no container in Berth's builder, so RUN's is the one kept.
  assert.equal(kept.length, 1, kept.join('\n'));
  assert.match(kept[0]!, new RegExp(`^${ran} Exited \\(0\\) .* "/bin/sh -c 'echo qu…"$`));
  await ok(['rm', ran]);
  // Nothing streamed yet: a quiet parse error is the request's own error.
  const bad = await d.berth(['build', '-q', context('quietbad', { Dockerfile: 'FROM busybox\nRUNN x\n' })]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Dockerfile parse error line 2: unknown instruction: RUNN/);
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
});

test('docker-py and dockerode build through the API (fileobj, buildargs, labels, target; a tar stream)', async () => {
  const py = spawnSync('python3', ['-c', `
import docker, io
c = docker.DockerClient(base_url='${d.host}')
df = b'FROM busybox\\nARG X=0\\nRUN echo $X > /x\\nFROM busybox AS second\\nCOPY --from=0 /x /y\\n'
img, logs = c.images.build(fileobj=io.BytesIO(df), tag='py:1', buildargs={'X': '42'}, labels={'made': 'py'}, target='second', rm=True)
print(img.labels['made'], c.containers.run('py:1', 'cat /y', remove=True).decode().strip())
try:
    c.images.build(fileobj=io.BytesIO(df), squash=True)
except docker.errors.APIError as e:
    print('refused', e.explanation)
`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.match(py.stdout, /^py 42\nrefused the build option squash is not supported by Berth\n$/);
  // BuildKit's exporters and client sessions are refused by name, not ignored.
  for (const [q, name] of [['outputs=%5B%7B%22type%22%3A%22local%22%7D%5D', 'outputs'], ['session=abc123', 'session']]) {
    const r = spawnSync('curl', ['-s', '--unix-socket', d.sock, '-X', 'POST', '-H', 'Content-Type: application/x-tar', '--data-binary', '', `http://x/v1.41/build?${q}`], { encoding: 'utf8' });
    assert.match(r.stdout, new RegExp(`the build option ${name} is not supported by Berth`), r.stdout);
  }
  const docker = new Docker({ socketPath: d.sock });
  const dir = context('dockerode', { Dockerfile: 'FROM busybox\nCOPY hello /hello\n', hello: 'from dockerode\n' });
  const stream = await docker.buildImage({ context: dir, src: ['Dockerfile', 'hello'] }, { t: 'dockerode:1' });
  const events = await new Promise<unknown[]>((resolve, reject) => docker.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
  assert.ok(events.some((e) => typeof (e as { stream?: string }).stream === 'string' && (e as { stream: string }).stream.includes('Successfully tagged dockerode:1')));
  assert.equal(await ok(['run', '--rm', 'dockerode:1', 'cat', '/hello']), 'from dockerode\n');
});

test('ADD of an http URL and a remote context URL (served on 127.0.0.1); builder prune clears the cache', async () => {
  const tarDir = context('remote', { Dockerfile: 'FROM busybox\nADD http://127.0.0.1:PORT/file.txt /downloaded.txt\nRUN cat /downloaded.txt > /copy\n' });
  const server = createServer((req, res) => {
    if (req.url === '/file.txt') {
      res.writeHead(200, { 'Last-Modified': new Date(2020, 0, 1).toUTCString() });
      res.end('from the web\n');
    } else if (req.url === '/context.tar') {
      res.writeHead(200);
      res.end(readFileSync(join(root, 'remote.tar')));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    writeFileSync(join(tarDir, 'Dockerfile'), `FROM busybox\nADD http://127.0.0.1:${port}/file.txt /downloaded.txt\nRUN cat /downloaded.txt > /copy\n`);
    spawnSync('tar', ['-cf', join(root, 'remote.tar'), '-C', tarDir, 'Dockerfile']);
    await ok(['build', '-t', 'remote:1', `http://127.0.0.1:${port}/context.tar`]);
    assert.equal(await ok(['run', '--rm', 'remote:1', 'cat', '/copy']), 'from the web\n');
  } finally {
    server.close();
  }
  // The cache of a build whose image is gone (rmi --no-prune keeps its parents) is what builder prune removes.
  await ok(['rmi', '--no-prune', 'remote:1']);
  const before = (await ok(['images', '-aq'])).trim().split('\n').length;
  const pruned = await ok(['builder', 'prune', '-f']);
  assert.match(pruned, /Total reclaimed space: /);
  const after = (await ok(['images', '-aq'])).trim().split('\n').length;
  assert.ok(after < before, `${before} → ${after}`);
  assert.ok((await ok(['images', '--format', '{{.Repository}}'])).includes('busybox'), 'tagged images stay');
});

test('rmi takes an image\'s untagged parents with it (--no-prune keeps them), as docker; builder prune and system prune filter the build cache', async () => {
  const a = context('prune-a', { Dockerfile: 'FROM busybox\nLABEL kind=a\nRUN echo a > /a\nRUN echo a2 > /a2\n' });
  const b = context('prune-b', { Dockerfile: 'FROM busybox\nLABEL kind=b\nRUN echo b > /b\n' });
  const count = async () => (await ok(['images', '-aq'])).trim().split('\n').length;
  const start = await count();
  await ok(['build', '-q', '-t', 'pa:1', a]);
  assert.equal(await count(), start + 3);
  const rmi = await ok(['rmi', 'pa:1']);
  // The image, its two untagged parents and the two layers only they had.
  assert.equal(rmi.replace(/[0-9a-f]{64}/g, 'ID'), 'Untagged: pa:1\nDeleted: sha256:ID\nDeleted: sha256:ID\nDeleted: sha256:ID\nDeleted: sha256:ID\nDeleted: sha256:ID\n');
  assert.equal(await count(), start);
  // The parents stay with --no-prune (through the docker CLI too), as the build cache.
  await ok(['build', '-q', '-t', 'pa:1', a]);
  await ok(['build', '-q', '-t', 'pb:1', b]);
  const kept = await d.docker(['rmi', '--no-prune', 'pa:1', 'pb:1']);
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal(await count(), start + 3);
  // system prune hands its filters to the build cache too (docker CLI): kind=a's cache stays.
  const sys = await d.docker(['system', 'prune', '-f', '--filter', 'label=kind=b']);
  assert.equal(sys.code, 0, sys.stderr);
  assert.equal(await count(), start + 2);
  // Nothing is older than an hour.
  const old = await d.docker(['builder', 'prune', '-f', '--filter', 'until=1h']);
  assert.equal(old.code, 0, old.stderr);
  assert.equal(await count(), start + 2);
  // builder prune by label: kind=a's cache goes.
  const byLabel = await ok(['builder', 'prune', '-f', '--filter', 'label=kind=a']);
  assert.match(byLabel, /^Deleted build cache objects:\n[0-9a-f]{64}\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
  assert.equal(await count(), start);
  // BuildKit's record kinds mean nothing here: refused by name.
  const kind = await d.berth(['builder', 'prune', '-f', '--filter', 'type=regular']);
  assert.equal(kind.code, 1);
  assert.match(kind.stderr, /the build cache filter type is not supported by Berth/);
});

test('a client that goes away cancels the build; a berthd killed mid-build leaves only the finished steps\' cache', async () => {
  const dir = context('slow', { Dockerfile: 'FROM busybox\nRUN echo step1 > /s1\nRUN sleep 30\n' });
  const proc = spawn(BERTH_BIN[0], [...BERTH_BIN.slice(1), 'build', dir], { env: { ...process.env, BERTH_HOST: d.host } });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 100 && !/Step 3\/3 : RUN sleep 30\n ---> Running in/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /Step 3\/3 : RUN sleep 30\n ---> Running in/);
  proc.kill('SIGKILL');
  for (let i = 0; i < 100 && (await ok(['ps', '-aq'])).trim() !== ''; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'the running step was stopped and its container removed');
  // Again, and this time berthd dies instead.
  const again = spawn(BERTH_BIN[0], [...BERTH_BIN.slice(1), 'build', dir], { env: { ...process.env, BERTH_HOST: d.host } });
  let out2 = '';
  again.stdout.on('data', (c: Buffer) => (out2 += c.toString()));
  for (let i = 0; i < 100 && !/Step 3\/3 : RUN sleep 30\n ---> Running in/.test(out2); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out2, /Using cache/, 'step 2 came from the cache');
  process.kill(d.pid!, 'SIGKILL');
  assert.ok(await d.exited());
  await new Promise((r) => again.once('exit', r));
  await d.startDaemon();
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'the next start removed the build\'s container');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'tmp')).filter((f) => f.startsWith('build-')), []);
  const third = await ok(['build', '-t', 'slow:1', context('slow2', { Dockerfile: 'FROM busybox\nRUN echo step1 > /s1\nRUN echo done\n' })]);
  assert.match(third, /Step 2\/3 : RUN echo step1 > \/s1\n ---> Using cache/);
});

test('COPY keeps what is on the way: /tmp stays 1777, a path through a symlink in the image lands where it points', async () => {
  const dir = context('ontheway', {
    Dockerfile: 'FROM busybox\nRUN mkdir /real && ln -s /real /link && chmod 700 /real\nCOPY f /tmp/f\nCOPY f /link/f\nCOPY f /new/deep/f\n',
    f: 'data\n',
  });
  await ok(['build', '-t', 'onway:1', dir]);
  assert.equal(await ok(['run', '--rm', 'onway:1', 'sh', '-c', 'stat -c "%a %n" /tmp /real /new /new/deep; cat /real/f /tmp/f /new/deep/f; readlink /link']),
    '1777 /tmp\n700 /real\n755 /new\n755 /new/deep\ndata\ndata\ndata\n/real\n');
});

test('POST /build/cancel stops the build its client named (buildid)', async () => {
  const dir = context('cancel', { Dockerfile: 'FROM busybox\nRUN sleep 30\n' });
  spawnSync('tar', ['-cf', join(root, 'cancel.tar'), '-C', dir, 'Dockerfile']);
  const { request } = await import('node:http');
  const body = readFileSync(join(root, 'cancel.tar'));
  const out = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath: d.sock, method: 'POST', path: '/v1.41/build?buildid=abc123&nocache=1', headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
      let text = '';
      let sent = false;
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (!sent && text.includes('Running in')) {
          sent = true;
          const c2 = request({ socketPath: d.sock, method: 'POST', path: '/v1.41/build/cancel?id=abc123' }, (r2) => r2.resume());
          c2.end();
        }
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.match(out, /"error":"the build was cancelled"/);
  assert.equal((await ok(['ps', '-aq'])).trim(), '');
});

test('testcontainers: GenericContainer.fromDockerfile builds with build args, and the HEALTHCHECK image is waited for until healthy', async () => {
  // testcontainers reads its settings from the environment; Ryuk (its reaper image) cannot be
  // pulled offline, so the test removes what it made itself.
  process.env.DOCKER_HOST = d.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const { GenericContainer, Wait } = await import('testcontainers');
  const dir = mkdtempSync('/tmp/bt-tc-');
  try {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nARG GREETING=hi\nRUN echo "$GREETING" > /greeting\nHEALTHCHECK --interval=200ms CMD test -f /greeting\nCMD ["sleep", "100"]\n');
    const image = await GenericContainer.fromDockerfile(dir).withBuildArgs({ GREETING: 'hello-tc' }).build('tc-built:1', { deleteOnExit: false });
    const c = await image.withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(30_000).start();
    try {
      const r = await c.exec(['cat', '/greeting']);
      assert.equal(r.exitCode, 0);
      assert.equal(r.output.trim(), 'hello-tc');
      assert.equal((await d.ok(['inspect', '-f', '{{.State.Health.Status}}', c.getId()])).trim(), 'healthy');
    } finally {
      await c.stop();
    }
    await d.ok(['rmi', 'tc-built:1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RUN steps get the build\'s limits and security options (memory, CPU, cpuset, ulimits, no-new-privileges), from berth and the docker CLI alike', async () => {
  const dir = context('limits', {
    Dockerfile: 'FROM busybox\nRUN (cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpuset/cpuset.cpus; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status) > /limits\n',
  });
  const flags = ['--no-cache', '-m', '64m', '--cpu-shares', '512', '--cpu-quota', '50000', '--cpuset-cpus', '0', '--ulimit', 'nofile=1000:2000', '--security-opt', 'no-new-privileges'];
  const want = '67108864\n512\n50000\n0\n1000\n2000\nNoNewPrivs:\t1\n';
  const viaBerth = await d.berth(['build', ...flags, '-t', 'limits:berth', dir]);
  assert.equal(viaBerth.code, 0, viaBerth.stderr);
  assert.equal(await ok(['run', '--rm', 'limits:berth', 'cat', '/limits']), want);
  const viaDocker = await d.docker(['build', ...flags, '-t', 'limits:docker', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(await ok(['run', '--rm', 'limits:docker', 'cat', '/limits']), want);
  // Without them, the same step has none of those limits (and the limits are no part of the cache key).
  const plain = await d.berth(['build', '-t', 'limits:plain', dir]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /Using cache/, 'the same step, from the cache');
  const fresh = await d.berth(['build', '--no-cache', '-t', 'limits:fresh', dir]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.doesNotMatch(await ok(['run', '--rm', 'limits:fresh', 'cat', '/limits']), /^67108864\n512\n/);

  // What a RUN container cannot take is refused as a create refuses it, and leaves nothing.
  const before = (await ok(['images', '-aq'])).trim().split('\n').sort();
  for (const [args, re] of [
    [['-m', '1k'], /Minimum memory limit allowed is 6MB/],
    [['--isolation', 'hyperv'], /Unsupported isolation: "hyperv"/],
    [['--squash'], /the build option squash is not supported by Berth/],
    [['--ulimit', 'nofile=a'], /invalid ulimit argument: nofile=a/],
    [['--security-opt', 'seccomp=/nonexistent.json'], /seccomp/],
  ] as [string[], RegExp][]) {
    const r = await d.berth(['build', '--no-cache', ...args, dir]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.equal((await ok(['ps', '-aq'])).trim(), '', 'no build container is left');
  assert.deepEqual((await ok(['images', '-aq'])).trim().split('\n').sort(), before, 'no image was made');
});

test('docker-py build options reach the RUN steps: extra_hosts, network_mode, shmsize, platform and container_limits', async () => {
  const dir = context('pyopts', {
    Dockerfile: 'FROM busybox\nRUN (grep myhost /etc/hosts; ls /sys/class/net; df -k /dev/shm | tail -1 | awk \'{print $2}\'; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares) > /seen\n',
  });
  const py = spawnSync('python3', ['-c', `
import docker
c = docker.DockerClient(base_url='${d.host}')
img, logs = c.images.build(path='${dir}', tag='pyopts:1', rm=True, nocache=True, extra_hosts={'myhost': '10.1.2.3'}, network_mode='none',
    shmsize=128 * 1024 * 1024, platform='linux/amd64', container_limits={'memory': 64 * 1024 * 1024, 'cpushares': 512})
print(c.containers.run('pyopts:1', 'cat /seen', remove=True).decode(), end='')
`], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(py.stdout, '10.1.2.3\tmyhost\nlo\n131072\n67108864\n512\n');
});

test('RUN --mount (BuildKit\'s syntax, through berth and the docker CLI\'s classic API): cache mounts kept across builds, bind mounts from the context and a stage, tmpfs, secrets from berth build --secret; nothing of them in the image; builder prune clears the caches', async () => {
  const dir = context('runmount', {
    Dockerfile: [
      'FROM busybox AS base',
      'RUN mkdir /out && echo from-base > /out/built',
      'FROM busybox',
      'WORKDIR /w',
      'ARG CACHE=/var/cache/app',
      'RUN --mount=type=cache,target=$CACHE,id=counter n=$(cat $CACHE/n 2>/dev/null || echo 0); echo $((n+1)) > $CACHE/n; echo "run $((n+1))"',
      'RUN --mount=type=bind,source=data.txt,target=/d --mount=type=bind,from=base,source=/out,target=/o cat /d /o/built > /copied',
      'RUN --mount=type=bind,source=src,target=src,rw echo scratch > src/new && ls src > /listed',
      'RUN --mount=type=tmpfs,target=/t,size=1m echo x > /t/y && grep -c " /t tmpfs" /proc/mounts > /tmpfs',
      '',
    ].join('\n'),
    'data.txt': 'hello-data\n',
    'src/a': 'a\n',
  });
  const first = await d.berth(['build', '-t', 'mounts:1', dir]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /^run 1$/m);
  // the cache mount's content outlives the build; the step itself runs again with --no-cache
  const second = await d.docker(['build', '--no-cache', '-t', 'mounts:2', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /^run 2$/m);
  // what the steps wrote, and nothing of the mounts (no stub of their targets either)
  assert.equal(await ok(['run', '--rm', 'mounts:2', 'sh', '-c', 'cat /copied /listed /tmpfs; ls -a /w; for p in /var/cache/app /d /o /t /w/src; do [ -e $p ] && echo "$p left"; done; true']), 'hello-data\nfrom-base\na\nnew\n1\n.\n..\n');
  assert.deepEqual(readdirSync(join(dir, 'src')).sort(), ['a'], 'a rw bind mount writes nowhere');
  // a changed bind source reruns its step (and what follows); the cache mount step stays cached
  writeFileSync(join(dir, 'data.txt'), 'changed\n');
  const third = await d.berth(['build', '-t', 'mounts:3', dir]);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /Step 6\/9 : RUN --mount=type=cache[^\n]*\n ---> Using cache\n/);
  assert.match(third.stdout, /Step 7\/9 : RUN --mount=type=bind,source=data.txt[^\n]*\n ---> Running in /);
  assert.equal(await ok(['run', '--rm', 'mounts:3', 'head', '-1', '/copied']), 'changed\n');
  // secrets: `berth build --secret` (a file, a variable), at /run/secrets/ID, as a variable
  // with env=, never in the image; a build without them (the docker CLI's classic API has no
  // way to send any) skips the mount unless it is required
  const secret = context('runmount-secret', {
    Dockerfile: [
      'FROM busybox',
      'RUN --mount=type=secret,id=tok --mount=type=secret,id=pw,env=PW,mode=0440 (cat /run/secrets/tok 2>/dev/null || echo no-tok); echo "pw=$PW"; stat -c %a /run/secrets/tok 2>/dev/null; true',
      'RUN --mount=type=secret,id=tok,required ls /run/secrets',
      '',
    ].join('\n'),
    'tok.txt': 's3cret-file\n',
  });
  const withSecrets = await d.berth(['build', '-t', 'secrets:1', '--secret', `id=tok,src=${join(secret, 'tok.txt')}`, '--secret', 'id=pw,env=BERTH_TEST_PW', secret], { env: { BERTH_TEST_PW: 's3cret-env' } });
  assert.equal(withSecrets.code, 0, withSecrets.stdout + withSecrets.stderr);
  assert.match(withSecrets.stdout, /^s3cret-file\npw=s3cret-env\n400$/m);
  assert.equal(await ok(['run', '--rm', 'secrets:1', 'sh', '-c', 'ls -a /run/secrets 2>&1; env | grep -c s3cret; true']), 'ls: /run/secrets: No such file or directory\n0\n');
  assert.doesNotMatch(await ok(['history', '--no-trunc', 'secrets:1']), /s3cret/);
  // an env= secret is the process's alone: a step container kept with --rm=false has it neither
  // in inspect nor in its record on disk
  const before = new Set((await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean));
  const kept = await d.berth(['build', '--rm=false', '--no-cache', '--secret', 'id=pw,env=BERTH_TEST_PW', secret], { env: { BERTH_TEST_PW: 's3cret-env' } });
  assert.match(kept.stdout, /^pw=s3cret-env$/m, kept.stdout + kept.stderr);
  const keptIds = (await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter((id) => id && !before.has(id));
  assert.ok(keptIds.length >= 1, 'the step containers are kept');
  assert.doesNotMatch(await ok(['inspect', ...keptIds]), /s3cret/);
  for (const id of keptIds) {
    for (const f of readdirSync(join(d.root, 'data', 'containers', id))) {
      if (f.endsWith('.json') && !f.endsWith('-json.log')) assert.doesNotMatch(readFileSync(join(d.root, 'data', 'containers', id, f), 'utf8'), /s3cret/, `${id}/${f}`);
    }
  }
  await ok(['rm', ...keptIds]);
  const none = await d.docker(['build', '--no-cache', secret], { env: { DOCKER_BUILDKIT: '0' } });
  assert.notEqual(none.code, 0);
  assert.match(none.stdout, /^no-tok\npw=$/m);
  assert.match(none.stdout + none.stderr, /secret tok: not found/);
  // ssh mounts need an agent transport: refused with the line
  const ssh = context('runmount-ssh', { Dockerfile: 'FROM busybox\nRUN --mount=type=ssh true\n' });
  const r = await d.berth(['build', ssh]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Dockerfile parse error line 2: ssh mounts are not supported by Berth's builder yet/);
  // builder prune takes the cache mounts too: the next build counts from 1 again
  await ok(['builder', 'prune', '-f']);
  const fourth = await d.berth(['build', '--no-cache', dir]);
  assert.match(fourth.stdout, /^run 1$/m);
  await ok(['rmi', 'mounts:1', 'mounts:2', 'mounts:3', 'secrets:1']);
});

test('build -o/--output (buildx\'s flag): the final stage\'s files into a directory, a tar file or stdout, no image left; type=image names it; other exporters refused by name', async () => {
  const dir = context('output', {
    Dockerfile: 'FROM busybox AS build\nRUN mkdir -p /out && echo compiled > /out/app && chmod 755 /out/app\nFROM scratch\nCOPY --from=build /out/app /bin/app\nCOPY notes.txt /\n',
    'notes.txt': 'notes\n',
  });
  const imagesBefore = await ok(['images', '-a', '-q', '--no-trunc']);
  const containersBefore = await ok(['ps', '-aq']);
  const dest = mkdtempSync('/tmp/bt-output-');
  try {
    const local = await d.berth(['build', '-t', 'not-made:1', '-o', join(dest, 'dir'), dir]);
    assert.equal(local.code, 0, local.stdout + local.stderr);
    assert.equal(readFileSync(join(dest, 'dir', 'bin', 'app'), 'utf8'), 'compiled\n');
    assert.equal(statSync(join(dest, 'dir', 'bin', 'app')).mode & 0o777, 0o755);
    assert.deepEqual(readdirSync(join(dest, 'dir')).sort(), ['bin', 'notes.txt'], 'the image\'s files and nothing else');
    const tarFile = await d.berth(['build', '--output', `type=tar,dest=${join(dest, 'out.tar')}`, dir]);
    assert.equal(tarFile.code, 0, tarFile.stderr);
    assert.deepEqual(spawnSync('tar', ['tf', join(dest, 'out.tar')], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort(), ['bin/', 'bin/app', 'notes.txt']);
    // `-o -`: the tar on stdout, the build's progress on stderr
    const piped = spawnSync('sh', ['-c', `"${NODE}" -- "${BERTH}" build -o - "${dir}" | tar xO bin/app`], { encoding: 'utf8', env: { ...process.env, BERTH_HOST: d.host } });
    assert.equal(piped.stdout, 'compiled\n', piped.stderr);
    assert.match(piped.stderr, /Successfully built/);
    // no image came of them (the build cache's intermediate images aside)
    assert.equal((await d.berth(['image', 'inspect', 'not-made:1'])).code, 1);
    const left = (await ok(['images', '-a', '-q', '--no-trunc'])).split('\n').filter((i) => i && !imagesBefore.includes(i));
    for (const id of left) assert.equal((await ok(['image', 'inspect', '-f', '{{len .RepoTags}}', id])).trim(), '0', 'only untagged cache images are new');
    assert.equal(await ok(['ps', '-aq']), containersBefore, 'the container read from is gone');
    // type=image is the default, with name= as tags
    const image = await d.berth(['build', '-q', '-o', 'type=image,name=made:1', dir]);
    assert.equal(image.code, 0, image.stderr);
    assert.match(await ok(['image', 'inspect', '-f', '{{.RepoTags}}', 'made:1']), /made:1/);
    for (const [value, message] of [['type=oci,dest=x', /--output type "oci" is not supported by Berth's builder yet/], ['type=local', /dest is required for local exporter/], ['type=registry', /--output type "registry" is not supported/]] as const) {
      const r = await d.berth(['build', '-o', value, dir]);
      assert.equal(r.code, 125, value);
      assert.match(r.stderr, message);
    }
    await ok(['rmi', 'made:1']);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

test('a COPY layer names each path once (docker\'s layer store refuses duplicates): COPY --from of a directory, two directory sources sharing a subdirectory', async () => {
  const dir = context('copy-once', {
    Dockerfile: 'FROM busybox AS a\nRUN mkdir -p /out/d && echo x > /out/d/f\nFROM busybox\nCOPY --from=a /out /final\nCOPY --from=a /out/ /final2/\nCOPY d1 d2 /both/\n',
    'd1/sub/a': '1\n',
    'd2/sub/b': '2\n',
  });
  await ok(['build', '-q', '-t', 'copy-once:1', dir]);
  const out = mkdtempSync('/tmp/bt-copy-once-');
  try {
    await ok(['save', '-o', join(out, 'img.tar'), 'copy-once:1']);
    spawnSync('tar', ['xf', join(out, 'img.tar'), '-C', out]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const names = manifest[0].Layers.map((l) => spawnSync('tar', ['tf', join(out, l)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
    for (const layer of names) assert.equal(new Set(layer).size, layer.length, `a path twice in ${JSON.stringify(layer)}`);
    assert.ok(names.some((l) => l.includes('final/d/f')) && names.some((l) => l.includes('both/sub/a') && l.includes('both/sub/b')));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  await ok(['rmi', 'copy-once:1']);
});

test('build tags as moby sanitizes them: completed with latest and named once; a digest refused before any step runs (docker CLI)', async () => {
  const dir = context('tags', { Dockerfile: 'FROM busybox\nRUN true\n' });
  const r = await d.docker(['build', '-t', 'tagged', '-t', 'tagged:latest', '-t', 'docker.io/library/tagged2', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged tagged:latest\nSuccessfully tagged tagged2:latest\n$/);
  const digest = await d.docker(['build', '-t', `x@sha256:${'a'.repeat(64)}`, dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(digest.code, 1);
  assert.match(digest.stderr, /build tag cannot contain a digest/);
  assert.doesNotMatch(digest.stdout, /Step 1/);
  await ok(['rmi', 'tagged', 'tagged2']);
});

test('RUN --mount=type=cache,sharing=private: a step whose cache id another step is using gets a copy of its own', async () => {
  // Two builds at once, met through a shared cache mount: `a` marks its private cache, then
  // `b`, once `a` is inside, lists its own: empty, as it is another copy (the same one if shared).
  const rv = `rv-${process.pid}-${Date.now()}`;
  const dir = context('runmount-private', {
    Dockerfile: [
      'FROM busybox',
      'ARG ME',
      'ARG RV',
      'RUN --mount=type=cache,id=$RV,target=/rv --mount=type=cache,id=p-$RV,sharing=private,target=/p sh -c \'' +
        'wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; }; ' +
        'if [ "$ME" = a ]; then touch /p/a-was-here /rv/a; wait_for /rv/b-done; else wait_for /rv/a; echo "b sees [$(ls /p)]"; touch /rv/b-done; fi\'',
      '',
    ].join('\n'),
  });
  const [a, b] = await Promise.all(['a', 'b'].map((me) => d.berth(['build', '--no-cache', '--build-arg', `ME=${me}`, '--build-arg', `RV=${rv}`, dir])));
  assert.equal(a.code, 0, a.stdout + a.stderr);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.match(b.stdout, /^b sees \[\]$/m);
  await ok(['builder', 'prune', '-f']);
});

test('BuildKit\'s automatic platform ARGs (FROM --platform=$BUILDPLATFORM, ARG TARGETARCH) and ADD --checksum, through berth and the docker CLI\'s classic API', async () => {
  const body = 'checked content\n';
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const server = createServer((req, res) => {
    if (req.url === '/f.txt') res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    const dir = context('platformargs', {
      Dockerfile: [
        'FROM --platform=$BUILDPLATFORM busybox AS build',
        'ARG TARGETOS TARGETARCH TARGETPLATFORM BUILDPLATFORM',
        'RUN echo "$TARGETOS/$TARGETARCH $TARGETPLATFORM $BUILDPLATFORM" > /platform',
        'FROM busybox',
        'RUN echo "undeclared: [$TARGETARCH]" > /undeclared',
        'COPY --from=build /platform /platform',
        `ADD --checksum=${digest} http://127.0.0.1:${port}/f.txt /f.txt`,
        '',
      ].join('\n'),
    });
    const r = await d.docker(['build', '-t', 'platargs:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await ok(['run', '--rm', 'platargs:1', 'cat', '/platform', '/undeclared', '/f.txt']), `linux/${arch} linux/${arch} linux/${arch}\nundeclared: []\n${body}`);
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/f.txt /f.txt\n`);
    const bad = await d.berth(['build', dir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, new RegExp(`ADD failed: digest mismatch sha256:0{64}: ${digest}`));
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --checksum=${digest} Dockerfile /x\n`);
    assert.match((await d.berth(['build', dir])).stderr, /checksum can't be specified for non-HTTP\(S\) sources/);
  } finally {
    server.close();
  }
  await ok(['rmi', 'platargs:1']);
});

test('COPY and ADD --exclude (BuildKit\'s, GA in Dockerfile 1.19): .dockerignore patterns with exceptions, on wildcard sources and COPY --from; excluded files are no part of the cache key (docker CLI)', async () => {
  const dir = context('exclude', {
    Dockerfile: [
      'FROM busybox AS src',
      'RUN mkdir -p /s/sub && echo 1 > /s/keep && echo 2 > /s/drop.log && echo 3 > /s/sub/drop.log',
      'FROM busybox',
      'COPY --exclude=node_modules --exclude=docs/*.md --exclude=!docs/keep.md app /app',
      'COPY --exclude=*.txt hom* /h/',
      'COPY --from=src --exclude=**/*.log /s /s',
      'RUN find /app /h /s | sort > /listing',
      '',
    ].join('\n'),
    'app/a.js': 'a\n',
    'app/node_modules/m/i.js': 'm\n',
    'app/docs/r.md': 'r\n',
    'app/docs/keep.md': 'k\n',
    'home.txt': 't\n',
    'home.js': 'h\n',
  });
  const r = await d.docker(['build', '-t', 'exclude:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(await ok(['run', '--rm', 'exclude:1', 'cat', '/listing']), ['/app', '/app/a.js', '/app/docs', '/app/docs/keep.md', '/h', '/h/home.js', '/s', '/s/keep', '/s/sub', ''].join('\n'));
  // a change to an excluded file keeps the step cached; a change to a copied one does not
  writeFileSync(join(dir, 'app/node_modules/m/i.js'), 'changed\n');
  assert.match(await ok(['build', dir]), /Step 4\/7 : COPY --exclude=node_modules[^\n]*\n ---> Using cache\n/);
  writeFileSync(join(dir, 'app/a.js'), 'changed\n');
  assert.doesNotMatch(await ok(['build', dir]), /Step 4\/7 : COPY --exclude=node_modules[^\n]*\n ---> Using cache\n/);
  await ok(['rmi', 'exclude:1']);
});

test('COPY --parents (BuildKit\'s, GA in Dockerfile 1.20): sources keep their paths below the destination, from the context\'s root or a /./ pivot, and from a stage (docker CLI)', async () => {
  const files: Record<string, string> = {};
  for (const p of ['packages/a', 'packages/b', 'apps/c']) {
    files[`${p}/package.json`] = '{}\n';
    files[`${p}/index.js`] = 'x\n';
  }
  const dir = context('parents', {
    ...files,
    Dockerfile: [
      'FROM busybox AS stage',
      'RUN mkdir -p /opt/x/y && echo s > /opt/x/y/file',
      'FROM busybox',
      'COPY --parents packages/*/package.json apps/*/package.json /app/',
      'COPY --parents ./packages/./a/index.js /pivot/',
      'COPY --parents apps /whole/',
      'COPY --parents --from=stage /opt/./x/y/file /fromstage/',
      'RUN find /app /pivot /whole /fromstage -type f | sort > /listing',
      '',
    ].join('\n'),
  });
  const r = await d.docker(['build', '-t', 'parents:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(await ok(['run', '--rm', 'parents:1', 'cat', '/listing']), [
    '/app/apps/c/package.json', '/app/packages/a/package.json', '/app/packages/b/package.json',
    '/fromstage/x/y/file', '/pivot/a/index.js', '/whole/apps/c/index.js', '/whole/apps/c/package.json', '',
  ].join('\n'));
  await ok(['rmi', 'parents:1']);
});

test('RUN --security (BuildKit\'s, GA in Dockerfile 1.20): sandbox runs as every step does; insecure is refused with its line', async () => {
  const dir = context('security', { Dockerfile: 'FROM busybox\nRUN --security=sandbox echo sandboxed\n' });
  assert.match(await ok(['build', dir]), /^sandboxed$/m);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --security=insecure echo privileged\n');
  const r = await d.berth(['build', dir]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Dockerfile parse error line 2: RUN --security=insecure needs the security\.insecure entitlement/);
});

test('BuildKit\'s variable trimming and substitution (${V#v}, ${F%%.*}, ${V//./-}) in ENV, RUN and COPY lines (docker CLI)', async () => {
  const dir = context('trim', {
    Dockerfile: 'FROM busybox\nARG VERSION=v1.2.3\nARG FILE=notes.tar.gz\nENV PLAIN=${VERSION#v} DASHED=${VERSION//./-}\nCOPY ${FILE%%.*}.txt /${FILE%.gz}.copied\nRUN echo "$PLAIN $DASHED" > /out && ls / | grep copied >> /out\n',
    'notes.txt': 'n\n',
  });
  const r = await d.docker(['build', '-t', 'trim:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(await ok(['run', '--rm', 'trim:1', 'cat', '/out']), '1.2.3 v1-2-3\nnotes.tar.copied\n');
  await ok(['rmi', 'trim:1']);
});

test('ADD of a git repository (BuildKit\'s: URL#ref:subdir), served by git daemon on 127.0.0.1: a branch, a tag, a subdirectory; cached by commit, refetched when the branch moves (docker CLI)', async () => {
  const base = join(root, 'gitsrv');
  const work = join(base, 'work');
  mkdirSync(join(work, 'sub'), { recursive: true });
  const git = (args: string[], cwd = work) => {
    const r = spawnSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  git(['init', '-q', '-b', 'main']);
  writeFileSync(join(work, 'README'), 'one\n');
  writeFileSync(join(work, 'sub', 'file'), 'inner\n');
  git(['add', '.']);
  git(['commit', '-qm', 'one']);
  git(['tag', 'v1']);
  writeFileSync(join(work, 'README'), 'two\n');
  git(['commit', '-qam', 'two']);
  git(['clone', '-q', '--bare', work, join(base, 'repo.git')], base);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const daemon = spawn('git', ['daemon', '--export-all', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, '--reuseaddr', base], { stdio: 'ignore' });
  try {
    const url = `git://127.0.0.1:${port}/repo.git`;
    const dir = context('gitadd', { Dockerfile: `FROM busybox\nADD ${url}#v1 /v1\nADD ${url} /head\nADD ${url}#main:sub /sub\nRUN cat /head/README /v1/README /sub/file > /out; ls -a /head >> /out\n` });
    // git daemon answers once it listens
    let r = await d.docker(['build', '-t', 'gitadd:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
    for (let i = 0; i < 20 && r.code !== 0 && /Connection refused|could not read/.test(r.stdout + r.stderr); i++) {
      await new Promise((res) => setTimeout(res, 250));
      r = await d.docker(['build', '-t', 'gitadd:1', dir], { env: { DOCKER_BUILDKIT: '0' } });
    }
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await ok(['run', '--rm', 'gitadd:1', 'cat', '/out']), 'two\none\ninner\n.\n..\nREADME\nsub\n');
    assert.equal((await ok(['build', dir])).match(/ ---> Using cache/g)?.length, 4, 'all from the cache while the commits stay');
    // the branch moves: its ADD (and what follows) runs again; the tag's stays cached
    writeFileSync(join(work, 'README'), 'three\n');
    git(['commit', '-qam', 'three']);
    git(['push', '-q', join(base, 'repo.git'), 'main']);
    const again = await ok(['build', '-t', 'gitadd:2', dir]);
    assert.match(again, /Step 2\/5 : ADD [^\n]*#v1 \/v1\n ---> Using cache\n/);
    assert.match(again, /Step 3\/5 : ADD [^\n]*\/repo\.git \/head\n ---> [0-9a-f]{12}\n/);
    assert.equal(await ok(['run', '--rm', 'gitadd:2', 'head', '-1', '/out']), 'three\n');
    // --keep-git-dir: the checkout with its .git, HEAD at the commit
    const v1 = spawnSync('git', ['rev-parse', 'v1'], { cwd: work, encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --keep-git-dir=true ${url}#v1 /k\n`);
    await ok(['build', '-t', 'gitadd:3', dir]);
    assert.equal(await ok(['run', '--rm', 'gitadd:3', 'sh', '-c', 'cat /k/.git/HEAD /k/README']), `${v1}\none\n`);
    await ok(['rmi', 'gitadd:3']);
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD ${url}#nosuchref /x\n`);
    const bad = await d.berth(['build', dir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ADD failed: git fetch git:\/\/127\.0\.0\.1:\d+\/repo\.git#nosuchref: /);
  } finally {
    daemon.kill();
  }
  await ok(['rmi', 'gitadd:1', 'gitadd:2']);
});
