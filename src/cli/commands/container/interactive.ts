/** `berth attach` and `berth exec`. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { detachKeys, proxySignals, runSession, sessionStatus } from '../../attach.ts';
import { readEnvFile } from './opts.ts';

const attachFlags = defineFlags({
  detachKeys: { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
  noStdin: { long: 'no-stdin', kind: 'bool', help: 'Do not attach STDIN' },
  sigProxy: { long: 'sig-proxy', kind: 'bool', help: 'Proxy all received signals to the process', default: true },
});

export const attachCommand = defineCommand({
  name: 'attach', usage: '[OPTIONS] CONTAINER', short: 'Attach local standard input, output, and error streams to a running container',
  aliasPaths: ['container attach', 'attach'], flags: attachFlags, args: { min: 1, max: 1 },
});

export async function attach(ctx: CliContext, p: Parsed<typeof attachFlags>): Promise<number> {
  const f = p.flags;
  const keys = detachKeys(ctx, f.detachKeys);
  const info = await ctx.client.containerInspect(p.args[0]);
  if (!info.State.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (info.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
  const tty = info.Config.Tty;
  const stdin = !f.noStdin && info.Config.OpenStdin;
  if (stdin && tty && !ctx.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
  const sock = await ctx.client.containerAttach(info.Id, { stream: true, stdin, stdout: true, stderr: true, detachKeys: keys.spec });
  const wait = await ctx.client.containerWait(info.Id, 'next-exit');
  const unproxy = f.sigProxy && !tty ? proxySignals((sig) => void ctx.client.containerKill(info.Id, sig).catch(() => {})) : () => {};
  try {
    const end = await runSession(ctx, sock, { tty, stdin, detachKeys: keys.keys, resize: (r, c) => ctx.client.containerResize(info.Id, r, c) });
    return await sessionStatus(ctx, info.Id, end, wait.result);
  } finally {
    unproxy();
  }
}

const execFlags = defineFlags({
  detach: { short: 'd', long: 'detach', kind: 'bool', help: 'Detached mode: run command in the background' },
  detachKeys: { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
  env: { short: 'e', long: 'env', kind: 'stringArray', help: 'Set environment variables', typeName: 'list' },
  envFile: { long: 'env-file', kind: 'stringArray', help: 'Read in a file of environment variables', typeName: 'list' },
  interactive: { short: 'i', long: 'interactive', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  privileged: { long: 'privileged', kind: 'bool', help: 'Give extended privileges to the command' },
  tty: { short: 't', long: 'tty', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  user: { short: 'u', long: 'user', kind: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  workdir: { short: 'w', long: 'workdir', kind: 'string', help: 'Working directory inside the container' },
});

export const execCommand = defineCommand({
  name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', short: 'Execute a command in a running container',
  aliasPaths: ['container exec', 'exec'], flags: execFlags, args: { min: 2 }, interspersed: false, group: 'common',
});

export async function exec(ctx: CliContext, p: Parsed<typeof execFlags>): Promise<number> {
  const f = p.flags;
  const [container, ...cmd] = p.args;
  if (f.tty && f.interactive && !ctx.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
  const env = [...f.envFile.flatMap(readEnvFile), ...f.env.map((e) => (e.includes('=') || process.env[e] === undefined ? e : `${e}=${process.env[e]}`))];
  const keys = detachKeys(ctx, f.detachKeys);
  const size: [number, number] | undefined = f.tty && ctx.stdout.isTTY ? [ctx.stdout.rows, ctx.stdout.columns] : undefined;
  let id: string;
  try {
    ({ Id: id } = await ctx.client.execCreate(container, {
      User: f.user ?? '', Privileged: f.privileged, Tty: f.tty,
      AttachStdin: f.interactive && !f.detach, AttachStdout: !f.detach, AttachStderr: !f.detach,
      Detach: f.detach, DetachKeys: keys.spec, Env: env, WorkingDir: f.workdir ?? '', Cmd: cmd,
      ...(size ? { ConsoleSize: size } : {}),
    }));
  } catch (e) {
    // docker's exec exits 1 for any failure to create the exec (not running, paused, missing)
    throw new StatusError(1, errorText(e));
  }
  if (f.detach) {
    await ctx.client.execStartDetached(id, { Detach: true, Tty: f.tty });
    return 0;
  }
  const sock = await ctx.client.execStart(id, { Detach: false, Tty: f.tty, ...(size ? { ConsoleSize: size } : {}) });
  const end = await runSession(ctx, sock, {
    tty: f.tty, stdin: f.interactive, detachKeys: keys.keys,
    resize: (r, c) => ctx.client.execResize(id, r, c),
  });
  if (end === 'detached') return 0;
  const r = await ctx.client.execInspect(id);
  return r.ExitCode ?? 0;
}
