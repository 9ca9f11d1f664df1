/**
 * Client side of berth-shim, the per-container monitor (shim/README.md is the contract).
 *
 * berthd launches one shim per container start (and per exec); the shim double-forks away,
 * runs the OCI runtime, owns the container's stdio, log and exit status, and serves a Unix
 * stream socket in its state directory. Every method here is one request on a fresh
 * connection, so nothing depends on a long-lived connection surviving a daemon restart.
 */
import { runCommand, sealedCopy } from '../lib/spawner.ts';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError, system, unavailable } from '../errdefs/index.ts';

export interface ShimLaunchOptions {
  shimPath: string;
  id: string;
  bundle: string;
  runtimePath: string;
  runtimeRoot: string;
  stateDir: string;
  logPath?: string;
  logMaxSize?: number;
  logMaxFile?: number;
  /** Rotated log files are gzipped (json-file's compress). */
  logCompress?: boolean;
  /** A JSON object written as each log line's "attrs" (json-file's labels/env options). */
  logAttrs?: string;
  /** The syslog driver: where to (`udp:IP:PORT`, `tcp:…`, `unix:PATH`, `unixgram:PATH`, "" local), the format, facility, and each message's head. */
  syslog?: { address: string; format: string; facility: number; head: string };
  /**
   * The gelf driver: where to (`udp:IP:PORT`, `tcp:IP:PORT`), UDP's compression and level, TCP's
   * reconnections (per line, seconds apart), and each message's JSON before the quoted line
   * and after its timestamp and level.
   */
  gelf?: { address: string; compression: 'gzip' | 'zlib' | 'none'; level: number; maxReconnect: number; reconnectDelay: number; head: string; tail: string };
  /**
   * The fluentd driver (fluent-logger-golang's forward protocol): where to (`tcp:IP:PORT`,
   * `unix:PATH`), each event's fixed msgpack parts in hex (the array and tag; the record's other
   * fields and their count; whether source and log are the line's own), and the logger's
   * buffering, retries, async mode, sub-second times, acknowledgements and timeouts.
   */
  fluentd?: {
    address: string; head: string; fields: string; nfields: number; ownSource: boolean; ownLog: boolean;
    bufferLimit: number; retryWaitMs: number; maxRetries: number; async: boolean; asyncReconnectMs: number;
    subSecond: boolean; requestAck: boolean; writeTimeoutMs: number; readTimeoutMs: number;
  };
  /** The journald driver: the fixed fields of each entry, in the journal's native protocol (hex). */
  journald?: { fields: string };
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  execProcess?: string;
  overlay?: { target: string; data: string; cwd: string };
  oomFile?: string;
  /**
   * Read-only paths whose mount flags the shim makes match runc's (nosuid, nodev, noexec
   * kept) before the start; given for crun, which only adds ro. Also drops a dangling /dev/core.
   */
  roPaths?: string[];
  /** The container's OOM score: the shim takes it before starting the runtime. */
  oomScoreAdj?: number;
  /** --ipc shareable: the shim mounts a tmpfs of `size` bytes here before create, unmounts it at exit. */
  shm?: { path: string; size: number };
  /** The container's network namespace: the shim holds a DNS relay socket on 127.0.0.11 there (dnsRelay()). */
  dnsNetns?: string;
}

export interface ExitInfo {
  exitCode: number;
  exitedAt: string;
  oomKilled: boolean;
}

/** Maps a runtime's error text to docker's exit codes: 127 not found, 126 cannot invoke. */
export function runtimeErrorExitCode(message: string): number | undefined {
  if (/executable file .* not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|is a directory|exec format error|not executable/i.test(message)) return 126;
  return undefined;
}

export class ShimStartError extends EngineError {
  readonly runtimeMessage: string;
  constructor(runtimeMessage: string) {
    const code = runtimeErrorExitCode(runtimeMessage);
    super('System', runtimeMessage, code === undefined ? undefined : { exitCode: code });
    this.runtimeMessage = runtimeMessage;
  }
}

function launchArgs(o: ShimLaunchOptions): string[] {
  const a = ['--id', o.id, '--bundle', o.bundle, '--runtime', o.runtimePath, '--runtime-root', o.runtimeRoot, '--state-dir', o.stateDir];
  if (o.logPath) {
    a.push('--log-path', o.logPath);
    if (o.logMaxSize) a.push('--log-max-size', String(o.logMaxSize));
    if (o.logMaxFile) a.push('--log-max-file', String(o.logMaxFile));
    if (o.logCompress) a.push('--log-compress');
    if (o.logAttrs) a.push('--log-attrs', o.logAttrs);
  }
  if (o.syslog) a.push('--syslog-address', o.syslog.address, '--syslog-format', o.syslog.format || 'unix', '--syslog-facility', String(o.syslog.facility), '--syslog-head', o.syslog.head);
  if (o.gelf) {
    a.push('--gelf-address', o.gelf.address, '--gelf-compression', o.gelf.compression, '--gelf-level', String(o.gelf.level),
      '--gelf-max-reconnect', String(o.gelf.maxReconnect), '--gelf-reconnect-delay', String(o.gelf.reconnectDelay), '--gelf-head', o.gelf.head, '--gelf-tail', o.gelf.tail);
  }
  if (o.fluentd) {
    const f = o.fluentd;
    a.push('--fluentd-address', f.address, '--fluentd-head', f.head, '--fluentd-fields', f.fields || '-', '--fluentd-nfields', String(f.nfields),
      '--fluentd-keys', String((f.ownSource ? 1 : 0) | (f.ownLog ? 2 : 0)), '--fluentd-buffer-limit', String(f.bufferLimit),
      '--fluentd-retry-wait', String(f.retryWaitMs), '--fluentd-max-retries', String(f.maxRetries), '--fluentd-reconnect-interval', String(f.asyncReconnectMs),
      '--fluentd-write-timeout', String(f.writeTimeoutMs), '--fluentd-read-timeout', String(f.readTimeoutMs));
    if (f.async) a.push('--fluentd-async');
    if (f.subSecond) a.push('--fluentd-sub-second');
    if (f.requestAck) a.push('--fluentd-request-ack');
  }
  if (o.journald) a.push('--journald-fields', o.journald.fields);
  if (o.tty) a.push('--tty');
  if (o.stdin) a.push('--stdin');
  if (o.stdinOnce) a.push('--stdin-once');
  if (o.execProcess) a.push('--exec-process', o.execProcess);
  if (o.overlay) a.push('--overlay-target', o.overlay.target, '--overlay-data', o.overlay.data, '--overlay-cwd', o.overlay.cwd);
  if (o.oomFile) a.push('--oom-file', o.oomFile);
  if (o.roPaths) a.push('--ro-paths', o.roPaths.join(':'));
  if (o.shm) a.push('--shm-path', o.shm.path, '--shm-size', String(o.shm.size));
  if (o.oomScoreAdj !== undefined) a.push('--oom-score-adj', String(o.oomScoreAdj));
  if (o.dnsNetns) a.push('--dns-netns', o.dnsNetns);
  return a;
}

/** Starts a shim; resolves with the container's pid (0 in exec mode) once it reports ready. */
export async function launchShim(o: ShimLaunchOptions): Promise<number> {
  const args = launchArgs(o);
  // One sealed copy of the runtime for every shim, held by berth-spawner (shim/sealed.h).
  const exe = await sealedCopy(o.runtimePath);
  if (exe) args.push('--runtime-exe', exe);
  const r = await runCommand(o.shimPath, args).catch((e: Error) => {
    throw unavailable(`cannot run berth-shim (${o.shimPath}): ${e.message}`, e);
  });
  const out = r.stdout;
  let report: { ok?: boolean; pid?: number; error?: string } | undefined;
  try {
    report = JSON.parse(out.trim().split('\n').pop() ?? '') as typeof report;
  } catch {
    report = undefined;
  }
  if (report?.ok === true && typeof report.pid === 'number') return report.pid;
  if (report && typeof report.error === 'string') throw new ShimStartError(report.error);
  throw system(`berth-shim failed (exit ${r.code ?? r.signal}): ${r.stderr.trim() || out.trim() || 'no report'}`);
}

export class ShimClient {
  readonly stateDir: string;

  constructor(stateDir: string) {
    this.stateDir = stateDir;
  }

  get socketPath(): string {
    return join(this.stateDir, 'attach.sock');
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.socketPath);
      const fail = (e: Error) => reject(gone(e));
      s.once('connect', () => {
        s.off('error', fail);
        resolve(s);
      });
      s.once('error', fail);
    });
  }

  /** Sends one request line and returns the reply line. */
  async request(line: string): Promise<string> {
    const s = await this.connect();
    return new Promise((resolve, reject) => {
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          s.destroy();
          resolve(buf.slice(0, nl));
        }
      });
      // A shim that exits as the request arrives refuses, resets or never reads it (EPIPE):
      // all mean the same, that the process has ended.
      s.on('error', (e) => reject(gone(e)));
      s.on('close', () => reject(Object.assign(system(`berth-shim closed the connection on "${line}"`), { [SHIM_GONE]: true })));
      s.write(line + '\n');
    });
  }

  private async ok(line: string): Promise<string> {
    const reply = await this.request(line);
    if (reply.startsWith('ok')) return reply.slice(2).trim();
    throw system(reply.startsWith('err ') ? reply.slice(4) : reply);
  }

  /** Starts the process; returns its pid. */
  async start(): Promise<number> {
    const reply = await this.request('start');
    if (reply.startsWith('ok')) return Number(reply.slice(2).trim());
    throw new ShimStartError(reply.startsWith('err ') ? reply.slice(4) : reply);
  }

  async kill(signal: number): Promise<void> {
    await this.ok(`kill ${signal}`);
  }

  async resize(rows: number, cols: number): Promise<void> {
    await this.ok(`resize ${rows} ${cols}`);
  }

  async closeStdin(): Promise<void> {
    await this.ok('closestdin');
  }

  /**
   * Waits for the process to exit. The connection stays open until then; it rejects if the
   * shim goes away without answering (then read `readExit()`).
   */
  async wait(): Promise<ExitInfo> {
    const reply = await this.request('wait');
    return parseExit(reply);
  }

  /** Opens an attach stream; `flags` is a subset of "ioe". */
  async attach(flags: string): Promise<Socket> {
    const s = await this.connect();
    s.write(`attach ${flags}\n`);
    // The shim answers "ok\n" once the stream is registered, so output that follows a start
    // issued after this returns is never missed.
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        s.off('data', onData);
        s.off('error', reject);
        s.pause();
        const nl = d.indexOf(0x0a);
        const line = d.subarray(0, nl < 0 ? d.length : nl).toString();
        if (!line.startsWith('ok')) {
          s.destroy();
          return reject(system(line.startsWith('err ') ? line.slice(4) : `attach failed: ${line}`));
        }
        const rest = nl < 0 ? Buffer.alloc(0) : d.subarray(nl + 1);
        if (rest.length) s.unshift(rest);
        resolve();
      };
      s.on('data', onData);
      s.once('error', reject);
    });
    return s;
  }

  /**
   * Takes the container's DNS queries (the shim's relay socket, 127.0.0.11:port in its
   * namespace): the connection carries frames both ways, the port is where to send port 53.
   */
  async dnsRelay(): Promise<{ socket: Socket; port: number }> {
    const s = await this.connect();
    s.write('dns\n');
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer) => {
        const nl = d.indexOf(0x0a);
        if (nl < 0) return;
        s.off('data', onData);
        s.off('error', reject);
        s.pause();
        const line = d.subarray(0, nl).toString();
        if (!line.startsWith('ok ')) {
          s.destroy();
          return reject(system(line.startsWith('err ') ? line.slice(4) : `dns relay: ${line}`));
        }
        if (d.length > nl + 1) s.unshift(d.subarray(nl + 1));
        resolve(Number(line.slice(3)));
      };
      s.on('data', onData);
      s.once('error', reject);
    });
    return { socket: s, port };
  }

  async readExit(): Promise<ExitInfo | undefined> {
    try {
      return parseExit(await readFile(join(this.stateDir, 'exit.json'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** True if a shim answers on the socket. */
  async alive(): Promise<boolean> {
    try {
      const s = await this.connect();
      s.destroy();
      return true;
    } catch {
      return false;
    }
  }
}

const SHIM_GONE = Symbol.for('berth.shimGone');
const GONE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

function gone(e: Error): Error {
  return GONE_CODES.has((e as NodeJS.ErrnoException).code ?? '') ? Object.assign(e, { [SHIM_GONE]: true }) : e;
}

/** True if a request failed because the shim had gone (its process ended). */
export function isShimGone(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[SHIM_GONE] === true;
}

function parseExit(text: string): ExitInfo {
  const v = JSON.parse(text) as Partial<ExitInfo>;
  if (typeof v.exitCode !== 'number') throw system(`berth-shim sent a malformed exit status: ${text}`);
  return { exitCode: v.exitCode, exitedAt: String(v.exitedAt ?? new Date().toISOString()), oomKilled: v.oomKilled === true };
}
