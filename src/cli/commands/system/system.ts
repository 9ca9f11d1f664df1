/** `berth version`, `berth info`, and the type-agnostic `berth inspect`. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../../../api/version.ts';
import { kindOf } from '../../../errdefs/index.ts';
import { INSPECT_ERRORS, fieldOrderJson, inspectEach, renderOne, structRow } from '../../format.ts';
import type { VersionResponse } from '../../../api/types.ts';
import { imageForTemplate } from '../image/images.ts';

declare const BERTH_BUILD_TIME: string | undefined;

const versionFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
});

export const versionCommand = defineCommand({
  name: 'version', usage: '[OPTIONS]', short: 'Show the Berth version information', flags: versionFlags, args: { max: 0 },
});

/** The client's side; `api` is the version its requests used (lower than ours against an older daemon). */
function clientVersion(api: string, context: string) {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return {
    Platform: { Name: 'Berth' },
    Version: ENGINE_VERSION,
    ApiVersion: api,
    DefaultAPIVersion: API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: arch,
    BuildTime: typeof BERTH_BUILD_TIME === 'string' ? BERTH_BUILD_TIME : '',
    Context: context,
  };
}

export async function version(ctx: CliContext, p: Parsed<typeof versionFlags>): Promise<number> {
  let server: VersionResponse | undefined;
  let serverErr: unknown;
  try {
    server = await ctx.client.version();
  } catch (e) {
    serverErr = e;
  }
  const client = clientVersion(ctx.client.t.version, ctx.contextName);
  if (p.flags.format) {
    // Templates name Go fields (APIVersion); JSON has the tags (ApiVersion): offer both.
    const alias = <T extends object>(o: T, from: string, to: string): T => {
      if (from in o) Object.defineProperty(o, to, { get: () => (o as Record<string, unknown>)[from], enumerable: false });
      return o;
    };
    // Go structs for unknown fields' errors, marshalled in field order as docker's are.
    const data = fieldOrderJson(structRow('system.versionInfo', { Client: fieldOrderJson(alias(structRow('system.clientVersion', client), 'ApiVersion', 'APIVersion')), Server: server ? alias(server, 'ApiVersion', 'APIVersion') : null }));
    await renderOne(ctx, data, p.flags.format, { name: 'version', newline: true, errors: INSPECT_ERRORS });
  } else {
    let out = `Client:\n Version:           ${client.Version}\n API version:       ${client.ApiVersion}${client.ApiVersion !== API_VERSION ? ` (downgraded from ${API_VERSION})` : ''}\n Node version:      ${process.versions.node}\n Built:             ${client.BuildTime || 'unknown'}\n OS/Arch:           ${client.Os}/${client.Arch}\n Context:           ${client.Context}\n`;
    if (server) {
      const engine = server.Components.find((c) => c.Name === 'Engine');
      out += `\nServer: ${server.Platform.Name}\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion || MIN_API_VERSION})\n  Node version:     ${server.GoVersion.replace(/^node/, '')}\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Experimental:     ${engine?.Details?.Experimental ?? 'false'}\n`;
      for (const c of server.Components.filter((x) => x.Name !== 'Engine')) {
        out += ` ${c.Name}:\n  Version:          ${c.Version}\n`;
        for (const k of Object.keys(c.Details ?? {}).sort()) out += `  ${`${k}:`.padEnd(18)}${c.Details![k]}\n`;
      }
    }
    ctx.stdout.write(out);
  }
  if (serverErr) throw serverErr;
  return 0;
}

const infoFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
});

export const infoCommand = defineCommand({
  name: 'info', usage: '[OPTIONS]', short: 'Display system-wide information', flags: infoFlags, args: { max: 0 },
});

/** The client's part of `info` (docker's clientInfo: its version without the API's, the debug mode, the CLI plugins). */
async function clientInfo(ctx: CliContext) {
  const { ApiVersion: _api, ...version } = clientVersion('', ctx.contextName);
  // omitempty, as docker marshals these (Context has no omitempty)
  const fields = Object.fromEntries(Object.entries(version).filter(([k, v]) => v !== '' || k === 'Context'));
  return { Debug: ctx.debug, ...fields, Plugins: await ctx.plugins(), Warnings: null };
}

export async function info(ctx: CliContext, p: Parsed<typeof infoFlags>): Promise<number> {
  const [i, client] = await Promise.all([ctx.client.info(), clientInfo(ctx)]);
  if (p.flags.format) {
    await renderOne(ctx, fieldOrderJson(structRow('system.dockerInfo', { ...i, ClientInfo: client })), p.flags.format, { newline: true, errors: INSPECT_ERRORS });
    return 0;
  }
  const g = (k: string) => i[k] as unknown;
  const runtimes = Object.keys((g('Runtimes') as Record<string, unknown>) ?? {}).join(' ');
  let head = `Client:\n Version:    ${ENGINE_VERSION}\n Context:    ${ctx.contextName}\n Debug Mode: ${ctx.debug}\n`;
  const warnings: string[] = [];
  if (client.Plugins.length) head += ' Plugins:\n';
  for (const pl of client.Plugins) {
    if (pl.Err) {
      warnings.push(`WARNING: Plugin "${pl.Path}" is not valid: ${pl.Err}`);
      continue;
    }
    head += `  ${pl.Name}: ${pl.ShortDescription ?? ''} (${pl.Vendor})\n`;
    if (pl.Version) head += `    Version:  ${pl.Version}\n`;
    head += `    Path:     ${pl.Path}\n`;
  }
  ctx.stdout.write(head);
  if (warnings.length) ctx.stderr.write(warnings.join('\n') + '\n');
  let out = `\nServer:\n`;
  out += ` Containers: ${g('Containers')}\n  Running: ${g('ContainersRunning')}\n  Paused: ${g('ContainersPaused')}\n  Stopped: ${g('ContainersStopped')}\n`;
  out += ` Images: ${g('Images')}\n Server Version: ${g('ServerVersion')}\n Storage Driver: ${g('Driver')}\n`;
  for (const [k, v] of (g('DriverStatus') as [string, string][]) ?? []) out += `  ${k}: ${v}\n`;
  out += ` Logging Driver: ${g('LoggingDriver')}\n Cgroup Driver: ${g('CgroupDriver')}\n Cgroup Version: ${g('CgroupVersion')}\n`;
  const plugins = (g('Plugins') as Record<string, string[] | null>) ?? {};
  out += ` Plugins:\n  Volume: ${(plugins.Volume ?? []).join(' ')}\n  Network: ${(plugins.Network ?? []).join(' ')}\n  Log: ${(plugins.Log ?? []).join(' ')}\n`;
  out += ` Swarm: inactive\n`;
  out += ` Runtimes: ${runtimes}\n Default Runtime: ${g('DefaultRuntime')}\n`;
  const commit = (k: string) => (g(k) as { ID?: string } | undefined)?.ID ?? '';
  out += ` Init Binary: ${g('InitBinary')}\n runc version: ${commit('RuncCommit')}\n init version: ${commit('InitCommit')}\n`;
  const sec = (g('SecurityOptions') as string[]) ?? [];
  if (sec.length) out += ` Security Options:\n${sec.map((s) => `  ${s.replace(/^name=/, '').replace(/,profile=/, '\n   Profile: ')}`).join('\n')}\n`;
  out += ` Kernel Version: ${g('KernelVersion')}\n Operating System: ${g('OperatingSystem')}\n OSType: ${g('OSType')}\n Architecture: ${g('Architecture')}\n`;
  out += ` CPUs: ${g('NCPU')}\n Total Memory: ${((g('MemTotal') as number) / 1024 ** 3).toFixed(2)}GiB\n Name: ${g('Name')}\n ID: ${g('ID')}\n`;
  out += ` Berth Root Dir: ${g('DockerRootDir')}\n Debug Mode: ${g('Debug')}\n Experimental: false\n`;
  const reg = (g('RegistryConfig') as { InsecureRegistryCIDRs?: string[] | null; IndexConfigs?: Record<string, { Secure: boolean }>; Mirrors?: string[] | null }) ?? {};
  const insecure = [...Object.entries(reg.IndexConfigs ?? {}).filter(([, c]) => !c.Secure).map(([h]) => h), ...(reg.InsecureRegistryCIDRs ?? [])];
  if (insecure.length) out += ` Insecure Registries:\n${insecure.map((r) => `  ${r}\n`).join('')}`;
  if (reg.Mirrors?.length) out += ` Registry Mirrors:\n${reg.Mirrors.map((m) => `  ${m}\n`).join('')}`;
  out += ` Live Restore Enabled: ${g('LiveRestoreEnabled')}\n\n`;
  ctx.stdout.write(out);
  for (const w of (g('Warnings') as string[]) ?? []) ctx.stderr.write(`${w}\n`);
  return 0;
}

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  size: { short: 's', long: 'size', kind: 'bool', help: 'Display total file sizes if the type is container' },
  type: { long: 'type', kind: 'string', help: 'Only inspect objects of the given type' },
});

export const inspectCommand = defineCommand({
  name: 'inspect', usage: '[OPTIONS] NAME|ID [NAME|ID...]', short: 'Return low-level information on Berth objects',
  flags: inspectFlags, args: { min: 1 },
});

export const containerInspectCommand = defineCommand({
  name: 'inspect', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Display detailed information on one or more containers',
  flags: inspectFlags, args: { min: 1 },
});

export async function inspect(ctx: CliContext, p: Parsed<typeof inspectFlags>, only?: 'container' | 'image'): Promise<number> {
  const type = only ?? p.flags.type;
  const docker = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];
  if (type && !docker.includes(type)) throw new StatusError(1, `unknown type: "${type}": must be one of ${docker.map((t) => `"${t}"`).join(', ')}`);
  if (type && !['container', 'image', 'volume', 'network'].includes(type)) throw new StatusError(1, `--type ${type}: Berth has no ${type}s (swarm and plugins are not supported)`);
  // The docker CLI's isErrSkippable: without --type, these pass on to the next kind of object.
  const skippable = (e: unknown) => kindOf(e) === 'NotFound' || (!type && /not supported|invalid reference format/.test(e instanceof Error ? e.message : String(e)));
  await inspectEach(ctx, p.args, async (n) => {
    try {
      if (type === 'volume') return await ctx.client.volumeInspect(n);
      if (type === 'network') return await ctx.client.networkInspect(n);
      if (type !== 'image') {
        try {
          return await ctx.client.containerInspect(n, p.flags.size);
        } catch (e) {
          if (kindOf(e) !== 'NotFound' || type === 'container') throw e;
        }
      }
      const image = async () => {
        const img = await ctx.client.imageInspect(n);
        return p.flags.format && p.flags.format !== 'json' ? imageForTemplate(img) : img;
      };
      if (type === 'image') return await image();
      try {
        return await image();
      } catch (e) {
        if (!skippable(e)) throw e;
      }
      try {
        return await ctx.client.volumeInspect(n);
      } catch (e) {
        if (!skippable(e)) throw e;
      }
      return await ctx.client.networkInspect(n);
    } catch (e) {
      // As the docker CLI: a lookup of any kind that finds nothing is "No such object"; one of a
      // given type passes the daemon's answer on.
      if (skippable(e) && !type) throw new Error(`Error: No such object: ${n}`);
      throw new Error(`Error response from daemon: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, p.flags.format);
  return 0;
}
