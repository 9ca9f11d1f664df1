/**
 * `berth plugin …`: the docker CLI's plugin commands (cli/command/plugin). berthd has no
 * plugins (its volume, network and log drivers are its own), so listings are empty, a named
 * plugin is not found and installing one is refused, each in the daemon's words; the commands
 * exist so that scripts and users get those answers rather than "unknown command".
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, errorText, removeEach, type CliContext } from '../../context.ts';
import type { PluginSummary } from '../../../api/types.ts';
import { ellipsis, fromDaemon, inspectEach, renderRows, renderTable, shortId, structRow } from '../../format.ts';
import { parseFilterFlags } from '../container/ps.ts';
import { parseNormalizedNamed } from '../../../lib/reference.ts';

const FORMAT_HELP = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template";

const lsFlags = defineFlags({
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "enabled=true")', typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: FORMAT_HELP },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only display plugin IDs' },
});

export const pluginLsCommand = defineCommand({ name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List plugins', flags: lsFlags, args: { max: 0 } });

const HEADERS = { ID: 'ID', Name: 'NAME', Description: 'DESCRIPTION', Enabled: 'ENABLED', PluginReference: 'IMAGE' };

export async function pluginLs(ctx: CliContext, p: Parsed<typeof lsFlags>): Promise<number> {
  const f = p.flags;
  const list = await ctx.client.pluginList(parseFilterFlags(f.filter));
  // --format, else the config file's pluginsFormat unless -q; -q applies to the table only.
  const format = f.format || (!f.quiet && ctx.config.pluginsFormat) || 'table';
  if (f.quiet && format === 'table') {
    for (const pl of list) ctx.stdout.write(`${f.noTrunc ? pl.Id : shortId(pl.Id)}\n`);
    return 0;
  }
  const rows = list.map((pl: PluginSummary) => structRow('*formatter.pluginContext', {
    ID: f.noTrunc ? pl.Id : shortId(pl.Id),
    Name: pl.Name,
    Description: f.noTrunc ? pl.Config.Description ?? '' : ellipsis((pl.Config.Description ?? '').replace(/\n/g, ''), 45),
    Enabled: pl.Enabled,
    PluginReference: pl.PluginReference ?? '',
  }));
  if (format === 'table') {
    ctx.stdout.write(renderTable(rows, [['ID', 'ID'], ['Name', 'NAME'], ['Description', 'DESCRIPTION'], ['Enabled', 'ENABLED']]));
    return 0;
  }
  // `raw` is docker's unnamed format (plugin.NewFormat).
  const raw = f.quiet ? 'plugin_id: {{.ID}}' : 'plugin_id: {{.ID}}\nname: {{.Name}}\ndescription: {{.Description}}\nenabled: {{.Enabled}}\n';
  ctx.stdout.write(await renderRows(rows, format === 'raw' ? raw : format, HEADERS));
  return 0;
}

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
});

export const pluginInspectCommand = defineCommand({ name: 'inspect', usage: '[OPTIONS] PLUGIN [PLUGIN...]', short: 'Display detailed information on one or more plugins', flags: inspectFlags, args: { min: 1 } });

export async function pluginInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  await inspectEach(ctx, p.args, fromDaemon((n) => ctx.client.pluginInspect(n)), p.flags.format);
  return 0;
}

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the removal of an active plugin' },
});

export const pluginRmCommand = defineCommand({ name: 'rm', aliases: ['remove'], usage: '[OPTIONS] PLUGIN [PLUGIN...]', short: 'Remove one or more plugins', flags: rmFlags, args: { min: 1 } });

export function pluginRm(ctx: CliContext, p: Parsed<typeof rmFlags>): Promise<number> {
  return removeEach(ctx, p.args, (name) => ctx.client.pluginRemove(name, p.flags.force));
}

const enableFlags = defineFlags({
  timeout: { long: 'timeout', kind: 'int', help: 'HTTP client timeout (in seconds)', default: 30 },
});

export const pluginEnableCommand = defineCommand({ name: 'enable', usage: '[OPTIONS] PLUGIN', short: 'Enable a plugin', flags: enableFlags, args: { min: 1, max: 1 } });

export async function pluginEnable(ctx: CliContext, p: Parsed<typeof enableFlags>): Promise<number> {
  if (p.flags.timeout < 0) throw new StatusError(1, `negative timeout ${p.flags.timeout} is invalid`);
  await ctx.client.pluginEnable(p.args[0], p.flags.timeout);
  ctx.stdout.write(`${p.args[0]}\n`);
  return 0;
}

const disableFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the disable of an active plugin' },
});

export const pluginDisableCommand = defineCommand({ name: 'disable', usage: '[OPTIONS] PLUGIN', short: 'Disable a plugin', flags: disableFlags, args: { min: 1, max: 1 } });

export async function pluginDisable(ctx: CliContext, p: Parsed<typeof disableFlags>): Promise<number> {
  await ctx.client.pluginDisable(p.args[0], p.flags.force);
  ctx.stdout.write(`${p.args[0]}\n`);
  return 0;
}

export const pluginSetCommand = defineCommand({ name: 'set', usage: 'PLUGIN KEY=VALUE [KEY=VALUE...]', short: 'Change settings for a plugin', args: { min: 2 } });

export async function pluginSet(ctx: CliContext, p: Parsed): Promise<number> {
  await ctx.client.pluginSet(p.args[0], p.args.slice(1));
  return 0;
}

const installFlags = defineFlags({
  alias: { long: 'alias', kind: 'string', help: 'Local name for plugin' },
  disable: { long: 'disable', kind: 'bool', help: 'Do not enable the plugin on install' },
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image verification', default: true },
  grantAllPermissions: { long: 'grant-all-permissions', kind: 'bool', help: 'Grant all permissions necessary to run the plugin' },
});

export const pluginInstallCommand = defineCommand({ name: 'install', usage: '[OPTIONS] PLUGIN [KEY=VALUE...]', short: 'Install a plugin', flags: installFlags, args: { min: 1 } });

/** The plugin's reference as docker normalises it (`name` → `docker.io/library/name:latest`), checked first. */
function remoteOf(name: string): string {
  try {
    const ref = parseNormalizedNamed(name);
    return ref.tag === undefined && ref.digest === undefined ? `${name}:latest` : name;
  } catch (e) {
    throw new StatusError(1, (e as Error).message);
  }
}

export async function pluginInstall(ctx: CliContext, p: Parsed<typeof installFlags>): Promise<number> {
  if (!p.flags.disableContentTrust) throw new StatusError(1, 'content trust is not supported by Berth: give --disable-content-trust');
  // docker asks the daemon for the plugin's privileges first; berthd refuses there, by name.
  await ctx.client.pluginPrivileges(remoteOf(p.args[0]));
  throw new StatusError(1, 'berthd accepted a plugin it cannot install');
}

const upgradeFlags = defineFlags({
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image verification', default: true },
  grantAllPermissions: { long: 'grant-all-permissions', kind: 'bool', help: 'Grant all permissions necessary to run the plugin' },
  skipRemoteCheck: { long: 'skip-remote-check', kind: 'bool', help: 'Do not check if specified remote plugin matches existing plugin image' },
});

export const pluginUpgradeCommand = defineCommand({ name: 'upgrade', usage: '[OPTIONS] PLUGIN [REMOTE]', short: 'Upgrade an existing plugin', flags: upgradeFlags, args: { min: 1, max: 2 } });

export async function pluginUpgrade(ctx: CliContext, p: Parsed<typeof upgradeFlags>): Promise<number> {
  if (!p.flags.disableContentTrust) throw new StatusError(1, 'content trust is not supported by Berth: give --disable-content-trust');
  try {
    await ctx.client.pluginInspect(p.args[0]);
  } catch (e) {
    throw new StatusError(1, `error reading plugin data: ${errorText(e)}`);
  }
  await ctx.client.pluginPrivileges(remoteOf(p.args[1] ?? p.args[0]));
  throw new StatusError(1, 'berthd accepted a plugin it cannot upgrade');
}

const pushFlags = defineFlags({
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image signing', default: true },
});

export const pluginPushCommand = defineCommand({ name: 'push', usage: '[OPTIONS] PLUGIN[:TAG]', short: 'Push a plugin to a registry', flags: pushFlags, args: { min: 1, max: 1 } });

export async function pluginPush(ctx: CliContext, p: Parsed<typeof pushFlags>): Promise<number> {
  if (!p.flags.disableContentTrust) throw new StatusError(1, 'content trust is not supported by Berth: give --disable-content-trust');
  await ctx.client.pluginPush(remoteOf(p.args[0]));
  return 0;
}

const createFlags = defineFlags({
  compress: { long: 'compress', kind: 'bool', help: 'Compress the context using gzip' },
});

export const pluginCreateCommand = defineCommand({
  name: 'create', usage: '[OPTIONS] PLUGIN PLUGIN-DATA-DIR', short: 'Create a plugin from a rootfs and configuration. Plugin data directory must contain config.json and rootfs directory.',
  flags: createFlags, args: { min: 2, max: 2 },
});

export async function pluginCreate(ctx: CliContext, p: Parsed<typeof createFlags>): Promise<number> {
  const [name, dir] = p.args;
  remoteOf(name);
  // The directory is checked as docker checks it; berthd then refuses the plugin before reading
  // any of it, so only the archive's end is sent (compressed or not, it would be refused alike).
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new StatusError(1, `lstat ${dir}: no such file or directory`);
  if (!st.isDirectory()) throw new StatusError(1, `context must be a directory`);
  if (!existsSync(join(dir, 'config.json'))) throw new StatusError(1, `open ${join(dir, 'config.json')}: no such file or directory`);
  if (!statSync(join(dir, 'rootfs'), { throwIfNoEntry: false })?.isDirectory()) throw new StatusError(1, `rootfs (${join(dir, 'rootfs')}) must be a directory`);
  await ctx.client.pluginCreate(name, Readable.from([Buffer.alloc(1024)]));
  return 0;
}
