/** `berth pause`, `unpause`, `rename`, `top`, `update`: docker's flags, output and errors. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { tabwrite } from '../../tabwriter.ts';
import { containerFlags, memBytes } from './opts.ts';
import { forEach } from './lifecycle.ts';

export const pauseCommand = defineCommand({
  name: 'pause', usage: 'CONTAINER [CONTAINER...]', short: 'Pause all processes within one or more containers',
  aliasPaths: ['container pause', 'pause'], args: { min: 1 },
});

export function pause(ctx: CliContext, p: Parsed): Promise<number> {
  return forEach(ctx, p.args, (n) => ctx.client.containerPause(n));
}

export const unpauseCommand = defineCommand({
  name: 'unpause', usage: 'CONTAINER [CONTAINER...]', short: 'Unpause all processes within one or more containers',
  aliasPaths: ['container unpause', 'unpause'], args: { min: 1 },
});

export function unpause(ctx: CliContext, p: Parsed): Promise<number> {
  return forEach(ctx, p.args, (n) => ctx.client.containerUnpause(n));
}

export const renameCommand = defineCommand({
  name: 'rename', usage: 'CONTAINER NEW_NAME', short: 'Rename a container',
  aliasPaths: ['container rename', 'rename'], args: { min: 2, max: 2 },
});

export async function rename(ctx: CliContext, p: Parsed): Promise<number> {
  const [oldName, newName] = p.args.map((a) => a.trim());
  if (!oldName || !newName) throw new StatusError(1, 'Error: Neither old nor new names may be empty');
  try {
    await ctx.client.containerRename(oldName, newName);
  } catch (e) {
    throw new StatusError(1, `${errorText(e)}\nError: failed to rename container named ${oldName}`);
  }
  return 0;
}

export const topCommand = defineCommand({
  name: 'top', usage: 'CONTAINER [ps OPTIONS]', short: 'Display the running processes of a container',
  aliasPaths: ['container top', 'top'], args: { min: 1 }, interspersed: false,
});

export async function top(ctx: CliContext, p: Parsed): Promise<number> {
  const [name, ...psArgs] = p.args;
  const r = await ctx.client.containerTop(name, psArgs.length ? psArgs.join(' ') : undefined);
  // docker's tabwriter here: minimum width 20, padding 3.
  ctx.stdout.write(tabwrite([r.Titles.join('\t'), ...r.Processes.map((row) => row.join('\t'))], 20, 3));
  return 0;
}

const c = containerFlags;
const updateFlags = defineFlags({
  blkioWeight: c.blkioWeight,
  cpuPeriod: c.cpuPeriod,
  cpuQuota: c.cpuQuota,
  cpuRtPeriod: { long: 'cpu-rt-period', kind: 'int', help: 'Limit the CPU real-time period in microseconds' },
  cpuRtRuntime: { long: 'cpu-rt-runtime', kind: 'int', help: 'Limit the CPU real-time runtime in microseconds' },
  cpuShares: c.cpuShares,
  cpus: c.cpus,
  cpusetCpus: c.cpusetCpus,
  cpusetMems: c.cpusetMems,
  kernelMemory: { long: 'kernel-memory', kind: 'string', help: 'Kernel memory limit (deprecated)', typeName: 'bytes', parse: memBytes },
  memory: c.memory,
  memoryReservation: c.memoryReservation,
  memorySwap: c.memorySwap,
  pidsLimit: c.pidsLimit,
  restart: { ...c.restart, defaultText: undefined },
});

export const updateCommand = defineCommand({
  name: 'update', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Update configuration of one or more containers',
  aliasPaths: ['container update', 'update'], flags: updateFlags, args: { min: 1 },
});

export async function update(ctx: CliContext, p: Parsed<typeof updateFlags>): Promise<number> {
  const f = p.flags;
  const body: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) body[k] = v;
  };
  set('BlkioWeight', f.blkioWeight);
  set('CpuPeriod', f.cpuPeriod);
  set('CpuQuota', f.cpuQuota);
  set('CpuRealtimePeriod', f.cpuRtPeriod);
  set('CpuRealtimeRuntime', f.cpuRtRuntime);
  set('CpuShares', f.cpuShares);
  set('NanoCpus', f.cpus);
  set('CpusetCpus', f.cpusetCpus);
  set('CpusetMems', f.cpusetMems);
  set('KernelMemory', f.kernelMemory);
  set('Memory', f.memory);
  set('MemoryReservation', f.memoryReservation);
  set('MemorySwap', f.memorySwap);
  set('PidsLimit', f.pidsLimit);
  set('RestartPolicy', f.restart);
  if (!Object.keys(body).length) throw new StatusError(1, 'you must provide one or more flags when using this command');
  const warns: string[] = [];
  const errs: string[] = [];
  for (const n of p.args) {
    try {
      const r = await ctx.client.containerUpdate(n, body);
      ctx.stdout.write(`${n}\n`);
      warns.push(...(r.Warnings ?? []));
    } catch (e) {
      errs.push(errorText(e));
    }
  }
  if (warns.length) ctx.stdout.write(`${warns.join('\n')}\n`);
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}
