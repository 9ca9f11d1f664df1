/**
 * Turns a create request into a complete, validated container configuration: docker's
 * defaults filled in, the image's config merged under the user's (moby image.Merge), and
 * every value checked before anything is written, so a bad request changes nothing.
 */
import { cpus } from 'node:os';
import type { ContainerConfig, HostConfig, ImageConfigFile } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { parseSignal } from '../../lib/signal.ts';
import { HealthConfigType, type ContainerConfigInput, type HostConfigInput } from '../server/bodies.ts';
import { isSet } from './fields.ts';
import { parseSecurityOpts } from './security.ts';
import { capabilities } from './spec.ts';
import { deviceMappings } from '../../runtime/devices.ts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../runtime/spec.ts';
import { checkBlkio, type BlkioSupport } from './blkio.ts';
import { mergeLogConfig } from './logdriver.ts';

export const MIN_MEMORY = 6 * 1024 * 1024;

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** Validates the portable part of a create request (already decoded as Go decodes it). */
export function decodeConfig(req: ContainerConfigInput): ContainerConfig {
  const env = req.Env ?? null;
  for (const e of env ?? []) {
    if (e.startsWith('=') || e === '') throw invalidParameter(`invalid environment variable: ${e}`);
  }
  const hc = req.Healthcheck;
  if (hc) {
    // moby's validateHealthCheck: durations of 0 (the default) or at least 1ms.
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
      const v = hc[k] ?? 0;
      if (v !== 0 && v < 1e6) throw invalidParameter(`${k} in Healthcheck cannot be less than 1ms`);
    }
    if ((hc.Retries ?? 0) < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
  }
  if (req.StopSignal) {
    try {
      parseSignal(req.StopSignal);
    } catch {
      throw invalidParameter(`Invalid signal: ${req.StopSignal}`);
    }
  }
  return {
    Hostname: req.Hostname ?? '',
    Domainname: req.Domainname ?? '',
    User: req.User ?? '',
    AttachStdin: req.AttachStdin ?? false,
    AttachStdout: req.AttachStdout ?? false,
    AttachStderr: req.AttachStderr ?? false,
    ...(req.ExposedPorts && Object.keys(req.ExposedPorts).length ? { ExposedPorts: req.ExposedPorts as Record<string, Record<string, never>> } : {}),
    Tty: req.Tty ?? false,
    OpenStdin: req.OpenStdin ?? false,
    StdinOnce: req.StdinOnce ?? false,
    Env: env,
    Cmd: req.Cmd ?? null,
    ...(req.Healthcheck && isSet(req.Healthcheck, HealthConfigType) ? { Healthcheck: req.Healthcheck } : {}),
    Image: req.Image ?? '',
    // An empty map reads null, as dockerd shows it (the docker CLI always sends {}).
    Volumes: req.Volumes && Object.keys(req.Volumes).length ? (req.Volumes as ContainerConfig['Volumes']) : null,
    WorkingDir: req.WorkingDir ?? '',
    Entrypoint: req.Entrypoint ?? null,
    ...(req.NetworkDisabled ? { NetworkDisabled: true } : {}),
    OnBuild: req.OnBuild ?? null,
    Labels: req.Labels ?? {},
    ...(req.StopSignal ? { StopSignal: req.StopSignal } : {}),
    ...(req.StopTimeout !== undefined ? { StopTimeout: req.StopTimeout } : {}),
    ...(req.Shell?.length ? { Shell: req.Shell } : {}),
  };
}

/** moby's image.Merge: the image's config fills what the user left unset. */
export function mergeImageConfig(user: ContainerConfig, image: ImageConfigFile): ContainerConfig {
  const ic = image.config ?? {};
  const out: ContainerConfig = { ...user };
  if (!out.User) out.User = ic.User ?? '';
  if (ic.ExposedPorts) out.ExposedPorts = { ...ic.ExposedPorts, ...(out.ExposedPorts ?? {}) };
  const userEnv = out.Env ?? [];
  if (userEnv.length === 0) {
    out.Env = ic.Env ? [...ic.Env] : null;
  } else {
    const keys = new Set(userEnv.map(envKey));
    out.Env = [...(ic.Env ?? []).filter((e) => !keys.has(envKey(e))), ...userEnv];
  }
  out.Labels = { ...(ic.Labels ?? {}), ...out.Labels };
  const resetEntrypoint = out.Entrypoint !== null && out.Entrypoint.length === 1 && out.Entrypoint[0] === '';
  if (resetEntrypoint) {
    out.Entrypoint = null;
  } else if (!out.Entrypoint || out.Entrypoint.length === 0) {
    if (!out.Cmd || out.Cmd.length === 0) out.Cmd = ic.Cmd ?? null;
    if (!out.Entrypoint) out.Entrypoint = ic.Entrypoint ?? null;
  }
  if (!out.WorkingDir) out.WorkingDir = ic.WorkingDir ?? '';
  if (ic.Volumes) out.Volumes = { ...ic.Volumes, ...(out.Volumes ?? {}) };
  if (!out.StopSignal && ic.StopSignal) out.StopSignal = ic.StopSignal;
  // moby's merge: the user's health check takes what it leaves unset from the image's.
  if (!out.Healthcheck && ic.Healthcheck) out.Healthcheck = ic.Healthcheck;
  else if (out.Healthcheck && ic.Healthcheck) {
    const u = out.Healthcheck;
    const i = ic.Healthcheck;
    out.Healthcheck = {
      ...u,
      ...(!u.Test?.length && i.Test ? { Test: i.Test } : {}),
      ...(!u.Interval && i.Interval ? { Interval: i.Interval } : {}),
      ...(!u.Timeout && i.Timeout ? { Timeout: i.Timeout } : {}),
      ...(!u.StartPeriod && i.StartPeriod ? { StartPeriod: i.StartPeriod } : {}),
      ...(!u.StartInterval && i.StartInterval ? { StartInterval: i.StartInterval } : {}),
      ...(!u.Retries && i.Retries ? { Retries: i.Retries } : {}),
    };
  }
  if (ic.OnBuild && !out.OnBuild) out.OnBuild = null;
  return out;
}

/** docker's getEntrypointAndArgs; throws docker's error when there is nothing to run. */
export function entrypointAndArgs(c: ContainerConfig): { path: string; args: string[] } {
  const ep = c.Entrypoint ?? [];
  const cmd = c.Cmd ?? [];
  if (ep.length === 0 && cmd.length === 0) throw invalidParameter('no command specified');
  if (ep.length) return { path: ep[0], args: [...ep.slice(1), ...cmd] };
  return { path: cmd[0], args: cmd.slice(1) };
}

export interface HostConfigDefaults {
  defaultRuntime: string;
  runtimes: string[];
  cgroupVersion: 1 | 2;
  swapAccounting: boolean;
  /** The init binary for --init (tini), if installed. */
  initPath?: string;
  /** The host supports memory.kmem.tcp limits (cgroup v1). */
  kernelTcp: boolean;
  /** The daemon's log driver and options (daemon.json log-driver/log-opts); json-file when unset. */
  logConfig?: { Type: string; Config: Record<string, string> };
  /** userns-remap is on: containers get a user namespace unless --userns=host. */
  userns?: boolean;
  /** What the block I/O controller supports (blkioSupport); absent: everything. */
  blkio?: BlkioSupport;
}

const RESTART_NAMES = ['', 'no', 'always', 'unless-stopped', 'on-failure'];
/** Sysctls docker accepts for a container: namespaced ones only (docker/cli opts.ValidateSysctl). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const DEVICE_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** The namespace modes docker takes: `allowed`, or `container:NAME` (joined at start). */
function namespaceMode(what: string, v: string, allowed: string[]): string {
  if (v.startsWith('container:') && v.length > 'container:'.length) return v;
  if (!allowed.includes(v)) throw invalidParameter(`invalid ${what} mode: ${v}`);
  return v;
}

function networkMode(v: string | undefined): string {
  const m = v || 'default';
  if (m === 'default' || m === 'bridge') return 'bridge';
  if (m.startsWith('container:') && m.length === 'container:'.length) throw invalidParameter('invalid network mode: container:');
  // A network name: checked against the networks at create (network.ts).
  return m;
}

function checkSysctls(sysctls: Record<string, string>, network: string, ipc: string): void {
  for (const k of Object.keys(sysctls)) {
    const ipcKey = IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.');
    if (!ipcKey && !k.startsWith('net.')) throw invalidParameter(`sysctl '${k}' is not allowed: only namespaced sysctls (kernel IPC, fs.mqueue.*, net.*) can be set in a container`);
    if (ipcKey && ipc === 'host') throw invalidParameter(`sysctl '${k}' is not allowed in host IPC namespace`);
    if (k.startsWith('net.') && network === 'host') throw invalidParameter(`sysctl '${k}' is not allowed in host network namespace`);
  }
}

export function checkRestartPolicy(p: { Name?: string; MaximumRetryCount?: number } | undefined): HostConfig['RestartPolicy'] {
  const name = p?.Name ?? '';
  const count = p?.MaximumRetryCount ?? 0;
  if (!RESTART_NAMES.includes(name)) {
    throw invalidParameter(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  // moby's ValidateRestartPolicy; an empty name (before docker 25's default) takes any count
  if (name !== '' && name !== 'on-failure' && count !== 0) {
    throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'${count < 0 ? ' and cannot be negative' : ''}`);
  }
  if (name === 'on-failure' && count < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  return { Name: (name || 'no') as HostConfig['RestartPolicy']['Name'], MaximumRetryCount: count };
}

/**
 * Validates the host part of a create request and fills docker's defaults, so that inspect
 * shows every field as docker does. `config` is the portable part (hostname checks).
 */
export function decodeHostConfig(hc: HostConfigInput | undefined, d: HostConfigDefaults, warnings: string[], config?: ContainerConfigInput): HostConfig {
  const h = hc ?? {};
  const runtime = h.Runtime || d.defaultRuntime;
  if (!d.runtimes.includes(runtime)) throw invalidParameter(`unknown or invalid runtime name: ${runtime}`);
  const memory = h.Memory ?? 0;
  let memorySwap = h.MemorySwap ?? 0;
  if (memory < 0) throw invalidParameter('invalid Memory: must not be negative');
  if (memory !== 0 && memory < MIN_MEMORY) throw invalidParameter('Minimum memory limit allowed is 6MB');
  if (memorySwap > 0 && memory === 0) throw invalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (memorySwap > 0 && memorySwap < memory) throw invalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memorySwap > 0 && !d.swapAccounting) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    memorySwap = -1;
  }
  // moby's adaptContainerSettings: a memory limit alone allows as much swap again (inspect
  // shows it; update then refuses a memory limit above it without a new swap limit).
  if (memory > 0 && memorySwap === 0) memorySwap = memory * 2;
  const reservation = h.MemoryReservation ?? 0;
  if (reservation < 0) throw invalidParameter('invalid MemoryReservation: must not be negative');
  if (memory > 0 && reservation > 0 && reservation > memory) throw invalidParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  let swappiness: number | null = h.MemorySwappiness ?? null;
  if (swappiness === -1) swappiness = null;
  if (swappiness !== null && (swappiness < 0 || swappiness > 100)) throw invalidParameter(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  const nanoCpus = h.NanoCpus ?? 0;
  const cpuQuota = h.CpuQuota ?? 0;
  const cpuPeriod = h.CpuPeriod ?? 0;
  if (nanoCpus > 0 && cpuPeriod > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nanoCpus > 0 && cpuQuota > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (cpuPeriod !== 0 && (cpuPeriod < 1000 || cpuPeriod > 1_000_000)) throw invalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (cpuQuota > 0 && cpuQuota < 1000) throw invalidParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  // os.cpus() reads /proc/cpuinfo: only when there is a limit to check.
  const ncpu = nanoCpus !== 0 ? cpus().length : 0;
  if (nanoCpus < 0 || (nanoCpus > 0 && nanoCpus > ncpu * 1e9)) {
    throw invalidParameter(`Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`);
  }
  const cpuShares = h.CpuShares ?? 0;
  if (cpuShares < 0) throw invalidParameter(`invalid CPU shares (${cpuShares}): value must be a positive integer`);
  const pidsLimit = h.PidsLimit !== undefined && h.PidsLimit > 0 ? h.PidsLimit : null;
  const oomScoreAdj = h.OomScoreAdj ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) throw invalidParameter(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  let oomKillDisable = h.OomKillDisable ?? false;
  if (oomKillDisable && d.cgroupVersion === 2) {
    warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    oomKillDisable = false;
  } else if (oomKillDisable && memory === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (h.KernelMemory) warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  const kernelTcp = h.KernelMemoryTCP ?? 0;
  if (kernelTcp && !d.kernelTcp) throw invalidParameter('HostConfig.KernelMemoryTCP: your kernel does not support kernel memory TCP limits; the container was not created');
  if (kernelTcp < 0) throw invalidParameter('invalid KernelMemoryTCP: must not be negative');

  const logConfig = mergeLogConfig(h.LogConfig, d.logConfig);
  const restart = checkRestartPolicy(h.RestartPolicy);
  const autoRemove = h.AutoRemove ?? false;
  if (autoRemove && restart.Name !== 'no') throw invalidParameter(`can't create 'AutoRemove' container with restart policy`);
  const ulimits = h.Ulimits ?? null;
  for (const u of ulimits ?? []) {
    if (!u.Name) throw invalidParameter('invalid Ulimits entry: a name is required');
    if ((u.Soft ?? 0) > (u.Hard ?? 0)) throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft ?? 0} > ${u.Hard ?? 0}`);
  }
  const shmSize = h.ShmSize ?? 0;
  if (shmSize < 0) throw invalidParameter('SHM size can not be less than 0');

  const network = networkMode(h.NetworkMode);
  const ipc = namespaceMode('IPC', h.IpcMode || 'private', ['private', 'shareable', 'none', 'host']);
  const pid = namespaceMode('PID', h.PidMode ?? '', ['', 'host']);
  const uts = namespaceMode('UTS', h.UTSMode ?? '', ['', 'host']);
  if (uts !== '' && config?.Hostname) throw invalidParameter('conflicting options: hostname and the UTS mode');
  if (network.startsWith('container:') && config?.Hostname) throw invalidParameter('conflicting options: hostname and the network mode');
  if (h.UsernsMode && h.UsernsMode !== 'host') throw invalidParameter(`invalid USER mode: ${h.UsernsMode}`);
  if (d.userns && h.UsernsMode !== 'host') {
    // moby's verifyPlatformContainerSettings (two spaces as in moby); IPC too, which fails at start there.
    if (h.Privileged) throw invalidParameter('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
    if (network === 'host') throw invalidParameter('cannot share the host\'s network namespace when user namespaces are enabled');
    if (h.PidMode === 'host') throw invalidParameter('cannot share the host PID namespace when user namespaces are enabled');
    if (h.IpcMode === 'host') throw invalidParameter('cannot share the host\'s IPC namespace when user namespaces are enabled');
  }
  const cgroupns = h.CgroupnsMode || (d.cgroupVersion === 2 ? 'private' : 'host');
  if (cgroupns !== 'host' && cgroupns !== 'private') throw invalidParameter(`invalid cgroup namespace mode: ${cgroupns}`);
  const isolation = h.Isolation ?? '';
  if (isolation !== '' && isolation.toLowerCase() !== 'default') throw invalidParameter(`invalid isolation '${isolation}' on linux`);
  const security = parseSecurityOpts(h.SecurityOpt);
  const sysctls = h.Sysctls ?? {};
  checkSysctls(sysctls, network, ipc);
  for (const r of h.DeviceCgroupRules ?? []) {
    if (!DEVICE_RULE.test(r)) throw invalidParameter(`invalid device cgroup format '${r}'`);
  }
  if (h.Init && !d.initPath) throw invalidParameter('HostConfig.Init: no init binary is installed (install tini: apt-get install tini); the container was not created');
  capabilities(h.CapAdd ?? null, h.CapDrop ?? null); // unknown or ungrantable ones fail here, at create
  const devices = (h.Devices ?? []).map((m) => ({ PathOnHost: m.PathOnHost ?? '', PathInContainer: m.PathInContainer ?? '', CgroupPermissions: m.CgroupPermissions ?? '' }));
  deviceMappings(devices); // a path that is no device fails here
  const privileged = h.Privileged ?? false;
  const defaultPaths = (list: readonly string[]) => (privileged || security.systemPathsUnconfined ? null : [...list]);

  return {
    Binds: h.Binds ?? null,
    ContainerIDFile: h.ContainerIDFile ?? '',
    LogConfig: logConfig,
    NetworkMode: network,
    PortBindings: (h.PortBindings as HostConfig['PortBindings'] | undefined) ?? null,
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    VolumeDriver: h.VolumeDriver ?? '',
    VolumesFrom: h.VolumesFrom ?? null,
    ConsoleSize: h.ConsoleSize ?? [0, 0],
    ...(h.Annotations && Object.keys(h.Annotations).length ? { Annotations: h.Annotations } : {}),
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    CgroupnsMode: cgroupns,
    Dns: h.Dns ?? null,
    DnsOptions: h.DnsOptions ?? null,
    DnsSearch: h.DnsSearch ?? null,
    ExtraHosts: h.ExtraHosts ?? null,
    GroupAdd: h.GroupAdd ?? null,
    IpcMode: ipc,
    Cgroup: h.Cgroup ?? '',
    Links: h.Links ?? null,
    OomScoreAdj: oomScoreAdj,
    PidMode: pid,
    Privileged: privileged,
    PublishAllPorts: h.PublishAllPorts ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    SecurityOpt: h.SecurityOpt ?? null,
    ...(h.StorageOpt && Object.keys(h.StorageOpt).length ? { StorageOpt: h.StorageOpt } : {}),
    ...(h.Tmpfs && Object.keys(h.Tmpfs).length ? { Tmpfs: h.Tmpfs } : {}),
    UTSMode: uts,
    UsernsMode: h.UsernsMode ?? '',
    ShmSize: shmSize || 64 * 1024 * 1024,
    ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
    Runtime: runtime,
    Isolation: isolation,
    CpuShares: cpuShares,
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: h.CgroupParent ?? '',
    ...checkBlkio({
      BlkioWeight: h.BlkioWeight ?? 0,
      BlkioWeightDevice: (h.BlkioWeightDevice as HostConfig['BlkioWeightDevice'] | undefined) ?? null,
      BlkioDeviceReadBps: (h.BlkioDeviceReadBps as HostConfig['BlkioDeviceReadBps'] | undefined) ?? null,
      BlkioDeviceWriteBps: (h.BlkioDeviceWriteBps as HostConfig['BlkioDeviceWriteBps'] | undefined) ?? null,
      BlkioDeviceReadIOps: (h.BlkioDeviceReadIOps as HostConfig['BlkioDeviceReadIOps'] | undefined) ?? null,
      BlkioDeviceWriteIOps: (h.BlkioDeviceWriteIOps as HostConfig['BlkioDeviceWriteIOps'] | undefined) ?? null,
    }, d.blkio ?? { weight: true, weightDevice: true, throttle: true }, warnings),
    CpuPeriod: cpuPeriod,
    CpuQuota: cpuQuota,
    CpuRealtimePeriod: h.CpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: h.CpuRealtimeRuntime ?? 0,
    CpusetCpus: h.CpusetCpus ?? '',
    CpusetMems: h.CpusetMems ?? '',
    Devices: h.Devices ? devices : null,
    DeviceCgroupRules: h.DeviceCgroupRules ?? null,
    DeviceRequests: h.DeviceRequests ?? null,
    ...(kernelTcp ? { KernelMemoryTCP: kernelTcp } : {}),
    MemoryReservation: reservation,
    MemorySwap: memorySwap,
    MemorySwappiness: swappiness,
    OomKillDisable: oomKillDisable,
    PidsLimit: pidsLimit,
    Ulimits: ulimits?.map((u) => ({ Name: u.Name ?? '', Soft: u.Soft ?? 0, Hard: u.Hard ?? 0 })) ?? null,
    CpuCount: h.CpuCount ?? 0,
    CpuPercent: h.CpuPercent ?? 0,
    IOMaximumIOps: h.IOMaximumIOps ?? 0,
    IOMaximumBandwidth: h.IOMaximumBandwidth ?? 0,
    ...(h.Mounts?.length ? { Mounts: h.Mounts } : {}),
    MaskedPaths: h.MaskedPaths ?? defaultPaths(DEFAULT_MASKED_PATHS),
    ReadonlyPaths: h.ReadonlyPaths ?? defaultPaths(DEFAULT_READONLY_PATHS),
    ...(h.Init !== undefined ? { Init: h.Init } : {}),
  };
}

