/** `berth pause`, `unpause`, `rename`, `top`, `update`: docker's flags, output and errors. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { tabwrite } from '../../tabwriter.ts';
import { memBytes, memSwap, nanoCpus, restartPolicy } from './opts.ts';

async function eachContainer(ctx: CliContext, names: string[], op: (n: string) => Promise<void>): Promise<number> {
  const errs: string[] = [];
  for (const n of names) {
    try {
      await op(n);
      ctx.stdout.write(`${n}\n`);
    } catch (e) {
      errs.push(errorText(e));
    }
  }
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}

export const pauseCommand = defineCommand({
  name: 'pause', usage: 'CONTAINER [CONTAINER...]', short: 'Pause all processes within one or more containers',
  aliasPaths: ['container pause', 'pause'], args: { min: 1 },
});

export function pause(ctx: CliContext, p: Parsed): Promise<number> {
  return eachContainer(ctx, p.args, (n) => ctx.client.containerPause(n));
}

export const unpauseCommand = defineCommand({
  name: 'unpause', usage: 'CONTAINER [CONTAINER...]', short: 'Unpause all processes within one or more containers',
  aliasPaths: ['container unpause', 'unpause'], args: { min: 1 },
});

export function unpause(ctx: CliContext, p: Parsed): Promise<number> {
  return eachContainer(ctx, p.args, (n) => ctx.client.containerUnpause(n));
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

const updateFlags = defineFlags({
  blkioWeight: { long: 'blkio-weight', kind: 'uint', bits: 16, help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', defaultText: '0' },
  cpuPeriod: { long: 'cpu-period', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  cpuQuota: { long: 'cpu-quota', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  cpuRtPeriod: { long: 'cpu-rt-period', kind: 'int', help: 'Limit the CPU real-time period in microseconds' },
  cpuRtRuntime: { long: 'cpu-rt-runtime', kind: 'int', help: 'Limit the CPU real-time runtime in microseconds' },
  cpuShares: { short: 'c', long: 'cpu-shares', kind: 'int', help: 'CPU shares (relative weight)' },
  cpus: { long: 'cpus', kind: 'string', help: 'Number of CPUs', typeName: 'decimal', parse: nanoCpus },
  cpusetCpus: { long: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  cpusetMems: { long: 'cpuset-mems', kind: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  kernelMemory: { long: 'kernel-memory', kind: 'string', help: 'Kernel memory limit (deprecated)', typeName: 'bytes', parse: memBytes },
  memory: { short: 'm', long: 'memory', kind: 'string', help: 'Memory limit', typeName: 'bytes', parse: memBytes },
  memoryReservation: { long: 'memory-reservation', kind: 'string', help: 'Memory soft limit', typeName: 'bytes', parse: memBytes },
  memorySwap: { long: 'memory-swap', kind: 'string', help: "Swap limit equal to memory plus swap: -1 to enable unlimited swap", typeName: 'bytes', parse: memSwap },
  pidsLimit: { long: 'pids-limit', kind: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  restart: { long: 'restart', kind: 'string', help: 'Restart policy to apply when a container exits', parse: restartPolicy },
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
