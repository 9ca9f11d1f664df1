/**
 * The Go types of the request bodies the Engine API reads (moby v28, api/types), so each body
 * is decoded as dockerd's encoding/json decodes it (see lib/gojson.ts). Field names are the
 * wire's (the json tags); Go type names are what Go prints in its errors.
 */
import { go, goDecoder, type Infer } from '../../lib/gojson.ts';

const strMap = go.map(go.string);
const duration = go.intNamed('time.Duration', 64, false);

export const HealthConfigType = go.struct('container.HealthConfig', {
  Test: go.slice(go.string),
  Interval: duration,
  Timeout: duration,
  StartPeriod: duration,
  StartInterval: duration,
  Retries: go.int,
});

export const ContainerConfigType = go.struct('container.Config', {
  Hostname: go.string,
  Domainname: go.string,
  User: go.string,
  AttachStdin: go.bool,
  AttachStdout: go.bool,
  AttachStderr: go.bool,
  ExposedPorts: go.map(go.struct('struct {}', {}), 'nat.PortSet'),
  Tty: go.bool,
  OpenStdin: go.bool,
  StdinOnce: go.bool,
  Env: go.slice(go.string),
  Cmd: go.strslice,
  Healthcheck: HealthConfigType,
  ArgsEscaped: go.bool,
  Image: go.string,
  Volumes: go.map(go.struct('struct {}', {})),
  WorkingDir: go.string,
  Entrypoint: go.strslice,
  NetworkDisabled: go.bool,
  MacAddress: go.string,
  OnBuild: go.slice(go.string),
  Labels: strMap,
  StopSignal: go.string,
  StopTimeout: go.int,
  Shell: go.strslice,
});

const WeightDevice = go.struct('blkiodev.WeightDevice', { Path: go.string, Weight: go.uint16 });
const ThrottleDevice = go.struct('blkiodev.ThrottleDevice', { Path: go.string, Rate: go.uint64 });
const throttleList = go.slice(ThrottleDevice, '[]*blkiodev.ThrottleDevice');

/** container.Resources: embedded in HostConfig and the body of POST /containers/{id}/update. */
const resourceFields = {
  CpuShares: go.int64,
  Memory: go.int64,
  NanoCpus: go.int64,
  CgroupParent: go.string,
  BlkioWeight: go.uint16,
  BlkioWeightDevice: go.slice(WeightDevice, '[]*blkiodev.WeightDevice'),
  BlkioDeviceReadBps: throttleList,
  BlkioDeviceWriteBps: throttleList,
  BlkioDeviceReadIOps: throttleList,
  BlkioDeviceWriteIOps: throttleList,
  CpuPeriod: go.int64,
  CpuQuota: go.int64,
  CpuRealtimePeriod: go.int64,
  CpuRealtimeRuntime: go.int64,
  CpusetCpus: go.string,
  CpusetMems: go.string,
  Devices: go.slice(go.struct('container.DeviceMapping', { PathOnHost: go.string, PathInContainer: go.string, CgroupPermissions: go.string })),
  DeviceCgroupRules: go.slice(go.string),
  DeviceRequests: go.slice(go.struct('container.DeviceRequest', {
    Driver: go.string,
    Count: go.int,
    DeviceIDs: go.slice(go.string),
    Capabilities: go.slice(go.slice(go.string)),
    Options: strMap,
  })),
  KernelMemory: go.int64,
  KernelMemoryTCP: go.int64,
  MemoryReservation: go.int64,
  MemorySwap: go.int64,
  MemorySwappiness: go.int64,
  OomKillDisable: go.bool,
  PidsLimit: go.int64,
  Ulimits: go.slice(go.struct('container.Ulimit', { Name: go.string, Hard: go.int64, Soft: go.int64 }), '[]*container.Ulimit'),
  CpuCount: go.int64,
  CpuPercent: go.int64,
  IOMaximumIOps: go.uint64,
  IOMaximumBandwidth: go.uint64,
} as const;

export const RestartPolicyType = go.struct('container.RestartPolicy', { Name: go.named('container.RestartPolicyMode'), MaximumRetryCount: go.int });

const MountType = go.struct('mount.Mount', {
  Type: go.named('mount.Type'),
  Source: go.string,
  Target: go.string,
  ReadOnly: go.bool,
  Consistency: go.named('mount.Consistency'),
  BindOptions: go.struct('mount.BindOptions', {
    Propagation: go.named('mount.Propagation'),
    NonRecursive: go.bool,
    CreateMountpoint: go.bool,
    ReadOnlyNonRecursive: go.bool,
    ReadOnlyForceRecursive: go.bool,
  }),
  VolumeOptions: go.struct('mount.VolumeOptions', {
    NoCopy: go.bool,
    Labels: strMap,
    Subpath: go.string,
    DriverConfig: go.struct('mount.Driver', { Name: go.string, Options: strMap }),
  }),
  ImageOptions: go.struct('mount.ImageOptions', { Subpath: go.string }),
  TmpfsOptions: go.struct('mount.TmpfsOptions', {
    SizeBytes: go.int64,
    Mode: go.intNamed('os.FileMode', 32, true),
    Options: go.slice(go.slice(go.string)),
  }),
  ClusterOptions: go.struct('mount.ClusterOptions', {}),
});

export const HostConfigType = go.struct('container.HostConfig', {
  Binds: go.slice(go.string),
  ContainerIDFile: go.string,
  LogConfig: go.struct('container.LogConfig', { Type: go.string, Config: strMap }),
  NetworkMode: go.named('container.NetworkMode'),
  PortBindings: go.map(go.slice(go.struct('nat.PortBinding', { HostIp: go.string, HostPort: go.string })), 'nat.PortMap'),
  RestartPolicy: RestartPolicyType,
  AutoRemove: go.bool,
  VolumeDriver: go.string,
  VolumesFrom: go.slice(go.string),
  ConsoleSize: go.array(go.uint, 2),
  Annotations: strMap,
  CapAdd: go.strslice,
  CapDrop: go.strslice,
  CgroupnsMode: go.named('container.CgroupnsMode'),
  Dns: go.slice(go.string),
  DnsOptions: go.slice(go.string),
  DnsSearch: go.slice(go.string),
  ExtraHosts: go.slice(go.string),
  GroupAdd: go.slice(go.string),
  IpcMode: go.named('container.IpcMode'),
  Cgroup: go.named('container.CgroupSpec'),
  Links: go.slice(go.string),
  OomScoreAdj: go.int,
  PidMode: go.named('container.PidMode'),
  Privileged: go.bool,
  PublishAllPorts: go.bool,
  ReadonlyRootfs: go.bool,
  SecurityOpt: go.slice(go.string),
  StorageOpt: strMap,
  Tmpfs: strMap,
  UTSMode: go.named('container.UTSMode'),
  UsernsMode: go.named('container.UsernsMode'),
  ShmSize: go.int64,
  Sysctls: strMap,
  Runtime: go.string,
  Isolation: go.named('container.Isolation'),
  ...resourceFields,
  Mounts: go.slice(MountType),
  MaskedPaths: go.slice(go.string),
  ReadonlyPaths: go.slice(go.string),
  Init: go.bool,
});

export const EndpointSettingsType = go.struct('network.EndpointSettings', {
  IPAMConfig: go.struct('network.EndpointIPAMConfig', { IPv4Address: go.string, IPv6Address: go.string, LinkLocalIPs: go.slice(go.string) }),
  Links: go.slice(go.string),
  Aliases: go.slice(go.string),
  DriverOpts: strMap,
  GwPriority: go.int,
  MacAddress: go.string,
  NetworkID: go.string,
  EndpointID: go.string,
  Gateway: go.string,
  IPAddress: go.string,
  IPPrefixLen: go.int,
  IPv6Gateway: go.string,
  GlobalIPv6Address: go.string,
  GlobalIPv6PrefixLen: go.int,
  DNSNames: go.slice(go.string),
});

export const NetworkingConfigType = go.struct('network.NetworkingConfig', {
  EndpointsConfig: go.map(EndpointSettingsType, 'map[string]*network.EndpointSettings'),
});

/** POST /containers/create: moby's CreateRequest (Config embedded, then the host and network parts). */
export const ContainerCreateBody = go.struct('container.CreateRequest', {
  ...ContainerConfigType.fields,
  HostConfig: HostConfigType,
  NetworkingConfig: NetworkingConfigType,
});

/** POST /containers/{id}/exec. */
export const ExecCreateBody = go.struct('container.ExecOptions', {
  User: go.string,
  Privileged: go.bool,
  Tty: go.bool,
  ConsoleSize: go.array(go.uint, 2),
  AttachStdin: go.bool,
  AttachStderr: go.bool,
  AttachStdout: go.bool,
  Detach: go.bool,
  DetachKeys: go.string,
  Env: go.slice(go.string),
  WorkingDir: go.string,
  Cmd: go.strslice,
});

/** POST /exec/{id}/start. */
export const ExecStartBody = go.struct('container.ExecStartOptions', {
  Detach: go.bool,
  Tty: go.bool,
  ConsoleSize: go.array(go.uint, 2),
});

/** POST /volumes/create. */
export const VolumeCreateBody = go.struct('volume.CreateOptions', {
  Name: go.string,
  Driver: go.string,
  DriverOpts: strMap,
  Labels: strMap,
  ClusterVolumeSpec: go.struct('volume.ClusterVolumeSpec', {}),
});

/** POST /networks/create: moby's network.CreateRequest. */
export const NetworkCreateBody = go.struct('network.CreateRequest', {
  Name: go.string,
  CheckDuplicate: go.bool,
  Driver: go.string,
  Scope: go.string,
  EnableIPv4: go.bool,
  EnableIPv6: go.bool,
  IPAM: go.struct('network.IPAM', {
    Driver: go.string,
    Options: strMap,
    Config: go.slice(go.struct('network.IPAMConfig', { Subnet: go.string, IPRange: go.string, Gateway: go.string, AuxiliaryAddresses: strMap })),
  }),
  Internal: go.bool,
  Attachable: go.bool,
  Ingress: go.bool,
  ConfigOnly: go.bool,
  ConfigFrom: go.struct('network.ConfigReference', { Network: go.string }),
  Options: strMap,
  Labels: strMap,
});

/** POST /networks/{id}/connect and /disconnect. */
export const NetworkConnectBody = go.struct('network.ConnectOptions', {
  Container: go.string,
  EndpointConfig: EndpointSettingsType,
});
export const NetworkDisconnectBody = go.struct('network.DisconnectOptions', {
  Container: go.string,
  Force: go.bool,
});

export type ContainerCreateInput = Infer<typeof ContainerCreateBody>;
export type NetworkConnectInput = Infer<typeof NetworkConnectBody>;
export type NetworkCreateInput = Infer<typeof NetworkCreateBody>;
export type VolumeCreateInput = Infer<typeof VolumeCreateBody>;
export type ContainerConfigInput = Infer<typeof ContainerConfigType>;
/** POST /containers/{id}/update: moby's UpdateConfig (the resources and the restart policy). */
export const ContainerUpdateBody = go.struct('container.UpdateConfig', {
  ...resourceFields,
  RestartPolicy: RestartPolicyType,
});

export type ContainerUpdateInput = Infer<typeof ContainerUpdateBody>;
export type HostConfigInput = Infer<typeof HostConfigType>;
export type NetworkingConfigInput = Infer<typeof NetworkingConfigType>;
export type ExecCreateInput = Infer<typeof ExecCreateBody>;
export type ExecStartInput = Infer<typeof ExecStartBody>;

/** Decoders for the routes (readJson). */
export const bodies = {
  containerCreate: goDecoder(ContainerCreateBody),
  containerConfig: goDecoder(ContainerConfigType),
  containerUpdate: goDecoder(ContainerUpdateBody),
  execCreate: goDecoder(ExecCreateBody),
  execStart: goDecoder(ExecStartBody),
  volumeCreate: goDecoder(VolumeCreateBody),
  networkCreate: goDecoder(NetworkCreateBody),
  networkConnect: goDecoder(NetworkConnectBody),
  networkDisconnect: goDecoder(NetworkDisconnectBody),
};
