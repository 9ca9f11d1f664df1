/**
 * --cpuset-cpus and --cpuset-mems: checked against what the host offers before a container is
 * made or updated, in docker's words (moby's sysinfo), rather than left to the runtime's
 * "Numerical result out of range" when the cgroup is written.
 */
import { readFileSync } from 'node:fs';
import { invalidParameter } from '../../errdefs/index.ts';

export interface CpusetAvailable {
  cpus: string;
  mems: string;
}

let available: CpusetAvailable | undefined;

/** The root cpuset's lists (looked up once); empty when they cannot be read. */
export function cpusetAvailable(cgroupVersion: 1 | 2): CpusetAvailable {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return '';
    }
  };
  available ??= cgroupVersion === 1
    ? { cpus: read('/sys/fs/cgroup/cpuset/cpuset.cpus'), mems: read('/sys/fs/cgroup/cpuset/cpuset.mems') }
    : { cpus: read('/sys/fs/cgroup/cpuset.cpus.effective'), mems: read('/sys/fs/cgroup/cpuset.mems.effective') };
  return available;
}

/** moby's parsers.ParseUintList ("0-3,5"), or its error for a malformed list or one past `max`. */
export function parseUintList(val: string, max = 0): Set<number> | string {
  const out = new Set<number>();
  if (val === '') return out;
  const invalid = `invalid format: ${val}`;
  const over = `value of out range, maximum is ${max}`;
  const int = (s: string) => (/^[+-]?\d+$/.test(s) ? Number(s) : undefined);
  for (const r of val.split(',')) {
    const dash = r.indexOf('-');
    if (dash < 0) {
      const v = int(r);
      if (v === undefined) return invalid;
      if (max && v > max) return over;
      out.add(v);
      continue;
    }
    const lo = int(r.slice(0, dash));
    const hi = int(r.slice(dash + 1));
    if (lo === undefined || hi === undefined || hi < lo) return invalid;
    if (max && hi > max) return over;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/**
 * moby's isCpusetListAvailable: the list must parse (numbers up to Linux's usual 8192, or the
 * host's highest) and name only what the host offers (not checked when that is unknown).
 */
function checkList(provided: string, offered: string, invalid: string, unavailable: string): void {
  const parsed = offered ? parseUintList(offered) : undefined;
  const have = typeof parsed === 'string' ? undefined : parsed;
  const want = parseUintList(provided, Math.max(8192, ...(have ?? [])));
  if (typeof want === 'string') throw invalidParameter(`${invalid}: ${want}`);
  for (const v of want) if (have && !have.has(v)) throw invalidParameter(unavailable);
}

/** Refuses cpusets the host does not offer, as moby's verifyPlatformContainerResources does. */
export function checkCpuset(cpus: string, mems: string, host: CpusetAvailable): void {
  if (cpus) checkList(cpus, host.cpus, `Invalid value ${cpus} for cpuset cpus`, `Requested CPUs are not available - requested ${cpus}, available: ${host.cpus}`);
  if (mems) checkList(mems, host.mems, `Invalid value ${mems} for cpuset mems`, `Requested memory nodes are not available - requested ${mems}, available: ${host.mems}`);
}
