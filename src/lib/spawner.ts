/**
 * Short commands (ip, unshare, umount, berth-shim) run through berth-spawner (shim/spawner.c).
 * libuv forks the whole process for every child, and fork copies the page tables: in berthd,
 * whose memory grows with its containers, one spawn cost ~11 ms at 250 containers. The spawner
 * is started once, while berthd is small, and forks itself instead (a fraction of a
 * millisecond). Without it (not wired, or gone) commands are spawned directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { EngineError } from '../errdefs/index.ts';
import { log } from './log.ts';

export interface CommandResult {
  /** Exit code, or null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The spawner's requests are capped (spawner.c MAX_REQ); bigger ones are spawned directly. */
const MAX_REQUEST = 1 << 20;
/** The descriptor of the spawner's first sealed copy (spawner.c SEAL_FD). */
const SEAL_FD = 100;

export class Spawner {
  private readonly proc: ChildProcess;
  private readonly waiting = new Map<number, { resolve: (r: CommandResult) => void; reject: (e: Error) => void; cmd: string }>();
  private next = 1;
  private pending: Buffer = Buffer.alloc(0);
  private gone: Error | undefined;
  private closed = false;

  /** The binaries the spawner holds sealed copies of, in order (spawner.c `--seal`). */
  private readonly sealed: string[];
  /** Each one's file as it was copied: a binary replaced since (an upgrade) is run by its path. */
  private readonly sealedStats: (Stats | undefined)[];

  private constructor(path: string, sealed: string[]) {
    this.sealed = sealed;
    this.sealedStats = sealed.map((p) => statSync(p, { throwIfNoEntry: false }));
    this.proc = spawn(path, sealed.flatMap((p) => ['--seal', p]), { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.unref();
    const fail = (e: Error) => {
      if (this.gone) return;
      this.gone = e;
      if (!this.closed) log.warn('berth-spawner stopped; commands are spawned directly', { error: e.message });
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.proc.on('error', fail);
    this.proc.on('exit', (code, sig) => fail(new Error(`berth-spawner exited (${sig ?? code})`)));
    this.proc.stdin!.on('error', fail);
    this.proc.stdout!.on('data', (d: Buffer) => this.onData(d));
    this.hold(false);
    (this.proc.stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** The spawner keeps berthd's loop alive only while a command of ours runs in it. */
  private hold(on: boolean): void {
    const out = this.proc.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (on) out.ref?.();
    else out.unref?.();
  }

  /** Starts the spawner; `sealed`: OCI runtimes it keeps a sealed copy of for berth-shim. */
  static start(path: string, sealed: string[] = []): Spawner {
    return new Spawner(path, sealed);
  }

  /**
   * Where berth-shim finds the spawner's sealed copy of `binary` (spawner.c SEAL_FD), while the
   * spawner runs and the binary is the file it copied; the shim checks the seals and otherwise
   * makes its own copy.
   */
  async sealedCopy(binary: string): Promise<string | undefined> {
    const i = this.sealed.indexOf(binary);
    const was = this.sealedStats[i];
    if (i < 0 || !was || this.gone || !this.proc.pid) return undefined;
    const now = await stat(binary).catch(() => undefined);
    if (!now || now.ino !== was.ino || now.dev !== was.dev || now.size !== was.size || now.mtimeMs !== was.mtimeMs) return undefined;
    return `/proc/${this.proc.pid}/fd/${SEAL_FD + i}`;
  }

  get usable(): boolean {
    return !this.gone;
  }

  private onData(d: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + len) break;
      const f = this.pending.subarray(4, 4 + len);
      this.pending = this.pending.subarray(4 + len);
      const id = f.readUInt32LE(0);
      const status = f.readInt32LE(4);
      const outLen = f.readUInt32LE(8);
      const stdout = f.toString('utf8', 12, 12 + outLen);
      const errLen = f.readUInt32LE(12 + outLen);
      const stderr = f.toString('utf8', 16 + outLen, 16 + outLen + errLen);
      const w = this.waiting.get(id);
      if (!w) continue;
      this.waiting.delete(id);
      if (!this.waiting.size) this.hold(false);
      if (status <= -1000) {
        const errno = -1000 - status;
        const name = Object.entries(constants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
        const e = new Error(`spawn ${w.cmd} ${name}`) as NodeJS.ErrnoException;
        e.code = name;
        w.reject(e);
      } else if (status < 0) {
        const signal = (Object.entries(constants.signals).find(([, v]) => v === -status)?.[0] ?? null) as NodeJS.Signals | null;
        w.resolve({ code: null, signal, stdout, stderr });
      } else {
        w.resolve({ code: status, signal: null, stdout, stderr });
      }
    }
  }

  /** Runs `cmd`; with `timeoutMs`, its process group is killed (SIGKILL) once that has passed. */
  run(cmd: string, args: string[], input = '', timeoutMs = 0): Promise<CommandResult> {
    const parts = [cmd, ...args].map((a) => Buffer.from(`${a}\0`));
    const inBuf = Buffer.from(input);
    const size = 16 + parts.reduce((n, p) => n + p.length, 0) + inBuf.length;
    if (this.gone || size > MAX_REQUEST) return spawnDirect(cmd, args, input, timeoutMs);
    const id = this.next++;
    const head = Buffer.alloc(16);
    head.writeUInt32LE(size, 0);
    head.writeUInt32LE(id, 4);
    head.writeUInt32LE(parts.length, 8);
    head.writeUInt32LE(timeoutMs, 12);
    const inLen = Buffer.alloc(4);
    inLen.writeUInt32LE(inBuf.length, 0);
    return new Promise((resolve, reject) => {
      if (!this.waiting.size) this.hold(true);
      this.waiting.set(id, { resolve, reject, cmd });
      this.proc.stdin!.write(Buffer.concat([head, ...parts, inLen, inBuf]));
    });
  }

  close(): void {
    this.closed = true;
    this.proc.stdin?.end();
  }
}

/** The same, by spawning from this process. */
export function spawnDirect(cmd: string, args: string[], input = '', timeoutMs = 0): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A tool that fails early closes its stdin: its exit status tells, not an EPIPE.
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

let current: Spawner | undefined;

/** berthd's wiring: commands go through this spawner from now on. */
export function useSpawner(s: Spawner | undefined): void {
  current = s;
}

/** The current spawner's sealed copy of an OCI runtime, for berth-shim's `--runtime-exe`. */
export async function sealedCopy(binary: string): Promise<string | undefined> {
  return current?.sealedCopy(binary);
}

/** Runs a short command to its end, with `input` on its stdin, collecting its output. */
export function runCommand(cmd: string, args: string[], input = '', timeoutMs = 0): Promise<CommandResult> {
  return current?.usable ? current.run(cmd, args, input, timeoutMs) : spawnDirect(cmd, args, input, timeoutMs);
}

/**
 * The same, for commands whose failure is the daemon's: stdout on success; a System error naming
 * the command as `shown` (default: the command line) and its stderr, or its status, otherwise.
 */
export async function runChecked(cmd: string, args: string[], input = '', shown = `${cmd} ${args.join(' ')}`): Promise<string> {
  const r = await runCommand(cmd, args, input).catch((e: Error) => {
    throw new EngineError('System', `${shown}: ${e.message}`);
  });
  if (r.code !== 0) throw new EngineError('System', `${shown}: ${r.stderr.trim() || `exit status ${r.code ?? r.signal}`}`);
  return r.stdout;
}
