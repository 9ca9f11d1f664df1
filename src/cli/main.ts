/**
 * The `berth` command tree and dispatcher: parse → find the handler → run → exit code,
 * printing errors the way the docker CLI does.
 */
import type { ClientTls } from '../client/dial.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand, defineFlags, type AnyCommand, type Parsed } from './flags/spec.ts';
import { parseCommandLine, parseFlags } from './flags/parse.ts';
import { renderHelp } from './flags/help.ts';
import { isFlagError } from './flags/errors.ts';
import { Client } from '../client/client.ts';
import { exitCodeOf } from '../errdefs/index.ts';
import { errorText, StatusError, type CliContext } from './context.ts';
import { runCommand, createCommand, run, create } from './commands/container/run.ts';
import {
  startCommand, stopCommand, restartCommand, killCommand, rmCommand, waitCommand, start, stop, restart, kill, rm, wait,
} from './commands/container/lifecycle.ts';
import { psCommand, ps } from './commands/container/ps.ts';
import { portCommand, port } from './commands/container/port.ts';
import { logsCommand, logs } from './commands/container/logs.ts';
import { attachCommand, attach, execCommand, exec } from './commands/container/interactive.ts';
import {
  imagesCommand, imageInspectCommand, rmiCommand, tagCommand, importCommand, images, imageInspect, rmi, tag, importImage,
} from './commands/image/images.ts';
import { historyCommand, history } from './commands/image/history.ts';
import { buildCommand, buildImage, builderPruneCommand, builderPrune } from './commands/image/build.ts';
import { imagePruneCommand, imagePrune, containerPruneCommand, containerPrune, systemPruneCommand, systemPrune, dfCommand, df } from './commands/system/prune.ts';
import { diffCommand, diff, commitCommand, commit, exportCommand, exportFs } from './commands/container/fs.ts';
import { cpCommand, cp } from './commands/container/cp.ts';
import { saveCommand, save, loadCommand, load } from './commands/image/archive.ts';
import { pullCommand, pull, pushCommand, push, loginCommand, login, logoutCommand, logout, searchCommand, search } from './commands/image/registry.ts';
import {
  registryServeCommand, registryGcCommand, registryHtpasswdCommand, registryServe, registryGc, registryHtpasswd,
} from './commands/registry/registry.ts';
import { eventsCommand, events } from './commands/system/events.ts';
import { dialStdioCommand, dialStdio } from './commands/system/dialstdio.ts';
import { pauseCommand, pause, unpauseCommand, unpause, renameCommand, rename, topCommand, top as topCmd, updateCommand, update } from './commands/container/operate.ts';
import { statsCommand, stats } from './commands/container/stats.ts';
import { versionCommand, infoCommand, inspectCommand, containerInspectCommand, version, info, inspect } from './commands/system/system.ts';
import { ENGINE_VERSION } from '../api/version.ts';
import {
  contextCreateCommand, contextExportCommand, contextImportCommand, contextInspectCommand, contextLsCommand, contextRmCommand, contextShowCommand,
  contextUpdateCommand, contextUseCommand, contextCreate, contextExport, contextImport, contextInspect, contextLs, contextRm, contextShow, contextUpdate, contextUse,
} from './commands/system/context.ts';
import {
  pluginLsCommand, pluginInspectCommand, pluginRmCommand, pluginEnableCommand, pluginDisableCommand, pluginSetCommand, pluginInstallCommand, pluginUpgradeCommand,
  pluginPushCommand, pluginCreateCommand, pluginLs, pluginInspect, pluginRm, pluginEnable, pluginDisable, pluginSet, pluginInstall, pluginUpgrade, pluginPush, pluginCreate,
} from './commands/plugin/plugin.ts';
import {
  manifestAnnotateCommand, manifestCreateCommand, manifestInspectCommand, manifestPushCommand, manifestRmCommand,
  manifestAnnotate, manifestCreate, manifestInspect, manifestPush, manifestRm,
} from './commands/image/manifest.ts';
import { contextEndpoint, currentContextName, getContext, DEFAULT_CONTEXT, DEFAULT_HOST } from './contexts.ts';
import { loadConfig, type ConfigFile } from './configfile.ts';
import { customHeaders } from './headers.ts';
import { findPlugin, listPlugins, pluginDirs, pluginEnv, runPlugin, type Builtins, type Plugin } from './plugins.ts';
import {
  volumeCreateCommand, volumeInspectCommand, volumeLsCommand, volumePruneCommand, volumeRmCommand, volumeCreate, volumeInspect, volumeLs, volumePrune, volumeRm,
} from './commands/volume/volume.ts';
import {
  networkCreateCommand, networkInspectCommand, networkLsCommand, networkPruneCommand, networkRmCommand, networkCreate, networkInspect, networkLs, networkPrune, networkRm,
} from './commands/network/network.ts';
import { networkConnectCommand, networkConnect, networkDisconnectCommand, networkDisconnect } from './commands/network/connect.ts';

type Handler = (ctx: CliContext, p: Parsed) => Promise<number>;

const globalFlags = defineFlags({
  config: { long: 'config', kind: 'string', help: 'Location of client config files', defaultText: '"~/.berth"' },
  context: { short: 'c', long: 'context', kind: 'string', help: 'Name of the context to use to connect to the daemon (overrides BERTH_HOST and DOCKER_HOST env vars and default context set with "berth context use")' },
  debug: { short: 'D', long: 'debug', kind: 'bool', help: 'Enable debug mode' },
  host: { short: 'H', long: 'host', kind: 'stringArray', help: 'Daemon socket to connect to', typeName: 'list' },
  logLevel: { short: 'l', long: 'log-level', kind: 'string', help: 'Set the logging level ("debug", "info", "warn", "error", "fatal")', default: 'info' },
  tls: { long: 'tls', kind: 'bool', help: 'Use TLS; implied by --tlsverify' },
  tlscacert: { long: 'tlscacert', kind: 'string', help: 'Trust certs signed only by this CA', defaultText: '"~/.berth/ca.pem"' },
  tlscert: { long: 'tlscert', kind: 'string', help: 'Path to TLS certificate file', defaultText: '"~/.berth/cert.pem"' },
  tlskey: { long: 'tlskey', kind: 'string', help: 'Path to TLS key file', defaultText: '"~/.berth/key.pem"' },
  tlsverify: { long: 'tlsverify', kind: 'bool', help: 'Use TLS and verify the remote' },
  version: { short: 'v', long: 'version', kind: 'bool', help: 'Print version information and quit' },
});

const handlers = new Map<AnyCommand, Handler>();
function cmd<T extends AnyCommand>(spec: T, h: Handler): T {
  handlers.set(spec, h);
  return spec;
}

// Top-level shortcuts are separate command objects (docker registers them twice too).
const top = (spec: AnyCommand, name: string, aliases: string[] = []): AnyCommand => ({ ...spec, name, aliases });

const H = (fn: (ctx: CliContext, p: never) => Promise<number>) => fn as unknown as Handler;

const containerSubs: AnyCommand[] = [
  cmd(containerPruneCommand, H(containerPrune)),
  cmd(commitCommand, H(commit)),
  cmd(diffCommand, H(diff)),
  cmd(exportCommand, H(exportFs)),
  cmd(cpCommand, H(cp)),
  cmd(attachCommand, H(attach)),
  cmd(createCommand, H(create)),
  cmd(execCommand, H(exec)),
  cmd({ ...containerInspectCommand }, (ctx, p) => inspect(ctx, p as never, 'container')),
  cmd({ ...killCommand }, H(kill)),
  cmd({ ...logsCommand }, H(logs)),
  cmd({ ...psCommand }, H(ps)),
  cmd(portCommand, H(port)),
  cmd(pauseCommand, H(pause)),
  cmd(renameCommand, H(rename)),
  cmd(statsCommand, H(stats)),
  cmd(topCommand, H(topCmd)),
  cmd(unpauseCommand, H(unpause)),
  cmd(updateCommand, H(update)),
  cmd({ ...restartCommand }, H(restart)),
  cmd({ ...rmCommand }, H(rm)),
  cmd({ ...runCommand }, H(run)),
  cmd({ ...startCommand }, H(start)),
  cmd({ ...stopCommand }, H(stop)),
  cmd({ ...waitCommand }, H(wait)),
];

const imageSubs: AnyCommand[] = [
  cmd(buildCommand, H(buildImage)),
  cmd(imagePruneCommand, H(imagePrune)),
  cmd(historyCommand, H(history)),
  cmd(loadCommand, H(load)),
  cmd(saveCommand, H(save)),
  cmd(importCommand, H(importImage)),
  cmd(pullCommand, H(pull)),
  cmd(pushCommand, H(push)),
  cmd(imageInspectCommand, H(imageInspect)),
  cmd(imagesCommand, H(images)),
  cmd(rmiCommand, H(rmi)),
  cmd(tagCommand, H(tag)),
];

const sub = (list: AnyCommand[], name: string): AnyCommand => list.find((c) => c.name === name)!;

function topLevel(spec: AnyCommand, name: string, group: 'common' | 'other' = 'other'): AnyCommand {
  const t = { ...top(spec, name), group };
  handlers.set(t, handlers.get(spec)!);
  return t;
}

export const root = defineCommand({
  name: 'berth',
  usage: '[OPTIONS] COMMAND',
  short: 'A self-sufficient runtime for containers',
  flags: globalFlags,
  interspersed: false,
  subcommands: [
    topLevel(sub(containerSubs, 'run'), 'run', 'common'),
    topLevel(sub(containerSubs, 'exec'), 'exec', 'common'),
    topLevel(sub(containerSubs, 'ls'), 'ps', 'common'),
    topLevel(sub(imageSubs, 'build'), 'build', 'common'),
    topLevel(sub(imageSubs, 'pull'), 'pull', 'common'),
    topLevel(sub(imageSubs, 'push'), 'push', 'common'),
    topLevel(sub(imageSubs, 'ls'), 'images', 'common'),
    cmd(loginCommand, H(login)),
    cmd(logoutCommand, H(logout)),
    cmd({ ...searchCommand, group: 'common' }, H(search)),
    topLevel(sub(imageSubs, 'history'), 'history'),
    topLevel(sub(imageSubs, 'load'), 'load'),
    topLevel(sub(imageSubs, 'save'), 'save'),
    topLevel(sub(imageSubs, 'import'), 'import'),
    cmd({ ...versionCommand, group: 'common' }, H(version)),
    cmd(eventsCommand, H(events)),
    cmd({ ...infoCommand, group: 'common' }, H(info)),
    topLevel(sub(containerSubs, 'attach'), 'attach'),
    topLevel(sub(containerSubs, 'commit'), 'commit'),
    topLevel(sub(containerSubs, 'cp'), 'cp'),
    topLevel(sub(containerSubs, 'create'), 'create'),
    topLevel(sub(containerSubs, 'diff'), 'diff'),
    topLevel(sub(containerSubs, 'export'), 'export'),
    topLevel(sub(containerSubs, 'port'), 'port'),
    topLevel(sub(containerSubs, 'pause'), 'pause'),
    topLevel(sub(containerSubs, 'rename'), 'rename'),
    topLevel(sub(containerSubs, 'stats'), 'stats'),
    topLevel(sub(containerSubs, 'top'), 'top'),
    topLevel(sub(containerSubs, 'unpause'), 'unpause'),
    topLevel(sub(containerSubs, 'update'), 'update'),
    cmd(inspectCommand, H(inspect)),
    topLevel(sub(containerSubs, 'kill'), 'kill'),
    topLevel(sub(containerSubs, 'logs'), 'logs'),
    topLevel(sub(containerSubs, 'restart'), 'restart'),
    topLevel(sub(containerSubs, 'rm'), 'rm'),
    topLevel(sub(imageSubs, 'rm'), 'rmi'),
    topLevel(sub(containerSubs, 'start'), 'start'),
    topLevel(sub(containerSubs, 'stop'), 'stop'),
    topLevel(sub(imageSubs, 'tag'), 'tag'),
    topLevel(sub(containerSubs, 'wait'), 'wait'),
    { name: 'container', usage: 'COMMAND', short: 'Manage containers', group: 'management', subcommands: containerSubs },
    { name: 'image', usage: 'COMMAND', short: 'Manage images', group: 'management', subcommands: imageSubs },
    {
      name: 'context', usage: 'COMMAND', short: 'Manage contexts', group: 'management',
      subcommands: [
        cmd(contextCreateCommand, H(contextCreate)), cmd(contextExportCommand, H(contextExport)), cmd(contextImportCommand, H(contextImport)),
        cmd(contextInspectCommand, H(contextInspect)), cmd(contextLsCommand, H(contextLs)), cmd(contextRmCommand, H(contextRm)),
        cmd(contextShowCommand, H(contextShow)), cmd(contextUpdateCommand, H(contextUpdate)), cmd(contextUseCommand, H(contextUse)),
      ],
    },
    {
      name: 'system', usage: 'COMMAND', short: 'Manage Berth', group: 'management',
      subcommands: [cmd(dfCommand, H(df)), cmd(dialStdioCommand, H(dialStdio)), cmd({ ...eventsCommand }, H(events)), cmd({ ...infoCommand }, H(info)), cmd(systemPruneCommand, H(systemPrune))],
    },
    {
      name: 'volume', usage: 'COMMAND', short: 'Manage volumes', group: 'management',
      subcommands: [
        cmd(volumeCreateCommand, H(volumeCreate)), cmd(volumeInspectCommand, H(volumeInspect)), cmd(volumeLsCommand, H(volumeLs)),
        cmd(volumePruneCommand, H(volumePrune)), cmd(volumeRmCommand, H(volumeRm)),
      ],
    },
    {
      name: 'builder', usage: 'COMMAND', short: 'Manage builds', group: 'management',
      subcommands: [{ ...sub(imageSubs, 'build'), name: 'build' }, cmd(builderPruneCommand, H(builderPrune))],
    },
    {
      name: 'network', usage: 'COMMAND', short: 'Manage networks', group: 'management',
      subcommands: [
        cmd(networkConnectCommand, H(networkConnect)), cmd(networkCreateCommand, H(networkCreate)), cmd(networkDisconnectCommand, H(networkDisconnect)), cmd(networkInspectCommand, H(networkInspect)), cmd(networkLsCommand, H(networkLs)),
        cmd(networkPruneCommand, H(networkPrune)), cmd(networkRmCommand, H(networkRm)),
      ],
    },
    {
      name: 'manifest', usage: 'COMMAND', short: 'Manage image manifests and manifest lists', group: 'management',
      subcommands: [
        cmd(manifestAnnotateCommand, H(manifestAnnotate)), cmd(manifestCreateCommand, H(manifestCreate)), cmd(manifestInspectCommand, H(manifestInspect)),
        cmd(manifestPushCommand, H(manifestPush)), cmd(manifestRmCommand, H(manifestRm)),
      ],
    },
    {
      name: 'plugin', usage: 'COMMAND', short: 'Manage plugins', group: 'management',
      subcommands: [
        cmd(pluginCreateCommand, H(pluginCreate)), cmd(pluginDisableCommand, H(pluginDisable)), cmd(pluginEnableCommand, H(pluginEnable)),
        cmd(pluginInspectCommand, H(pluginInspect)), cmd(pluginInstallCommand, H(pluginInstall)), cmd(pluginLsCommand, H(pluginLs)),
        cmd(pluginPushCommand, H(pluginPush)), cmd(pluginRmCommand, H(pluginRm)), cmd(pluginSetCommand, H(pluginSet)), cmd(pluginUpgradeCommand, H(pluginUpgrade)),
      ],
    },
    {
      name: 'registry', usage: 'COMMAND', short: 'Run a private image registry', group: 'management',
      subcommands: [cmd(registryGcCommand, registryGc), cmd(registryHtpasswdCommand, registryHtpasswd), cmd(registryServeCommand, registryServe)],
    },
  ],
});

/**
 * TLS as docker's CLI sets it up: --tlsverify (or BERTH_TLS_VERIFY / DOCKER_TLS_VERIFY) checks
 * the daemon against the CA; --tls alone encrypts without checking. Files default to
 * ca.pem, cert.pem and key.pem in BERTH_CERT_PATH, DOCKER_CERT_PATH or the config directory.
 */
function clientTls(g: { tls: boolean; tlsverify: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }, configDir: string): ClientTls | undefined {
  const verify = g.tlsverify || !!(process.env.BERTH_TLS_VERIFY || process.env.DOCKER_TLS_VERIFY);
  if (!verify && !g.tls) return undefined;
  const dir = process.env.BERTH_CERT_PATH || process.env.DOCKER_CERT_PATH || configDir;
  const file = (given: string | undefined, name: string, required: boolean): Buffer | undefined => {
    const path = given ?? join(dir, name);
    try {
      return readFileSync(path);
    } catch (e) {
      if (required || given) throw new StatusError(1, `could not read ${name.replace('.pem', '')} file ${path}: ${(e as Error).message}`);
      return undefined;
    }
  };
  const ca = file(g.tlscacert, 'ca.pem', verify);
  const cert = file(g.tlscert, 'cert.pem', false);
  const key = file(g.tlskey, 'key.pem', false);
  return { verify, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function defaultHost(hosts: string[]): string {
  if (hosts.length) return hosts[hosts.length - 1];
  return process.env.BERTH_HOST || process.env.DOCKER_HOST || DEFAULT_HOST;
}

/** Prints an error as the docker CLI would and returns the exit code. */
function report(ctx: Pick<CliContext, 'stderr'>, e: unknown): number {
  if (e instanceof StatusError) {
    if (e.message) ctx.stderr.write(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
    return e.status;
  }
  if (isFlagError(e)) {
    ctx.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  ctx.stderr.write(`${errorText(e)}\n`);
  return exitCodeOf(e) ?? 1;
}

/** The root's commands by name and alias, with cobra's own `help` and `completion`: names a plugin may not take. */
function builtinCommands(): Builtins {
  const m = new Map<string, string>([['help', 'help'], ['completion', 'completion']]);
  for (const c of root.subcommands ?? []) {
    if (!m.has(c.name)) m.set(c.name, c.name);
    for (const a of c.aliases ?? []) if (!m.has(a)) m.set(a, c.name);
  }
  return m;
}

type GlobalFlags = Parsed<typeof globalFlags>['flags'];

function configDirOf(g: GlobalFlags): string {
  return g.config ?? process.env.BERTH_CONFIG ?? join(process.env.HOME || process.getBuiltinModule('node:os').homedir(), '.berth');
}

/** The config file, read once per command; docker's warning on stderr when it is malformed. */
function configLoader(configDir: string, stderr: NodeJS.WritableStream): () => ConfigFile {
  let config: ConfigFile | undefined;
  return () => {
    if (!config) {
      const loaded = loadConfig(configDir);
      if (loaded.warning) stderr.write(loaded.warning + '\n');
      config = loaded.cfg;
    }
    return config;
  };
}

/** Where this command looks for CLI plugins (the config file's cliPluginsExtraDirs first). */
function pluginDirsOf(configDir: string, config: () => ConfigFile): string[] {
  return pluginDirs(configDir, config().cliPluginsExtraDirs ?? []);
}

function installedPlugins(configDir: string, config: () => ConfigFile): Promise<Plugin[]> {
  return listPlugins(pluginDirsOf(configDir, config), builtinCommands());
}

/** The root command with a stand-in for each CLI plugin, for its help (docker's plugin command stubs). */
async function rootWithPlugins(configDir: string, config: () => ConfigFile): Promise<AnyCommand> {
  const plugins = await installedPlugins(configDir, config);
  const stubs: AnyCommand[] = plugins.map((p) => ({ name: p.Name, short: p.ShortDescription ?? '', group: 'management', plugin: p.Err ? { invalid: p.Err } : {} }));
  return stubs.length ? { ...root, subcommands: [...(root.subcommands ?? []), ...stubs] } : root;
}

/**
 * `berth NAME …` (or `berth help NAME`) where NAME is no command of ours: a CLI plugin's, when
 * one is installed (docker's tryPluginRun). Undefined when there is none.
 */
async function tryPlugin(argv: string[], io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<number | undefined> {
  const globals = parseFlags(root.flags, argv, { interspersed: false });
  const [first, second] = globals.args;
  const name = first === 'help' ? second : first;
  if (!name) return undefined;
  const g = globals.flags;
  const configDir = configDirOf(g);
  const config = configLoader(configDir, io.stderr);
  const plugin = await findPlugin(name, pluginDirsOf(configDir, config), builtinCommands());
  if (!plugin) return undefined;
  if (g.context && g.host.length) return report(io, new StatusError(1, 'conflicting options: cannot specify both --host and --context'));
  const env = pluginEnv(process.env, { configDir, contextName: currentContextName(configDir, g.context, g.host, () => config().currentContext), host: defaultHost(g.host) }, process.argv[1]);
  return runPlugin(plugin, argv, { env, terminal: !!io.stdout.isTTY, stderr: io.stderr });
}

export async function main(argv: string[]): Promise<number> {
  // process.stdin is made on first use: its stream (and, for a file, node's fs streams) cost
  // ~10 ms of every command's start when stdin was a file or a pipe (measured), and most
  // commands never read it.
  const io = {
    stdout: process.stdout,
    stderr: process.stderr,
    get stdin() {
      return process.stdin;
    },
  };
  let inv;
  try {
    inv = parseCommandLine(root, argv);
  } catch (e) {
    if (isFlagError(e) && (e.code === 'unknown-command' || e.code === 'unknown-help-topic')) {
      try {
        const code = await tryPlugin(argv, io);
        if (code !== undefined) return code;
      } catch (pe) {
        return report(io, pe);
      }
    }
    return report(io, e);
  }
  const g = inv.globals.flags;
  if (g.version && inv.path.length === 1) {
    io.stdout.write(`Berth version ${ENGINE_VERSION}\n`);
    return 0;
  }
  const configDir = configDirOf(g);
  const config = configLoader(configDir, io.stderr);
  if (inv.kind === 'help') {
    const path = inv.path.length === 1 ? [await rootWithPlugins(configDir, config)] : inv.path;
    (inv.explicit ? io.stdout : io.stderr).write(renderHelp(path));
    return 0;
  }
  const handler = handlers.get(inv.command);
  if (!handler) {
    io.stderr.write(renderHelp(inv.path));
    return 0;
  }
  if (g.context && g.host.length) return report(io, new StatusError(1, 'conflicting options: cannot specify both --host and --context'));
  // the config file read once, for the context and for whatever the command needs of it
  const contextName = currentContextName(configDir, g.context, g.host, () => config().currentContext);
  const fallbackHost = defaultHost(g.host);
  let defaultTls: ClientTls | undefined;
  try {
    defaultTls = clientTls(g, configDir);
  } catch (e) {
    return report(io, e);
  }
  // The endpoint: the flags' and environment's for "default", else the stored context's. A
  // context that cannot be read stops every command but `context` itself (docker's
  // "Failed to initialize"), so that `context use default` can mend it.
  let endpoint: { host: string; tls?: ClientTls } = { host: fallbackHost, ...(defaultTls ? { tls: defaultTls } : {}) };
  let unresolved: StatusError | undefined;
  if (contextName !== DEFAULT_CONTEXT) {
    try {
      endpoint = contextEndpoint(getContext(configDir, contextName));
    } catch (e) {
      unresolved = new StatusError(1, `Failed to initialize: unable to resolve docker endpoint: ${(e as Error).message}`);
      if (inv.commandPath.split(' ')[1] !== 'context') return report(io, unresolved);
    }
  }
  let client: Client | undefined;
  // stdin is made on first use (as in `io`), the config file's settings when first asked for,
  // and the client when a command first talks to the daemon.
  const ctx: CliContext = {
    stdout: io.stdout,
    stderr: io.stderr,
    get stdin() {
      return process.stdin;
    },
    get client(): Client {
      if (unresolved) throw unresolved;
      return (client ??= new Client(endpoint.host, endpoint.tls, process.env.DOCKER_API_VERSION || undefined, customHeaders(this.config.HttpHeaders)));
    },
    get config(): ConfigFile {
      return config();
    },
    plugins: () => installedPlugins(configDir, config),
    debug: g.debug,
    host: endpoint.host,
    commandPath: inv.commandPath,
    configDir,
    contextName,
    defaultHost: fallbackHost,
    ...(defaultTls ? { defaultTls } : {}),
  };
  try {
    return await handler(ctx, inv.parsed);
  } catch (e) {
    return report(ctx, e);
  }
}
