/**
 * Integration test harness: a real berthd with its own data root, exec root, socket and
 * cgroup parent, driven through the real `berth` CLI (and the real `docker` CLI), cleaned up
 * completely afterwards — containers, shims, mounts, cgroups and directories — even when a
 * test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync, rmdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const BERTH = join(ROOT, 'dist', 'berth.js');
export const BERTHD = join(ROOT, 'dist', 'berthd.js');
export const DOCKER = '/usr/local/bin/docker';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  timeoutMs?: number;
}

function runProcess(cmd: string, args: string[], opts: RunOptions & { baseEnv: Record<string, string> }): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...opts.baseEnv, ...(opts.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    p.stdin.on('error', () => {});
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}

export class TestDaemon {
  readonly root: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly sock: string;
  readonly cgroupParent: string;
  /** The default bridge's name and the /20 every network of this daemon takes its subnet from. */
  readonly bridge: string;
  readonly netRange: string;
  readonly bip: string;
  readonly logFile: string;
  private proc: ChildProcess | undefined;
  readonly runtime: string;

  private constructor(runtime: string) {
    // Short paths: the shims' Unix sockets live under the exec root (108-byte limit).
    this.root = mkdtempSync('/tmp/bt-');
    // Traversable (o+x), as /var/lib is: a remapped container root must reach its root filesystem.
    chmodSync(this.root, 0o711);
    this.dataRoot = join(this.root, 'data');
    this.execRoot = join(this.root, 'run');
    this.sock = join(this.execRoot, 'berth.sock');
    this.cgroupParent = `/berth-test-${randomBytes(4).toString('hex')}`;
    this.bridge = `bt-${randomBytes(4).toString('hex')}`;
    const [a, b] = freeTestRange();
    this.netRange = `10.${a}.${b * 16}.0/20`;
    this.bip = `10.${a}.${b * 16}.1/24`;
    this.logFile = join(this.root, 'berthd.log');
    this.runtime = runtime;
  }

  get host(): string {
    return `unix://${this.sock}`;
  }

  /** A command berthd runs under (its arguments follow): a private mount namespace, say. */
  private wrap: string[] = [];

  static async start(opts: { runtime?: string; extraArgs?: string[]; env?: Record<string, string>; config?: Record<string, unknown>; tmpfsDataRootMb?: number; wrap?: string[] } = {}): Promise<TestDaemon> {
    const d = new TestDaemon(opts.runtime ?? 'crun');
    if (opts.tmpfsDataRootMb) {
      // A small data root, to run out of space on purpose (unmounted by cleanup()).
      spawnSync('mkdir', ['-p', d.dataRoot]);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.tmpfsDataRootMb}m`, 'tmpfs', d.dataRoot]);
      if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr.toString()}`);
    }
    // Its own bridge and addresses, so daemons running side by side never share either.
    writeFileSync(join(d.root, 'daemon.json'), JSON.stringify({ bridge: d.bridge, bip: d.bip, 'default-address-pools': [{ base: d.netRange, size: 24 }], ...(opts.config ?? {}) }));
    d.env = opts.env ?? {};
    d.wrap = opts.wrap ?? [];
    try {
      await d.startDaemon(opts.extraArgs ?? []);
    } catch (e) {
      await d.cleanup();
      throw e;
    }
    return d;
  }

  private env: Record<string, string> = {};

  /** Rewrites daemon.json for the next startDaemon, keeping this daemon's own bridge and addresses. */
  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(join(this.root, 'daemon.json'), JSON.stringify({ bridge: this.bridge, bip: this.bip, 'default-address-pools': [{ base: this.netRange, size: 24 }], ...config }));
  }

  /** The environment of the next startDaemon (BERTH_FAILPOINT, say). */
  setEnv(env: Record<string, string>): void {
    this.env = env;
  }

  /** Waits for berthd to exit by itself (a failpoint). */
  async exited(timeoutMs = 30_000): Promise<boolean> {
    const p = this.proc;
    if (!p) return true;
    if (p.exitCode !== null || p.signalCode !== null) return true;
    return new Promise((r) => {
      const t = setTimeout(() => r(false), timeoutMs);
      p.once('exit', () => {
        clearTimeout(t);
        r(true);
      });
    });
  }

  async startDaemon(extraArgs: string[] = []): Promise<void> {
    const cfg = join(this.root, 'daemon.json');
    if (!existsSync(cfg)) writeFileSync(cfg, '{}\n');
    const { openSync } = await import('node:fs');
    const out = openSync(this.logFile, 'a');
    const argv = [NODE, BERTHD, '--config-file', cfg, '--data-root', this.dataRoot, '--exec-root', this.execRoot,
      '-H', this.host, '--cgroup-parent', this.cgroupParent, '--default-runtime', this.runtime, ...extraArgs];
    const [cmd, ...args] = [...this.wrap, ...argv];
    this.proc = spawn(cmd, args, {
      stdio: ['ignore', out, out],
      detached: false,
      env: { ...process.env, ...this.env },
    });
    const started = Date.now();
    while (!(await this.ping())) {
      if (this.proc.exitCode !== null) throw new Error(`berthd exited: ${readFileSync(this.logFile, 'utf8')}`);
      if (Date.now() - started > 15_000) throw new Error(`berthd did not start: ${readFileSync(this.logFile, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  ping(): Promise<boolean> {
    return new Promise((r) => {
      const req = request({ socketPath: this.sock, path: '/_ping', method: 'GET' }, (res) => {
        res.resume();
        r(res.statusCode === 200);
      });
      req.on('error', () => r(false));
      req.end();
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Stops berthd (SIGTERM by default) and waits for it to exit. */
  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill(signal);
    });
    this.proc = undefined;
  }

  /** `berth ARGS` run as the launcher's #! line runs it (`node -- berth.js`). */
  berth(args: string[], opts: RunOptions = {}): Promise<Result> {
    return runProcess(NODE, ['--', BERTH, ...args], { ...opts, baseEnv: { BERTH_HOST: this.host, BERTH_CONFIG: join(this.root, 'berth-config') } });
  }

  /** `berth ARGS` that must succeed: its stdout, or a failure naming the command and its stderr. */
  async ok(args: string[]): Promise<string> {
    const r = await this.berth(args);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** The same through the docker CLI. */
  async dockerOk(args: string[]): Promise<string> {
    const r = await this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Debian's docker-compose (1.29, docker-py underneath) against this daemon. */
  compose(args: string[], opts: RunOptions = {}): Promise<Result> {
    return runProcess('docker-compose', args, { ...opts, baseEnv: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.root, 'docker-config') } });
  }

  docker(args: string[], opts: RunOptions = {}): Promise<Result> {
    return runProcess(DOCKER, args, { ...opts, baseEnv: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.root, 'docker-config') } });
  }

  /** Imports the default busybox image (from Debian's busybox-static). */
  async importBusybox(ref = 'busybox:latest'): Promise<string> {
    const tar = spawnSync('sh', [join(ROOT, 'scripts', 'mkbusybox.sh')], { maxBuffer: 64 << 20 });
    if (tar.status !== 0) throw new Error(`mkbusybox failed: ${tar.stderr.toString()}`);
    const r = await this.berth(['import', '-c', 'CMD ["sh"]', '-', ref], { input: tar.stdout });
    if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Removes everything the daemon made: containers, shims, mounts, cgroups, files. */
  async cleanup(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const ids = await this.berth(['ps', '-aq', '--no-trunc']).catch(() => undefined);
      for (const id of ids?.stdout.split('\n').filter(Boolean) ?? []) await this.berth(['rm', '-f', id]).catch(() => {});
      await this.stopDaemon();
    }
    killShims(this.execRoot);
    unmountUnder(this.root);
    removeCgroups(this.cgroupParent);
    removeTestNetworks(this.bridge, this.netRange);
    // Links berthd made and listed (bridges, and macvlan networks' parents: dummy links carry no address to find them by).
    try {
      const made = JSON.parse(readFileSync(join(this.dataRoot, 'network', 'bridges.json'), 'utf8')) as string[];
      for (const name of made) spawnSync('ip', ['link', 'del', 'dev', name], { stdio: 'ignore' });
    } catch {
      // none made, or the file is gone with its data root
    }
    // No test may make berthd look up Docker Hub (no internet here, and none wanted): a lookup
    // fails, and its error names the host in the log.
    const hub = /[^\n]*(registry-1\.docker\.io|index\.docker\.io|auth\.docker\.io)[^\n]*/.exec(this.readLog());
    rmSync(this.root, { recursive: true, force: true });
    if (hub) throw new Error(`berthd looked up Docker Hub during this test file: ${hub[0]}`);
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

function killShims(execRoot: string): void {
  const dir = join(execRoot, 'c');
  if (!existsSync(dir)) return;
  for (const id of readdirSync(dir)) {
    try {
      const pid = Number(readFileSync(join(dir, id, 'shim.pid'), 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    for (const rt of ['crun', 'runc']) {
      spawnSync(rt === 'crun' ? 'crun' : 'runc', ['--root', join(execRoot, 'runtime', rt), 'delete', '--force', id], { stdio: 'ignore' });
    }
  }
}

export function mountsUnder(prefix: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(prefix));
}

function unmountUnder(prefix: string): void {
  for (const m of mountsUnder(prefix).reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}

export function cgroupDirs(parent: string): string[] {
  const out: string[] = [];
  const base = '/sys/fs/cgroup';
  for (const ctrl of existsSync(base) ? readdirSync(base) : []) {
    const p = join(base, ctrl, parent);
    if (existsSync(p)) out.push(p);
  }
  if (existsSync(join(base, parent))) out.push(join(base, parent));
  return out;
}

function removeCgroups(parent: string): void {
  for (const dir of cgroupDirs(parent)) {
    // children first; cgroup directories are removed with rmdir, not rm -r
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      try {
        rmdirSync(d);
      } catch {
        // busy or gone
      }
    };
    walk(dir);
  }
}

export interface PrivateDockerd {
  host: string;
  version: string;
  stop(): Promise<void>;
}

/**
 * A dockerd of our own when Debian's docker.io is installed: its own data root, exec root,
 * socket and containerd namespace, no bridge and no firewall rules, so it touches nothing
 * outside `dir`. Undefined when dockerd is not installed or does not come up.
 */
export async function startPrivateDockerd(dir: string, opts: { bridge?: string } = {}): Promise<PrivateDockerd | undefined> {
  if (spawnSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' }).status !== 0) return undefined;
  const sock = join(dir, 'docker.sock');
  // Its containers' cgroups go under one of ours, removed with it (v1 controllers or v2).
  const cgroupParent = `/berth-dockerd-${process.pid}`;
  const proc = spawn('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '-H', `unix://${sock}`,
    // On a bridge the caller made (the bench's, in its own range) or none; never the firewall.
    opts.bridge ? `--bridge=${opts.bridge}` : '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false',
    '--containerd-namespace', `berth-${process.pid}`, '--containerd-plugins-namespace', `berth-${process.pid}-plugins`,
    '--cgroup-parent', cgroupParent,
  ], { stdio: 'ignore', detached: true });
  const host = `unix://${sock}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l; rm -rf ${dir}`]);
    removeCgroups(cgroupParent);
  };
  for (let i = 0; i < 150; i++) {
    const v = spawnSync(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_HOST: host }, encoding: 'utf8' });
    if (v.status === 0) return { host, version: v.stdout.trim(), stop };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  return undefined;
}

/** A 10.a.(b*16).0/20 no host route overlaps (another test daemon's bridges add routes). */
function freeTestRange(): [number, number] {
  const routes = readFileSync('/proc/net/route', 'utf8');
  for (;;) {
    const a = 200 + Math.floor(Math.random() * 50);
    const b = Math.floor(Math.random() * 16);
    // /proc/net/route holds destinations in little-endian hex: 10.a.x.y → yyxxaa0a.
    const hex = (n: number) => n.toString(16).padStart(2, '0').toUpperCase();
    const taken = routes.split('\n').some((l) => {
      const dest = l.split('\t')[1];
      if (!dest || dest.length !== 8) return false;
      return dest.slice(6, 8) === hex(10) && dest.slice(4, 6) === hex(a) && Math.floor(parseInt(dest.slice(2, 4), 16) / 16) === b;
    });
    if (!taken) return [a, b];
  }
}

/** The test daemon's bridges (its default one and those with an address in its range) and their firewall rules. */
export function removeTestNetworks(bridge: string, range: string): void {
  const prefix = range.split('.').slice(0, 2).join('.') + '.';
  const third = Number(range.split('.')[2]);
  const bridges = new Set([bridge]);
  const addrs = spawnSync('ip', ['-o', '-4', 'addr', 'show', 'type', 'bridge'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of addrs.split('\n')) {
    const m = /^\d+: (\S+)\s+inet (\d+\.\d+\.(\d+)\.\d+)\//.exec(line);
    if (m && m[2].startsWith(prefix) && Math.floor(Number(m[3]) / 16) === third / 16) bridges.add(m[1]);
  }
  for (const br of bridges) {
    spawnSync('ip', ['link', 'del', 'dev', br], { stdio: 'ignore' });
    // Every chain Berth writes, published ports' rules included (a test that failed midway).
    // IPv6 ones too (dual-stack networks).
    for (const cmd of ['iptables', 'ip6tables']) {
      for (const [table, chain] of [['nat', 'BERTH-POSTROUTING'], ['filter', 'BERTH-FORWARD'], ['nat', 'BERTH-DNAT'], ['filter', 'BERTH-ISOLATION-1'], ['filter', 'BERTH-ISOLATION-2']]) {
        const rules = spawnSync(cmd, ['-w', '-t', table, '-S', chain], { encoding: 'utf8' }).stdout ?? '';
        for (const r of rules.split('\n')) {
          if (!r.startsWith(`-A ${chain} `) || !(r.includes(`berth:${br} `) || r.includes(`berth:${br}"`) || r.endsWith(`berth:${br}`) || r.includes(`berth-port:${br}:`))) continue;
          const args = r.slice(3).match(/"[^"]*"|\S+/g)!.map((x) => x.replace(/^"|"$/g, ''));
          spawnSync(cmd, ['-w', '-t', table, '-D', ...args], { stdio: 'ignore' });
        }
      }
    }
  }
}
