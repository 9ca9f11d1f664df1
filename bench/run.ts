/**
 * `npm run bench`: Berth's speed, measured end to end on this machine, printed as JSON (and
 * written to bench/results.json). Docker is measured side by side when a dockerd answers on
 * /var/run/docker.sock. Never used as a pass/fail test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDaemon, NODE, BERTH, ROOT, startPrivateDockerd } from '../test/integration/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeCmd(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return ms;
}

function rssKiB(pid: number): number {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return NaN;
  }
  const m = /VmRSS:\s+(\d+) kB/.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Live processes: pid, parent, command name and command line. */
function processes(): { pid: number; ppid: number; comm: string; cmd: string }[] {
  const out: { pid: number; ppid: number; comm: string; cmd: string }[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.push({ pid: Number(p), ppid, comm: stat.slice(stat.indexOf('(') + 1, close), cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone
    }
  }
  return out;
}

/** RSS of an engine's daemons (a process and its children named in `helpers`) and of its per-container monitors. */
function engineRss(daemonPid: number, helpers: string[], isMonitor: (p: { comm: string; cmd: string }) => boolean): { daemons_kib: number; monitors_kib: number; monitors: number } {
  const ps = processes();
  const daemons = ps.filter((p) => p.pid === daemonPid || (p.ppid === daemonPid && helpers.includes(p.comm)));
  const monitors = ps.filter(isMonitor);
  const sum = (xs: { pid: number }[]) => xs.reduce((n, p) => n + (rssKiB(p.pid) || 0), 0);
  return { daemons_kib: sum(daemons), monitors_kib: sum(monitors), monitors: monitors.length };
}

function dockerAvailable(): boolean {
  return existsSync('/var/run/docker.sock') && spawnSync('docker', ['version'], { stdio: 'ignore', env: { ...process.env, DOCKER_HOST: 'unix:///var/run/docker.sock' } }).status === 0;
}

/**
 * Volumes and cp (issue 13). `BENCH_ONLY=volumes` runs just this and merges into results.json.
 */
async function volumeBench(d: TestDaemon, env: Record<string, string>, results: Record<string, unknown>): Promise<void> {
  // Volumes: sequential write (fsync'd) and read of 1 GiB in a volume, in the container's
  // overlay layer and on the host file system the data root is on (reads come from the page
  // cache in all three). Then `cp` of a 1 GiB file both ways against `tar c | tar x` on the host.
    const MiB = 1024;
    spawnSync(NODE, [BERTH, 'run', '-d', '--name', 'benchvol', '-v', 'benchvol:/vol', 'busybox', 'sleep', '3600'], { env: { ...process.env, ...env } });
    // Timed inside the container (or on the host) from /proc/uptime, so no exec overhead counts;
    // busybox's dd prints no rate.
    const ddRate = (cmd: string, args: string[]): number => {
      const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
      const m = /^T ([\d.]+) ([\d.]+)$/m.exec(r.stdout);
      if (r.status !== 0 || !m) throw new Error(`dd: ${r.stderr}`);
      return (MiB * 1048576) / (Number(m[2]) - Number(m[1])) / 1e6;
    };
    const timed = (sh: string) => `s=$(cut -d' ' -f1 /proc/uptime); ${sh} 2>/dev/null; e=$(cut -d' ' -f1 /proc/uptime); echo "T $s $e"`;
    const inCtr = (sh: string) => ['exec', 'benchvol', 'sh', '-c', sh];
    // The three places take turns, five rounds, so drift in the disk's speed hits them alike.
    const hostDir = join(d.root, 'hostio');
    spawnSync('mkdir', ['-p', hostDir]);
    const places: [string, string, (sh: string) => [string, string[]]][] = [
      ['host', hostDir, (sh) => ['sh', ['-c', sh]]],
      ['volume', '/vol', (sh) => [NODE, [BERTH, ...inCtr(sh)]]],
      ['overlay', '/root', (sh) => [NODE, [BERTH, ...inCtr(sh)]]],
    ];
    const samples = new Map(places.map(([name]) => [name, { w: [] as number[], r: [] as number[] }]));
    for (let i = 0; i < 5; i++) {
      for (const [name, where, run] of places) {
        samples.get(name)!.w.push(ddRate(...run(timed(`dd if=/dev/zero of=${where}/f bs=1M count=${MiB} conv=fsync`))));
        samples.get(name)!.r.push(ddRate(...run(timed(`dd if=${where}/f of=/dev/null bs=1M`))));
        spawnSync(...run(`rm -f ${where}/f; sync`), { env: { ...process.env, ...env } });
      }
    }
    const rate = (name: string) => ({ write_MBps: Math.round(median(samples.get(name)!.w)), read_MBps: Math.round(median(samples.get(name)!.r)) });
    const host = rate('host');
    const volume = rate('volume');
    const overlay = rate('overlay');
    results.volume_io_1GiB = {
      host, volume, overlay,
      volume_vs_host_write: Number((volume.write_MBps / host.write_MBps).toFixed(2)),
      target_volume_vs_host: 0.95,
    };

    const big = join(d.root, 'cpsrc');
    spawnSync('mkdir', ['-p', big, join(d.root, 'cpdst')]);
    spawnSync('sh', ['-c', `head -c 1073741824 /dev/urandom > ${big}/big.bin`]);
    const tarPipe: number[] = [];
    const cpIn: number[] = [];
    const cpOut: number[] = [];
    for (let i = 0; i < 3; i++) {
      // Each timed copy starts with nothing dirty and ends with its data on disk.
      spawnSync('sync');
      tarPipe.push(timeCmd('sh', ['-c', `tar c -C ${big} big.bin | tar x -C ${d.root}/cpdst && sync`]));
      spawnSync('rm', ['-f', `${d.root}/cpdst/big.bin`]);
      spawnSync('sync');
      cpIn.push(timeCmd('sh', ['-c', `${NODE} ${BERTH} cp ${big}/big.bin benchvol:/tmp/ && sync`], env));
      spawnSync('sync');
      cpOut.push(timeCmd('sh', ['-c', `${NODE} ${BERTH} cp benchvol:/tmp/big.bin ${d.root}/cpdst/ && sync`], env));
      spawnSync('rm', ['-f', `${d.root}/cpdst/big.bin`]);
      spawnSync(NODE, [BERTH, ...inCtr('rm -f /tmp/big.bin')], { env: { ...process.env, ...env } });
    }
    spawnSync('rm', ['-rf', big, hostDir]);
    spawnSync(NODE, [BERTH, 'rm', '-f', '-v', 'benchvol'], { env: { ...process.env, ...env } });
    spawnSync(NODE, [BERTH, 'volume', 'rm', 'benchvol'], { env: { ...process.env, ...env } });
    const t = median(tarPipe);
    results.cp_1GiB = {
      host_tar_pipe_ms: Math.round(t), cp_in_ms: Math.round(median(cpIn)), cp_out_ms: Math.round(median(cpOut)),
      in_vs_tar: Number((t / median(cpIn)).toFixed(2)), out_vs_tar: Number((t / median(cpOut)).toFixed(2)), target: 0.8,
    };
}

/**
 * Networking (issue 14): start latency on the default bridge against --network none, then a
 * published port on 127.0.0.1: bulk TCP throughput (a container streaming /dev/zero, read for
 * a fixed time) and HTTP requests per second (busybox httpd, new connection each, 8 at a time,
 * for a fixed time). The same beside a private dockerd on a bridge of the bench's own, with
 * its default userland proxy (docker-proxy, which carries loopback traffic).
 */
async function networkBench(d: TestDaemon, env: Record<string, string>, results: Record<string, unknown>): Promise<void> {
  const { connect } = await import('node:net');
  const { request } = await import('node:http');
  const SECONDS = 3;
  const stream = (port: number): Promise<number> => new Promise((resolve, reject) => {
    let bytes = 0;
    const s = connect({ host: '127.0.0.1', port });
    const t0 = process.hrtime.bigint();
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      resolve(bytes / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e6);
    }, SECONDS * 1000);
  });
  const requests = async (port: number): Promise<number> => {
    let n = 0;
    const end = Date.now() + SECONDS * 1000;
    const one = () => new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (Date.now() < end) {
        await one();
        n++;
      }
    }));
    return n / SECONDS;
  };
  const waitServing = async (port: number) => {
    for (let i = 0; i < 100; i++) {
      if (await requests0(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nothing answers on 127.0.0.1:${port}`);
  };
  const requests0 = (port: number) => new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
  const measure = async (cli: string[], cliEnv: Record<string, string>, base: number) => {
    const run = (args: string[]) => spawnSync(cli[0], [...cli.slice(1), ...args], { env: { ...process.env, ...cliEnv }, encoding: 'utf8' });
    const bridge: number[] = [];
    const none: number[] = [];
    for (let i = 0; i < 3; i++) timeCmd(cli[0], [...cli.slice(1), 'run', '--rm', 'busybox', 'true'], cliEnv);
    for (let i = 0; i < RUNS; i++) {
      bridge.push(timeCmd(cli[0], [...cli.slice(1), 'run', '--rm', 'busybox', 'true'], cliEnv));
      none.push(timeCmd(cli[0], [...cli.slice(1), 'run', '--rm', '--network', 'none', 'busybox', 'true'], cliEnv));
    }
    const web = run(['run', '-d', '--name', 'benchweb', '-p', `127.0.0.1:${base}:80`, 'busybox', 'sh', '-c', 'mkdir /h && echo hello > /h/index.html && httpd -f -p 80 -h /h']);
    const zero = run(['run', '-d', '--name', 'benchzero', '-p', `127.0.0.1:${base + 1}:80`, 'busybox', 'nc', '-ll', '-p', '80', '-e', 'cat', '/dev/zero']);
    if (web.status !== 0 || zero.status !== 0) throw new Error(`bench containers: ${web.stderr}${zero.stderr}`);
    try {
      await waitServing(base);
      const rps = await requests(base);
      const mbs = await stream(base + 1);
      return { run_bridge_ms: median(bridge), run_none_ms: median(none), bridge_overhead_ms: median(bridge) - median(none), http_requests_per_s: Math.round(rps), tcp_stream_MB_per_s: Math.round(mbs) };
    } finally {
      run(['rm', '-f', 'benchweb', 'benchzero']);
    }
  };
  const base = 21000 + Math.floor(Math.random() * 1000) * 10;
  const berthSide = await measure([NODE, BERTH], env, base);
  results.network = { berth: berthSide, targets: { bridge_overhead_ms: 20, published_port: '>= dockerd (docker-proxy)' } };
  // dockerd on a bridge of ours, in the test daemon's range (removed with it).
  const [a, b, c] = d.netRange.split('.');
  const dkBridge = `bt-dk${randomBytes(3).toString('hex')}`;
  spawnSync('ip', ['link', 'add', dkBridge, 'type', 'bridge']);
  spawnSync('ip', ['addr', 'add', `${a}.${b}.${Number(c) + 15}.1/24`, 'dev', dkBridge]);
  spawnSync('ip', ['link', 'set', dkBridge, 'up']);
  const dockerd = await startPrivateDockerd(join(d.root, 'dockerd-net'), { bridge: dkBridge });
  try {
    if (!dockerd) {
      (results.network as Record<string, unknown>).dockerd = 'not measured: no dockerd installed (Debian\'s docker.io)';
      return;
    }
    const denv = { DOCKER_HOST: dockerd.host };
    const saved = spawnSync('sh', ['-c', `${NODE} ${BERTH} save busybox | docker load`], { env: { ...process.env, ...env, ...denv }, encoding: 'utf8' });
    if (saved.status !== 0) throw new Error(`loading busybox into dockerd: ${saved.stderr}`);
    (results.network as Record<string, unknown>).dockerd = { version: dockerd.version, ...(await measure(['docker'], denv, base + 5)) };
  } finally {
    await dockerd?.stop();
    spawnSync('ip', ['link', 'del', dkBridge]);
  }
}

/**
 * Builds (issue 15): a cold build and a fully cached rebuild of a 6-step Dockerfile with a
 * 1,000-file, 10 MB context, through berth and beside a private dockerd's classic builder
 * (the docker CLI with DOCKER_BUILDKIT=0).
 */
async function buildBench(d: TestDaemon, env: Record<string, string>, results: Record<string, unknown>): Promise<void> {
  const { mkdirSync: mk, writeFileSync: wf } = await import('node:fs');
  const dir = join(d.root, 'bench-build');
  mk(join(dir, 'src'), { recursive: true });
  for (let i = 0; i < 1000; i++) wf(join(dir, 'src', `f${i}.dat`), randomBytes(10 * 1024));
  wf(join(dir, 'Dockerfile'), 'FROM busybox\nENV APP=/app\nWORKDIR /app\nCOPY src/ /app/src/\nRUN ls /app/src | wc -l > /count\nCMD ["cat", "/count"]\n');
  const cold = (cli: string[], cliEnv: Record<string, string>, tag: string) => timeCmd(cli[0], [...cli.slice(1), 'build', '-q', '--no-cache', '-t', tag, dir], cliEnv);
  const cached = (cli: string[], cliEnv: Record<string, string>, tag: string) => timeCmd(cli[0], [...cli.slice(1), 'build', '-q', '-t', tag, dir], cliEnv);
  const berthCli = [NODE, BERTH];
  const coldB = Array.from({ length: 5 }, () => cold(berthCli, env, 'bench/build:1'));
  // The cold builds' layers are still being written back: cached builds start from a quiet disk.
  spawnSync('sync');
  cached(berthCli, env, 'bench/build:1');
  const cachedB = Array.from({ length: 10 }, () => cached(berthCli, env, 'bench/build:1'));
  const out: Record<string, unknown> = { berth: { cold_ms: Math.round(median(coldB)), cached_ms: Math.round(median(cachedB)) }, targets: { cold: 'no slower than BuildKit', cached_ms: 150 } };
  results.build_6_steps_1000_files_10MB = out;
  const dockerd = await startPrivateDockerd(join(d.root, 'dockerd-build'));
  if (!dockerd) {
    out.dockerd = 'not measured: no dockerd installed (Debian\'s docker.io)';
    return;
  }
  try {
    const denv = { DOCKER_HOST: dockerd.host, DOCKER_BUILDKIT: '0' };
    const loaded = spawnSync('sh', ['-c', `${NODE} ${BERTH} save busybox | docker load`], { env: { ...process.env, ...env, ...denv }, encoding: 'utf8' });
    if (loaded.status !== 0) throw new Error(`loading busybox into dockerd: ${loaded.stderr}`);
    // dockerd runs without a bridge here: RUN needs no network.
    const coldD = Array.from({ length: 3 }, () => timeCmd('docker', ['build', '-q', '--no-cache', '--network', 'none', '-t', 'bench/build:1', dir], denv));
    spawnSync('sync');
    timeCmd('docker', ['build', '-q', '--network', 'none', '-t', 'bench/build:1', dir], denv);
    const cachedD = Array.from({ length: 10 }, () => timeCmd('docker', ['build', '-q', '--network', 'none', '-t', 'bench/build:1', dir], denv));
    out.dockerd_classic = { version: dockerd.version, cold_ms: Math.round(median(coldD)), cached_ms: Math.round(median(cachedD)) };
  } finally {
    await dockerd.stop();
  }
}

/**
 * Push of a new image (issue 17): one 100 MiB layer of random data, imported (so the engine must
 * compress it), pushed to Debian's docker-registry on 127.0.0.1 (neutral for both engines), then
 * pushed again unchanged; beside a private dockerd doing the same. `BENCH_ONLY=push`.
 */
async function pushBench(d: TestDaemon, env: Record<string, string>, results: Record<string, unknown>): Promise<void> {
  const regs = await import('../test/integration/registries.ts');
  if (!regs.HAS_DOCKER_REGISTRY) {
    results.push_new_100MiB = 'not measured: Debian\'s docker-registry is not installed';
    return;
  }
  const reg = await regs.startDockerRegistry();
  const src = join(d.root, 'pushsrc');
  const measure = (cli: string[], cliEnv: Record<string, string>, repo: string) => {
    const first: number[] = [];
    const again: number[] = [];
    for (let i = 0; i < 3; i++) {
      spawnSync('sh', ['-c', `rm -rf ${src} && mkdir -p ${src} && head -c ${100 << 20} /dev/urandom > ${src}/blob && tar -C ${src} -cf ${src}.tar blob`]);
      const ref = `${reg.host}/${repo}:${i}`;
      const imp = spawnSync(cli[0], [...cli.slice(1), 'import', `${src}.tar`, ref], { env: { ...process.env, ...cliEnv } });
      if (imp.status !== 0) throw new Error(`import: ${imp.stderr}`);
      first.push(timeCmd(cli[0], [...cli.slice(1), 'push', ref], cliEnv));
      again.push(timeCmd(cli[0], [...cli.slice(1), 'push', ref], cliEnv));
      spawnSync(cli[0], [...cli.slice(1), 'rmi', ref], { env: { ...process.env, ...cliEnv } });
    }
    return { first_push_ms: Math.round(median(first)), repeated_push_ms: Math.round(median(again)) };
  };
  try {
    const out: Record<string, unknown> = { berth: measure([NODE, BERTH], env, 'bench/berth') };
    const dockerd = await startPrivateDockerd(join(d.root, 'dockerd-push'));
    if (!dockerd) out.dockerd = 'not measured: no dockerd installed (Debian\'s docker.io)';
    else {
      try {
        out.dockerd = { version: dockerd.version, ...measure(['docker'], { DOCKER_HOST: dockerd.host }, 'bench/dockerd') };
      } finally {
        await dockerd.stop();
      }
    }
    const b = out.berth as { first_push_ms: number };
    const k = out.dockerd as { first_push_ms?: number } | string;
    if (typeof k === 'object' && k.first_push_ms) out.first_push_speedup_vs_dockerd = Number((k.first_push_ms / b.first_push_ms).toFixed(2));
    out.target = 'first push >= 1.5x faster than dockerd; repeated pushes instant';
    results.push_new_100MiB = out;
  } finally {
    await reg.stop();
    spawnSync('rm', ['-rf', src, `${src}.tar`]);
  }
}

/**
 * Side by side (issue 17), `BENCH_ONLY=pairs`: the everyday rows, each measured on berth and on
 * a private dockerd (docker CLI) in the same run, with the ratio dockerd/berth (> 1: berth is
 * faster). Both engines run containers with `--network none` here (the bridge rows are in the
 * network bench).
 */
async function pairsBench(d: TestDaemon, env: Record<string, string>, results: Record<string, unknown>): Promise<void> {
  const dockerd = await startPrivateDockerd(join(d.root, 'dockerd-pairs'));
  if (!dockerd) {
    results.pairs = 'not measured: no dockerd installed (Debian\'s docker.io)';
    return;
  }
  const denv = { DOCKER_HOST: dockerd.host };
  try {
    const loaded = spawnSync('sh', ['-c', `${NODE} ${BERTH} save busybox | docker load`], { env: { ...process.env, ...env, ...denv }, encoding: 'utf8' });
    if (loaded.status !== 0) throw new Error(`loading busybox into dockerd: ${loaded.stderr}`);
    type Cli = { run: (args: string[]) => number; sh: (args: string[]) => string };
    const cli = (cmd: string[], cenv: Record<string, string>): Cli => ({
      run: (args) => timeCmd(cmd[0], [...cmd.slice(1), ...args], cenv),
      sh: (args) => {
        const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], { env: { ...process.env, ...cenv }, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      },
    });
    const engines: [string, Cli][] = [['berth', cli([NODE, BERTH], env)], ['dockerd', cli(['docker'], denv)]];
    const rows: Record<string, Record<string, number>> = {};
    const row = (name: string, n: number, f: (c: Cli) => number, warm = 2) => {
      rows[name] = {};
      for (const [e, c] of engines) {
        for (let i = 0; i < warm; i++) f(c);
        rows[name][`${e}_ms`] = Math.round(median(Array.from({ length: n }, () => f(c))) * 10) / 10;
      }
      rows[name].ratio = Math.round((rows[name].dockerd_ms / rows[name].berth_ms) * 100) / 100;
    };
    // Engine memory: the daemons (berthd and its spawner; dockerd and its containerd) idle, and
    // per container with 100 running (the daemons' growth plus each container's monitor:
    // berth-shim; containerd-shim-runc-v2).
    const dockerdPid = Number(readFileSync(join(d.root, 'dockerd-pairs', 'docker.pid'), 'utf8').trim());
    const memOf: Record<string, () => ReturnType<typeof engineRss>> = {
      berth: () => engineRss(d.pid!, ['berth-spawner'], (p) => p.comm === 'berth-shim' && p.cmd.includes(d.execRoot) && !p.cmd.includes('--exec-process')),
      dockerd: () => engineRss(dockerdPid, ['containerd'], (p) => p.comm.startsWith('containerd-shim') && p.cmd.includes(`berth-${process.pid}`)),
    };
    const idleMem = { berth: memOf.berth(), dockerd: memOf.dockerd() };
    row('cli_start (--version, no daemon)', RUNS, (c) => c.run(['--version']));
    row('version', RUNS, (c) => c.run(['version']));
    row('run --rm --network none busybox true', RUNS, (c) => c.run(['run', '--rm', '--network', 'none', 'busybox', 'true']));
    row('ps with none running', RUNS, (c) => c.run(['ps']));
    for (const [, c] of engines) c.sh(['run', '-d', '--name', 'pairexec', '--network', 'none', 'busybox', 'sleep', '600']);
    row('exec CONTAINER true', RUNS, (c) => c.run(['exec', 'pairexec', 'true']));
    row('ps with 1 running', RUNS, (c) => c.run(['ps']));
    for (const [, c] of engines) c.sh(['run', '--name', 'pairlogs', '--network', 'none', 'busybox', 'sh', '-c', 'seq 1 100000']);
    row('logs of 100,000 lines', 10, (c) => c.run(['logs', 'pairlogs']), 1);
    for (const [, c] of engines) {
      c.sh(['rm', '-f', 'pairexec', 'pairlogs']);
      for (let i = 0; i < 100; i++) c.sh(['run', '-d', '--network', 'none', '--label', 'pairs=1', 'busybox', 'sleep', '600']);
    }
    row('ps with 100 running', RUNS, (c) => c.run(['ps']));
    await new Promise((r) => setTimeout(r, 2000));
    const mem = (name: string, f: (e: 'berth' | 'dockerd') => number) => {
      rows[name] = { berth_kib: f('berth'), dockerd_kib: f('dockerd') };
      rows[name].ratio = Math.round((rows[name].dockerd_kib / rows[name].berth_kib) * 100) / 100;
    };
    const fullMem = { berth: memOf.berth(), dockerd: memOf.dockerd() };
    for (const e of ['berth', 'dockerd'] as const) {
      if (fullMem[e].monitors !== 100) throw new Error(`${e}: ${fullMem[e].monitors} container monitors found for 100 containers`);
    }
    mem('engine memory, idle (daemons\' RSS)', (e) => idleMem[e].daemons_kib);
    mem('engine memory per container, 100 running', (e) => Math.round((fullMem[e].daemons_kib - idleMem[e].daemons_kib + fullMem[e].monitors_kib) / 100));
    rows['rm -f of 100 running'] = {};
    for (const [e, c] of engines) {
      const ids = c.sh(['ps', '-q', '--filter', 'label=pairs=1']).split('\n').filter(Boolean);
      rows['rm -f of 100 running'][`${e}_ms`] = Math.round(c.run(['rm', '-f', ...ids]));
    }
    const r = rows['rm -f of 100 running'];
    r.ratio = Math.round((r.dockerd_ms / r.berth_ms) * 100) / 100;
    results.pairs = { dockerd: dockerd.version, rows };
  } finally {
    await dockerd.stop();
  }
}

async function main(): Promise<void> {
  const d = await TestDaemon.start({ extraArgs: ['--log-level', 'debug'] });
  const results: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS, node: process.versions.node };
  try {
    await d.importBusybox();
    const env = { BERTH_HOST: d.host };
    const berth = (args: string[]) => timeCmd(NODE, [BERTH, ...args], env);
    const only = process.argv.includes('scale') ? 'scale' : process.env.BENCH_ONLY;
    if (only === 'volumes' || only === 'network' || only === 'build' || only === 'scale' || only === 'push' || only === 'pairs') {
      const file = join(ROOT, 'bench', 'results.json');
      const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
      if (only === 'scale') await (await import('./scale.ts')).scaleBench(d, previous);
      else if (only === 'volumes') await volumeBench(d, env, previous);
      else if (only === 'build') await buildBench(d, env, previous);
      else if (only === 'push') await pushBench(d, env, previous);
      else if (only === 'pairs') await pairsBench(d, env, previous);
      else await networkBench(d, env, previous);
      const json = JSON.stringify(previous, null, 2);
      process.stdout.write(json + '\n');
      writeFileSync(file, json + '\n');
      return;
    }

    // CLI start-up: a command that needs no daemon.
    const cliStart = Array.from({ length: RUNS }, () => berth(['--version']));
    // One API round trip on top of start-up.
    const version = Array.from({ length: RUNS }, () => berth(['version']));
    // The whole run path.
    for (let i = 0; i < 3; i++) berth(['run', '--rm', 'busybox', 'true']);
    const logStart = d.readLog().length;
    const run = Array.from({ length: RUNS }, () => berth(['run', '--rm', 'busybox', 'true']));
    const phases = { specMs: [] as number[], shimCreateMs: [] as number[], startMs: [] as number[] };
    for (const m of d.readLog().slice(logStart).matchAll(/msg="container started".*specMs=([\d.]+).*shimCreateMs=([\d.]+).*startMs=([\d.]+)/g)) {
      phases.specMs.push(Number(m[1]));
      phases.shimCreateMs.push(Number(m[2]));
      phases.startMs.push(Number(m[3]));
    }
    results.berth_version_ms = { median: median(cliStart), target: 60 };
    results.berth_version_with_api_ms = { median: median(version) };
    results.run_rm_true_ms = {
      median: median(run),
      target: 150,
      breakdown: {
        cli_start: median(cliStart),
        api_round_trip: median(version) - median(cliStart),
        spec_and_bundle: phases.specMs.length ? median(phases.specMs) : null,
        mount_and_runtime_create: phases.shimCreateMs.length ? median(phases.shimCreateMs) : null,
        runtime_start: phases.startMs.length ? median(phases.startMs) : null,
      },
    };

    // Memory: the idle daemon and one shim supervising an idle container.
    const cid = spawnSync(NODE, [BERTH, 'run', '-d', 'busybox', 'sleep', '300'], { env: { ...process.env, ...env } }).stdout.toString().trim();
    await new Promise((r) => setTimeout(r, 500));
    const shimPid = Number(readFileSync(join(d.execRoot, 'c', cid, 'shim.pid'), 'utf8'));
    results.rss_kib = { berthd_idle: rssKiB(d.pid!), shim_per_container: rssKiB(shimPid), target_kib: 1024 };
    spawnSync(NODE, [BERTH, 'rm', '-f', cid], { env: { ...process.env, ...env } });

    // Logs: 100,000 lines printed, read back to /dev/null.
    spawnSync(NODE, [BERTH, 'run', '--name', 'logbench', 'busybox', 'sh', '-c', 'seq 1 100000'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const logs = Array.from({ length: Math.min(RUNS, 10) }, () => berth(['logs', 'logbench']));
    results.logs_100k_lines_ms = { median: median(logs), target: 300 };

    // exec latency into a running container.
    const ex = spawnSync(NODE, [BERTH, 'run', '-d', '--name', 'execbench', 'busybox', 'sleep', '600'], { env: { ...process.env, ...env } }).stdout.toString().trim();
    for (let i = 0; i < 3; i++) berth(['exec', 'execbench', 'true']);
    const execs = Array.from({ length: RUNS }, () => berth(['exec', 'execbench', 'true']));
    results.exec_true_ms = { median: median(execs), target: 60 };
    spawnSync(NODE, [BERTH, 'rm', '-f', ex], { env: { ...process.env, ...env } });

    // Attach throughput: output of a container streamed through shim, berthd and the CLI.
    const MB = 500_000_000;
    const viaAttach = (extra: string[], bytes: number) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('sh', ['-c', `${NODE} ${BERTH} run --rm ${extra.join(' ')} busybox sh -c 'yes | head -c ${bytes}' | wc -c`], { env: { ...process.env, ...env } });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (Number(r.stdout.toString().trim()) !== bytes) throw new Error('attach throughput run lost bytes');
      return bytes / 1e6 / s;
    };
    const pipeOnly = (() => {
      const t0 = process.hrtime.bigint();
      spawnSync(NODE, [BERTH, 'run', '--rm', '--log-driver', 'none', 'busybox', 'sh', '-c', `yes | head -c ${MB} | cat > /dev/null`], { env: { ...process.env, ...env } });
      return MB / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
    })();
    results.attach_throughput_MBps = {
      log_driver_none_500MB: Math.round(viaAttach(['--log-driver', 'none'], MB)),
      json_file_50MB: Math.round(viaAttach([], MB / 10)),
      producer_through_a_pipe_in_container: Math.round(pipeOnly),
      target: 300,
    };

    // Registry transfer: a 3-layer image with 100 MB of incompressible data, pushed to and
    // pulled back from a registry on loopback: `berth registry` and, when installed, Debian's
    // reference registry. Plus the registry's own blob-serving rate for one 100 MB blob.
    const regs = await import('../test/integration/registries.ts');
    const { makeImage, uploadImage } = await import('../test/integration/synthetic.ts');
    // Each flow pulls its own image (fresh random data), so no blob is already in the content
    // store; two small pulls first warm berthd and its pull workers up (JIT), as on any daemon that
    // has run a while.
    const bytes = 100 << 20;
    const flows: [string, string, () => Promise<import('../test/integration/registries.ts').RunningRegistry>][] = [
      ['berth_registry', 'berth registry', () => regs.startBerthRegistry()],
    ];
    if (existsSync('/usr/bin/docker-registry')) flows.push(['docker_registry', 'docker-registry (Debian, distribution 2.8)', () => regs.startDockerRegistry()]);
    for (const [key, label, start] of flows) {
      const reg = await start();
      const dst = await start();
      try {
        for (const w of ['w1', 'w2']) {
          const warm = await makeImage([4 << 20, 4 << 20, 4 << 20]);
          await uploadImage(reg.url, 'bench/warm', w, warm);
          berth(['pull', `${reg.host}/bench/warm:${w}`]);
          spawnSync(NODE, [BERTH, 'rmi', `${reg.host}/bench/warm:${w}`], { env: { ...process.env, ...env } });
        }
        const img = await makeImage([34 << 20, 33 << 20, 33 << 20]);
        await uploadImage(reg.url, `bench/${key}`, 'v1', img);
        const name = `${reg.host}/bench/${key}:v1`;
        const pullMs = berth(['pull', name]);
        // Push to another registry, so every byte is uploaded (no cross-repository mount).
        spawnSync(NODE, [BERTH, 'tag', name, `${dst.host}/bench/dst:v1`], { env: { ...process.env, ...env } });
        const pushMs = berth(['push', `${dst.host}/bench/dst:v1`]);
        const imgId = spawnSync(NODE, [BERTH, 'image', 'inspect', '-f', '{{.Id}}', name], { env: { ...process.env, ...env } }).stdout.toString().trim();
        spawnSync(NODE, [BERTH, 'rmi', '-f', imgId], { env: { ...process.env, ...env } });
        const repullMs = berth(['pull', `${dst.host}/bench/dst:v1`]);
        const big = img.layers[0];
        const serve: number[] = [];
        // curl as the client, so the rate is the server's, not a Node client's.
        for (let i = 0; i < 5; i++) {
          const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{speed_download}', `${reg.url}/v2/bench/${key}/blobs/${big.digest}`], { encoding: 'utf8' });
          const [n, rate] = r.stdout.trim().split(' ').map(Number);
          if (n !== big.data.length) throw new Error(`short blob read: ${r.stdout} ${r.stderr}`);
          serve.push(rate / 1e6);
        }
        spawnSync(NODE, [BERTH, 'rmi', '-f', imgId], { env: { ...process.env, ...env } });
        results[`registry_100MB_3_layers_${key}`] = {
          registry: label,
          pull_and_unpack_ms: Math.round(pullMs),
          pull_MBps: Math.round(bytes / 1e3 / pullMs),
          push_ms: Math.round(pushMs),
          push_MBps: Math.round(bytes / 1e3 / pushMs),
          pull_again_after_rmi_ms: Math.round(repullMs),
          blob_serving_MBps: Math.round(Math.max(...serve)),
          note: 'rmi deletes the layer blobs too, so the pull after rmi downloads everything again',
          reference: 'issue: dockerd pull 1.46 s, Podman pull 1.01 s, Podman push 1.61 s, dockerd push 3.89 s (one 100 MiB layer); registry serving target 500 MB/s',
        };
      } finally {
        await reg.stop();
        await dst.stop();
      }
    }

    // Images and layers: save/load of a 300 MB, 5-layer image; commit of 10,000 changed files;
    // `berth images` with 1,000 images.
    {
      const reg = await regs.startBerthRegistry();
      try {
        const img = await makeImage([60 << 20, 60 << 20, 60 << 20, 60 << 20, 60 << 20]);
        await uploadImage(reg.url, 'bench/big', 'v1', img);
        const name = `${reg.host}/bench/big:v1`;
        berth(['pull', name]);
        const bytes = img.layers.reduce((a, l) => a + l.data.length, 0);
        const file = join(d.root, 'big.tar');
        const saveMs = berth(['save', '-o', file, name]);
        spawnSync(NODE, [BERTH, 'rmi', name], { env: { ...process.env, ...env } });
        const loadMs = berth(['load', '-i', file]);
        spawnSync(NODE, [BERTH, 'rmi', name], { env: { ...process.env, ...env } });
        results.save_load_300MB_5_layers = {
          save_ms: Math.round(saveMs), save_MBps: Math.round(bytes / 1e3 / saveMs),
          load_ms: Math.round(loadMs), load_MBps: Math.round(bytes / 1e3 / loadMs),
          target: '2x dockerd throughput',
        };
        // The same image through dockerd, side by side: it loads berth's archive, then saves and
        // loads its own (uncompressed layers), which berth loads too.
        const dockerd = dockerAvailable() ? undefined : await startPrivateDockerd(join(d.root, 'dockerd'));
        if (dockerd) {
          try {
            const denv = { DOCKER_HOST: dockerd.host };
            const docker = (args: string[]) => timeCmd('docker', args, denv);
            docker(['load', '-i', file]);
            const dfile = join(d.root, 'docker-big.tar');
            const dSave = docker(['save', '-o', dfile, name]);
            docker(['rmi', name]);
            spawnSync('sync');
            const dLoad = docker(['load', '-i', dfile]);
            spawnSync('sync');
            const bLoad = berth(['load', '-i', dfile]);
            spawnSync(NODE, [BERTH, 'rmi', name], { env: { ...process.env, ...env } });
            results.save_load_300MB_5_layers_dockerd = {
              dockerd: dockerd.version,
              docker_save_ms: Math.round(dSave), docker_load_ms: Math.round(dLoad),
              berth_load_of_docker_archive_ms: Math.round(bLoad),
              save_speedup: Number((dSave / saveMs).toFixed(2)), load_speedup: Number((dLoad / bLoad).toFixed(2)),
            };
            spawnSync('rm', ['-f', dfile]);
          } finally {
            await dockerd.stop();
          }
        } else if (!dockerAvailable()) {
          results.save_load_300MB_5_layers_dockerd = 'not measured: no dockerd installed (Debian\'s docker.io)';
        }
        spawnSync('rm', ['-f', file]);
      } finally {
        await reg.stop();
      }
      spawnSync(NODE, [BERTH, 'run', '--name', 'manyfiles', 'busybox', 'sh', '-c', 'mkdir /d && cd /d && i=0; while [ $i -lt 10000 ]; do echo $i > f$i; i=$((i+1)); done'], { env: { ...process.env, ...env } });
      const commitMs = berth(['commit', 'manyfiles', 'bench/manyfiles:1']);
      spawnSync(NODE, [BERTH, 'rm', 'manyfiles'], { env: { ...process.env, ...env } });
      results.commit_10000_files_ms = Math.round(commitMs);

      const tarStream = (await import('tar-stream')).default;
      const tiny = async (i: number) => {
        const pack = tarStream.pack();
        pack.entry({ name: 'id' }, String(i));
        pack.finalize();
        const chunks: Buffer[] = [];
        for await (const c of pack) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      };
      const { request } = await import('node:http');
      for (let i = 0; i < 1000; i++) {
        const body = await tiny(i);
        await new Promise<void>((resolve, reject) => {
          const req = request({ socketPath: d.sock, method: 'POST', path: `/images/create?fromSrc=-&repo=bench/many&tag=${i}`, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', reject);
          req.end(body);
        });
      }
      const list = Array.from({ length: 5 }, () => berth(['images']));
      const listQ = Array.from({ length: 5 }, () => berth(['images', '-q']));
      results.images_1000_ms = { table: median(list), quiet: median(listQ), target: 100 };
    }

    await volumeBench(d, env, results);
    await networkBench(d, env, results);
    await buildBench(d, env, results);
    await pushBench(d, env, results);
    await pairsBench(d, env, results);

    if (dockerAvailable()) {
      const denv = { DOCKER_HOST: 'unix:///var/run/docker.sock' };
      const drun = Array.from({ length: RUNS }, () => timeCmd('docker', ['run', '--rm', 'busybox', 'true'], denv));
      results.docker_run_rm_true_ms = { median: median(drun) };
    } else {
      results.docker = 'not measured: no dockerd on /var/run/docker.sock (install Debian\'s docker.io to compare)';
    }
  } finally {
    await d.cleanup();
  }
  const json = JSON.stringify(results, null, 2);
  process.stdout.write(json + '\n');
  writeFileSync(join(ROOT, 'bench', 'results.json'), json + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
