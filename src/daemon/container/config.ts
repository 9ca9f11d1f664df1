/**
 * Turns a create request into a complete, validated container configuration: docker's
 * defaults filled in, the image's config merged under the user's (moby image.Merge), and
 * every value checked before anything is written, so a bad request changes nothing.
 */
import { cpus } from 'node:os';
import type { ContainerConfig, ContainerCreateRequest, HostConfig, ImageConfigFile } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../runtime/spec.ts';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MIN_MEMORY = 6 * 1024 * 1024;

function strArray(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter(`invalid ${field}: expected an array of strings`);
  return v as string[];
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidParameter(`invalid ${field}: expected a string`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalidParameter(`invalid ${field}: expected a boolean`);
  return v;
}

function int(v: unknown, field: string, dflt = 0): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v)) throw invalidParameter(`invalid ${field}: expected an integer`);
  return v;
}

function labels(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('invalid Labels: expected an object');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') throw invalidParameter(`invalid label ${k}: expected a string value`);
    out[k] = val;
  }
  return out;
}

function envKey(e: string): string {
  const i = e.indexOf('=');
  return i < 0 ? e : e.slice(0, i);
}

/** Validates the portable part of a create request. */
export function decodeConfig(req: ContainerCreateRequest): ContainerConfig {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw invalidParameter('invalid container config: expected a JSON object');
  const env = strArray(req.Env, 'Env');
  for (const e of env ?? []) {
    if (e.startsWith('=') || e === '') throw invalidParameter(`invalid environment variable: ${e}`);
  }
  return {
    Hostname: str(req.Hostname, 'Hostname'),
    Domainname: str(req.Domainname, 'Domainname'),
    User: str(req.User, 'User'),
    AttachStdin: bool(req.AttachStdin, 'AttachStdin'),
    AttachStdout: bool(req.AttachStdout, 'AttachStdout'),
    AttachStderr: bool(req.AttachStderr, 'AttachStderr'),
    ...(req.ExposedPorts ? { ExposedPorts: req.ExposedPorts } : {}),
    Tty: bool(req.Tty, 'Tty'),
    OpenStdin: bool(req.OpenStdin, 'OpenStdin'),
    StdinOnce: bool(req.StdinOnce, 'StdinOnce'),
    Env: env,
    Cmd: strArray(req.Cmd, 'Cmd'),
    Image: str(req.Image, 'Image'),
    Volumes: (req.Volumes as ContainerConfig['Volumes']) ?? null,
    WorkingDir: str(req.WorkingDir, 'WorkingDir'),
    Entrypoint: strArray(req.Entrypoint, 'Entrypoint'),
    OnBuild: strArray(req.OnBuild, 'OnBuild'),
    Labels: labels(req.Labels),
    ...(req.StopSignal ? { StopSignal: str(req.StopSignal, 'StopSignal') } : {}),
    ...(req.StopTimeout !== undefined && req.StopTimeout !== null ? { StopTimeout: int(req.StopTimeout, 'StopTimeout') } : {}),
    ...(req.Healthcheck ? { Healthcheck: req.Healthcheck } : {}),
    ...(req.NetworkDisabled ? { NetworkDisabled: true } : {}),
  };
}

/** moby's image.Merge: the image's config fills what the user left unset. */
export function mergeImageConfig(user: ContainerConfig, image: ImageConfigFile): ContainerConfig {
  const ic = image.config ?? {};
  const out: ContainerConfig = { ...user };
  if (!out.User) out.User = ic.User ?? '';
  if (ic.ExposedPorts) out.ExposedPorts = { ...ic.ExposedPorts, ...(out.ExposedPorts ?? {}) };
  const userEnv = out.Env ?? [];
  const keys = new Set(userEnv.map(envKey));
  const imageEnv = (ic.Env ?? []).filter((e) => !keys.has(envKey(e)));
  out.Env = [...imageEnv, ...userEnv];
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
  if (!out.Healthcheck && ic.Healthcheck) out.Healthcheck = ic.Healthcheck;
  if (ic.OnBuild && !out.OnBuild) out.OnBuild = null;
  if (!out.Env.some((e) => envKey(e) === 'PATH')) out.Env.unshift(DEFAULT_PATH);
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
}

/** Validates the host part of a create request and fills docker's defaults. */
export function decodeHostConfig(h: Partial<HostConfig> | undefined, d: HostConfigDefaults, warnings: string[]): HostConfig {
  const hc = (h ?? {}) as Record<string, unknown>;
  if (typeof hc !== 'object' || Array.isArray(hc)) throw invalidParameter('invalid HostConfig: expected an object');
  const runtime = str(hc.Runtime, 'Runtime') || d.defaultRuntime;
  if (!d.runtimes.includes(runtime)) throw invalidParameter(`unknown or invalid runtime name: ${runtime}`);
  const memory = int(hc.Memory, 'Memory');
  let memorySwap = int(hc.MemorySwap, 'MemorySwap');
  if (memory !== 0 && memory < MIN_MEMORY) throw invalidParameter('Minimum memory limit allowed is 6MB');
  if (memory < 0) throw invalidParameter('invalid Memory: must not be negative');
  if (memorySwap > 0 && memory === 0) throw invalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (memorySwap > 0 && memorySwap < memory) throw invalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memorySwap > 0 && !d.swapAccounting) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    memorySwap = -1;
  }
  const nanoCpus = int(hc.NanoCpus, 'NanoCpus');
  const cpuQuota = int(hc.CpuQuota, 'CpuQuota');
  const cpuPeriod = int(hc.CpuPeriod, 'CpuPeriod');
  if (nanoCpus > 0 && cpuPeriod > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nanoCpus > 0 && cpuQuota > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  const ncpu = cpus().length;
  if (nanoCpus < 0 || nanoCpus > ncpu * 1e9) {
    throw invalidParameter(`Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`);
  }
  const cpuShares = int(hc.CpuShares, 'CpuShares');
  if (cpuShares < 0) throw invalidParameter('invalid CpuShares: must not be negative');
  if (cpuShares > 0 && cpuShares < 2) warnings.push('Your kernel does not support CPU shares below 2; shares set to 2.');
  const pidsLimit = hc.PidsLimit === undefined || hc.PidsLimit === null ? null : int(hc.PidsLimit, 'PidsLimit');
  const logConfig = (hc.LogConfig as HostConfig['LogConfig'] | undefined) ?? { Type: '', Config: {} };
  const logType = logConfig.Type || 'json-file';
  if (logType !== 'json-file' && logType !== 'none') throw invalidParameter(`logger: no log driver named '${logType}' is registered`);
  for (const k of Object.keys(logConfig.Config ?? {})) {
    if (!['max-size', 'max-file', 'compress', 'labels', 'env', 'tag'].includes(k)) throw invalidParameter(`unknown log opt '${k}' for json-file log driver`);
  }
  const restart = (hc.RestartPolicy as HostConfig['RestartPolicy'] | undefined) ?? { Name: 'no', MaximumRetryCount: 0 };
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(restart.Name ?? '')) {
    throw invalidParameter(`invalid restart policy '${restart.Name}'`);
  }
  const autoRemove = bool(hc.AutoRemove, 'AutoRemove');
  if (autoRemove && restart.Name && restart.Name !== 'no') {
    throw invalidParameter(`can't create 'AutoRemove' container with restart policy`);
  }
  const ulimits = (hc.Ulimits as HostConfig['Ulimits']) ?? null;
  for (const u of ulimits ?? []) {
    if (typeof u?.Name !== 'string' || typeof u.Soft !== 'number' || typeof u.Hard !== 'number') throw invalidParameter('invalid Ulimits entry');
    if (u.Soft > u.Hard) throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
  const shmSize = int(hc.ShmSize, 'ShmSize');
  if (shmSize < 0) throw invalidParameter('SHM size can not be less than 0');
  const networkMode = str(hc.NetworkMode, 'NetworkMode') || 'bridge';
  return {
    Binds: strArray(hc.Binds, 'Binds'),
    ContainerIDFile: str(hc.ContainerIDFile, 'ContainerIDFile'),
    LogConfig: { Type: logType, Config: { ...(logConfig.Config ?? {}) } },
    NetworkMode: networkMode === 'default' ? 'bridge' : networkMode,
    PortBindings: (hc.PortBindings as HostConfig['PortBindings']) ?? {},
    RestartPolicy: { Name: restart.Name || 'no', MaximumRetryCount: restart.MaximumRetryCount ?? 0 },
    AutoRemove: autoRemove,
    VolumeDriver: str(hc.VolumeDriver, 'VolumeDriver'),
    VolumesFrom: strArray(hc.VolumesFrom, 'VolumesFrom'),
    ConsoleSize: Array.isArray(hc.ConsoleSize) ? [int(hc.ConsoleSize[0], 'ConsoleSize'), int(hc.ConsoleSize[1], 'ConsoleSize')] : [0, 0],
    CapAdd: strArray(hc.CapAdd, 'CapAdd'),
    CapDrop: strArray(hc.CapDrop, 'CapDrop'),
    CgroupnsMode: str(hc.CgroupnsMode, 'CgroupnsMode') || (d.cgroupVersion === 2 ? 'private' : 'host'),
    Dns: strArray(hc.Dns, 'Dns') ?? [],
    DnsOptions: strArray(hc.DnsOptions, 'DnsOptions') ?? [],
    DnsSearch: strArray(hc.DnsSearch, 'DnsSearch') ?? [],
    ExtraHosts: strArray(hc.ExtraHosts, 'ExtraHosts'),
    GroupAdd: strArray(hc.GroupAdd, 'GroupAdd'),
    IpcMode: str(hc.IpcMode, 'IpcMode') || 'private',
    Cgroup: str(hc.Cgroup, 'Cgroup'),
    Links: strArray(hc.Links, 'Links'),
    OomScoreAdj: int(hc.OomScoreAdj, 'OomScoreAdj'),
    PidMode: str(hc.PidMode, 'PidMode'),
    Privileged: bool(hc.Privileged, 'Privileged'),
    PublishAllPorts: bool(hc.PublishAllPorts, 'PublishAllPorts'),
    ReadonlyRootfs: bool(hc.ReadonlyRootfs, 'ReadonlyRootfs'),
    SecurityOpt: strArray(hc.SecurityOpt, 'SecurityOpt'),
    UTSMode: str(hc.UTSMode, 'UTSMode'),
    UsernsMode: str(hc.UsernsMode, 'UsernsMode'),
    ShmSize: shmSize || 64 * 1024 * 1024,
    Runtime: runtime,
    Isolation: '',
    CpuShares: cpuShares,
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: str(hc.CgroupParent, 'CgroupParent'),
    BlkioWeight: int(hc.BlkioWeight, 'BlkioWeight'),
    CpuPeriod: cpuPeriod,
    CpuQuota: cpuQuota,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: str(hc.CpusetCpus, 'CpusetCpus'),
    CpusetMems: str(hc.CpusetMems, 'CpusetMems'),
    Devices: [],
    MemoryReservation: int(hc.MemoryReservation, 'MemoryReservation'),
    MemorySwap: memorySwap,
    MemorySwappiness: hc.MemorySwappiness === undefined ? null : (hc.MemorySwappiness as number | null),
    OomKillDisable: hc.OomKillDisable === undefined ? null : (hc.OomKillDisable as boolean | null),
    PidsLimit: pidsLimit,
    Ulimits: ulimits,
    Init: hc.Init === undefined ? null : (hc.Init as boolean | null),
    MaskedPaths: bool(hc.Privileged, 'Privileged') ? [] : [...DEFAULT_MASKED_PATHS],
    ReadonlyPaths: bool(hc.Privileged, 'Privileged') ? [] : [...DEFAULT_READONLY_PATHS],
  };
}
