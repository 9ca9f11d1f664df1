/** `berth stats`: docker's columns and computations (cli/command/container/stats_helpers.go). */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import type { ContainerStats } from '../../../api/types.ts';
import { bytesSize, humanSizeWithPrecision } from '../../../lib/units.ts';
import { renderRows, renderTable, structRow } from '../../format.ts';

const statsFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Show all containers (default shows just running)' },
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  noStream: { long: 'no-stream', kind: 'bool', help: 'Disable streaming stats and only pull the first result' },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: 'Do not truncate output' },
});

export const statsCommand = defineCommand({
  name: 'stats', usage: '[OPTIONS] [CONTAINER...]', short: 'Display a live stream of container(s) resource usage statistics',
  aliasPaths: ['container stats', 'stats'], flags: statsFlags,
});

const HEADERS = { Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };
const COLUMNS: [string, string][] = [['ID', 'CONTAINER ID'], ['Name', 'NAME'], ['CPUPerc', 'CPU %'], ['MemUsage', 'MEM USAGE / LIMIT'], ['MemPerc', 'MEM %'], ['NetIO', 'NET I/O'], ['BlockIO', 'BLOCK I/O'], ['PIDs', 'PIDS']];

export interface StatsEntry {
  container: string;
  name: string;
  id: string;
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
  invalid: boolean;
}

/** One sample → docker's figures (memory without the page cache's inactive files). */
export function computeStats(container: string, s: ContainerStats): StatsEntry {
  let cpuPercent = 0;
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const online = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  if (systemDelta > 0 && cpuDelta > 0) cpuPercent = (cpuDelta / systemDelta) * online * 100;
  const m = s.memory_stats;
  const usage = m.usage ?? 0;
  const st = m.stats ?? {};
  let memory = usage;
  if ('total_inactive_file' in st && st.total_inactive_file < usage) memory = usage - st.total_inactive_file;
  else if ((st.inactive_file ?? Infinity) < usage) memory = usage - st.inactive_file;
  const limit = m.limit ?? 0;
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes;
    netTx += n.tx_bytes;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const e of s.blkio_stats.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') blockRead += e.value;
    else if (op === 'write') blockWrite += e.value;
  }
  return {
    container, name: s.name.replace(/^\//, ''), id: s.id, cpuPercent, memory, memoryLimit: limit, memoryPercent: limit ? (memory / limit) * 100 : 0,
    netRx, netTx, blockRead, blockWrite, pids: s.pids_stats.current ?? 0, invalid: false,
  };
}

function row(e: StatsEntry, noTrunc: boolean) {
  const inv = e.invalid;
  return structRow('*formatter.statsContext', {
    Container: e.container,
    Name: e.name || '--',
    ID: noTrunc ? e.id : e.id.slice(0, 12),
    CPUPerc: inv ? '--' : `${e.cpuPercent.toFixed(2)}%`,
    MemUsage: inv ? '-- / --' : `${bytesSize(e.memory)} / ${bytesSize(e.memoryLimit)}`,
    MemPerc: inv ? '--' : `${e.memoryPercent.toFixed(2)}%`,
    NetIO: inv ? '--' : `${humanSizeWithPrecision(e.netRx, 3)} / ${humanSizeWithPrecision(e.netTx, 3)}`,
    BlockIO: inv ? '--' : `${humanSizeWithPrecision(e.blockRead, 3)} / ${humanSizeWithPrecision(e.blockWrite, 3)}`,
    PIDs: inv ? '--' : String(e.pids),
  });
}

async function render(entries: StatsEntry[], format: string | undefined, noTrunc: boolean): Promise<string> {
  const rows = entries.map((e) => row(e, noTrunc));
  if (!format || format === 'table') return renderTable(rows as unknown as Record<string, unknown>[], COLUMNS);
  return renderRows(rows, format === 'json' ? '{{json .}}' : format, HEADERS);
}

export async function stats(ctx: CliContext, p: Parsed<typeof statsFlags>): Promise<number> {
  const f = p.flags;
  const named = p.args;
  // --format, else the config file's statsFormat.
  const format = f.format || ctx.config.statsFormat || undefined;
  const list = async () => named.length ? named : (await ctx.client.containerList({ all: f.all })).map((c) => c.Id.slice(0, 12));
  if (f.noStream) {
    const names = await list();
    const errs: string[] = [];
    const entries: StatsEntry[] = [];
    await Promise.all(names.map(async (n, i) => {
      try {
        const res = await ctx.client.containerStats(n, false);
        const text = (await res.toArray()).map((b: Buffer) => b.toString()).join('');
        entries[i] = computeStats(n, JSON.parse(text) as ContainerStats);
      } catch (e) {
        errs.push(errorText(e));
      }
    }));
    if (errs.length) throw new StatusError(1, errs.join('\n'));
    ctx.stdout.write(await render(entries.filter(Boolean), format, f.noTrunc));
    return 0;
  }
  // Streaming: one stats stream per container, the screen redrawn every half second.
  const abort = new AbortController();
  const latest = new Map<string, StatsEntry>();
  const watched = new Set<string>();
  const watch = (n: string) => {
    if (watched.has(n)) return;
    watched.add(n);
    void (async () => {
      try {
        const res = await ctx.client.containerStats(n, true, abort.signal);
        for await (const line of process.getBuiltinModule('node:readline').createInterface({ input: res, crlfDelay: Infinity })) {
          if (line.trim()) latest.set(n, computeStats(n, JSON.parse(line) as ContainerStats));
        }
      } catch (e) {
        if (named.length && !abort.signal.aborted) {
          ctx.stderr.write(`${errorText(e)}\n`);
          abort.abort();
        }
      } finally {
        latest.delete(n);
        watched.delete(n);
      }
    })();
  };
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (const n of await list()) watch(n);
    let tick = 0;
    while (!abort.signal.aborted) {
      await new Promise((r) => setTimeout(r, 500));
      // New containers join (and gone ones leave) as docker's event watch does.
      if (!named.length && ++tick % 2 === 0) for (const n of await list()) watch(n);
      const order = named.length ? named : [...watched];
      const entries = order.map((n) => latest.get(n)).filter((e): e is StatsEntry => e !== undefined);
      ctx.stdout.write('\x1b[2J\x1b[H' + await render(entries, format, f.noTrunc));
      if (named.length && !watched.size) break;
    }
  } finally {
    abort.abort();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
