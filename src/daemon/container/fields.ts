/**
 * What Berth does with every field of a container create request, so that no client believes
 * it got something it did not: each field is applied, refused at create with an error naming
 * it (until the issue that implements it lands), or a no-op that docker itself ignores on
 * Linux. `fields.test.ts` checks that every field of the Go types in server/bodies.ts is here.
 */
import { invalidParameter } from '../../errdefs/index.ts';
import { ContainerConfigType, HostConfigType, NetworkingConfigType, type ContainerCreateInput } from '../server/bodies.ts';
import type { GoType } from '../../lib/gojson.ts';

export type FieldPolicy =
  | { applied: true }
  /** Refused when set to anything but its zero value; `what` names the missing capability. */
  | { refused: string }
  /** Accepted and ignored because docker ignores it on Linux too; `why` says so. */
  | { noop: string };

const applied: FieldPolicy = { applied: true };
const refused = (what: string): FieldPolicy => ({ refused: what });
const noop = (why: string): FieldPolicy => ({ noop: why });

const DEVICES = 'device requests (GPUs)';

/** Keyed by the wire path: `Hostname`, `HostConfig.Binds`, `NetworkingConfig.EndpointsConfig`. */
export const CREATE_FIELDS: Readonly<Record<string, FieldPolicy>> = {
  Hostname: applied,
  Domainname: applied,
  User: applied,
  AttachStdin: applied,
  AttachStdout: applied,
  AttachStderr: applied,
  ExposedPorts: applied, // recorded, and shown; publishing them is PortBindings' job, as in docker
  Tty: applied,
  OpenStdin: applied,
  StdinOnce: applied,
  Env: applied,
  Cmd: applied,
  Healthcheck: applied,
  ArgsEscaped: noop('Windows-only: moby ignores it on Linux'),
  Image: applied,
  Volumes: applied,
  WorkingDir: applied,
  Entrypoint: applied,
  NetworkDisabled: applied,
  MacAddress: applied, // the primary network's endpoint MAC (network.ts), as the API before 1.44 sends it
  OnBuild: applied, // image metadata, kept for commit
  Labels: applied,
  StopSignal: applied,
  StopTimeout: applied,
  Shell: applied, // image metadata, kept for commit

  'HostConfig.Binds': applied,
  'HostConfig.ContainerIDFile': noop('the client writes the file; dockerd only records the name'),
  'HostConfig.LogConfig': applied,
  'HostConfig.NetworkMode': applied, // bridge, a user-defined network, none, host, container:NAME
  'HostConfig.PortBindings': applied,
  'HostConfig.RestartPolicy': applied,
  'HostConfig.AutoRemove': applied,
  'HostConfig.VolumeDriver': applied, // local only: any other driver is refused by name
  'HostConfig.VolumesFrom': applied,
  'HostConfig.ConsoleSize': applied,
  'HostConfig.Annotations': applied,
  'HostConfig.CapAdd': applied,
  'HostConfig.CapDrop': applied,
  'HostConfig.CgroupnsMode': applied,
  'HostConfig.Dns': applied,
  'HostConfig.DnsOptions': applied,
  'HostConfig.DnsSearch': applied,
  'HostConfig.ExtraHosts': applied,
  'HostConfig.GroupAdd': applied,
  'HostConfig.IpcMode': applied,
  'HostConfig.Cgroup': refused('joining another container\'s cgroup'),
  'HostConfig.Links': applied, // legacy links on the default bridge (links.ts)
  'HostConfig.OomScoreAdj': applied,
  'HostConfig.PidMode': applied,
  'HostConfig.Privileged': applied,
  'HostConfig.PublishAllPorts': applied,
  'HostConfig.ReadonlyRootfs': applied,
  'HostConfig.SecurityOpt': applied,
  'HostConfig.StorageOpt': refused('storage options (overlay2 supports them only over xfs with pquota)'),
  'HostConfig.Tmpfs': applied,
  'HostConfig.UTSMode': applied,
  'HostConfig.UsernsMode': applied,
  'HostConfig.ShmSize': applied,
  'HostConfig.Sysctls': applied,
  'HostConfig.Runtime': applied,
  'HostConfig.Isolation': applied,
  'HostConfig.CpuShares': applied,
  'HostConfig.Memory': applied,
  'HostConfig.NanoCpus': applied,
  'HostConfig.CgroupParent': applied,
  'HostConfig.BlkioWeight': applied,
  'HostConfig.BlkioWeightDevice': applied,
  'HostConfig.BlkioDeviceReadBps': applied,
  'HostConfig.BlkioDeviceWriteBps': applied,
  'HostConfig.BlkioDeviceReadIOps': applied,
  'HostConfig.BlkioDeviceWriteIOps': applied,
  'HostConfig.CpuPeriod': applied,
  'HostConfig.CpuQuota': applied,
  'HostConfig.CpuRealtimePeriod': refused('real-time CPU scheduling'),
  'HostConfig.CpuRealtimeRuntime': refused('real-time CPU scheduling'),
  'HostConfig.CpusetCpus': applied,
  'HostConfig.CpusetMems': applied,
  'HostConfig.Devices': applied,
  'HostConfig.DeviceCgroupRules': applied,
  'HostConfig.DeviceRequests': refused(DEVICES),
  'HostConfig.KernelMemory': noop('deprecated; moby discards it (with a warning)'),
  'HostConfig.KernelMemoryTCP': applied,
  'HostConfig.MemoryReservation': applied,
  'HostConfig.MemorySwap': applied,
  'HostConfig.MemorySwappiness': applied,
  'HostConfig.OomKillDisable': applied,
  'HostConfig.PidsLimit': applied,
  'HostConfig.Ulimits': applied,
  'HostConfig.CpuCount': refused('CPU count (a Windows setting)'),
  'HostConfig.CpuPercent': refused('CPU percent (a Windows setting)'),
  'HostConfig.IOMaximumIOps': refused('maximum I/O operations (a Windows setting)'),
  'HostConfig.IOMaximumBandwidth': refused('maximum I/O bandwidth (a Windows setting)'),
  'HostConfig.Mounts': applied,
  'HostConfig.MaskedPaths': applied,
  'HostConfig.ReadonlyPaths': applied,
  'HostConfig.Init': applied,

  'NetworkingConfig.EndpointsConfig': applied, // planned and checked in network.ts
};

/**
 * Whether a decoded value differs from its Go zero value: a list or map with any entry, a
 * struct with any field set, a non-zero scalar. Without its type, an object is taken as a
 * struct.
 */
export function isSet(v: unknown, t?: GoType): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') {
    if (t && t.k === 'map') return Object.keys(v).length > 0;
    const fields = t && t.k === 'struct' ? t.fields : undefined;
    return Object.entries(v).some(([k, x]) => isSet(x, fields?.[k]));
  }
  return true;
}

/** Refuses a request that sets a field Berth cannot apply, naming the field. */
export function refuseUnsupported(req: ContainerCreateInput): void {
  const check = (path: string, v: unknown, t: GoType | undefined) => {
    const p = CREATE_FIELDS[path];
    if (p && 'refused' in p && isSet(v, t)) {
      throw invalidParameter(`${path} is not supported by Berth yet (${p.refused}); the container was not created`);
    }
  };
  for (const [k, v] of Object.entries(req)) {
    if (k === 'HostConfig' || k === 'NetworkingConfig') continue;
    check(k, v, ContainerConfigType.fields[k as keyof typeof ContainerConfigType.fields]);
  }
  for (const [k, v] of Object.entries(req.HostConfig ?? {})) check(`HostConfig.${k}`, v, HostConfigType.fields[k as keyof typeof HostConfigType.fields]);
}

/** Every field of the create body by wire path, with its Go type. */
export function createFieldPaths(): { path: string; type: GoType }[] {
  return [
    ...Object.entries(ContainerConfigType.fields).map(([k, type]) => ({ path: k, type })),
    ...Object.entries(HostConfigType.fields).map(([k, type]) => ({ path: `HostConfig.${k}`, type })),
    ...Object.entries(NetworkingConfigType.fields).map(([k, type]) => ({ path: `NetworkingConfig.${k}`, type })),
  ];
}
