/**
 * `docker exec`: extra processes in a running container. Each exec gets its own berth-shim
 * in exec mode (the shim runs `runtime exec --detach`, reaps the process as subreaper and
 * records its exit), so an exec's exit code survives a disconnected client.
 *
 * Exec records live in memory, as in dockerd: they go with their container and with the
 * daemon. Runtime state: <exec-root>/e/<exec-id>/ (process.json and the shim's files).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { conflict, invalidParameter, notFound, EngineError, messageOf } from '../../errdefs/index.ts';
import { newId } from '../../lib/idprefix.ts';
import { log } from '../../lib/log.ts';
import { frame } from '../../lib/stdcopy.ts';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../lib/escape.ts';
import { isShimGone, launchShim, runtimeErrorExitCode, ShimClient, ShimStartError, type ExitInfo } from '../../runtime/shim.ts';
import { GRANTABLE_CAPS, type OciProcess } from '../../runtime/spec.ts';
import type { ContainerService } from '../container/service.ts';
import { joinStreams } from '../container/streams.ts';
import type { ExecCreateInput } from '../server/bodies.ts';
import { lookupUser } from '../container/user.ts';
import type { EventSink } from '../events/service.ts';
import { containerEvent } from '../container/events.ts';

/** The exec's configuration as created (POST /containers/{id}/exec, decoded). */
export type ExecConfig = ExecCreateInput;

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

interface ExecRecord {
  id: string;
  containerId: string;
  config: Required<Pick<ExecConfig, 'Tty' | 'AttachStdin' | 'AttachStdout' | 'AttachStderr' | 'Privileged'>> & ExecConfig;
  cmd: string[];
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  stateDir: string;
  detachKeys: number[];
  /** Resolves once the exit is recorded. */
  exited: Promise<void>;
  markExited: () => void;
}

/** moby's event action for an exec: the program, a space, its arguments (so "true " alone). */
function execAction(cmd: string[]): string {
  return `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}

export class ExecService {
  private readonly execRoot: string;
  private readonly containers: ContainerService;
  private readonly shimPath: string;
  private readonly execs = new Map<string, ExecRecord>();

  private readonly events: EventSink;

  constructor(execRoot: string, shimPath: string, containers: ContainerService, events: EventSink) {
    this.events = events;
    this.execRoot = execRoot;
    this.shimPath = shimPath;
    this.containers = containers;
  }

  private get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  /** IDs of the execs of a container still running (docker's ExecIDs). */
  idsFor(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId && e.running).map((e) => e.id);
  }

  /** Forgets the execs of a removed container. */
  forget(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }

  create(ref: string, b: ExecConfig): { Id: string } {
    const cmd = b.Cmd ?? [];
    if (cmd.length === 0) throw invalidParameter('No exec command specified');
    const target = this.containers.execTarget(ref);
    const env = b.Env ?? [];
    for (const e of env) if (e.startsWith('=') || e === '') throw invalidParameter(`invalid environment variable: ${e}`);
    const detachKeys = parseDetachKeys(b.DetachKeys || DEFAULT_DETACH_KEYS);
    const id = newId();
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    this.execs.set(id, {
      id,
      containerId: target.container.id,
      config: { ...b, Env: env, Tty: b.Tty === true, AttachStdin: b.AttachStdin === true, AttachStdout: b.AttachStdout === true, AttachStderr: b.AttachStderr === true, Privileged: b.Privileged === true },
      cmd,
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
      stateDir: join(this.execRoot, 'e', id),
      exited,
      markExited,
      detachKeys,
    });
    containerEvent({ events: this.events }, target.container, `exec_create: ${execAction(cmd)}`, { execID: id });
    return { Id: id };
  }

  inspect(id: string): ExecInspect {
    const e = this.get(id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: { tty: e.config.Tty, entrypoint: e.cmd[0], arguments: e.cmd.slice(1), privileged: e.config.Privileged, ...(e.config.User ? { user: e.config.User } : {}) },
      OpenStdin: e.config.AttachStdin,
      OpenStderr: e.config.AttachStderr,
      OpenStdout: e.config.AttachStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      Pid: e.pid,
    };
  }

  /** Lets a start handler fail with an error before it hijacks the connection. */
  check(id: string): void {
    const e = this.get(id);
    if (e.started) throw conflict(`Error: Exec command ${id} has already run`);
    this.containers.execTarget(e.containerId);
  }

  /** The process.json for the runtime: the container's process, changed as the exec asks. */
  private async processSpec(e: ExecRecord, consoleSize: [number, number] | undefined): Promise<OciProcess> {
    const target = this.containers.execTarget(e.containerId);
    const spec = JSON.parse(await readFile(join(target.bundle, 'config.json'), 'utf8')) as { process: OciProcess };
    const p = spec.process;
    const env = [...p.env];
    for (const kv of e.config.Env ?? []) {
      if (!kv.includes('=')) continue;
      const key = kv.slice(0, kv.indexOf('='));
      const i = env.findIndex((x) => x.startsWith(`${key}=`));
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    const user = e.config.User ? await lookupUser(await target.layerDirs(), e.config.User) : undefined;
    // HOME follows the exec's user unless the container or the exec set one (runc's rule).
    if (user && ![...(target.container.rec.Config.Env ?? []), ...(e.config.Env ?? [])].some((kv) => kv.startsWith('HOME='))) {
      const i = env.findIndex((kv) => kv.startsWith('HOME='));
      if (i >= 0) env[i] = `HOME=${user.home}`;
      else env.push(`HOME=${user.home}`);
    }
    const proc: OciProcess = {
      ...p,
      terminal: e.config.Tty,
      args: e.cmd,
      env,
      cwd: e.config.WorkingDir || p.cwd,
      ...(user ? { user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } } : {}),
      ...(e.config.Privileged ? { capabilities: { bounding: [...GRANTABLE_CAPS], effective: [...GRANTABLE_CAPS], permitted: [...GRANTABLE_CAPS] } } : {}),
    };
    delete proc.consoleSize;
    if (e.config.Tty && consoleSize && consoleSize[0] > 0 && consoleSize[1] > 0) proc.consoleSize = { height: consoleSize[0], width: consoleSize[1] };
    return proc;
  }

  /**
   * Starts the exec. With `client` (a hijacked connection) the process's streams are joined
   * to it and this resolves when they end; without, it runs detached.
   */
  async start(id: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] }, client?: Duplex): Promise<void> {
    const e = this.get(id);
    if (e.started) throw conflict(`Error: Exec command ${id} has already run`);
    e.started = true;
    const target = this.containers.execTarget(e.containerId);
    await rm(e.stateDir, { recursive: true, force: true });
    await mkdir(e.stateDir, { recursive: true, mode: 0o700 });
    const cleanup = () => rm(e.stateDir, { recursive: true, force: true }).catch(() => {});
    try {
      await writeFile(join(e.stateDir, 'process.json'), JSON.stringify(await this.processSpec(e, opts.consoleSize ?? e.config.ConsoleSize ?? undefined)));
      await launchShim({
        shimPath: this.shimPath,
        id: e.containerId,
        bundle: target.bundle,
        runtimePath: target.runtimePath,
        runtimeRoot: target.runtimeRoot,
        stateDir: e.stateDir,
        tty: e.config.Tty,
        stdin: e.config.AttachStdin && !opts.detach,
        stdinOnce: e.config.AttachStdin && !opts.detach,
        execProcess: join(e.stateDir, 'process.json'),
        oomScoreAdj: target.container.rec.HostConfig.OomScoreAdj,
      });
    } catch (err) {
      e.exitCode = 126;
      e.markExited();
      await cleanup();
      if (opts.detach || !client) throw err;
      // The stream is already the client's (hijacked): dockerd writes the failure into it as
      // output and the client reads the exit code (126) after; an HTTP answer there breaks it.
      const text = Buffer.from(`${messageOf(err)}\r\n`);
      client.end((opts.tty ?? e.config.Tty) ? text : frame(1, text));
      return;
    }
    const shim = new ShimClient(e.stateDir);
    /** Set when the process never started: its code (126, 127) is the exec's, not the runtime's own exit. */
    let startFailed: number | undefined;
    const record = (exit: ExitInfo | undefined) => {
      e.running = false;
      e.exitCode = startFailed ?? exit?.exitCode ?? 255;
      e.markExited();
      containerEvent({ events: this.events }, target.container, 'exec_die', { execID: e.id, exitCode: String(e.exitCode) });
      void cleanup();
    };
    shim.wait().then(record, async () => record(await shim.readExit()));
    let startError: string | undefined;
    let startSettled!: () => void;
    const settled = new Promise<void>((r) => (startSettled = r));
    let joined: Promise<unknown> = Promise.resolve();
    if (client && !opts.detach) {
      const flags = (e.config.AttachStdin ? 'i' : '') + (e.config.AttachStdout ? 'o' : '') + (e.config.AttachStderr ? 'e' : '');
      if (flags) {
        const s = await shim.attach(flags);
        // The client reads the stream framed as its start request said, whatever terminal
        // the process got at create (moby frames by execStartCheck.Tty).
        const framedTty = opts.tty ?? e.config.Tty;
        joined = joinStreams(s, client, {
          stdin: e.config.AttachStdin,
          // Only a terminal has detach keys (moby's CopyStreams); other stdin is data.
          ...(e.config.Tty ? { detachKeys: e.detachKeys } : {}),
          ...(framedTty && !e.config.Tty ? { stripFrames: true } : {}),
          ...(!framedTty && e.config.Tty ? { frameOutput: true } : {}),
          // The client asks for the exit code as soon as the stream ends: record it first.
          beforeEnd: async () => {
            await settled;
            await e.exited;
            // dockerd writes a start failure into the stream; the client then reads the exit code.
            if (startError) client.write(framedTty ? Buffer.from(`${startError}\r\n`) : frame(1, Buffer.from(`${startError}\r\n`)));
          },
        });
      }
    }
    try {
      e.pid = await shim.start();
      e.running = true;
      containerEvent({ events: this.events }, target.container, `exec_start: ${execAction(e.cmd)}`, { execID: e.id });
    } catch (err) {
      const msg = err instanceof ShimStartError ? execError(err.runtimeMessage, e.cmd[0]) : messageOf(err);
      e.exitCode = startFailed = err instanceof ShimStartError ? runtimeErrorExitCode(err.runtimeMessage) ?? 126 : 126;
      log.debug('exec failed to start', { id, error: msg });
      if (opts.detach || !client) {
        startSettled();
        throw new EngineError('System', msg, { exitCode: e.exitCode });
      }
      startError = msg;
    }
    startSettled();
    await joined;
  }

  /**
   * A health probe: `cmd` run in the container as an exec, its output (stdout and stderr
   * together, the first `maxOutput` bytes) kept; killed at the timeout (exit code -1).
   */
  async probe(containerId: string, cmd: string[], timeoutMs: number, maxOutput: number): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const { Id } = this.create(containerId, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const e = this.get(Id);
    const kept: Buffer[] = [];
    let size = 0;
    const sink = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (size < maxOutput) kept.push(chunk.subarray(0, maxOutput - size));
        size += chunk.length;
        cb();
      },
      final(cb) {
        this.push(null);
        cb();
      },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The probe's process ends; its exit is recorded as usual.
      new ShimClient(e.stateDir).kill(9).catch(() => {});
    }, timeoutMs);
    try {
      // Framed as a terminal asks: the streams arrive joined, unframed.
      const started = await this.start(Id, { detach: false, tty: true }, sink).then(() => true, (err: unknown) => {
        kept.push(Buffer.from(messageOf(err)));
        return false;
      });
      // A start refused before any process (the container stopped meanwhile) records no exit.
      if (started || e.exitCode !== null) await Promise.race([e.exited, new Promise((r) => setTimeout(r, timeoutMs + 5_000).unref())]);
    } finally {
      clearTimeout(timer);
      // Probes are not user execs: they leave no record behind.
      this.execs.delete(Id);
    }
    return { exitCode: timedOut ? -1 : e.exitCode ?? -1, output: Buffer.concat(kept).toString('utf8'), timedOut };
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const e = this.get(id);
    if (!e.running) return; // docker accepts a resize that races the start
    if (!e.config.Tty) return;
    // An exec ending as the resize arrives is no error: there is nothing left to resize.
    await new ShimClient(e.stateDir).resize(rows, cols).catch((err: unknown) => {
      if (!isShimGone(err)) throw err;
    });
  }
}

/** docker's wording for an exec that cannot start. */
function execError(runtimeMessage: string, path: string): string {
  const prefix = 'OCI runtime exec failed: exec failed: unable to start container process';
  if (/executable file .*not found/i.test(runtimeMessage)) return `${prefix}: exec: "${path}": executable file not found in $PATH: unknown`;
  // a missing working directory (-w), in runc's words (crun says "chdir `/x`: No such file or directory")
  const cwd = /chdir (?:to cwd \("([^"]*)"\)|`([^`]*)`)/.exec(runtimeMessage);
  if (cwd) return `${prefix}: chdir to cwd ("${cwd[1] ?? cwd[2]}") set in config.json failed: ${/no such file/i.test(runtimeMessage) ? 'no such file or directory' : /not a directory/i.test(runtimeMessage) ? 'not a directory' : 'permission denied'}: unknown`;
  if (/no such file or directory/i.test(runtimeMessage)) return `${prefix}: exec: "${path}": stat ${path}: no such file or directory: unknown`;
  if (/permission denied|operation not permitted|is a directory/i.test(runtimeMessage)) return `${prefix}: exec: "${path}": permission denied: unknown`;
  return `${prefix}: ${runtimeMessage}: unknown`;
}
