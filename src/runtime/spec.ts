/**
 * OCI runtime spec generation: docker's default spec (oci.DefaultSpec plus the daemon's
 * createSpec) with composable options applied to it. Data in, data out: nothing here
 * touches the file system or the runtime.
 */
import { readFileSync } from 'node:fs';
import type { OciSeccomp } from './seccomp.ts';
import { hostDevices, type OciDevice, type OciDeviceRule } from './devices.ts';
export type { OciDeviceRule } from './devices.ts';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}


export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; swap?: number; reservation?: number; swappiness?: number; disableOOMKiller?: boolean; kernelTCP?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: { major: number; minor: number; weight: number }[];
    throttleReadBpsDevice?: { major: number; minor: number; rate: number }[];
    throttleWriteBpsDevice?: { major: number; minor: number; rate: number }[];
    throttleReadIOPSDevice?: { major: number; minor: number; rate: number }[];
    throttleWriteIOPSDevice?: { major: number; minor: number; rate: number }[];
  };
}

export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface OciSpec {
  ociVersion: string;
  annotations?: Record<string, string>;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  domainname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    devices?: OciDevice[];
    resources: OciResources;
    cgroupsPath?: string;
    seccomp?: OciSeccomp;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    sysctl?: Record<string, string>;
  };
}

export type SpecOpt = (spec: OciSpec) => void;

/** Docker's default capability set. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Kernel numbers of ALL_CAPS, in its order. */
const CAP_NUMBERS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40];

export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * The capabilities berthd can grant: those of ALL_CAPS in its own bounding set (a sandboxed
 * host may withhold some, CAP_SYS_RESOURCE say). --privileged and --cap-add ALL mean these;
 * asking the runtime for more fails the start with "capset: Operation not permitted".
 */
export const GRANTABLE_CAPS: readonly string[] = (() => {
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return ALL_CAPS;
    const bnd = BigInt(`0x${m[1]}`);
    return ALL_CAPS.filter((_, i) => (bnd >> BigInt(CAP_NUMBERS[i])) & 1n);
  } catch {
    return ALL_CAPS;
  }
})();


export const DEFAULT_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys',
  '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug',
  '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEFAULT_DEVICE_RULES: OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function defaultSpec(): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: '',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    ],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
}

export function buildSpec(opts: SpecOpt[]): OciSpec {
  const spec = defaultSpec();
  for (const o of opts) o(spec);
  return spec;
}

export const withRoot = (path: string, readonly: boolean): SpecOpt => (s) => {
  s.root = { path, readonly };
};

export const withHostname = (hostname: string, domainname = ''): SpecOpt => (s) => {
  s.hostname = hostname;
  if (domainname) s.domainname = domainname;
};

export const withProcess = (p: { args: string[]; env: string[]; cwd: string; terminal: boolean; uid: number; gid: number; additionalGids?: number[]; consoleSize?: { height: number; width: number } }): SpecOpt => (s) => {
  s.process.args = p.args;
  s.process.env = p.env;
  s.process.cwd = p.cwd || '/';
  s.process.terminal = p.terminal;
  s.process.user = { uid: p.uid, gid: p.gid, ...(p.additionalGids?.length ? { additionalGids: p.additionalGids } : {}) };
  if (p.terminal && p.consoleSize && p.consoleSize.height > 0 && p.consoleSize.width > 0) s.process.consoleSize = p.consoleSize;
};

export const withCapabilities = (caps: string[]): SpecOpt => (s) => {
  s.process.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
};

export const withMounts = (mounts: OciMount[]): SpecOpt => (s) => {
  // A user mount replaces a default one at the same destination, as in docker.
  const dests = new Set(mounts.map((m) => m.destination));
  s.mounts = [...s.mounts.filter((m) => !dests.has(m.destination)), ...mounts];
};

export const withCgroupsPath = (path: string): SpecOpt => (s) => {
  s.linux.cgroupsPath = path;
};

export const withResources = (r: OciResources): SpecOpt => (s) => {
  s.linux.resources = { ...s.linux.resources, ...r };
};

export const withSeccomp = (profile: OciSeccomp | undefined): SpecOpt => (s) => {
  if (profile) s.linux.seccomp = profile;
  else delete s.linux.seccomp;
};

export const withRlimits = (rlimits: { type: string; hard: number; soft: number }[]): SpecOpt => (s) => {
  if (rlimits.length) s.process.rlimits = rlimits;
};

export const withShmSize = (bytes: number): SpecOpt => (s) => {
  const shm = s.mounts.find((m) => m.destination === '/dev/shm');
  if (shm && bytes > 0) shm.options = [...(shm.options ?? []).filter((o) => !o.startsWith('size=')), `size=${Math.floor(bytes / 1024)}k`];
};

/** Always explicit, as dockerd sets it: otherwise the container inherits the daemon's score. */
export const withOomScoreAdj = (adj: number): SpecOpt => (s) => {
  s.process.oomScoreAdj = adj;
};

/** --privileged: every capability, the host's devices, no masked paths, no seccomp, rw /sys. */
export const withPrivileged = (): SpecOpt => (s) => {
  s.process.capabilities = { bounding: [...GRANTABLE_CAPS], effective: [...GRANTABLE_CAPS], permitted: [...GRANTABLE_CAPS] };
  s.linux.devices = hostDevices();
  s.linux.resources.devices = [{ allow: true, access: 'rwm' }];
  s.linux.maskedPaths = [];
  s.linux.readonlyPaths = [];
  delete s.linux.seccomp;
  for (const m of s.mounts) {
    if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro');
  }
};

/** Replaces a namespace with the host's (removes it) or joins a path. */
export const withNamespace = (type: string, mode: 'private' | 'host' | { path: string }): SpecOpt => (s) => {
  s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== type);
  if (mode === 'private') s.linux.namespaces.push({ type });
  else if (mode !== 'host') s.linux.namespaces.push({ type, path: mode.path });
};

/** crun loads a precompiled filter from this annotation and ignores linux.seccomp. */
export const withSeccompBpf = (b64: string): SpecOpt => (s) => {
  if (!s.linux.seccomp) return;
  s.annotations = { ...(s.annotations ?? {}), 'run.oci.seccomp_bpf_data': b64 };
  delete s.linux.seccomp;
};
