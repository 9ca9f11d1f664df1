/** start, stop, kill, restart, rm, wait: each acts on several containers and reports per name. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { kindOf } from '../../../errdefs/index.ts';
import { startErrorStatus } from './run.ts';
import { detachKeys, proxySignals, runSession, sessionStatus } from '../../attach.ts';

/**
 * Runs `op` for every argument, at most 50 at a time as docker/cli's parallelOperation does,
 * printing each name (or its error) in the order given.
 */
export async function forEach(ctx: CliContext, names: string[], op: (n: string) => Promise<void>, summary?: string): Promise<number> {
  const failed: string[] = [];
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited = async (n: string): Promise<{ e: unknown } | undefined> => {
    if (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      await op(n);
      return undefined;
    } catch (e) {
      return { e };
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  const results = names.map((n) => limited(n));
  for (let i = 0; i < names.length; i++) {
    const r = await results[i];
    if (r) {
      failed.push(names[i]);
      ctx.stderr.write(`${errorText(r.e)}\n`);
    } else {
      ctx.stdout.write(`${names[i]}\n`);
    }
  }
  if (failed.length && summary) throw new StatusError(1, `Error: ${summary}: ${failed.join(', ')}`);
  return failed.length ? 1 : 0;
}

const PARALLEL = 50;

export const startFlags = defineFlags({
  attach: { short: 'a', long: 'attach', kind: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
  interactive: { short: 'i', long: 'interactive', kind: 'bool', help: "Attach container's STDIN" },
  detachKeys: { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
});

export const startCommand = defineCommand({
  name: 'start', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Start one or more stopped containers',
  aliasPaths: ['container start', 'start'], flags: startFlags, args: { min: 1 },
});

export async function start(ctx: CliContext, p: Parsed<typeof startFlags>): Promise<number> {
  if (!p.flags.attach && !p.flags.interactive) {
    return forEach(ctx, p.args, (n) => ctx.client.containerStart(n).catch((e: unknown) => {
      if (kindOf(e) === 'NotModified') return;
      throw e;
    }), 'failed to start containers');
  }
  if (p.args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
  const name = p.args[0];
  let info;
  try {
    info = await ctx.client.containerInspect(name);
  } catch (e) {
    throw new StatusError(1, errorText(e));
  }
  const tty = info.Config.Tty;
  const stdin = p.flags.interactive && info.Config.OpenStdin;
  const keys = detachKeys(ctx, p.flags.detachKeys);
  const sock = await ctx.client.containerAttach(info.Id, { stream: true, stdin, stdout: true, stderr: true, detachKeys: keys.spec });
  const wait = await ctx.client.containerWait(info.Id, 'next-exit');
  try {
    await ctx.client.containerStart(info.Id);
  } catch (e) {
    sock.destroy();
    const msg = errorText(e);
    throw new StatusError(startErrorStatus(msg), `${msg}\nError: failed to start containers: ${name}`);
  }
  const session = runSession(ctx, sock, { tty, stdin, detachKeys: keys.keys, resize: (r, c) => ctx.client.containerResize(info.Id, r, c) });
  const unproxy = !tty ? proxySignals((sig) => void ctx.client.containerKill(info.Id, sig).catch(() => {})) : () => {};
  try {
    return await sessionStatus(ctx, info.Id, await session, wait.result);
  } finally {
    unproxy();
  }
}

const stopFlags = defineFlags({
  signal: { short: 's', long: 'signal', kind: 'string', help: 'Signal to send to the container' },
  timeout: { short: 't', long: 'timeout', kind: 'int', help: 'Seconds to wait before killing the container' },
  time: { long: 'time', kind: 'int', help: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true },
});

export const stopCommand = defineCommand({
  name: 'stop', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Stop one or more running containers',
  aliasPaths: ['container stop', 'stop'], flags: stopFlags, args: { min: 1 },
});

export const restartCommand = defineCommand({
  name: 'restart', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Restart one or more containers',
  aliasPaths: ['container restart', 'restart'], flags: stopFlags, args: { min: 1 },
});

function stopOpts(p: Parsed<typeof stopFlags>): { timeout?: number; signal?: string } {
  const t = p.flags.timeout ?? p.flags.time;
  return { ...(t !== undefined ? { timeout: t } : {}), ...(p.flags.signal ? { signal: p.flags.signal } : {}) };
}

export function stop(ctx: CliContext, p: Parsed<typeof stopFlags>): Promise<number> {
  const o = stopOpts(p);
  return forEach(ctx, p.args, (n) => ctx.client.containerStop(n, o).catch((e: unknown) => {
    if (kindOf(e) === 'NotModified') return;
    throw e;
  }));
}

export function restart(ctx: CliContext, p: Parsed<typeof stopFlags>): Promise<number> {
  const o = stopOpts(p);
  return forEach(ctx, p.args, (n) => ctx.client.containerRestart(n, o));
}

const killFlags = defineFlags({
  signal: { short: 's', long: 'signal', kind: 'string', help: 'Signal to send to the container' },
});

export const killCommand = defineCommand({
  name: 'kill', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Kill one or more running containers',
  aliasPaths: ['container kill', 'kill'], flags: killFlags, args: { min: 1 },
});

export function kill(ctx: CliContext, p: Parsed<typeof killFlags>): Promise<number> {
  return forEach(ctx, p.args, (n) => ctx.client.containerKill(n, p.flags.signal));
}

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
  link: { short: 'l', long: 'link', kind: 'bool', help: 'Remove the specified link' },
  volumes: { short: 'v', long: 'volumes', kind: 'bool', help: 'Remove anonymous volumes associated with the container' },
});

export const rmCommand = defineCommand({
  name: 'rm', aliases: ['remove'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Remove one or more containers',
  aliasPaths: ['container rm', 'container remove', 'rm'], flags: rmFlags, args: { min: 1 },
});

export function rm(ctx: CliContext, p: Parsed<typeof rmFlags>): Promise<number> {
  return forEach(ctx, p.args, (n) => ctx.client.containerRemove(n, { force: p.flags.force, volumes: p.flags.volumes, link: p.flags.link }));
}

const waitFlags = defineFlags({
  condition: { long: 'condition', kind: 'string', help: 'Condition to wait for: not-running, next-exit or removed', default: 'not-running' },
});

export const waitCommand = defineCommand({
  name: 'wait', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Block until one or more containers stop, then print their exit codes',
  aliasPaths: ['container wait', 'wait'], flags: waitFlags, args: { min: 1 },
});

export async function wait(ctx: CliContext, p: Parsed<typeof waitFlags>): Promise<number> {
  const condition = p.flags.condition ?? 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new StatusError(125, `invalid argument "${condition}" for "--condition" flag: must be not-running, next-exit or removed`);
  let failed = 0;
  // Registered for every container before any is waited on: a next-exit must not be missed.
  const waits = await Promise.all(p.args.map((n) => ctx.client.containerWait(n, condition).catch((e: unknown) => e)));
  for (const w of waits) {
    try {
      if (!(w && typeof w === 'object' && 'result' in w)) throw w;
      const r = await (w as { result: Promise<{ StatusCode: number }> }).result;
      ctx.stdout.write(`${r.StatusCode}\n`);
    } catch (e) {
      failed++;
      ctx.stderr.write(`${errorText(e)}\n`);
    }
  }
  return failed ? 1 : 0;
}
