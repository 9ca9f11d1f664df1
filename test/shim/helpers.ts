// Helpers for the berth-shim integration tests: build the shim, make busybox
// bundles, start shims, talk to attach.sock, and clean everything up.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHIM = path.join(ROOT, 'shim/berth-shim');
export const CRUN = '/usr/bin/crun';
export const RUNC = '/usr/sbin/runc';

export function buildShim(): void {
  execFileSync('make', ['-s', '-C', path.join(ROOT, 'shim')], { stdio: 'inherit' });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie (our sandbox's pid 1 may not reap) counts as dead
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function isMounted(target: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === target);
}

type Spec = { process: { args: string[]; terminal: boolean; [k: string]: unknown }; [k: string]: unknown };

/**
 * A test environment: a temp dir holding a busybox rootfs, a runtime root and
 * one state dir per shim.  `cleanup()` deletes every container, kills every
 * shim, unmounts and removes the directory, whatever state the test left.
 */
export class Env {
  dir: string;
  rootfs: string;
  runtimeRoot: string;
  baseSpec: Spec;
  shims: { id: string; runtime: string; stateDir: string }[] = [];
  mounts: string[] = [];
  private n = 0;

  constructor() {
    // short: unix socket paths must stay under 108 bytes
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-'));
    this.rootfs = path.join(this.dir, 'rootfs');
    this.runtimeRoot = path.join(this.dir, 'rt');
    fs.mkdirSync(path.join(this.rootfs, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(this.rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(this.rootfs, 'bin/busybox'), 0o755);
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n');
    for (const a of applets) {
      if (a && a !== 'busybox') fs.symlinkSync('busybox', path.join(this.rootfs, 'bin', a));
    }
    for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc']) fs.mkdirSync(path.join(this.rootfs, d));
    const specDir = path.join(this.dir, 'spec');
    fs.mkdirSync(specDir);
    execFileSync(CRUN, ['spec'], { cwd: specDir });
    this.baseSpec = JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8'));
  }

  /** A bundle whose config.json runs args (rootfs shared, read-only). */
  bundle(args: string[], opts: { terminal?: boolean; pidns?: boolean; rootfs?: string } = {}): string {
    const b = path.join(this.dir, `b${++this.n}`);
    fs.mkdirSync(b);
    const spec = structuredClone(this.baseSpec) as Spec & { root: { path: string }; linux: { namespaces: { type: string }[] } };
    spec.process.terminal = opts.terminal ?? false;
    spec.process.args = args;
    spec.root.path = opts.rootfs ?? this.rootfs;
    if (opts.pidns === false) spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'pid');
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
    return b;
  }

  /** A process.json for exec mode: the bundle's process with new args. */
  processFile(args: string[], terminal = false): string {
    const f = path.join(this.dir, `p${++this.n}.json`);
    fs.writeFileSync(f, JSON.stringify({ ...this.baseSpec.process, args, terminal }));
    return f;
  }

  stateDir(): string {
    const d = path.join(this.dir, `s${++this.n}`);
    fs.mkdirSync(d);
    return d;
  }

  async cleanup(): Promise<void> {
    for (const s of this.shims) {
      try {
        const pid = Number(fs.readFileSync(path.join(s.stateDir, 'shim.pid'), 'utf8'));
        if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
      } catch {}
    }
    for (const rt of [CRUN, RUNC]) {
      for (const id of new Set(this.shims.filter((s) => s.runtime === rt).map((s) => s.id))) {
        try {
          execFileSync(rt, ['--root', this.runtimeRoot, 'delete', '-f', id], { stdio: 'ignore' });
        } catch {}
      }
    }
    for (const m of this.mounts) {
      if (isMounted(m)) execFileSync('umount', ['-l', m]);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export type ShimOpts = {
  id: string;
  bundle: string;
  runtime?: string;
  stateDir?: string;
  logPath?: string | null; // default <stateDir>/ctr.log; null = no log
  extra?: string[];
};

export type Shim = {
  id: string;
  stateDir: string;
  sock: string;
  logPath: string | null;
  report: { ok: boolean; pid?: number; error?: string };
  code: number | null;
  stderr: string;
};

/** Run berth-shim and wait for its ready report (the first process exits). */
export function startShim(env: Env, o: ShimOpts): Promise<Shim> {
  const runtime = o.runtime ?? CRUN;
  const stateDir = o.stateDir ?? env.stateDir();
  const logPath = o.logPath === undefined ? path.join(stateDir, 'ctr.log') : o.logPath;
  const args = ['--id', o.id, '--bundle', o.bundle, '--runtime', runtime, '--runtime-root', env.runtimeRoot, '--state-dir', stateDir];
  if (logPath) args.push('--log-path', logPath);
  args.push(...(o.extra ?? []));
  env.shims.push({ id: o.id, runtime, stateDir });
  return new Promise((resolve, reject) => {
    const p = spawn(SHIM, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    // 'close' needs EOF on stdout: proves the monitor does not hold it
    p.on('close', (code) => {
      try {
        resolve({ id: o.id, stateDir, sock: path.join(stateDir, 'attach.sock'), logPath, report: JSON.parse(out), code, stderr: err });
      } catch (e) {
        reject(new Error(`bad report ${JSON.stringify(out)} (exit ${code}, stderr ${err}): ${e}`));
      }
    });
  });
}

/** Send one request line; resolve with everything the shim sends until it closes. */
export function request(sock: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let data = '';
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', (d) => (data += d));
    c.on('error', reject);
    c.on('close', () => resolve(data));
  });
}

export type ExitInfo = { exitCode: number; exitedAt: string; oomKilled: boolean };

/**
 * `wait`, the way berthd must do it: a shim that has just exited may refuse
 * the connection or close it unanswered, and then exit.json has the answer.
 */
export async function waitExit(sock: string): Promise<ExitInfo> {
  let r = '';
  try {
    r = await request(sock, 'wait');
  } catch (e) {
    // A shim exiting as the request arrives refuses it, resets it, or never reads it (EPIPE).
    if (!['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes((e as NodeJS.ErrnoException).code!)) throw e;
  }
  if (r === '') r = fs.readFileSync(path.join(path.dirname(sock), 'exit.json'), 'utf8');
  if (!r.endsWith('\n')) throw new Error(`bad wait reply ${JSON.stringify(r)}`);
  return JSON.parse(r);
}

export type Attach = { sock: net.Socket; data: () => Buffer; closed: Promise<void> };

/** `attach <flags>`: resolves once connected; data() is everything received so far. */
export function attach(sockPath: string, flags: string, first = ''): Promise<Attach> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.createConnection(sockPath);
    sock.on('data', (d) => chunks.push(d));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.on('error', reject);
    sock.on('connect', () => {
      sock.write(`attach ${flags}\n${first}`); // first: stdin bytes in the same write
      // The shim acknowledges the registration with "ok\n" before the stream starts.
      const data = () => {
        const all = Buffer.concat(chunks);
        if (all.length < 3) return Buffer.alloc(0);
        if (!all.subarray(0, 3).equals(Buffer.from('ok\n'))) throw new Error(`attach not acknowledged: ${JSON.stringify(all.subarray(0, 20).toString())}`);
        return all.subarray(3);
      };
      resolve({ sock, data, closed });
    });
  });
}

/** Decode Docker stdcopy frames into [stream, payload] pairs (checks the headers). */
export function demux(b: Buffer): { stream: number; data: string }[] {
  const out: { stream: number; data: string }[] = [];
  let i = 0;
  while (i < b.length) {
    if (i + 8 > b.length) throw new Error('truncated header');
    const stream = b[i];
    if (b[i + 1] !== 0 || b[i + 2] !== 0 || b[i + 3] !== 0) throw new Error('bad header');
    const len = b.readUInt32BE(i + 4);
    if (i + 8 + len > b.length) throw new Error('truncated frame');
    out.push({ stream, data: b.subarray(i + 8, i + 8 + len).toString() });
    i += 8 + len;
  }
  return out;
}

export type LogEntry = { log: string; stream: string; time: string };

export function readLog(file: string): LogEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Go's time.RFC3339Nano in UTC. */
export const RFC3339NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;
