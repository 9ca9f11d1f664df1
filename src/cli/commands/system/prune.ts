/** `berth image prune`, `container prune`, `system prune` and `system df`, with docker's prompts and tables. */
import { withPruneFilters } from '../../prunefilters.ts';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';
import { pruneNetworks } from '../network/network.ts';
import { confirm } from '../../confirm.ts';
import type { DiskUsage as SystemDf } from '../../../api/types.ts';
import { humanSize, renderOne, renderRows, renderTable, shortId, structRow, ago, goTimeString, sortedJson, fieldOrderJson } from '../../format.ts';
import { parseFilterFlags, psRow } from '../container/ps.ts';
import { pruneVolumes } from '../volume/volume.ts';
import { buildCacheDeleted } from '../image/build.ts';

const imagePruneFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Remove all unused images, not just dangling ones' },
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "until=<timestamp>")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
});

export const imagePruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove unused images', flags: imagePruneFlags, args: { max: 0 } });

const ALL_IMAGES_WARNING = 'WARNING! This will remove all images without at least one container associated to them.';
const DANGLING_WARNING = 'WARNING! This will remove all dangling images.';

async function pruneImages(ctx: CliContext, all: boolean, filterFlags: string[]): Promise<{ text: string; space: number }> {
  const filters = parseFilterFlags(filterFlags);
  filters.set('dangling', [all ? 'false' : 'true']);
  withPruneFilters(ctx.config, filters);
  const r = await ctx.client.imagePrune(filters);
  let text = '';
  if (r.ImagesDeleted?.length) {
    text += 'Deleted Images:\n';
    for (const d of r.ImagesDeleted) {
      if (d.Untagged) text += `untagged: ${d.Untagged}\n`;
      if (d.Deleted) text += `deleted: ${d.Deleted}\n`;
    }
    text += '\n';
  }
  return { text, space: r.SpaceReclaimed };
}

export async function imagePrune(ctx: CliContext, p: Parsed<typeof imagePruneFlags>): Promise<number> {
  if (!p.flags.force && !(await confirm(ctx, p.flags.all ? ALL_IMAGES_WARNING : DANGLING_WARNING))) return 0;
  const r = await pruneImages(ctx, p.flags.all, p.flags.filter);
  ctx.stdout.write(`${r.text}Total reclaimed space: ${humanSize(r.space)}\n`);
  return 0;
}

const containerPruneFlags = defineFlags({
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "until=<timestamp>")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
});

export const containerPruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove all stopped containers', flags: containerPruneFlags, args: { max: 0 } });

async function pruneContainers(ctx: CliContext, filterFlags: string[]): Promise<{ text: string; space: number }> {
  const r = await ctx.client.containerPrune(withPruneFilters(ctx.config, parseFilterFlags(filterFlags)));
  const text = r.ContainersDeleted?.length ? `Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n` : '';
  return { text, space: r.SpaceReclaimed };
}

export async function containerPrune(ctx: CliContext, p: Parsed<typeof containerPruneFlags>): Promise<number> {
  if (!p.flags.force && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return 0;
  const r = await pruneContainers(ctx, p.flags.filter);
  ctx.stdout.write(`${r.text}Total reclaimed space: ${humanSize(r.space)}\n`);
  return 0;
}

const systemPruneFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Remove all unused images not just dangling ones' },
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "label=<key>=<value>")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
  volumes: { long: 'volumes', kind: 'bool', help: 'Prune anonymous volumes' },
});

export const systemPruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove unused data', flags: systemPruneFlags, args: { max: 0 } });

export async function systemPrune(ctx: CliContext, p: Parsed<typeof systemPruneFlags>): Promise<number> {
  const f = p.flags;
  const items = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(f.volumes ? ['all anonymous volumes not used by at least one container'] : []),
    f.all ? 'all images without at least one container associated to them' : 'all dangling images',
    f.all ? 'all build cache' : 'unused build cache',
  ];
  if (!f.force && !(await confirm(ctx, `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join('\n')}\n`))) return 0;
  const c = await pruneContainers(ctx, f.filter);
  const n = await pruneNetworks(ctx, f.filter);
  const v = f.volumes ? await pruneVolumes(ctx, false, f.filter) : { text: '', space: 0 };
  const i = await pruneImages(ctx, f.all, f.filter);
  // The same filters reach the build cache, as the docker CLI sends them.
  const b = await ctx.client.buildPrune(f.all, withPruneFilters(ctx.config, parseFilterFlags(f.filter)));
  const bText = b.CachesDeleted?.length ? `${buildCacheDeleted(b.CachesDeleted)}\n` : '';
  ctx.stdout.write(`${c.text}${n}${v.text}${i.text}${bText}Total reclaimed space: ${humanSize(c.space + v.space + i.space + b.SpaceReclaimed)}\n`);
  return 0;
}

const dfFlags = defineFlags({
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  verbose: { short: 'v', long: 'verbose', kind: 'bool', help: 'Show detailed information on space usage' },
});

export const dfCommand = defineCommand({ name: 'df', usage: '[OPTIONS]', short: 'Show docker disk usage', flags: dfFlags, args: { max: 0 } });

// docker's df summary uses go-units' HumanSize: four significant digits.
const pct = (part: number, total: number) => (total > 0 ? `${humanSize(part, 4)} (${Math.floor((part * 100) / total)}%)` : humanSize(part, 4));
const ACTIVE = new Set(['running', 'paused', 'restarting']);

export async function df(ctx: CliContext, p: Parsed<typeof dfFlags>): Promise<number> {
  const du = await ctx.client.systemDf();
  if (p.flags.verbose && p.flags.format && p.flags.format !== 'table') return dfVerboseFormat(ctx, du, p.flags.format);
  const total = du.LayersSize;
  let used = 0;
  for (const i of du.Images) if (i.Containers > 0 && i.Size !== -1 && i.SharedSize !== -1) used += i.Size - i.SharedSize;
  const cTotal = du.Containers.reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const cReclaim = du.Containers.filter((c) => !ACTIVE.has(c.State)).reduce((a, c) => a + (c.SizeRw ?? 0), 0);
  const vols = du.Volumes ?? [];
  const vSize = (v: (typeof vols)[number]) => (v.UsageData && v.UsageData.Size !== -1 ? v.UsageData.Size : 0);
  const vTotal = vols.reduce((a, v) => a + vSize(v), 0);
  const vReclaim = vols.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((a, v) => a + vSize(v), 0);
  const rows = [
    structRow('*formatter.diskUsageImagesContext', { Type: 'Images', TotalCount: String(du.Images.length), Active: String(du.Images.filter((i) => i.Containers > 0).length), Size: humanSize(total, 4), Reclaimable: pct(total - used, total) }),
    structRow('*formatter.diskUsageContainersContext', { Type: 'Containers', TotalCount: String(du.Containers.length), Active: String(du.Containers.filter((c) => ACTIVE.has(c.State)).length), Size: humanSize(cTotal, 4), Reclaimable: pct(cReclaim, cTotal) }),
    structRow('*formatter.diskUsageVolumesContext', { Type: 'Local Volumes', TotalCount: String(vols.length), Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(vTotal, 4), Reclaimable: pct(vReclaim, vTotal) }),
    structRow('*formatter.diskUsageBuilderContext', { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' }),
  ];
  if (p.flags.format && p.flags.format !== 'table') {
    ctx.stdout.write(await renderRows(rows, p.flags.format, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    return 0;
  }
  if (!p.flags.verbose) {
    ctx.stdout.write(renderTable(rows, [['Type', 'TYPE'], ['TotalCount', 'TOTAL'], ['Active', 'ACTIVE'], ['Size', 'SIZE'], ['Reclaimable', 'RECLAIMABLE']]));
    return 0;
  }
  const imgRows = du.Images.map((i) => dfImageRow(i, true));
  const ctrRows = du.Containers.map((c) => ({
    ID: shortId(c.Id), Image: c.Image, Command: JSON.stringify(c.Command.length > 20 ? `${c.Command.slice(0, 19)}…` : c.Command), LocalVolumes: String(c.Mounts.filter((m) => m.Type === 'volume').length),
    Size: humanSize(c.SizeRw ?? 0), CreatedSince: ago(c.Created), Status: c.Status, Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
  }));
  ctx.stdout.write(`Images space usage:\n\n${renderTable(imgRows, [['Repository', 'REPOSITORY'], ['Tag', 'TAG'], ['ID', 'IMAGE ID'], ['CreatedSince', 'CREATED'], ['Size', 'SIZE'], ['SharedSize', 'SHARED SIZE'], ['UniqueSize', 'UNIQUE SIZE'], ['Containers', 'CONTAINERS']])}\n`);
  ctx.stdout.write(`Containers space usage:\n\n${renderTable(ctrRows, [['ID', 'CONTAINER ID'], ['Image', 'IMAGE'], ['Command', 'COMMAND'], ['LocalVolumes', 'LOCAL VOLUMES'], ['Size', 'SIZE'], ['CreatedSince', 'CREATED'], ['Status', 'STATUS'], ['Names', 'NAMES']])}\n`);
  const volRows = vols.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: humanSize(v.UsageData?.Size ?? 0, 4) }));
  ctx.stdout.write(`Local Volumes space usage:\n\n${renderTable(volRows, [['Name', 'VOLUME NAME'], ['Links', 'LINKS'], ['Size', 'SIZE']])}\n`);
  ctx.stdout.write('Build cache usage: 0B\n\n' + renderTable([], [['ID', 'CACHE ID'], ['Type', 'CACHE TYPE'], ['Size', 'SIZE'], ['Created', 'CREATED'], ['LastUsed', 'LAST USED'], ['Usage', 'USAGE'], ['Shared', 'SHARED']]));
  return 0;
}

/** docker's df -v image row: the first tag only (docker: "Only show the first tag"). */
function dfImageRow(i: SystemDf['Images'][number], trunc: boolean): Record<string, unknown> {
  let repo = '<none>';
  let tag = '<none>';
  const first = i.RepoTags[0];
  if (first && first !== '<none>:<none>') {
    const at = first.lastIndexOf(':');
    repo = first.slice(0, at);
    tag = first.slice(at + 1);
  }
  return {
    Containers: String(i.Containers), CreatedAt: goTimeString(i.Created), CreatedSince: ago(i.Created), Digest: '',
    ID: trunc ? shortId(i.Id) : i.Id, Repository: repo, SharedSize: humanSize(i.SharedSize, 4), Size: humanSize(i.Size), Tag: tag,
    UniqueSize: humanSize(i.Size - i.SharedSize, 4), VirtualSize: humanSize(i.Size, 4),
  };
}

/**
 * `system df -v --format`: one template over the whole usage (docker's diskUsageContext:
 * Images, Containers, Volumes, BuildCache), untruncated, written without a trailing newline;
 * exec errors come bare, as docker prints them.
 */
async function dfVerboseFormat(ctx: CliContext, du: SystemDf, format: string): Promise<number> {
  const data = fieldOrderJson(structRow('*formatter.diskUsageContext', {
    Images: du.Images.map((i) => sortedJson(structRow('*formatter.imageContext', dfImageRow(i, false)))),
    Containers: du.Containers.map((c) => sortedJson(psRow({ ...c, SizeRootFs: 0 }, false))), // docker: "Don't display the virtual size"
    Volumes: [] as unknown[],
    BuildCache: [] as unknown[],
  }));
  await renderOne(ctx, data, format, { newline: false, errors: { parse: 'template parsing error: ', exec: '' } });
  return 0;
}
