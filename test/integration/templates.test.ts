/**
 * `--format` templates on every listing and inspect command, against the docker CLI talking to
 * the same berthd: the same output, the same error text and the same exit code — unknown
 * fields, bad templates, missing keys, docker's functions and placeholders.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TestDaemon, DOCKER } from './harness.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  for (const args of [['tag', 'busybox', 'ex/a:1'], ['run', '--name', 'c1', 'busybox', 'true'], ['run', '-d', '--name', 'c2', '-l', 'tier=web', 'busybox', 'sleep', '300'], ['create', '--name', 'c3', '-v', 'tvol:/data', '-v', '/tmp:/hosttmp', 'busybox', 'true']]) {
    const r = await d.berth(args);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await d?.cleanup();
});

function dockerRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(DOCKER, args, { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.root, 'docker-config') } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// Cases without relative times ("2 minutes ago"), which could tick between the two runs.
const CASES: string[][] = [
  // Unknown fields: docker's error text, per command.
  ['images', '--format', '{{.Nope}}'],
  ['ps', '-a', '--format', '{{.Nope}}'],
  ['ps', '-a', '--format', 'table {{.Names}}\t{{.Nope}}'],
  ['history', '--format', '{{.Nope}}', 'busybox'],
  ['system', 'df', '--format', '{{.Nope}}'],
  ['system', 'df', '-v', '--format', '{{.Nope}}'],
  ['inspect', '-f', '{{.Nope}}', 'c1'],
  ['inspect', '-f', '{{.State.Nope}}', 'c1'],
  ['inspect', '-f', '{{.Name}}{{.Nope}}', 'c1', 'c2'],
  ['inspect', '-f', '{{.Name}}', 'c1', 'nosuch'],
  ['inspect', 'nosuch'],
  ['image', 'inspect', 'nosuch:1'],
  ['container', 'inspect', '-f', '{{.Name}}', 'nosuch'],
  ['inspect', '--type', 'image', 'nosuch'],
  ['inspect', '--type', 'container', '-f', '{{.Name}}', 'c1', 'nosuch'],
  ['image', 'inspect', '-f', '{{.Config.Nope}}', 'busybox'],
  ['container', 'inspect', '-f', '{{.Nope}}', 'c1'],
  ['version', '-f', '{{.Nope}}'],
  ['version', '-f', '{{.Client.Nope}}'],
  ['info', '-f', '{{.Nope}}'],
  // Templates that do not parse.
  ['images', '--format', '{{.Nope'],
  ['ps', '--format', 'table {{.Nope'],
  ['inspect', '-f', '{{.Nope', 'c1'],
  ['version', '-f', '{{.Nope'],
  ['info', '-f', '{{.Nope'],
  ['system', 'df', '-v', '--format', '{{.Nope'],
  ['images', '--format', '{{nofunc}}'],
  // What works: fields, maps, missing map keys, zero values, functions, tables.
  ['images', '--format', '{{.ID}}: {{.Repository}}', 'busybox'],
  ['images', '--format', 'table {{.ID}}\t{{.Repository}}\t{{.Tag}}', 'ex/a'],
  ['inspect', '-f', '{{ .State.Pid }} {{.State.Running}} {{json .Config.Cmd}}', 'c1'],
  ['inspect', '-f', '{{.Config.Labels.tier}} {{index .Config.Labels "tier"}} {{.Config.Labels.nope}} {{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}', 'c2'],
  ['inspect', '-f', '{{.Config.StopSignal}}|{{.Config.Healthcheck}}|{{.Config.Entrypoint}}|{{.HostConfig.RestartPolicy.Name}}', 'c2'],
  // --size fills SizeRw and SizeRootFs (nil without it); networks are objects `inspect` finds too.
  ['inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'c2'],
  ['container', 'inspect', '--size', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'c1'],
  ['inspect', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'c2'],
  ['inspect', '-f', '{{.Name}} {{.Driver}} {{.Scope}}', 'bridge', 'host'],
  ['inspect', '--type', 'network', '-f', '{{.Name}}', 'none'],
  ['inspect', '--type', 'network', '-f', '{{.Name}}', 'c2'],
  ['image', 'inspect', '-f', '{{.Config.Cmd}} {{.Os}}/{{.Architecture}} {{json .RootFS}} {{.Metadata.LastTagTime}}', 'busybox'],
  // The daemon's legacy Config fields (null, "") are not in the CLI's struct: json shows what the image sets.
  ['image', 'inspect', '-f', '{{json .Config}} {{.Config.Env}} {{.Config.User}} {{.Config.Volumes}}', 'busybox'],
  ['inspect', '-f', '{{json .Config}}', 'busybox'],
  ['image', 'inspect', '-f', '{{.Config.Hostname}}', 'busybox'],
  // --format json: one line, the docker CLI's jsonInspector.
  ['image', 'inspect', '--format', 'json', 'busybox'],
  ['volume', 'inspect', '-f', 'json', 'nosuch'],
  ['version', '-f', '{{.Client.APIVersion}} {{.Server.Version}}'],
  ['info', '-f', '{{.Containers}} {{.ContainersRunning}} {{json .Images}}'],
  ['ps', '--format', '{{.Names}} {{.Label "tier"}} {{.Labels}} {{upper .State}} {{title .State}} {{len .Names}} {{printf "%.3s" .Image}}'],
  ['ps', '-a', '--format', 'table {{.Names}}\t{{.Size}}'],
  ['images', '--format', '{{if eq .Tag "latest"}}L{{else}}O{{end}} {{with .Repository}}{{.}}{{end}} {{range split .Repository "/"}}[{{.}}]{{end}} {{join (split .Repository "/") "|"}} {{lower .Tag}}{{println}}', 'ex/a'],
  ['system', 'df', '-v', '--format', '{{len .Images}} {{range .Containers}}{{.Names}}={{.Size}} {{end}}'],
  // Mounts: volume names, else sources (cut at 15 without --no-trunc); local volumes counted.
  ['ps', '-a', '--filter', 'name=c3', '--format', '{{.Names}}|{{.Mounts}}|{{.LocalVolumes}}'],
  ['ps', '-a', '--filter', 'name=c3', '--no-trunc', '--format', '{{.Mounts}}'],
  // inspect without --type: what the image lookup cannot even parse is "No such object" too.
  ['inspect', '-f', '{{.Name}}', '{{.Bad}}', 'c1'],
];

test('--format prints what the docker CLI prints, errors and exit codes included', async () => {
  const diffs: string[] = [];
  for (const args of CASES) {
    const [b, k] = await Promise.all([d.berth(args), dockerRun(args)]);
    if (b.stdout !== k.stdout || b.stderr !== k.stderr || b.code !== k.code) {
      diffs.push(`${args.join(' ')}\n  docker (${k.code}): ${JSON.stringify(k.stdout)} ${JSON.stringify(k.stderr)}\n  berth  (${b.code}): ${JSON.stringify(b.stdout)} ${JSON.stringify(b.stderr)}`);
    }
  }
  assert.deepEqual(diffs, []);
});

test('ps: a format that reads .Size asks for sizes; -s adds the column', async () => {
  const sized = await d.berth(['ps', '--format', '{{.Names}} {{.Size}}']);
  assert.equal(sized.code, 0, sized.stderr);
  assert.match(sized.stdout, /^c2 0B \(virtual [\d.]+[kM]B\)\n$/);
  const table = await d.berth(['ps', '-s']);
  assert.match(table.stdout.split('\n')[0], /NAMES +SIZE$/);
  assert.match(table.stdout.split('\n')[1], /c2 +0B \(virtual [\d.]+[kM]B\)$/);
});

test('inspect --size reports the writable layer and the whole root file system; inspect finds networks', async () => {
  await d.ok(['exec', 'c2', 'sh', '-c', 'head -c 300000 /dev/zero > /grown']);
  const sizes = (await d.ok(['inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'c2'])).trim().split(' ').map(Number);
  assert.ok(sizes[0] >= 300000 && sizes[0] < 400000, `SizeRw ${sizes[0]}`);
  const image = Number((await d.ok(['image', 'inspect', '-f', '{{.Size}}', 'busybox'])).trim());
  assert.equal(sizes[1], sizes[0] + image, 'SizeRootFs is the layer plus the image');
  assert.equal(await d.ok(['inspect', '-f', '{{.SizeRw}}', 'c2']), '<nil>\n', 'no sizes unless asked');
  assert.equal(await d.ok(['inspect', '-f', '{{.Name}}', 'bridge']), 'bridge\n');
  await d.ok(['exec', 'c2', 'rm', '/grown']);
});
