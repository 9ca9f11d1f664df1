/**
 * `berth run` and `berth create`, composed as docker/cli does: create (pull on a missing
 * image, retry) → attach → wait registered before start → start → stream → exit code.
 */
import { proxyVariables } from '../../proxies.ts';
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { allCredentials, type AuthConfig } from '../../authstore.ts';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';
import { errorText, StatusError } from '../../context.ts';
import { containerFlags, createRequest, type ContainerFlags } from './opts.ts';
import { isNotFound } from '../../../errdefs/index.ts';
import { isDaemonError } from '../../../client/http.ts';
import { pullWithProgress } from '../image/registry.ts';
import { parseNormalizedNamed, withDefaultTag, familiarString } from '../../../lib/reference.ts';
import { detachKeys, proxySignals, runSession, sessionStatus, type SessionEnd } from '../../attach.ts';
import type { ContainerCreateRequest } from '../../../api/types.ts';

const createOnly = defineFlags({
  rm: { long: 'rm', kind: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
});

const runOnly = defineFlags({
  detach: { short: 'd', long: 'detach', kind: 'bool', help: 'Run container in background and print container ID' },
  detachKeys: { long: 'detach-keys', kind: 'string', help: 'Override the key sequence for detaching a container' },
  rm: { long: 'rm', kind: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  sigProxy: { long: 'sig-proxy', kind: 'bool', help: 'Proxy received signals to the process', default: true },
});

export const runCommand = defineCommand({
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  aliasPaths: ['container run', 'run'],
  flags: { ...containerFlags, ...runOnly },
  args: { min: 1 },
  interspersed: false,
  group: 'common',
});

export const createCommand = defineCommand({
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  aliasPaths: ['container create', 'create'],
  flags: { ...containerFlags, ...createOnly },
  args: { min: 1 },
  interspersed: false,
});

/** Errors from create/run: docker prefixes them with the program name and exits 125. */
export function runError(ctx: CliContext, e: unknown, status = 125): StatusError {
  return new StatusError(status, `berth: ${errorText(e)}\n\nRun '${ctx.commandPath} --help' for more information`);
}

/** A failure of `run` once its options are parsed, at create as at start (docker's toStatusError). */
function runFailure(ctx: CliContext, e: unknown): StatusError {
  return runError(ctx, e, startErrorStatus(e instanceof Error ? e.message : String(e)));
}

/** docker's runStartContainerErr: 127 for "not found", 126 for "cannot invoke". */
export function startErrorStatus(msg: string): number {
  if (msg.includes('executable file not found') || msg.includes('no such file or directory') || msg.includes('system cannot find the file specified')) return 127;
  if (msg.includes('permission denied') || msg.includes('is a directory')) return 126;
  return 125;
}

async function pull(ctx: CliContext, image: string, platform: string | undefined, quiet: boolean): Promise<void> {
  await pullWithProgress(ctx, image, { ...(platform ? { platform } : {}), quiet, forRun: true }, ctx.stderr);
}

/**
 * Creates the container, pulling the image first if it is missing (per --pull). `fail` words a
 * failure as the command does: `run` prefixes it and points to its help (exit 125), `create`
 * returns it plainly (exit 1), as docker's.
 */
async function createContainer(ctx: CliContext, req: ContainerCreateRequest, name: string | undefined, pullPolicy: string, platform: string | undefined, quiet: boolean, fail: (e: unknown) => unknown): Promise<string> {
  const image = req.Image ?? '';
  let ref;
  try {
    ref = withDefaultTag(parseNormalizedNamed(image));
  } catch (e) {
    throw fail(e);
  }
  if (pullPolicy === 'always') await pull(ctx, image, platform, quiet).catch((e: unknown) => { throw fail(e); });
  try {
    const r = await ctx.client.containerCreate(req, name, platform);
    for (const w of r.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
    return r.Id;
  } catch (e) {
    // A missing image, or one of another platform than --platform's, is pulled (docker's CLI
    // pulls on any 404; Berth's other 404s at create are not about the image).
    const missing = isNotFound(e) && isDaemonError(e) && (e.message.startsWith('No such image') || e.message.includes('does not match the specified platform'));
    if (!missing || pullPolicy === 'never') throw fail(e);
  }
  ctx.stderr.write(`Unable to find image '${familiarString(ref)}' locally\n`);
  try {
    await pull(ctx, image, platform, quiet);
    const r = await ctx.client.containerCreate(req, name, platform);
    for (const w of r.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
    return r.Id;
  } catch (e) {
    throw fail(e);
  }
}

/**
 * The request for run and create; a bad option or --pull value is docker's parse error
 * (prefixed, pointing to the command's help, exit 125) before anything is sent.
 */
function parsedRequest(ctx: CliContext, f: ContainerFlags & { rm: boolean }, set: ReadonlySet<string>, image: string, cmd: string[]): { req: ContainerCreateRequest; apiCreds?: Record<string, AuthConfig> } {
  // docker's parse refuses it before anything is sent.
  if (f.rm && f.restart && f.restart.Name !== 'no' && f.restart.Name !== '') throw runError(ctx, new Error('conflicting options: cannot specify both --restart and --rm'));
  const pullPolicy = f.pull ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pullPolicy)) throw runError(ctx, new Error(`invalid pull option: '${pullPolicy}': must be one of "always", "missing" or "never"`));
  let req: ContainerCreateRequest;
  try {
    req = createRequest(f, set, image, cmd, terminalSize(ctx));
  } catch (e) {
    throw runError(ctx, e, e instanceof StatusError ? e.status : 125);
  }
  const proxies = proxyVariables(ctx.config, ctx.host, new Set(f.env.map((e) => e.split('=', 1)[0]!)));
  if (proxies.length) req.Env = [...(req.Env ?? []), ...proxies.map(([k, v]) => `${k}=${v}`)];
  return f.useApiSocket ? { req, apiCreds: withApiSocket(ctx, req) } : { req };
}

/** Where --use-api-socket puts the daemon's socket and the credentials (docker CLI 28's paths). */
const API_SOCKET_TARGET = '/var/run/docker.sock';
const API_CONFIG_DIR = '/run/secrets/docker';

/**
 * --use-api-socket: the daemon's socket bind-mounted where docker clients look for it, and, when
 * the CLI holds credentials, DOCKER_CONFIG naming the config they are copied into (after create).
 */
function withApiSocket(ctx: CliContext, req: ContainerCreateRequest): Record<string, AuthConfig> {
  const socket = ctx.host.startsWith('unix://') ? ctx.host.slice('unix://'.length) : ctx.host.startsWith('/') ? ctx.host : undefined;
  if (!socket) throw runError(ctx, new Error(`--use-api-socket needs a daemon on a Unix socket of this host, not ${ctx.host}`));
  const hc = (req.HostConfig ??= {}) as NonNullable<ContainerCreateRequest['HostConfig']> & { Mounts?: unknown[] };
  hc.Mounts = [...(hc.Mounts ?? []), { Type: 'bind', Source: socket, Target: API_SOCKET_TARGET, BindOptions: {} }];
  // Read once (a credential helper is a process per registry), copied in after create.
  const creds = allCredentials(ctx);
  if (Object.keys(creds).length) req.Env = [...(req.Env ?? []), `DOCKER_CONFIG=${API_CONFIG_DIR}`];
  return creds;
}

/** The credentials' config inside the container, as the docker CLI writes it there. */
async function copyApiSocketConfig(ctx: CliContext, id: string, creds: Record<string, AuthConfig> | undefined): Promise<void> {
  if (!creds || !Object.keys(creds).length) return;
  const auths: Record<string, Record<string, string>> = {};
  for (const [server, c] of Object.entries(creds)) {
    auths[server] = c.identitytoken ? { identitytoken: c.identitytoken } : { auth: Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64') };
  }
  const body = Buffer.from(JSON.stringify({ auths }, null, '\t'));
  const { encodeHeader, padding, END } = await import('../../../lib/tar/header.ts');
  const dirs = ['run/', 'run/secrets/', 'run/secrets/docker/'].map((name) => encodeHeader({ name, type: 'directory', mode: 0o755, mtime: new Date() }));
  const tar = Buffer.concat([...dirs, encodeHeader({ name: 'run/secrets/docker/config.json', type: 'file', size: body.length, mode: 0o600, mtime: new Date() }), body, padding(body.length), END]);
  await ctx.client.containerPutArchive(id, '/', Readable.from([tar]), { noOverwriteDirNonDir: true, copyUIDGID: false });
}

function terminalSize(ctx: CliContext): { rows: number; cols: number } | undefined {
  return ctx.stdout.isTTY ? { rows: ctx.stdout.rows, cols: ctx.stdout.columns } : undefined;
}

export async function create(ctx: CliContext, p: Parsed<typeof createCommand extends { flags?: infer F } ? NonNullable<F> : never>): Promise<number> {
  const [image, ...cmd] = p.args;
  const { req, apiCreds } = parsedRequest(ctx, p.flags, p.set, image, cmd);
  // Removed when it exits after a start, as `run --rm` (the daemon's AutoRemove).
  req.HostConfig = { ...req.HostConfig, AutoRemove: p.flags.rm };
  const id = await createContainer(ctx, req, p.flags.name, p.flags.pull ?? 'missing', p.flags.platform, p.flags.quiet, (e) => e);
  await copyApiSocketConfig(ctx, id, apiCreds);
  if (p.flags.cidfile) writeFileSync(p.flags.cidfile, id);
  ctx.stdout.write(`${id}\n`);
  return 0;
}

export async function run(ctx: CliContext, p: Parsed<typeof runCommand extends { flags?: infer F } ? NonNullable<F> : never>): Promise<number> {
  const f = p.flags;
  const [image, ...cmd] = p.args;
  if (f.detach && f.attach.length) throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
  const { req, apiCreds } = parsedRequest(ctx, f, p.set, image, cmd);
  req.HostConfig = { ...req.HostConfig, AutoRemove: f.rm };
  if (f.detach) {
    req.AttachStdin = false;
    req.AttachStdout = false;
    req.AttachStderr = false;
    req.StdinOnce = false;
  }
  if (f.tty && f.interactive && !ctx.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
  const id = await createContainer(ctx, req, f.name, f.pull ?? 'missing', f.platform, f.quiet, (e) => runFailure(ctx, e));
  await copyApiSocketConfig(ctx, id, apiCreds).catch((e: unknown) => { throw runFailure(ctx, e); });
  if (f.cidfile) writeFileSync(f.cidfile, id);

  if (f.detach) {
    // The ID first, as docker's: a container that then fails to start is there to inspect.
    ctx.stdout.write(`${id}\n`);
    await ctx.client.containerStart(id).catch((e: unknown) => {
      throw runFailure(ctx, e);
    });
    return 0;
  }

  const wantStdin = !!req.AttachStdin;
  const keys = detachKeys(ctx, f.detachKeys);
  const sock = await ctx.client.containerAttach(id, { stream: true, stdin: wantStdin, stdout: !!req.AttachStdout, stderr: !!req.AttachStderr, detachKeys: keys.spec });
  const waitResult = await ctx.client.containerWait(id, f.rm ? 'removed' : 'next-exit');
  let session: Promise<SessionEnd> | undefined;
  try {
    await ctx.client.containerStart(id);
  } catch (e) {
    sock.destroy();
    throw runFailure(ctx, e);
  }
  session = runSession(ctx, sock, {
    tty: f.tty, stdin: wantStdin, detachKeys: keys.keys,
    resize: (rows, cols) => ctx.client.containerResize(id, rows, cols),
  });
  // With a TTY, signals reach the process through the terminal; without one, --sig-proxy forwards them.
  const unproxy = f.sigProxy && !f.tty ? proxySignals((sig) => void ctx.client.containerKill(id, sig).catch(() => {})) : () => {};
  try {
    const result = waitResult.result.catch((e: unknown) => {
      throw new StatusError(125, `berth: ${e instanceof Error ? e.message : String(e)}`);
    });
    result.catch(() => {});
    const end = await session;
    if (end === 'ended') {
      const r = await Promise.race([result, new Promise<undefined>((res) => setTimeout(() => res(undefined), 300).unref())]);
      if (r?.Error?.Message) ctx.stderr.write(`berth: Error response from daemon: ${r.Error.Message}\n`);
      if (r) return r.StatusCode;
    }
    return sessionStatus(ctx, id, end, result);
  } finally {
    unproxy();
  }
}
