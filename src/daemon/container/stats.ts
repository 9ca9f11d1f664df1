/**
 * `docker stats`: a container's resource use read from its cgroups (v1 or v2) and its network
 * namespace's interfaces, in the Engine API's stats shape (moby daemon/stats_unix.go).
 */
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ContainerStats, CpuStats } from '../../api/types.ts';
import type { Container } from './container.ts';
import type { ContainerDeps } from './deps.ts';
import { cgroupPath } from './operate.ts';
import { ZERO_TIME } from './container.ts';

const CLK_TCK = 100;

const read = (p: string) => readFile(p, 'utf8').catch(() => undefined);
const num = (s: string | undefined) => (s === undefined ? undefined : Number(s.trim()));

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** The host's CPU time in nanoseconds, as moby's getSystemCPUUsage sums /proc/stat's first line. */
async function systemCpuUsage(): Promise<number> {
  const line = (await read('/proc/stat'))?.split('\n').find((l) => l.startsWith('cpu ')) ?? '';
  const f = line.trim().split(/\s+/).slice(1, 8).map(Number);
  return (f.reduce((a, b) => a + b, 0) * 1e9) / CLK_TCK;
}

export function emptyCpu(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

export function emptyStats(c: Container): ContainerStats {
  return {
    read: ZERO_TIME, preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0, storage_stats: {},
    cpu_stats: emptyCpu(), precpu_stats: emptyCpu(),
    memory_stats: {},
    name: c.rec.Name, id: c.id,
  };
}

/** One sample of a running container (precpu_stats left empty: the caller keeps the previous one). */
export async function sampleStats(d: ContainerDeps, c: Container): Promise<ContainerStats> {
  const s = emptyStats(c);
  s.read = new Date().toISOString();
  const path = cgroupPath(d, c);
  const ncpu = cpus().length;
  if (d.rt.cgroupVersion === 1) {
    const g = (ctrl: string, file: string) => read(join('/sys/fs/cgroup', ctrl, path, file));
    const percpu = (await g('cpuacct', 'cpuacct.usage_percpu'))?.trim().split(/\s+/).map(Number);
    const acct = keyValues(await g('cpuacct', 'cpuacct.stat'));
    const thr = keyValues(await g('cpu', 'cpu.stat'));
    s.cpu_stats = {
      cpu_usage: {
        total_usage: num(await g('cpuacct', 'cpuacct.usage')) ?? 0,
        ...(percpu ? { percpu_usage: percpu } : {}),
        usage_in_kernelmode: ((acct.system ?? 0) * 1e9) / CLK_TCK,
        usage_in_usermode: ((acct.user ?? 0) * 1e9) / CLK_TCK,
      },
      system_cpu_usage: await systemCpuUsage(),
      online_cpus: ncpu,
      throttling_data: { periods: thr.nr_periods ?? 0, throttled_periods: thr.nr_throttled ?? 0, throttled_time: thr.throttled_time ?? 0 },
    };
    const usage = num(await g('memory', 'memory.usage_in_bytes'));
    if (usage !== undefined) {
      const limit = num(await g('memory', 'memory.limit_in_bytes')) ?? Infinity;
      s.memory_stats = {
        usage,
        max_usage: num(await g('memory', 'memory.max_usage_in_bytes')) ?? 0,
        stats: pickV1MemoryStats(keyValues(await g('memory', 'memory.stat'))),
        limit: Math.min(limit, totalmem()),
      };
      // omitempty in moby's MemoryStats
      const failcnt = num(await g('memory', 'memory.failcnt')) ?? 0;
      if (failcnt) s.memory_stats.failcnt = failcnt;
    }
    const pids = await g('pids', 'pids.current');
    if (pids !== undefined) {
      const max = (await g('pids', 'pids.max'))?.trim();
      s.pids_stats = { current: Number(pids), ...(max && max !== 'max' ? { limit: Number(max) } : {}) };
    }
    const io = (await g('blkio', 'blkio.throttle.io_service_bytes_recursive')) ?? (await g('blkio', 'blkio.throttle.io_service_bytes'));
    s.blkio_stats.io_service_bytes_recursive = blkioEntries(io);
    s.blkio_stats.io_serviced_recursive = blkioEntries((await g('blkio', 'blkio.throttle.io_serviced_recursive')) ?? (await g('blkio', 'blkio.throttle.io_serviced')));
    // moby copies every v1 list, empty ones as [] (what it reads from CFQ, which this kernel's schedulers lack)
    for (const k of ['io_queue_recursive', 'io_service_time_recursive', 'io_wait_time_recursive', 'io_merged_recursive', 'io_time_recursive', 'sectors_recursive'] as const) s.blkio_stats[k] = [];
    s.blkio_stats.io_service_bytes_recursive ??= [];
    s.blkio_stats.io_serviced_recursive ??= [];
  } else {
    const g = (file: string) => read(join('/sys/fs/cgroup', path, file));
    const cpu = keyValues(await g('cpu.stat'));
    s.cpu_stats = {
      cpu_usage: { total_usage: (cpu.usage_usec ?? 0) * 1000, usage_in_kernelmode: (cpu.system_usec ?? 0) * 1000, usage_in_usermode: (cpu.user_usec ?? 0) * 1000 },
      system_cpu_usage: await systemCpuUsage(),
      online_cpus: ncpu,
      throttling_data: { periods: cpu.nr_periods ?? 0, throttled_periods: cpu.nr_throttled ?? 0, throttled_time: (cpu.throttled_usec ?? 0) * 1000 },
    };
    const usage = num(await g('memory.current'));
    if (usage !== undefined) {
      const max = (await g('memory.max'))?.trim();
      s.memory_stats = { usage, stats: keyValues(await g('memory.stat')), limit: max && max !== 'max' ? Math.min(Number(max), totalmem()) : totalmem() };
    }
    const pids = await g('pids.current');
    if (pids !== undefined) {
      const max = (await g('pids.max'))?.trim();
      s.pids_stats = { current: Number(pids), ...(max && max !== 'max' ? { limit: Number(max) } : {}) };
    }
    const entries: { major: number; minor: number; op: string; value: number }[] = [];
    for (const line of ((await g('io.stat')) ?? '').split('\n')) {
      const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      const kv = Object.fromEntries(m[3].split(/\s+/).map((p) => p.split('=')));
      entries.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: Number(kv.rbytes ?? 0) });
      entries.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: Number(kv.wbytes ?? 0) });
    }
    s.blkio_stats.io_service_bytes_recursive = entries;
  }
  // Its own network namespace's interfaces, read through its first process.
  const mode = c.rec.HostConfig.NetworkMode;
  if (c.state.Pid && mode !== 'host' && !mode.startsWith('container:')) {
    const dev = await read(`/proc/${c.state.Pid}/net/dev`);
    const nets = dev ? netDev(dev) : {};
    // omitempty: a container with no interface but loopback has none
    if (Object.keys(nets).length) s.networks = nets;
  }
  return s;
}

function blkioEntries(text: string | undefined): { major: number; minor: number; op: string; value: number }[] | null {
  if (text === undefined) return null;
  const out: { major: number; minor: number; op: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(\w+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

/** /proc/PID/net/dev → docker's per-interface counters (loopback left out, as docker does). */
/** The memory.stat keys moby reports on cgroup v1 (its fixed list; the kernel's others are left out). */
const V1_MEMORY_KEYS = ['cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault', 'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit', 'hierarchical_memsw_limit'];

function pickV1MemoryStats(all: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of V1_MEMORY_KEYS) {
    out[k] = all[k] ?? 0;
    if (k !== 'hierarchical_memory_limit' && k !== 'hierarchical_memsw_limit') out[`total_${k}`] = all[`total_${k}`] ?? 0;
  }
  return out;
}

export function netDev(text: string): NonNullable<ContainerStats['networks']> {
  const out: NonNullable<ContainerStats['networks']> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}
