/** `berth ps` / `container ls`: docker's columns, filters, truncation and --format. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { ago, ellipsis, goTimeString, renderRows, renderTable, shortId, structRow, humanSize, validateFormat } from '../../format.ts';
import type { ContainerSummary } from '../../../api/types.ts';
import { displayPorts } from './portspec.ts';

const psFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Show all containers (default shows just running)' },
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: 'Filter output based on conditions provided', typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template' },
  last: { short: 'n', long: 'last', kind: 'int', help: 'Show n last created containers (includes all states)', default: -1 },
  latest: { short: 'l', long: 'latest', kind: 'bool', help: 'Show the latest created container (includes all states)' },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only display container IDs' },
  size: { short: 's', long: 'size', kind: 'bool', help: 'Display total file sizes' },
});

export const psCommand = defineCommand({
  name: 'ls', aliases: ['ps', 'list'], usage: '[OPTIONS]', short: 'List containers',
  aliasPaths: ['container ls', 'container list', 'container ps', 'ps'], flags: psFlags, args: { max: 0 },
});

export const DEFAULT_PS_FORMAT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** docker's `raw` format (formatter.NewContainerFormat), which its help does not name. */
const RAW_PS_FORMAT = 'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';

const HEADERS = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS',
  Mounts: 'MOUNTS', Networks: 'NETWORKS', LocalVolumes: 'LOCAL VOLUMES',
};

export function parseFilterFlags(list: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of list) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new StatusError(125, `invalid argument "${f}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    const k = f.slice(0, eq).trim().toLowerCase();
    m.set(k, [...(m.get(k) ?? []), f.slice(eq + 1)]);
  }
  return m;
}

function image(c: ContainerSummary, trunc: boolean): string {
  if (trunc && c.Image.startsWith('sha256:')) return shortId(c.Image);
  if (trunc && c.Image.includes('@')) return c.Image.slice(0, c.Image.indexOf('@'));
  return c.Image;
}

const command = (c: ContainerSummary, trunc: boolean): string => JSON.stringify(trunc ? ellipsis(c.Command, 20) : c.Command);
const names = (c: ContainerSummary): string => c.Names.map((n) => n.replace(/^\//, '')).join(',');
// docker's ContainerContext.Size: the writable layer, and the virtual size when known.
const size = (c: ContainerSummary): string => ((c.SizeRootFs ?? 0) > 0 ? `${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs ?? 0)})` : humanSize(c.SizeRw ?? 0));

export function psRow(c: ContainerSummary, trunc: boolean): Record<string, unknown> {
  const labels = Object.entries(c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const row = structRow('*formatter.ContainerContext', {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image(c, trunc),
    Command: command(c, trunc),
    CreatedAt: goTimeString(c.Created),
    RunningFor: ago(c.Created),
    Ports: displayPorts(c.Ports ?? []),
    State: c.State,
    Status: c.Status,
    Size: size(c),
    Names: names(c),
    Labels: labels,
    // docker's ContainerContext: each mount's volume name, else its source; the local volumes counted.
    Mounts: (c.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Platform: null,
  });
  // ContainerContext.Label(name): one label's value, "" when absent.
  Object.defineProperty(row, 'Label', { value: (name: unknown) => (c.Labels ?? {})[String(name)] ?? '', enumerable: false });
  return row;
}

/** The default table's columns only: a `ps` of 1,000 containers makes nothing else. */
function tableRow(c: ContainerSummary, trunc: boolean, withSize: boolean): Record<string, unknown> {
  return {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image(c, trunc),
    Command: command(c, trunc),
    RunningFor: ago(c.Created),
    Status: c.Status,
    Ports: displayPorts(c.Ports ?? []),
    Names: names(c),
    ...(withSize ? { Size: size(c) } : {}),
  };
}

export async function ps(ctx: CliContext, p: Parsed<typeof psFlags>): Promise<number> {
  const f = p.flags;
  const filters = parseFilterFlags(f.filter);
  const limit = f.latest ? 1 : f.last;
  let size = f.size;
  // --format, else the config file's psFormat (even with -q, which then wins, as docker's).
  let format = f.format;
  if (!format) format = ctx.config.psFormat ?? '';
  else if (f.quiet) ctx.stderr.write('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
  if (format) {
    // As docker: the format is checked (the `table` word and all) over an empty container
    // before listing, and a format that reads .Size asks the daemon for sizes (unless -q, or
    // --size=false was given).
    const empty = psRow({ Id: '', Names: [], Image: '', ImageID: '', Command: '', Created: 0, Ports: [], Labels: {}, State: '', Status: '', Mounts: [] } as unknown as ContainerSummary, false);
    const sizeValue = empty.Size;
    const sizeChanged = p.set.has('size');
    Object.defineProperty(empty, 'Size', { get: () => ((size ||= !f.quiet && !sizeChanged), sizeValue), enumerable: true });
    await validateFormat(format, empty, { parse: 'failed to parse template: ', exec: 'failed to execute template: ' });
  }
  const list = await ctx.client.containerList({ all: f.all, ...(limit > 0 ? { limit } : {}), filters, size });
  if (f.quiet && format !== 'raw') {
    ctx.stdout.write(list.map((c) => (f.noTrunc ? c.Id : shortId(c.Id)) + '\n').join(''));
    return 0;
  }
  if (!format || format === 'table' || format === DEFAULT_PS_FORMAT) {
    const cols: [string, string][] = [['ID', 'CONTAINER ID'], ['Image', 'IMAGE'], ['Command', 'COMMAND'], ['RunningFor', 'CREATED'], ['Status', 'STATUS'], ['Ports', 'PORTS'], ['Names', 'NAMES']];
    ctx.stdout.write(renderTable(list.map((c) => tableRow(c, !f.noTrunc, f.size)), f.size ? [...cols, ['Size', 'SIZE']] : cols));
    return 0;
  }
  if (format === 'raw') format = f.quiet ? 'container_id: {{.ID}}' : RAW_PS_FORMAT + (f.size ? 'size: {{.Size}}\n' : '');
  ctx.stdout.write(await renderRows(list.map((c) => psRow(c, !f.noTrunc)), format, HEADERS));
  return 0;
}
