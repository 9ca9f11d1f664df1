/**
 * CLI plugins as the docker CLI runs them (docker/cli cli-plugins/manager): an executable
 * `docker-NAME` in a plugin directory adds the command `berth NAME` — Docker Compose v2
 * (`docker-compose`) and Buildx are plugins. A candidate is valid when its name matches
 * `^[a-z][a-z0-9]*$`, it does not shadow a built-in command, and `docker-NAME
 * docker-cli-plugin-metadata` prints metadata with SchemaVersion "0.1.0" and a Vendor.
 *
 * The plugin is run with berth's own arguments (global flags included, as docker passes
 * `os.Args[1:]`), `DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND` naming berth, and
 * `DOCKER_CLI_PLUGIN_SOCKET`, an abstract socket the plugin connects to and that berth closes
 * to ask it to stop. A plugin reads its endpoint as the docker CLI would (DOCKER_HOST,
 * DOCKER_CONTEXT, DOCKER_CONFIG), so berth hands it its own: the config directory, and the
 * host or context it resolved — otherwise a plugin would talk to /var/run/docker.sock.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Server, Socket } from 'node:net';
import { childProcess } from './lazy.ts';
import { decodeGo, go } from '../lib/gojson.ts';
import { naturalCompare } from '../lib/natural.ts';

export const NAME_PREFIX = 'docker-';
export const METADATA_SUBCOMMAND = 'docker-cli-plugin-metadata';
export const REEXEC_ENV = 'DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND';
export const SOCKET_ENV = 'DOCKER_CLI_PLUGIN_SOCKET';

/** docker's defaultSystemPluginDirs (manager_unix.go). */
const SYSTEM_DIRS = ['/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins'];

const NAME_RE = /^[a-z][a-z0-9]*$/;

const metadataType = go.struct('metadata.Metadata', {
  SchemaVersion: go.string, Vendor: go.string, Version: go.string, ShortDescription: go.string, URL: go.string,
});

export interface Plugin {
  Name: string;
  Path: string;
  SchemaVersion?: string;
  Vendor?: string;
  Version?: string;
  ShortDescription?: string;
  URL?: string;
  /** Why the candidate is not a usable plugin (docker's Plugin.Err). */
  Err?: string;
  ShadowedPaths?: string[];
}

/**
 * Where plugins are looked for, first found first: the config file's `cliPluginsExtraDirs`,
 * `<config dir>/cli-plugins`, then — as Berth's config directory is not docker's — the docker
 * CLI's own (`$DOCKER_CONFIG/cli-plugins` or `~/.docker/cli-plugins`, where the Compose
 * install instructions put it), then docker's system directories.
 */
export function pluginDirs(configDir: string, extraDirs: readonly string[] = []): string[] {
  const home = process.env.HOME || process.getBuiltinModule('node:os').homedir();
  const dockerDir = join(process.env.DOCKER_CONFIG || join(home, '.docker'), 'cli-plugins');
  const dirs = [...extraDirs, join(configDir, 'cli-plugins'), dockerDir, ...SYSTEM_DIRS];
  return dirs.filter((d, i) => dirs.indexOf(d) === i);
}

/** Every `docker-*` file or symlink in `dirs`, by plugin name, in directory order. */
export function listCandidates(dirs: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of dirs) {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      if (!e.name.startsWith(NAME_PREFIX)) continue;
      const name = e.name.slice(NAME_PREFIX.length);
      const paths = out.get(name) ?? [];
      paths.push(join(d, e.name));
      out.set(name, paths);
    }
  }
  return out;
}

function metadataOf(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(path, [METADATA_SUBCOMMAND], { maxBuffer: 1 << 20, timeout: 30_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

/** The root's commands by name and alias: the command each names. */
export type Builtins = ReadonlyMap<string, string>;

type Metadata = Pick<Plugin, 'SchemaVersion' | 'Vendor' | 'Version' | 'ShortDescription' | 'URL'>;

/** A plugin's record with docker's JSON field order and omitempty (metadata first, empty fields left out). */
function record(meta: Metadata, name: string, path: string, err?: string): Plugin {
  const out: Partial<Plugin> = {};
  for (const k of ['SchemaVersion', 'Vendor', 'Version', 'ShortDescription', 'URL'] as const) if (meta[k]) out[k] = meta[k];
  return { ...out, Name: name, Path: path, ...(err ? { Err: err } : {}) };
}

/** docker's newPlugin: a candidate checked against the built-in commands and its metadata. */
export async function inspectCandidate(path: string, builtins: Builtins): Promise<Plugin> {
  const name = path.slice(path.lastIndexOf('/') + 1 + NAME_PREFIX.length);
  if (!NAME_RE.test(name)) return record({}, name, path, `plugin candidate "${name}" did not match "${NAME_RE.source}"`);
  const builtin = builtins.get(name);
  if (builtin === name) return record({}, name, path, `plugin "${name}" duplicates builtin command`);
  if (builtin !== undefined) return record({}, name, path, `plugin "${name}" duplicates an alias of builtin command "${builtin}"`);
  let text: string;
  try {
    text = await metadataOf(path);
  } catch (e) {
    return record({}, name, path, `failed to fetch metadata: ${execErrorText(e)}`);
  }
  let meta: Metadata;
  try {
    meta = decodeGo(text, metadataType) ?? {};
  } catch (e) {
    return record({}, name, path, `invalid metadata: ${(e as Error).message.replace(/^invalid JSON: /, '').replace(/\s+/g, ' ').trim()}`);
  }
  if (meta.SchemaVersion !== '0.1.0') return record(meta, name, path, `plugin SchemaVersion "${meta.SchemaVersion ?? ''}" is not valid, must be 0.1.0`);
  if (!meta.Vendor) return record(meta, name, path, 'plugin metadata does not define a vendor');
  return record(meta, name, path);
}

/** Go's message for a command that could not run or failed ("exit status 1", "fork/exec …"). */
function execErrorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { code?: string | number; signal?: string | null; path?: string };
  if (typeof err.code === 'number') return `exit status ${err.code}`;
  if (err.signal) return `signal: ${err.signal}`;
  if (err.code === 'EACCES') return `fork/exec ${err.path}: permission denied`;
  if (err.code === 'ENOENT') return `fork/exec ${err.path}: no such file or directory`;
  return err.message;
}

/** docker's ListPlugins: every candidate (the first of each name), metadata fetched in parallel. */
export async function listPlugins(dirs: readonly string[], builtins: Builtins): Promise<Plugin[]> {
  const found = await Promise.all([...listCandidates(dirs)].map(async ([, paths]) => {
    const p = await inspectCandidate(paths[0], builtins);
    return paths.length > 1 ? { ...p, ShadowedPaths: paths.slice(1) } : p;
  }));
  return found.sort((a, b) => naturalCompare(a.Name, b.Name));
}

/** docker's PluginRunCommand lookup: the first `docker-NAME` in `dirs`, if it is a valid plugin. */
export async function findPlugin(name: string, dirs: readonly string[], builtins: Builtins): Promise<Plugin | undefined> {
  if (!NAME_RE.test(name)) return undefined;
  for (const d of dirs) {
    const path = join(d, NAME_PREFIX + name);
    try {
      statSync(path);
    } catch {
      continue;
    }
    const p = await inspectCandidate(path, builtins);
    return p.Err ? undefined : p;
  }
  return undefined;
}

export interface Endpoint {
  configDir: string;
  contextName: string;
  /** The default context's host (-H, BERTH_HOST/DOCKER_HOST or Berth's socket). */
  host: string;
}

/**
 * The environment a plugin gets: berth's own, with the endpoint berth resolved spelled as the
 * docker CLI reads it, and BERTH_ variables under their DOCKER_ names.
 */
export function pluginEnv(base: NodeJS.ProcessEnv, ep: Endpoint, self: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, DOCKER_CONFIG: ep.configDir, [REEXEC_ENV]: self };
  for (const k of ['TLS_VERIFY', 'CERT_PATH', 'CUSTOM_HEADERS', 'DEFAULT_PLATFORM']) {
    const v = base[`BERTH_${k}`];
    if (v !== undefined) env[`DOCKER_${k}`] = v;
  }
  if (ep.contextName === 'default') {
    env.DOCKER_HOST = ep.host;
    delete env.DOCKER_CONTEXT;
  } else {
    env.DOCKER_CONTEXT = ep.contextName;
    delete env.DOCKER_HOST;
  }
  return env;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Whether berth's stdout is a terminal: there a ^C reaches the plugin itself. */
  terminal: boolean;
  stderr: NodeJS.WritableStream;
}

/**
 * Runs a plugin with berth's standard streams and returns its exit status (255 when a signal
 * ended it, as Go's exit status -1 becomes). On SIGINT/SIGTERM berth closes the plugin socket
 * (unless on a terminal, where the plugin got the signal too), and after three of them kills
 * the plugin, as docker's tryPluginRun does.
 */
export async function runPlugin(plugin: Plugin, args: readonly string[], opts: RunOptions): Promise<number> {
  const net = process.getBuiltinModule('node:net');
  const name = `docker_cli_${process.getBuiltinModule('node:crypto').randomBytes(16).toString('hex')}`;
  const conns = new Set<Socket>();
  const server: Server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    c.resume();
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen('\0' + name, () => resolve(true));
  });
  const env = listening ? { ...opts.env, [SOCKET_ENV]: '@' + name } : opts.env;
  const closeServer = () => {
    server.close();
    for (const c of conns) c.destroy();
  };

  let child: ChildProcess;
  try {
    child = childProcess().spawn(plugin.Path, args, { stdio: 'inherit', env });
  } catch (e) {
    closeServer();
    throw e;
  }
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (opts.terminal) return;
    closeServer();
    if (signals >= 3) {
      child.kill('SIGKILL');
      opts.stderr.write('got 3 SIGTERM/SIGINTs, forcefully exiting\n');
      process.exit(1);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 255));
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    closeServer();
  }
}
