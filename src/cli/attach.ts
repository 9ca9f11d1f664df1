/**
 * The client side of an attached session (run, start -a, attach, exec): the terminal in raw
 * mode (restored on every way out), the window size kept in sync, stdin forwarded and
 * watched for the detach keys, output demultiplexed without a TTY, and signals proxied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { demuxTo } from '../lib/stdcopy.ts';
import { DEFAULT_DETACH_KEYS, EscapeWatcher, parseDetachKeys } from '../lib/escape.ts';
import type { CliContext } from './context.ts';
import { StatusError } from './context.ts';

export interface SessionOptions {
  tty: boolean;
  stdin: boolean;
  /** Parsed detach keys; undefined uses the configured or default ones. */
  detachKeys?: number[];
  /** Called with the terminal size at start and after every change (TTY sessions). */
  resize?: (rows: number, cols: number) => Promise<void>;
}

export type SessionEnd = 'ended' | 'detached';

let rawActive = false;
function restoreTerminal(): void {
  if (rawActive && process.stdin.isTTY) {
    try {
      process.stdin.setRawMode(false);
    } catch {
      // the terminal is gone
    }
  }
  rawActive = false;
}
process.on('exit', restoreTerminal);

/**
 * The detach keys: --detach-keys, else "detachKeys" in the CLI config file, else ctrl-p,ctrl-q.
 * Returns the spec (sent to the daemon too, as docker's CLI does) and the parsed keys.
 */
export function detachKeys(ctx: CliContext, flag: string | undefined): { spec: string; keys: number[] } {
  let spec = flag;
  if (!spec) {
    try {
      const cfg = JSON.parse(readFileSync(join(ctx.configDir, 'config.json'), 'utf8')) as { detachKeys?: unknown };
      if (typeof cfg.detachKeys === 'string' && cfg.detachKeys) spec = cfg.detachKeys;
    } catch {
      // no config file
    }
  }
  try {
    return { spec: spec || DEFAULT_DETACH_KEYS, keys: parseDetachKeys(spec || DEFAULT_DETACH_KEYS) };
  } catch (e) {
    throw new StatusError(125, (e as Error).message);
  }
}

/** Runs a session over a hijacked connection until the remote side ends or the user detaches. */
export function runSession(ctx: CliContext, sock: Socket, opts: SessionOptions): Promise<SessionEnd> {
  const stdin = ctx.stdin;
  let detached = false;
  let onWinch: (() => void) | undefined;
  if (opts.stdin) {
    if (opts.tty && stdin.isTTY) {
      stdin.setRawMode(true);
      rawActive = true;
    }
    // Detach keys belong to a terminal; without one stdin is data, copied byte for byte (as
    // docker's CLI and daemon do), with backpressure so a large upload is not buffered whole.
    const watcher = opts.tty ? new EscapeWatcher(opts.detachKeys ?? parseDetachKeys(DEFAULT_DETACH_KEYS)) : undefined;
    stdin.on('data', (d: Buffer) => {
      const r = watcher ? watcher.push(d) : { data: d, detached: false };
      if (r.data.length && !sock.write(r.data)) {
        stdin.pause();
        sock.once('drain', () => stdin.resume());
      }
      if (r.detached) {
        detached = true;
        sock.destroy();
      }
    });
    // With a TTY the remote end sees ^D typed, not a half-close (docker does the same).
    stdin.on('end', () => {
      if (!detached && !sock.destroyed) sock.end();
    });
    stdin.resume();
  }
  if (opts.tty && opts.resize && ctx.stdout.isTTY) {
    const send = () => void opts.resize?.(ctx.stdout.rows, ctx.stdout.columns).catch(() => {});
    send();
    onWinch = send;
    process.on('SIGWINCH', onWinch);
  }
  const output = opts.tty
    ? new Promise<void>((resolve) => {
        sock.on('data', (d: Buffer) => {
          if (!ctx.stdout.write(d)) {
            sock.pause();
            ctx.stdout.once('drain', () => sock.resume());
          }
        });
        sock.on('end', resolve);
        sock.on('close', resolve);
        sock.on('error', () => resolve());
        sock.resume(); // the transport hands the socket over paused
      })
    : demuxTo(sock, ctx.stdout, ctx.stderr).catch(() => {});
  return output.then(() => {
    restoreTerminal();
    if (onWinch) process.off('SIGWINCH', onWinch);
    if (opts.stdin) {
      stdin.pause();
      stdin.removeAllListeners('data');
    }
    return detached ? 'detached' : 'ended';
  });
}

/** Forwards the usual signals to the container (--sig-proxy); returns the undo. */
export function proxySignals(forward: (sig: NodeJS.Signals) => void): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of sigs) process.on(s, forward);
  return () => {
    for (const s of sigs) process.off(s, forward);
  };
}

/**
 * The exit status after a session: 0 if the user detached, else the container's status. A
 * stream the daemon ended while the container still runs was a detach seen by the daemon.
 */
export async function sessionStatus(ctx: CliContext, id: string, end: SessionEnd, wait: Promise<{ StatusCode: number }>): Promise<number> {
  if (end === 'detached') return 0;
  const settled = await Promise.race([wait.then((r) => r.StatusCode), new Promise<undefined>((r) => setTimeout(() => r(undefined), 300).unref())]);
  if (settled !== undefined) return settled;
  const info = await ctx.client.containerInspect(id).catch(() => undefined);
  if (info?.State.Running) return 0;
  return (await wait).StatusCode;
}
