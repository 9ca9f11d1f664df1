/**
 * A container's OCI spec: its configuration turned into SpecOpts over docker's default spec.
 */
import type { ContainerRecord } from './container.ts';
import type { ExecUser } from './user.ts';
import type { SeccompProfiles } from '../../runtime/seccomp.ts';
import type { OciMount } from '../../runtime/spec.ts';
import {
  buildSpec, withCapabilities, withCgroupsPath, withHostname, withMounts, withOomScoreAdj, withPrivileged,
  withNamespace, withProcess, withResources, withRlimits, withRoot, withSeccomp, withShmSize, DEFAULT_CAPS, ALL_CAPS, GRANTABLE_CAPS,
  type OciDeviceRule, type OciResources, type OciSpec, type SpecOpt,
} from '../../runtime/spec.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { parseSecurityOpts } from './security.ts';
import type { IdMapping } from '../../lib/idmap.ts';
import { deviceMappings } from '../../runtime/devices.ts';
import { ociBlockIO } from './blkio.ts';

export type NamespaceKind = 'pid' | 'ipc' | 'uts' | 'network';

export interface SpecEnv {
  /** Namespaces joined from another container (`container:NAME` modes): kind → /proc/<pid>/ns path. */
  joins?: Partial<Record<NamespaceKind | 'user', string>>;
  /** userns-remap: a user namespace with these mappings (cgroup mounts then writable, as moby). */
  idmap?: IdMapping;
  /** The host directory mounted as /dev/shm (--ipc shareable, or the donor's for container:NAME). */
  shm?: string;
  rootfs: string;
  cgroupParent: string;
  seccomp: SeccompProfiles;
  swapAccounting: boolean;
  /** tini, bind-mounted as /sbin/docker-init for --init. */
  initPath?: string;
  /** Volumes, binds and tmpfs mounts, shallowest first. */
  mounts?: OciMount[];
  /** Legacy links' variables (before the container's own env, which wins). */
  linkEnv?: string[];
  /** Variables not in the record (a build's secrets), after the container's own env: they win. */
  unrecordedEnv?: string[];
}

/** Where docker puts its init in the container. */
const INIT_PATH = '/sbin/docker-init';

function normalizeCap(c: string): string {
  const u = c.toUpperCase();
  if (u === 'ALL') return u;
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

/** docker's TweakCapabilities: ALL and names with or without the CAP_ prefix. */
export function capabilities(add: string[] | null, drop: string[] | null): string[] {
  const a = (add ?? []).map(normalizeCap);
  const d = (drop ?? []).map(normalizeCap);
  for (const [list, field] of [[a, 'CapAdd'], [d, 'CapDrop']] as const) {
    for (const c of list) if (c !== 'ALL' && !ALL_CAPS.includes(c)) throw invalidParameter(`invalid ${field}: unknown capability: "${c}"`);
  }
  for (const c of a) {
    if (c !== 'ALL' && !GRANTABLE_CAPS.includes(c)) throw invalidParameter(`capability ${c} cannot be granted: berthd itself does not hold it (it is not in its bounding set)`);
  }
  let caps = a.includes('ALL') ? [...GRANTABLE_CAPS] : [...DEFAULT_CAPS];
  if (d.includes('ALL')) caps = [];
  caps = caps.filter((c) => !d.includes(c));
  for (const c of a) if (c !== 'ALL' && !caps.includes(c)) caps.push(c);
  return caps;
}

/**
 * moby's CreateDaemonEnvironment: PATH, HOSTNAME, TERM, then the container's own env wins;
 * and HOME from the user's passwd entry ("/" without one) when the env has none, as runc sets it.
 */
export function processEnv(rec: ContainerRecord, home = '/', linkEnv: string[] = [], unrecorded: string[] = []): string[] {
  const base = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${rec.Config.Hostname}`];
  if (rec.Config.Tty) base.push('TERM=xterm');
  base.push(...linkEnv);
  const env = [...base];
  for (const e of [...(rec.Config.Env ?? []), ...unrecorded]) {
    const key = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    const i = env.findIndex((x) => x.slice(0, x.indexOf('=')) === key);
    if (!e.includes('=')) continue; // a bare name with no value in the config was never set
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${home}`);
  return env;
}

export function resources(rec: ContainerRecord, swapAccounting: boolean): OciResources {
  const h = rec.HostConfig;
  const r: OciResources = {};
  if (h.Memory > 0 || h.MemoryReservation > 0 || h.MemorySwappiness !== null) {
    r.memory = {};
    if (h.Memory > 0) {
      r.memory.limit = h.Memory;
      if (swapAccounting) {
        if (h.MemorySwap > 0) r.memory.swap = h.MemorySwap;
        else if (h.MemorySwap === 0) r.memory.swap = h.Memory * 2;
        else r.memory.swap = -1;
      }
    }
    if (h.MemoryReservation > 0) r.memory.reservation = h.MemoryReservation;
    if (h.MemorySwappiness !== null && h.MemorySwappiness >= 0) r.memory.swappiness = h.MemorySwappiness;
  }
  if (h.OomKillDisable) r.memory = { ...r.memory, disableOOMKiller: true };
  if (h.KernelMemoryTCP) r.memory = { ...r.memory, kernelTCP: h.KernelMemoryTCP };
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (h.CpuShares > 0) cpu.shares = Math.max(2, h.CpuShares);
  if (h.NanoCpus > 0) {
    cpu.period = 100000;
    cpu.quota = Math.round((h.NanoCpus * 100000) / 1e9);
  } else {
    if (h.CpuPeriod > 0) cpu.period = h.CpuPeriod;
    if (h.CpuQuota > 0) cpu.quota = h.CpuQuota;
  }
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (h.PidsLimit !== null && h.PidsLimit > 0) r.pids = { limit: h.PidsLimit };
  const blockIO = ociBlockIO(h);
  if (blockIO) r.blockIO = blockIO;
  return r;
}

/** `--device-cgroup-rule "c 1:3 mr"` → an allow rule after the defaults. */
function deviceRule(rule: string): OciDeviceRule {
  const [type, nums, access] = rule.split(' ');
  const [major, minor] = nums.split(':');
  return {
    allow: true,
    type: type as OciDeviceRule['type'],
    ...(major !== '*' ? { major: Number(major) } : {}),
    ...(minor !== '*' ? { minor: Number(minor) } : {}),
    access,
  };
}

/** The namespace options (host modes, ipc none, private cgroup namespace) and sysctls. */
function withNamespaces(h: ContainerRecord['HostConfig'], joins: SpecEnv['joins'], shm: string | undefined, idmap: IdMapping | undefined): SpecOpt {
  return (s) => {
    if (idmap) {
      withNamespace('user', joins?.user ? { path: joins.user } : 'private')(s);
      if (!joins?.user) Object.assign(s.linux, idmap.ociMappings());
      for (const m of s.mounts) if (m.type === 'cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
    for (const [kind, path] of Object.entries(joins ?? {})) if (kind !== 'user') withNamespace(kind, { path })(s);
    // A shareable IPC namespace's /dev/shm lives on the host, and its joiners mount it too.
    if (shm) {
      s.mounts = s.mounts.filter((m) => m.destination !== '/dev/shm');
      s.mounts.push({ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate'] });
    }
    if (h.NetworkMode === 'host') withNamespace('network', 'host')(s);
    if (h.PidMode === 'host') withNamespace('pid', 'host')(s);
    if (h.UTSMode === 'host') withNamespace('uts', 'host')(s);
    if (h.IpcMode === 'host') withNamespace('ipc', 'host')(s);
    // --ipc none: a private IPC namespace without /dev/shm (moby).
    if (h.IpcMode === 'none' || h.IpcMode === 'host') s.mounts = s.mounts.filter((m) => m.destination !== '/dev/shm');
    if (h.IpcMode === 'host') s.mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
    if (h.CgroupnsMode === 'private') withNamespace('cgroup', 'private')(s);
    if (h.Sysctls && Object.keys(h.Sysctls).length) s.linux.sysctl = { ...h.Sysctls };
  };
}

export function containerSpec(rec: ContainerRecord, user: ExecUser, env: SpecEnv): OciSpec {
  const h = rec.HostConfig;
  const caps = capabilities(h.CapAdd, h.CapDrop);
  const security = parseSecurityOpts(h.SecurityOpt);
  const init = h.Init === true && env.initPath;
  const opts: SpecOpt[] = [
    withRoot(env.rootfs, h.ReadonlyRootfs),
    // In the host's (or another container's) UTS namespace the runtime may not set a name.
    ...(h.UTSMode !== '' ? [] : [withHostname(rec.Config.Hostname, rec.Config.Domainname)]),
    withProcess({
      args: init ? [INIT_PATH, '--', rec.Path, ...rec.Args] : [rec.Path, ...rec.Args],
      env: processEnv(rec, user.home, env.linkEnv, env.unrecordedEnv),
      cwd: rec.Config.WorkingDir || '/',
      terminal: rec.Config.Tty,
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids,
      consoleSize: { height: h.ConsoleSize[0], width: h.ConsoleSize[1] },
    }),
    withCapabilities(caps),
    withSeccomp(security.seccomp === 'unconfined' ? undefined : env.seccomp.forCaps(caps, typeof security.seccomp === 'object' ? security.seccomp.profile : undefined)),
    withMounts([
      // The user's own mount at one of these paths wins, as in docker.
      ...[
        { destination: '/etc/resolv.conf', type: 'bind', source: rec.ResolvConfPath, options: ['rbind', 'rprivate', 'rw'] },
        { destination: '/etc/hostname', type: 'bind', source: rec.HostnamePath, options: ['rbind', 'rprivate', 'rw'] },
        { destination: '/etc/hosts', type: 'bind', source: rec.HostsPath, options: ['rbind', 'rprivate', 'rw'] },
      ].filter((m) => !(env.mounts ?? []).some((u) => u.destination === m.destination)),
      ...(init ? [{ destination: INIT_PATH, type: 'bind', source: init, options: ['bind', 'ro'] }] : []),
      ...(env.mounts ?? []),
    ]),
    withNamespaces(h, env.joins, env.shm, env.idmap),
    withShmSize(h.ShmSize),
    withResources(resources(rec, env.swapAccounting)),
    withCgroupsPath(`${h.CgroupParent || env.cgroupParent}/${rec.ID}`),
    withRlimits((h.Ulimits ?? []).map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }))),
    withOomScoreAdj(h.OomScoreAdj),
  ];
  if (h.Privileged) opts.push(withPrivileged());
  if (security.noNewPrivileges) opts.push((s) => { s.process.noNewPrivileges = true; });
  opts.push((s) => {
    // The record holds the paths (docker's defaults unless the request gave its own).
    s.linux.maskedPaths = [...(h.MaskedPaths ?? [])];
    s.linux.readonlyPaths = [...(h.ReadonlyPaths ?? [])];
    if (h.Devices?.length) {
      const mapped = deviceMappings(h.Devices);
      const taken = new Set(mapped.devices.map((d) => d.path));
      s.linux.devices = [...(s.linux.devices ?? []).filter((d) => !taken.has(d.path)), ...mapped.devices];
      if (!h.Privileged) s.linux.resources.devices = [...(s.linux.resources.devices ?? []), ...mapped.rules];
    }
    if (h.DeviceCgroupRules?.length && !h.Privileged) s.linux.resources.devices = [...(s.linux.resources.devices ?? []), ...h.DeviceCgroupRules.map(deviceRule)];
    if (h.Annotations) s.annotations = { ...(s.annotations ?? {}), ...h.Annotations };
  });
  return buildSpec(opts);
}
