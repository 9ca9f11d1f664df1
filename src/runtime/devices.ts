/**
 * Host devices for containers: `--device HOST[:CONTAINER[:PERMS]]` and the whole of /dev for
 * --privileged, as OCI `linux.devices` entries with the cgroup rules that allow them (moby's
 * WithDevices and runc's devices.HostDevices).
 */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { invalidParameter } from '../errdefs/index.ts';

export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** What runc leaves out when it takes the host's /dev. */
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

const major = (rdev: number) => Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
const minor = (rdev: number) => Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & 0xfff00n);

function deviceOf(st: Stats, path: string): OciDevice | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { path, type, major: major(st.rdev), minor: minor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** The device nodes under `dir` (not following links), as runc's HostDevices finds them. */
function walk(dir: string, out: { host: string; st: Stats }[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(n)) walk(p, out);
    } else if ((st.isCharacterDevice() || st.isBlockDevice()) && p !== '/dev/console') {
      out.push({ host: p, st });
    }
  }
}

/** Every device of the host, for --privileged. */
export function hostDevices(): OciDevice[] {
  const found: { host: string; st: Stats }[] = [];
  walk('/dev', found);
  return found.map((f) => deviceOf(f.st, f.host)!);
}

/**
 * `--device` entries (PathOnHost, PathInContainer, CgroupPermissions): a device node, or a
 * directory whose devices go under the container path. Errors as moby words them.
 */
export function deviceMappings(list: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[]): { devices: OciDevice[]; rules: OciDeviceRule[] } {
  const devices: OciDevice[] = [];
  const rules: OciDeviceRule[] = [];
  for (const m of list) {
    const perms = m.CgroupPermissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(perms)) throw invalidParameter(`invalid device cgroup permissions ${JSON.stringify(perms)}: use r, w and m`);
    const target = m.PathInContainer || m.PathOnHost;
    if (!posix.isAbsolute(m.PathOnHost) || !posix.isAbsolute(target)) throw invalidParameter(`bad format for path: ${m.PathOnHost}:${m.PathInContainer}`);
    let st: Stats;
    try {
      st = statSync(m.PathOnHost);
    } catch (e) {
      throw invalidParameter(`error gathering device information while adding custom device "${m.PathOnHost}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    const found: { host: string; st: Stats }[] = [];
    if (st.isDirectory()) walk(m.PathOnHost, found);
    else found.push({ host: m.PathOnHost, st });
    const devs = found.map((f) => deviceOf(f.st, st.isDirectory() ? posix.join(target, posix.relative(m.PathOnHost, f.host)) : target)).filter((d): d is OciDevice => !!d);
    if (!devs.length) throw invalidParameter(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
    for (const d of devs) {
      devices.push(d);
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: perms });
    }
  }
  return { devices, rules };
}
