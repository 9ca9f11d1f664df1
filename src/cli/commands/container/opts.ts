/**
 * `run`/`create` flags and their translation into a container create request, following
 * docker/cli's opts.go (same flag names, value parsing and error texts).
 */
import { platformDefault } from '../../platformenv.ts';
import { pathErrorText } from '../../../lib/oserror.ts';
import { readFileSync } from 'node:fs';
import type { ContainerCreateRequest, HostConfig } from '../../../api/types.ts';
import { ramInBytes } from '../../../lib/units.ts';
import { isIP } from 'node:net';
import { defineFlags, type FlagValues } from '../../flags/spec.ts';
import { StatusError } from '../../context.ts';
import { parseMountFlag, parseTmpfsFlags, parseVolumeFlags } from './mountopts.ts';
import { splitCsv } from '../../../lib/csv.ts';
import { parseExpose, parsePublish, type PortBindings } from './portspec.ts';

export function memBytes(v: string): number {
  return ramInBytes(v);
}

/** --memory-swap also accepts -1 (unlimited). */
export function memSwap(v: string): number {
  return v === '-1' ? -1 : ramInBytes(v);
}

function nanoCpus(v: string): number {
  const n = Number(v);
  if (!/^\d*\.?\d+$/.test(v) || !Number.isFinite(n)) throw new Error(`failed to parse ${v} as a rational number`);
  return Math.round(n * 1e9);
}

/** docker/cli opts.ValidateWeightDevice: "/dev/sda:200". */
export function weightDevice(v: string): { Path: string; Weight: number } {
  const i = v.lastIndexOf(':');
  if (i < 0) throw new Error(`bad format: ${v}`);
  const path = v.slice(0, i);
  if (!path.startsWith('/dev/')) throw new Error(`bad format for device path: ${v}`);
  const w = v.slice(i + 1);
  const n = Number(w);
  if (!/^\d+$/.test(w) || (n !== 0 && (n < 10 || n > 1000))) throw new Error(`invalid weight for device: ${v}`);
  return { Path: path, Weight: n };
}

/** docker/cli opts.ValidateThrottleBpsDevice: "/dev/sda:1mb". */
export function throttleBps(v: string): { Path: string; Rate: number } {
  const i = v.lastIndexOf(':');
  if (i < 0) throw new Error(`bad format: ${v}`);
  const path = v.slice(0, i);
  if (!path.startsWith('/dev/')) throw new Error(`bad format for device path: ${v}`);
  let rate: number;
  try {
    rate = ramInBytes(v.slice(i + 1));
  } catch {
    rate = -1;
  }
  if (rate < 0) throw new Error(`invalid rate for device: ${v}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
  return { Path: path, Rate: rate };
}

/** docker/cli opts.ValidateThrottleIOpsDevice: "/dev/sda:1000". */
export function throttleIops(v: string): { Path: string; Rate: number } {
  const i = v.lastIndexOf(':');
  if (i < 0) throw new Error(`bad format: ${v}`);
  const path = v.slice(0, i);
  if (!path.startsWith('/dev/')) throw new Error(`bad format for device path: ${v}`);
  const r = v.slice(i + 1);
  if (!/^\d+$/.test(r)) throw new Error(`invalid rate for device: ${v}. The correct format is <device-path>:<number>. Number must be a positive integer`);
  return { Path: path, Rate: Number(r) };
}

/** docker/cli's health options: --no-healthcheck, or a check made of the --health-* flags. */
function healthConfig(f: { noHealthcheck: boolean; healthCmd?: string; healthInterval?: number; healthTimeout?: number; healthStartPeriod?: number; healthStartInterval?: number; healthRetries?: number }): { Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } } {
  const have = !!f.healthCmd || !!f.healthInterval || !!f.healthTimeout || !!f.healthStartPeriod || !!f.healthRetries || !!f.healthStartInterval;
  if (f.noHealthcheck) {
    if (have) throw new StatusError(125, '--no-healthcheck conflicts with --health-* options');
    return { Healthcheck: { Test: ['NONE'] } };
  }
  if (!have) return {};
  for (const [k, v] of [['interval', f.healthInterval], ['timeout', f.healthTimeout], ['retries', f.healthRetries], ['start-period', f.healthStartPeriod], ['start-interval', f.healthStartInterval]] as const) {
    if ((v ?? 0) < 0) throw new StatusError(125, `--health-${k} cannot be negative`);
  }
  return {
    Healthcheck: {
      ...(f.healthCmd ? { Test: ['CMD-SHELL', f.healthCmd] } : {}),
      Interval: f.healthInterval ?? 0, Timeout: f.healthTimeout ?? 0, StartPeriod: f.healthStartPeriod ?? 0, StartInterval: f.healthStartInterval ?? 0, Retries: f.healthRetries ?? 0,
    },
  };
}

/** docker's opts.GpuOpts: `all`, a count, or `count=…,device=…,driver=…,capabilities=…,options=…`. */
function gpuRequest(v: string): { Driver: string; Count: number; DeviceIDs: string[] | null; Capabilities: string[][]; Options: Record<string, string> } {
  const req = { Driver: '', Count: 0, DeviceIDs: null as string[] | null, Capabilities: [['gpu']], Options: {} as Record<string, string> };
  if (v === 'all') return { ...req, Count: -1 };
  if (/^\d+$/.test(v)) return { ...req, Count: Number(v) };
  for (const field of v.split(',')) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new Error(`invalid field '${field}' must be a key=value pair`);
    const [k, val] = [field.slice(0, eq), field.slice(eq + 1)];
    if (k === 'count') req.Count = val === 'all' ? -1 : Number(val);
    else if (k === 'device') req.DeviceIDs = val.split(',');
    else if (k === 'driver') req.Driver = val;
    else if (k === 'capabilities') req.Capabilities = [val.split(',')];
    else if (k === 'options') Object.assign(req.Options, Object.fromEntries(val.split(',').map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)])));
    else throw new Error(`unexpected key '${k}' in '${field}'`);
  }
  return req;
}

/** docker's storage options: `key=value`. */
/** One --network value, as docker's NetworkOpt reads it: a name, or `name=…,alias=…,ip=…,…`. */
export interface NetworkAttachment {
  Target: string;
  Aliases: string[];
  DriverOpts?: Record<string, string>;
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs: string[];
  MacAddress: string;
  GwPriority: number;
}

function parseIpAddr(v: string): string {
  if (!isIP(v)) throw new Error(`ParseAddr(${JSON.stringify(v)}): unable to parse IP`);
  return v;
}

export function networkOpt(value: string): NetworkAttachment {
  const n: NetworkAttachment = { Target: '', Aliases: [], LinkLocalIPs: [], MacAddress: '', GwPriority: 0 };
  if (!/\w+=\w+(,\w+=\w+)*/.test(value)) return { ...n, Target: value };
  for (const field of splitCsv(value)) {
    // docker/cli lowers the whole field, its value too.
    const f = field.toLowerCase();
    const eq = f.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = f.slice(0, eq).trim();
    const val = f.slice(eq + 1).trim();
    switch (key) {
      case 'name': n.Target = val; break;
      case 'alias': n.Aliases.push(val); break;
      case 'ip': n.IPv4Address = parseIpAddr(val); break;
      case 'ip6': n.IPv6Address = parseIpAddr(val); break;
      case 'mac-address': n.MacAddress = val; break;
      case 'link-local-ip': n.LinkLocalIPs.push(parseIpAddr(val)); break;
      case 'driver-opt': {
        const deq = val.indexOf('=');
        if (deq < 0) throw new Error('invalid key value pair format in driver options');
        n.DriverOpts = { ...(n.DriverOpts ?? {}), [val.slice(0, deq).trim().toLowerCase()]: val.slice(deq + 1).trim().toLowerCase() };
        break;
      }
      case 'gw-priority':
        if (!/^[+-]?\d+$/.test(val)) throw new Error(`invalid gw-priority (${val}): invalid syntax`);
        n.GwPriority = Number(val);
        break;
      default:
        throw new Error(`invalid field key ${key}`);
    }
  }
  if (!n.Target) throw new Error('network name/id is not specified');
  return n;
}

function storageOpt(v: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq < 0) throw new Error(`invalid storage option ${v}`);
  return [v.slice(0, eq), v.slice(eq + 1)];
}

export function ulimit(v: string): { Name: string; Soft: number; Hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(v);
  if (!m) throw new Error(`invalid ulimit argument: ${v}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: m[1], Soft: soft, Hard: hard };
}

/** docker's opts.ParseRestartPolicy: the form only; the policy itself is the daemon's to judge (and word). */
function restartPolicy(v: string): HostConfig['RestartPolicy'] {
  const colon = v.indexOf(':');
  const name = colon < 0 ? v : v.slice(0, colon);
  const count = colon < 0 ? '' : v.slice(colon + 1);
  if (colon >= 0 && name === '') throw new Error('invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
  return { Name: name as HostConfig['RestartPolicy']['Name'], MaximumRetryCount: count === '' ? 0 : Number(count) };
}

/** docker's opts.ValidateLabel. */
function labelOpt(v: string): string {
  const eq = v.indexOf('=');
  if ((eq < 0 ? v : v.slice(0, eq)).trim() === '') throw new Error(`invalid label '${v}': empty name`);
  return v;
}

/** docker's opts.ValidateIPAddress (the address as given is kept). */
function ipAddressOpt(v: string): string {
  if (isIP(v.trim()) === 0) throw new Error(`IP address is not correctly formatted: ${v}`);
  return v;
}

/** docker's opts.ValidateExtraHost: NAME:IP or NAME=IP, the IP possibly in brackets, or host-gateway. */
function extraHostOpt(v: string): string {
  let sep = v.indexOf('=');
  if (sep < 0) sep = v.indexOf(':');
  if (sep <= 0) throw new Error(`bad format for add-host: ${JSON.stringify(v)}`);
  let ip = v.slice(sep + 1);
  if (ip !== 'host-gateway') {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (isIP(ip.trim()) === 0) throw new Error(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  return v;
}

/** docker's opts.ValidateSysctl: namespaced sysctls only (IPC ones, fs.mqueue.*, net.*). */
function sysctlOpt(v: string): string {
  const [key, value] = v.split('=');
  const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (value === undefined || !(ipc.includes(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.'))) throw new Error(`sysctl '${v}' is not allowed`);
  return v;
}

/** docker's parseDevice: HOST[:CONTAINER][:PERMS], PERMS a mix of r, w and m. */
function deviceMapping(v: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = v.split(':');
  if (parts.length > 3) throw new Error(`invalid device specification: ${v}`);
  const mode = (m: string) => /^[rwm]{1,3}$/.test(m);
  let perms = 'rwm';
  let dst = '';
  if (parts.length === 3) {
    if (!mode(parts[2])) throw new Error(`bad mode specified: ${parts[2]}`);
    perms = parts[2];
    dst = parts[1];
  } else if (parts.length === 2) {
    if (mode(parts[1])) perms = parts[1];
    else dst = parts[1];
  }
  const src = parts[0];
  if (!src.startsWith('/') || (dst && !dst.startsWith('/'))) throw new Error(`bad format for path: ${v}`);
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
}

function attachStream(v: string): string {
  const s = v.toLowerCase();
  if (!['stdin', 'stdout', 'stderr'].includes(s)) throw new Error(`valid streams are STDIN, STDOUT and STDERR`);
  return s;
}

function envValue(v: string): string {
  const eq = v.indexOf('=');
  const key = eq < 0 ? v : v.slice(0, eq);
  if (key === '') throw new Error(`invalid environment variable: ${v}`);
  if (eq >= 0) return v;
  const fromEnv = process.env[key];
  return fromEnv === undefined ? v : `${key}=${fromEnv}`;
}

export const containerFlags = defineFlags({
  attach: { short: 'a', long: 'attach', kind: 'stringArray', help: 'Attach to STDIN, STDOUT or STDERR', parse: attachStream },
  addHost: { long: 'add-host', kind: 'stringArray', help: 'Add a custom host-to-IP mapping (host:ip)', parse: extraHostOpt },
  annotation: { long: 'annotation', kind: 'stringArray', help: 'Add an annotation to the container (passed through to the OCI runtime)', typeName: 'map', defaultText: 'map[]' },
  blkioWeight: { long: 'blkio-weight', kind: 'uint', bits: 16, help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', defaultText: '0' },
  blkioWeightDevice: { long: 'blkio-weight-device', kind: 'stringArray', help: 'Block IO weight (relative device weight)', typeName: 'list', defaultText: '[]', parse: weightDevice },
  capAdd: { long: 'cap-add', kind: 'stringArray', help: 'Add Linux capabilities' },
  capDrop: { long: 'cap-drop', kind: 'stringArray', help: 'Drop Linux capabilities' },
  cgroupParent: { long: 'cgroup-parent', kind: 'string', help: 'Optional parent cgroup for the container' },
  useApiSocket: { long: 'use-api-socket', kind: 'bool', help: 'Bind mount Docker API socket and required auth' },
  gpus: { long: 'gpus', kind: 'string', help: "GPU devices to add to the container ('all' to pass all GPUs)", typeName: 'gpu-request', parse: gpuRequest },
  storageOpt: { long: 'storage-opt', kind: 'stringArray', help: 'Storage driver options for the container', typeName: 'list', parse: storageOpt },
  cgroupns: { long: 'cgroupns', kind: 'string', help: 'Cgroup namespace to use (host|private)\n\'host\':    Run the container in the Docker host\'s cgroup namespace\n\'private\': Run the container in its own private cgroup namespace\n\'\':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)' },
  cidfile: { long: 'cidfile', kind: 'string', help: 'Write the container ID to the file' },
  cpuCount: { long: 'cpu-count', kind: 'int', help: 'CPU count (Windows only)' },
  cpuPercent: { long: 'cpu-percent', kind: 'int', help: 'CPU percent (Windows only)' },
  cpuRtPeriod: { long: 'cpu-rt-period', kind: 'int', help: 'Limit CPU real-time period in microseconds' },
  cpuRtRuntime: { long: 'cpu-rt-runtime', kind: 'int', help: 'Limit CPU real-time runtime in microseconds' },
  ioMaxbandwidth: { long: 'io-maxbandwidth', kind: 'string', help: 'Maximum IO bandwidth limit for the system drive (Windows only)', typeName: 'bytes', parse: memBytes },
  ioMaxiops: { long: 'io-maxiops', kind: 'uint', help: 'Maximum IOps limit for the system drive (Windows only)' },
  kernelMemory: { long: 'kernel-memory', kind: 'string', help: 'Kernel memory limit', typeName: 'bytes', parse: memBytes },
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image verification', default: true },
  cpuPeriod: { long: 'cpu-period', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  cpuQuota: { long: 'cpu-quota', kind: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  cpuShares: { short: 'c', long: 'cpu-shares', kind: 'int', help: 'CPU shares (relative weight)' },
  cpus: { long: 'cpus', kind: 'string', help: 'Number of CPUs', typeName: 'decimal', parse: nanoCpus },
  cpusetCpus: { long: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  cpusetMems: { long: 'cpuset-mems', kind: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  deviceReadBps: { long: 'device-read-bps', kind: 'stringArray', help: 'Limit read rate (bytes per second) from a device', typeName: 'list', defaultText: '[]', parse: throttleBps },
  deviceReadIops: { long: 'device-read-iops', kind: 'stringArray', help: 'Limit read rate (IO per second) from a device', typeName: 'list', defaultText: '[]', parse: throttleIops },
  deviceWriteBps: { long: 'device-write-bps', kind: 'stringArray', help: 'Limit write rate (bytes per second) to a device', typeName: 'list', defaultText: '[]', parse: throttleBps },
  deviceWriteIops: { long: 'device-write-iops', kind: 'stringArray', help: 'Limit write rate (IO per second) to a device', typeName: 'list', defaultText: '[]', parse: throttleIops },
  device: { long: 'device', kind: 'stringArray', help: 'Add a host device to the container', parse: deviceMapping },
  deviceCgroupRule: { long: 'device-cgroup-rule', kind: 'stringArray', help: 'Add a rule to the cgroup allowed devices list' },
  dns: { long: 'dns', kind: 'stringArray', help: 'Set custom DNS servers', parse: ipAddressOpt },
  dnsOption: { long: 'dns-option', kind: 'stringArray', help: 'Set DNS options' },
  dnsSearch: { long: 'dns-search', kind: 'stringArray', help: 'Set custom DNS search domains' },
  domainname: { long: 'domainname', kind: 'string', help: 'Container NIS domain name' },
  entrypoint: { long: 'entrypoint', kind: 'string', help: 'Overwrite the default ENTRYPOINT of the image' },
  env: { short: 'e', long: 'env', kind: 'stringArray', help: 'Set environment variables', parse: envValue },
  envFile: { long: 'env-file', kind: 'stringArray', help: 'Read in a file of environment variables' },
  expose: { long: 'expose', kind: 'stringArray', help: 'Expose a port or a range of ports' },
  publish: { short: 'p', long: 'publish', kind: 'stringArray', help: "Publish a container's port(s) to the host", typeName: 'list' },
  publishAll: { short: 'P', long: 'publish-all', kind: 'bool', help: 'Publish all exposed ports to random ports' },
  groupAdd: { long: 'group-add', kind: 'stringArray', help: 'Add additional groups to join' },
  healthCmd: { long: 'health-cmd', kind: 'string', help: 'Command to run to check health' },
  healthInterval: { long: 'health-interval', kind: 'duration', help: 'Time between running the check (ms|s|m|h)', defaultText: '0s' },
  healthRetries: { long: 'health-retries', kind: 'int', help: 'Consecutive failures needed to report unhealthy' },
  healthStartInterval: { long: 'health-start-interval', kind: 'duration', help: 'Time between running the check during the start period (ms|s|m|h)', defaultText: '0s' },
  healthStartPeriod: { long: 'health-start-period', kind: 'duration', help: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)', defaultText: '0s' },
  healthTimeout: { long: 'health-timeout', kind: 'duration', help: 'Maximum time to allow one check to run (ms|s|m|h)', defaultText: '0s' },
  hostname: { short: 'h', long: 'hostname', kind: 'string', help: 'Container host name' },
  init: { long: 'init', kind: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  interactive: { short: 'i', long: 'interactive', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  ipc: { long: 'ipc', kind: 'string', help: 'IPC mode to use' },
  isolation: { long: 'isolation', kind: 'string', help: 'Container isolation technology' },
  label: { short: 'l', long: 'label', kind: 'stringArray', help: 'Set meta data on a container', parse: labelOpt },
  labelFile: { long: 'label-file', kind: 'stringArray', help: 'Read in a line delimited file of labels' },
  logDriver: { long: 'log-driver', kind: 'string', help: 'Logging driver for the container' },
  logOpt: { long: 'log-opt', kind: 'stringArray', help: 'Log driver options' },
  memory: { short: 'm', long: 'memory', kind: 'string', help: 'Memory limit', typeName: 'bytes', parse: memBytes },
  memoryReservation: { long: 'memory-reservation', kind: 'string', help: 'Memory soft limit', typeName: 'bytes', parse: memBytes },
  memorySwap: { long: 'memory-swap', kind: 'string', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", typeName: 'bytes', parse: memSwap },
  memorySwappiness: { long: 'memory-swappiness', kind: 'int', help: 'Tune container memory swappiness (0 to 100)', default: -1 },
  name: { long: 'name', kind: 'string', help: 'Assign a name to the container' },
  network: { long: 'network', kind: 'stringArray', help: 'Connect a container to a network', typeName: 'network', parse: networkOpt },
  networkAlias: { long: 'network-alias', kind: 'stringArray', help: 'Add network-scoped alias for the container', typeName: 'list' },
  ip: { long: 'ip', kind: 'string', help: 'IPv4 address (e.g., 172.30.100.104)', typeName: 'ip' },
  ip6: { long: 'ip6', kind: 'string', help: 'IPv6 address (e.g., 2001:db8::33)', typeName: 'ip' },
  linkLocalIp: { long: 'link-local-ip', kind: 'stringArray', help: 'Container IPv4/IPv6 link-local addresses', typeName: 'list' },
  macAddress: { long: 'mac-address', kind: 'string', help: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  link: { long: 'link', kind: 'stringArray', help: 'Add link to another container', typeName: 'list' },
  noHealthcheck: { long: 'no-healthcheck', kind: 'bool', help: 'Disable any container-specified HEALTHCHECK' },
  oomKillDisable: { long: 'oom-kill-disable', kind: 'bool', help: 'Disable OOM Killer' },
  oomScoreAdj: { long: 'oom-score-adj', kind: 'int', help: "Tune host's OOM preferences (-1000 to 1000)" },
  pid: { long: 'pid', kind: 'string', help: 'PID namespace to use' },
  pidsLimit: { long: 'pids-limit', kind: 'int', help: 'Tune container pids limit (set -1 for unlimited)' },
  platform: { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable', ...platformDefault() },
  privileged: { long: 'privileged', kind: 'bool', help: 'Give extended privileges to this container' },
  pull: { long: 'pull', kind: 'string', help: 'Pull image before running ("always", "missing", "never")', default: 'missing' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress the pull output' },
  readOnly: { long: 'read-only', kind: 'bool', help: "Mount the container's root filesystem as read only" },
  restart: { long: 'restart', kind: 'string', help: 'Restart policy to apply when a container exits', parse: restartPolicy, defaultText: '"no"' },
  runtime: { long: 'runtime', kind: 'string', help: 'Runtime to use for this container' },
  securityOpt: { long: 'security-opt', kind: 'stringArray', help: 'Security Options' },
  shmSize: { long: 'shm-size', kind: 'string', help: 'Size of /dev/shm', typeName: 'bytes', parse: memBytes },
  // (Checked by the daemon, in its words, as docker's CLI leaves it.)
  stopSignal: { long: 'stop-signal', kind: 'string', help: 'Signal to stop the container' },
  stopTimeout: { long: 'stop-timeout', kind: 'int', help: 'Timeout (in seconds) to stop a container' },
  sysctl: { long: 'sysctl', kind: 'stringArray', help: 'Sysctl options', typeName: 'map', defaultText: 'map[]', parse: sysctlOpt },
  tty: { short: 't', long: 'tty', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  ulimit: { long: 'ulimit', kind: 'stringArray', help: 'Ulimit options', typeName: 'ulimit', parse: ulimit },
  user: { short: 'u', long: 'user', kind: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  userns: { long: 'userns', kind: 'string', help: 'User namespace to use' },
  uts: { long: 'uts', kind: 'string', help: 'UTS namespace to use' },
  volume: { short: 'v', long: 'volume', kind: 'stringArray', help: 'Bind mount a volume', typeName: 'list' },
  volumeDriver: { long: 'volume-driver', kind: 'string', help: 'Optional volume driver for the container' },
  volumesFrom: { long: 'volumes-from', kind: 'stringArray', help: 'Mount volumes from the specified container(s)', typeName: 'list' },
  mount: { long: 'mount', kind: 'stringArray', help: 'Attach a filesystem mount to the container', typeName: 'mount', parse: parseMountFlag },
  tmpfs: { long: 'tmpfs', kind: 'stringArray', help: 'Mount a tmpfs directory', typeName: 'list' },
  workdir: { short: 'w', long: 'workdir', kind: 'string', help: 'Working directory inside the container' },
});

export type ContainerFlags = FlagValues<typeof containerFlags>;

/** docker's env-file format: KEY=VALUE lines, # comments, a bare KEY taken from the environment. */
export function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new StatusError(125, pathErrorText('open', path, e));
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') throw new StatusError(125, `invalid environment variable: ${line}`);
    if (/\s/.test(key)) throw new StatusError(125, `variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (process.env[key] !== undefined) out.push(`${key}=${process.env[key]}`);
  }
  return out;
}

function readLabelFile(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  } catch (e) {
    throw new StatusError(125, `open ${path}: ${(e as Error).message}`);
  }
}

function toLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    if (eq === 0) throw new StatusError(125, `invalid label format: "${l}"`);
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

/**
 * --security-opt as docker's CLI passes it on: a seccomp profile is read here and sent as its
 * compacted JSON (the daemon never opens client paths); `bogus` without = or : is refused.
 */
export function securityOpts(list: string[]): string[] {
  return list.map((opt) => {
    let sep = opt.indexOf('=');
    if (sep < 0 && opt !== 'no-new-privileges') {
      sep = opt.indexOf(':');
      if (sep < 0) throw new StatusError(125, `Invalid --security-opt: ${JSON.stringify(opt)}`);
    }
    const key = sep < 0 ? opt : opt.slice(0, sep);
    const value = sep < 0 ? '' : opt.slice(sep + 1);
    if (key !== 'seccomp' || value === 'unconfined' || value === 'builtin') return opt;
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StatusError(125, `opening seccomp profile (${value}) failed: open ${value}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    try {
      return `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (e) {
      throw new StatusError(125, `compacting json for seccomp profile (${value}) failed: ${(e as Error).message}`);
    }
  });
}

/** KEY=VALUE options (--sysctl, --annotation), as docker's MapOpts. */
function keyValues(list: string[], what: string): Record<string, string> | undefined {
  if (!list.length) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new StatusError(125, `invalid argument "${kv}" for "--${what}" flag: ${what} must be of the form KEY=VALUE`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function logConfig(driver: string | undefined, opts: string[]): HostConfig['LogConfig'] {
  const config: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new StatusError(125, `invalid key value pair format in log options: ${o}`);
    config[o.slice(0, eq)] = o.slice(eq + 1);
  }
  return { Type: driver ?? '', Config: config };
}

/** Builds the create request from parsed flags, the image and the command. */
export function createRequest(f: ContainerFlags, set: ReadonlySet<string>, image: string, cmd: string[], tty: { rows: number; cols: number } | undefined): ContainerCreateRequest {
  if (!f.disableContentTrust) throw new StatusError(125, 'content trust is not supported by Berth: give --disable-content-trust');
  // The docker CLI refuses its Windows-only flags itself when the daemon runs on Linux (exit 1).
  for (const [key, flag] of [['cpuCount', 'cpu-count'], ['cpuPercent', 'cpu-percent'], ['ioMaxbandwidth', 'io-maxbandwidth'], ['ioMaxiops', 'io-maxiops']]) {
    if (set.has(key)) throw new StatusError(1, `"--${flag}" is only supported on a daemon running on windows, but the Berth daemon is running on linux`);
  }
  const attach = new Set(f.attach);
  const detached = set.has('detach') ? true : false;
  const attachStdin = attach.size ? attach.has('stdin') : f.interactive && !detached;
  const attachStdout = attach.size ? attach.has('stdout') : !detached;
  const attachStderr = attach.size ? attach.has('stderr') : !detached;
  const env = [...f.envFile.flatMap(readEnvFile), ...f.env];
  const labels = toLabels([...f.labelFile.flatMap(readLabelFile), ...f.label]);
  let entrypoint: string[] | undefined;
  if (f.entrypoint) entrypoint = [f.entrypoint];
  else if (set.has('entrypoint')) entrypoint = [''];
  let vols: ReturnType<typeof parseVolumeFlags>;
  try {
    vols = parseVolumeFlags(f.volume);
  } catch (e) {
    throw new StatusError(125, (e as Error).message);
  }
  const tmpfs = parseTmpfsFlags(f.tmpfs);
  const exposed: Record<string, Record<string, never>> = {};
  const portBindings: PortBindings = {};
  try {
    for (const p of f.expose) parseExpose(p, exposed);
    for (const p of f.publish) parsePublish(p, portBindings, exposed);
  } catch (e) {
    throw new StatusError(125, (e as Error).message);
  }
  const hostConfig: Partial<HostConfig> = {
    AutoRemove: false,
    Privileged: f.privileged,
    ReadonlyRootfs: f.readOnly,
    CapAdd: f.capAdd.length ? f.capAdd : null,
    CapDrop: f.capDrop.length ? f.capDrop : null,
    SecurityOpt: f.securityOpt.length ? securityOpts(f.securityOpt) : null,
    Memory: f.memory ?? 0,
    MemorySwap: f.memorySwap ?? 0,
    MemoryReservation: f.memoryReservation ?? 0,
    MemorySwappiness: f.memorySwappiness === -1 ? null : f.memorySwappiness,
    NanoCpus: f.cpus ?? 0,
    CpuShares: f.cpuShares ?? 0,
    CpuPeriod: f.cpuPeriod ?? 0,
    CpuQuota: f.cpuQuota ?? 0,
    CpusetCpus: f.cpusetCpus ?? '',
    CpusetMems: f.cpusetMems ?? '',
    PidsLimit: f.pidsLimit === undefined ? null : f.pidsLimit,
    // The real-time limits go as docker's CLI sends them (berthd refuses them by name), as does
    // the deprecated kernel memory (berthd warns and discards it, as dockerd did).
    CpuCount: f.cpuCount ?? 0,
    CpuPercent: f.cpuPercent ?? 0,
    CpuRealtimePeriod: f.cpuRtPeriod ?? 0,
    CpuRealtimeRuntime: f.cpuRtRuntime ?? 0,
    IOMaximumBandwidth: f.ioMaxbandwidth ?? 0,
    IOMaximumIOps: f.ioMaxiops ?? 0,
    ...(f.kernelMemory ? { KernelMemory: f.kernelMemory } : {}),
    BlkioWeight: f.blkioWeight ?? 0,
    BlkioWeightDevice: f.blkioWeightDevice.length ? f.blkioWeightDevice : null,
    BlkioDeviceReadBps: f.deviceReadBps.length ? f.deviceReadBps : null,
    BlkioDeviceWriteBps: f.deviceWriteBps.length ? f.deviceWriteBps : null,
    BlkioDeviceReadIOps: f.deviceReadIops.length ? f.deviceReadIops : null,
    BlkioDeviceWriteIOps: f.deviceWriteIops.length ? f.deviceWriteIops : null,
    OomKillDisable: f.oomKillDisable,
    OomScoreAdj: f.oomScoreAdj ?? 0,
    Ulimits: f.ulimit.length ? f.ulimit : null,
    // GPUs and storage options go to berthd, which refuses them by name (as no silent default).
    ...(f.gpus ? { DeviceRequests: [f.gpus] } : {}),
    ...(f.storageOpt.length ? { StorageOpt: Object.fromEntries(f.storageOpt) } : {}),
    RestartPolicy: f.restart ?? { Name: 'no', MaximumRetryCount: 0 },
    LogConfig: logConfig(f.logDriver, f.logOpt),
    NetworkMode: f.network[0]?.Target ?? 'default',
    Dns: f.dns,
    DnsOptions: f.dnsOption,
    DnsSearch: f.dnsSearch,
    ExtraHosts: f.addHost.length ? f.addHost : null,
    GroupAdd: f.groupAdd.length ? f.groupAdd : null,
    CgroupParent: f.cgroupParent ?? '',
    ShmSize: f.shmSize ?? 0,
    ...(f.init ? { Init: true } : {}),
    ConsoleSize: tty && f.tty ? [tty.rows, tty.cols] : [0, 0],
    ...(f.runtime ? { Runtime: f.runtime } : {}),
    PidMode: f.pid ?? '',
    IpcMode: f.ipc ?? '',
    UTSMode: f.uts ?? '',
    UsernsMode: f.userns ?? '',
    CgroupnsMode: f.cgroupns ?? '',
    Isolation: f.isolation ?? '',
    Devices: f.device,
    DeviceCgroupRules: f.deviceCgroupRule.length ? f.deviceCgroupRule : null,
    ...(f.sysctl.length ? { Sysctls: keyValues(f.sysctl, 'sysctl') } : {}),
    ...(f.annotation.length ? { Annotations: keyValues(f.annotation, 'annotation') } : {}),
    Binds: vols.binds.length ? vols.binds : null,
    VolumesFrom: f.volumesFrom.length ? f.volumesFrom : null,
    VolumeDriver: f.volumeDriver ?? '',
    PortBindings: portBindings,
    Links: f.link.length ? f.link : null,
    PublishAllPorts: f.publishAll,
    ...(f.mount.length ? { Mounts: f.mount } : {}),
    ...(tmpfs ? { Tmpfs: tmpfs } : {}),
  };
  return {
    Hostname: f.hostname ?? '',
    Domainname: f.domainname ?? '',
    User: f.user ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: f.tty,
    OpenStdin: f.interactive,
    StdinOnce: f.interactive && attachStdin,
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: vols.volumes,
    WorkingDir: f.workdir ?? '',
    Entrypoint: entrypoint ?? null,
    OnBuild: null,
    Labels: labels,
    ...(f.stopSignal ? { StopSignal: f.stopSignal } : {}),
    ...(f.stopTimeout !== undefined ? { StopTimeout: f.stopTimeout } : {}),
    ...healthConfig(f),
    HostConfig: hostConfig,
    ...networkingConfig(f),
  };
}

const PREDEFINED = ['default', 'bridge', 'host', 'none'];
const userDefined = (n: string) => !PREDEFINED.includes(n) && !n.startsWith('container:');

/** An attachment as the API's EndpointSettings, or undefined when it asks for nothing. */
function endpointOf(n: NetworkAttachment, links: string[]): Record<string, unknown> | undefined {
  const ep: Record<string, unknown> = {};
  if (n.IPv4Address || n.IPv6Address || n.LinkLocalIPs.length) {
    ep.IPAMConfig = { ...(n.IPv4Address ? { IPv4Address: n.IPv4Address } : {}), ...(n.IPv6Address ? { IPv6Address: n.IPv6Address } : {}), ...(n.LinkLocalIPs.length ? { LinkLocalIPs: n.LinkLocalIPs } : {}) };
  }
  if (n.Aliases.length) ep.Aliases = n.Aliases;
  if (links.length) ep.Links = links;
  if (n.MacAddress) ep.MacAddress = n.MacAddress;
  if (n.DriverOpts) ep.DriverOpts = n.DriverOpts;
  if (n.GwPriority) ep.GwPriority = n.GwPriority;
  return Object.keys(ep).length ? ep : undefined;
}

/**
 * --network (repeatable, docker's advanced `name=…,alias=…` syntax too) and the per-network
 * flags (--ip, --ip6, --link-local-ip, --network-alias, --mac-address, --link on a user-defined
 * network), which apply to the first network, as docker/cli's parseNetworkOpts makes them:
 * NetworkingConfig.EndpointsConfig[<network>] (API 1.44+).
 */
function networkingConfig(f: ContainerFlags): { NetworkingConfig?: { EndpointsConfig: Record<string, Record<string, unknown>> } } {
  const nets: NetworkAttachment[] = f.network.length ? f.network.map((n) => ({ ...n, Aliases: [...n.Aliases], LinkLocalIPs: [...n.LinkLocalIPs] })) : [networkOpt('default')];
  const first = nets[0];
  const conflict = (m: string) => new StatusError(125, `conflicting options: cannot specify both ${m}`);
  if (first.Aliases.length && f.networkAlias.length) throw conflict('--network-alias and per-network alias');
  if (first.IPv4Address && f.ip) throw conflict('--ip and per-network IPv4 address');
  if (first.IPv6Address && f.ip6) throw conflict('--ip6 and per-network IPv6 address');
  if (first.MacAddress && f.macAddress) throw conflict('--mac-address and per-network MAC address');
  if (first.LinkLocalIPs.length && f.linkLocalIp.length) throw conflict('--link-local-ip and per-network link-local IP addresses');
  if (f.networkAlias.length) first.Aliases = [...f.networkAlias];
  if (f.ip) first.IPv4Address = f.ip;
  if (f.ip6) first.IPv6Address = f.ip6;
  if (f.macAddress) first.MacAddress = f.macAddress;
  if (f.linkLocalIp.length) first.LinkLocalIPs = [...f.linkLocalIp];
  const out: Record<string, Record<string, unknown>> = {};
  let user = false;
  let other = false;
  nets.forEach((n, i) => {
    if (userDefined(n.Target)) user = true;
    else other = true;
    if (Object.hasOwn(out, n.Target === 'default' ? 'bridge' : n.Target)) throw new StatusError(125, `network ${JSON.stringify(n.Target)} is specified multiple times`);
    // Links are HostConfig's on the default bridge, the endpoint's too on a user-defined network.
    const ep = endpointOf(n, i === 0 && userDefined(n.Target) ? f.link : []);
    // One network with nothing asked: no endpoint settings (the daemon makes them).
    if (!ep && nets.length === 1) return;
    out[n.Target === 'default' ? 'bridge' : n.Target] = ep ?? {};
  });
  if (user && other && f.network.length) throw new StatusError(125, 'conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  if (!Object.keys(out).length) return {};
  return { NetworkingConfig: { EndpointsConfig: out } };
}
