/** `berth volume create|ls|inspect|rm|prune`, with docker's output (cli/command/volume). */
import { withPruneFilters } from '../../prunefilters.ts';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { removeEach, StatusError, type CliContext } from '../../context.ts';
import type { Volume } from '../../../api/types.ts';
import { humanSize, fromDaemon, inspectEach, renderRows, renderTable, structRow } from '../../format.ts';
import { parseFilterFlags } from '../container/ps.ts';
import { confirm } from '../../confirm.ts';
import { naturalCompare } from '../../../lib/natural.ts';

const createFlags = defineFlags({
  driver: { short: 'd', long: 'driver', kind: 'string', help: 'Specify volume driver name', default: 'local' },
  label: { long: 'label', kind: 'stringArray', help: 'Set metadata for a volume', typeName: 'list' },
  name: { long: 'name', kind: 'string', help: 'Specify volume name' },
  opt: { short: 'o', long: 'opt', kind: 'stringArray', help: 'Set driver specific options', typeName: 'map', defaultText: 'map[]' },
});

export const volumeCreateCommand = defineCommand({ name: 'create', usage: '[OPTIONS] [VOLUME]', short: 'Create a volume', flags: createFlags, args: { max: 1 } });

function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq < 0) out[kv] = '';
    else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export async function volumeCreate(ctx: CliContext, p: Parsed<typeof createFlags>): Promise<number> {
  const f = p.flags;
  if (f.name && p.args[0]) throw new StatusError(1, 'conflicting options: cannot specify a volume-name through both --name and as a positional arg');
  const name = p.args[0] ?? f.name ?? '';
  const v = await ctx.client.volumeCreate({
    ...(name ? { Name: name } : {}),
    Driver: f.driver,
    ...(f.opt.length ? { DriverOpts: keyValues(f.opt) } : {}),
    ...(f.label.length ? { Labels: keyValues(f.label) } : {}),
  });
  ctx.stdout.write(`${v.Name}\n`);
  return 0;
}

const lsFlags = defineFlags({
  cluster: { long: 'cluster', kind: 'bool', help: 'Display only cluster volumes, and use cluster volume list formatting' },
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: "Provide filter values (e.g. 'dangling=true')", typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only display volume names' },
});

export const volumeLsCommand = defineCommand({ name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List volumes', flags: lsFlags, args: { max: 0 } });

const HEADERS = { Driver: 'DRIVER', Name: 'VOLUME NAME', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS' };


function volumeRow(v: Volume): Record<string, unknown> {
  const labels = v.Labels ?? {};
  return structRow('*formatter.volumeContext', {
    Name: v.Name, Driver: v.Driver, Scope: v.Scope, Mountpoint: v.Mountpoint,
    Labels: Object.entries(labels).map(([k, val]) => `${k}=${val}`).join(','),
    Label: (k: string) => labels[k] ?? '',
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Size: v.UsageData ? humanSize(v.UsageData.Size, 4) : 'N/A',
    Group: 'N/A', Availability: 'N/A', Status: 'N/A',
  });
}

export async function volumeLs(ctx: CliContext, p: Parsed<typeof lsFlags>): Promise<number> {
  const f = p.flags;
  if (f.cluster) throw new StatusError(1, 'cluster volumes need a swarm, which Berth does not run');
  const { Volumes } = await ctx.client.volumeList(parseFilterFlags(f.filter));
  const list = [...Volumes].sort((a, b) => naturalCompare(a.Name, b.Name));
  // --format, else the config file's volumesFormat unless -q; -q applies to the table only.
  const format = f.format || (!f.quiet && ctx.config.volumesFormat) || 'table';
  if (f.quiet && format === 'table') {
    for (const v of list) ctx.stdout.write(`${v.Name}\n`);
    return 0;
  }
  const rows = list.map(volumeRow);
  if (format === 'table') {
    ctx.stdout.write(renderTable(rows, [['Driver', 'DRIVER'], ['Name', 'VOLUME NAME']]));
    return 0;
  }
  // `raw` is docker's unnamed format (formatter.NewVolumeFormat).
  const raw = f.quiet ? 'name: {{.Name}}' : 'name: {{.Name}}\ndriver: {{.Driver}}\n';
  ctx.stdout.write(await renderRows(rows, format === 'raw' ? raw : format, HEADERS));
  return 0;
}

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
});

export const volumeInspectCommand = defineCommand({ name: 'inspect', usage: '[OPTIONS] VOLUME [VOLUME...]', short: 'Display detailed information on one or more volumes', flags: inspectFlags, args: { min: 1 } });

export async function volumeInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  await inspectEach(ctx, p.args, fromDaemon((n) => ctx.client.volumeInspect(n)), p.flags.format);
  return 0;
}

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the removal of one or more volumes' },
});

export const volumeRmCommand = defineCommand({ name: 'rm', aliases: ['remove'], usage: '[OPTIONS] VOLUME [VOLUME...]', short: 'Remove one or more volumes', flags: rmFlags, args: { min: 1 } });

export function volumeRm(ctx: CliContext, p: Parsed<typeof rmFlags>): Promise<number> {
  return removeEach(ctx, p.args, (n) => ctx.client.volumeRemove(n, p.flags.force));
}

const pruneFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "label=<label>")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
});

export const volumePruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove unused local volumes', flags: pruneFlags, args: { max: 0 } });

/** The prune itself, for `volume prune` and `system prune --volumes`: the text to print and the space. */
export async function pruneVolumes(ctx: CliContext, all: boolean, filterFlags: string[]): Promise<{ text: string; space: number }> {
  const filters = withPruneFilters(ctx.config, parseFilterFlags(filterFlags));
  if (all) {
    if (filters.has('all')) throw new StatusError(1, 'conflicting options: cannot specify both --all and --filter all=1');
    filters.set('all', ['true']);
  }
  const r = await ctx.client.volumePrune(filters);
  const text = r.VolumesDeleted?.length ? `Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n` : '';
  return { text, space: r.SpaceReclaimed };
}

export async function volumePrune(ctx: CliContext, p: Parsed<typeof pruneFlags>): Promise<number> {
  const warning = p.flags.all
    ? 'WARNING! This will remove all local volumes not used by at least one container.'
    : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
  if (!p.flags.force && !(await confirm(ctx, warning))) return 0;
  const r = await pruneVolumes(ctx, p.flags.all, p.flags.filter);
  ctx.stdout.write(`${r.text}Total reclaimed space: ${humanSize(r.space, 4)}\n`);
  return 0;
}
