/**
 * Engine API wire types, after moby's api/swagger.yaml (v1.50). Only what Berth serves is
 * declared; field names and casing are the wire's.
 */

/** Layer compressions `push` makes (Berth's `compression=`; gzip is docker's). */
export const PUSH_COMPRESSIONS = ['gzip', 'zstd'] as const;
export type PushCompression = (typeof PUSH_COMPRESSIONS)[number];

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

/** State.Health: the last results (oldest first, at most 5) and the current verdict. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

/** Container configuration that does not depend on the host (portable), `Config` in inspect. */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount: number;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

export interface ThrottleDevice {
  Path: string;
  Rate: number;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/**
 * Host-dependent configuration, `HostConfig` in inspect: moby's container.HostConfig with
 * Resources embedded, in its field order. Optional fields are Go's omitempty ones.
 */
export interface HostConfig {
  Binds: string[] | null;
  ContainerIDFile: string;
  LogConfig: LogConfig;
  NetworkMode: string;
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  VolumeDriver: string;
  VolumesFrom: string[] | null;
  ConsoleSize: [number, number];
  Annotations?: Record<string, string>;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  CgroupnsMode: string;
  Dns: string[] | null;
  DnsOptions: string[] | null;
  DnsSearch: string[] | null;
  ExtraHosts: string[] | null;
  GroupAdd: string[] | null;
  IpcMode: string;
  Cgroup: string;
  Links: string[] | null;
  OomScoreAdj: number;
  PidMode: string;
  Privileged: boolean;
  PublishAllPorts: boolean;
  ReadonlyRootfs: boolean;
  SecurityOpt: string[] | null;
  StorageOpt?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  UTSMode: string;
  UsernsMode: string;
  ShmSize: number;
  Sysctls?: Record<string, string>;
  Runtime: string;
  Isolation: string;
  CpuShares: number;
  Memory: number;
  NanoCpus: number;
  CgroupParent: string;
  BlkioWeight: number;
  BlkioWeightDevice: { Path: string; Weight: number }[] | null;
  BlkioDeviceReadBps: ThrottleDevice[] | null;
  BlkioDeviceWriteBps: ThrottleDevice[] | null;
  BlkioDeviceReadIOps: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps: ThrottleDevice[] | null;
  CpuPeriod: number;
  CpuQuota: number;
  CpuRealtimePeriod: number;
  CpuRealtimeRuntime: number;
  CpusetCpus: string;
  CpusetMems: string;
  Devices: DeviceMapping[] | null;
  DeviceCgroupRules: string[] | null;
  DeviceRequests: unknown[] | null;
  KernelMemoryTCP?: number;
  /** Deprecated, omitted when zero (a create request's only: dockerd warns and discards it). */
  KernelMemory?: number;
  MemoryReservation: number;
  MemorySwap: number;
  MemorySwappiness: number | null;
  OomKillDisable: boolean | null;
  PidsLimit: number | null;
  Ulimits: Ulimit[] | null;
  CpuCount: number;
  CpuPercent: number;
  IOMaximumIOps: number;
  IOMaximumBandwidth: number;
  Mounts?: Mount[];
  MaskedPaths: string[] | null;
  ReadonlyPaths: string[] | null;
  Init?: boolean;
}

export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

/** HostConfig.Mounts entry (mount.Mount); every field optional on the wire. */
export interface Mount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } };
  ImageOptions?: { Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null };
  ClusterOptions?: Record<string, never>;
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: { Name: string; Data: Record<string, string> };
  /** With `size=1`: the writable layer's size, and that plus the image's. */
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: Record<string, unknown>;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: MountPoint[];
  SizeRw?: number;
  SizeRootFs?: number;
}

/** The image config as stored (OCI image config with docker's extensions). */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  config?: Partial<ContainerConfig>;
  container?: string;
  container_config?: Partial<ContainerConfig>;
  docker_version?: string;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: ImageHistoryEntry[];
}

export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** GET /system/df. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: ContainerSummary[];
  Volumes: Volume[];
  BuildCache: unknown[];
}

/** An OCI platform as manifests and indexes carry it, fields in ocispec's order. */
export interface OciPlatform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/**
 * Berth's own GET /berth/distribution/{name}/manifest (for `berth manifest`): a manifest or
 * index exactly as the registry holds it, with its descriptor (the platform read from an
 * image's config) and the reference it was resolved to.
 */
export interface RegistryManifest {
  Ref: string;
  Descriptor: { mediaType: string; digest: string; size: number; platform?: OciPlatform };
  /** The manifest's bytes, base64. */
  Raw: string;
}

/**
 * Berth's own POST /berth/distribution/{name}/manifest: pushes a manifest list (`berth
 * manifest push`). Each listed manifest from another repository (of the same registry) is
 * put into the list's repository by digest first, its blobs mounted there when missing.
 */
export interface ManifestListPushRequest {
  MediaType: string;
  /** The list's bytes, base64, as they are to be stored. */
  Raw: string;
  Manifests: { Ref: string; MediaType: string; Raw: string }[];
}

export interface ManifestListPushResult {
  /** Each manifest from another repository, as put into the list's: `repo@digest`. */
  Pushed: { Ref: string; Digest: string }[];
  Digest: string;
}

/** A managed plugin (GET /plugins, /plugins/{name}/json): the fields the CLI reads. */
export interface PluginSummary {
  Id: string;
  Name: string;
  Enabled: boolean;
  PluginReference?: string;
  Config: { Description?: string; [k: string]: unknown };
  Settings?: Record<string, unknown>;
}

/** A volume (GET /volumes/{name}); UsageData only in /system/df. */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { RefCount: number; Size: number };
}

/** GET /images/{name}/history: one entry per history step, newest first. */
export interface ImageHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** API 1.47+ `manifests=1`: one platform manifest of an image (moby's image.ManifestSummary). */
export interface ImageManifestSummary {
  ID: string;
  Descriptor: { mediaType: string; digest: string; size: number };
  Available: boolean;
  Size: { Total: number; Content: number };
  Kind: 'image' | 'attestation' | 'unknown';
  ImageData: { Platform: { architecture: string; os: string; variant?: string }; Containers: string[]; Size: { Unpacked: number } };
}

export interface ImageSummary {
  Id: string;
  Manifests?: ImageManifestSummary[];
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  /** API < 1.45 only: the committing container and its config. */
  Container?: string;
  /** moby's container.Config as Go writes it (its zero value has `Labels: null`). */
  ContainerConfig?: Record<string, unknown>;
  DockerVersion: string;
  Author: string;
  Config: Partial<ContainerConfig>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface ContainerCreateRequest extends Partial<ContainerConfig> {
  HostConfig?: Partial<HostConfig>;
  NetworkingConfig?: unknown;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export interface ContainerWaitResponse {
  StatusCode: number;
  /** Absent when the wait ended without one (omitempty in moby). */
  Error?: { Message: string } | null;
}

export interface VersionResponse {
  Platform: { Name: string };
  Components: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  BuildTime: string;
}

/** docker's container.PathStat: the X-Docker-Container-Path-Stat header (mode as Go's os.FileMode bits). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** An endpoint in a network's inspect (Containers). */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** docker's network.Inspect (GET /networks/{id}) and Summary (GET /networks). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, NetworkContainer>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** What a POST /build asks for (the query decoded), as the router hands it to the builder. */
export interface BuildRunHost {
  CgroupParent?: string;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Memory?: number;
  MemorySwap?: number;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  SecurityOpt?: string[];
}

export interface BuildRequest {
  dockerfile: string;
  tags: string[];
  buildArgs: Map<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  networkMode: string;
  extraHosts: string[];
  shmSize: number;
  /** --force-rm: what Berth does whenever `remove` (no container of a failed step is kept). */
  forceRm: boolean;
  /** rm (default true): a step's container is removed once committed; false keeps them all. */
  remove: boolean;
  /** X-Registry-Config: the client's credentials by server, for the build's pulls. */
  registryConfig?: string;
  /** X-Berth-Build-Secrets (Berth's CLI's `--secret`): RUN --mount=type=secret's values by id. */
  secrets?: Map<string, Buffer>;
  /**
   * The RUN containers' limits and security options (cpushares, memory, ulimits, securityopt…),
   * as HostConfig fields: checked and applied as a container create's are.
   */
  runHost?: BuildRunHost;
  /** --cache-from: images to take steps from by their history (pulled ones have no parent links). */
  cacheFrom?: string[];
  /** Berth's CLI: the context was laid out from a manifest (POST /berth/build/context); the body holds only the bodies it asked for. */
  preparedContext?: string;
}

/**
 * POST /berth/build/context (Berth's own): the build context's tree, one tuple per entry in
 * tar order: [name, type, permission bits, mtime in ms, size, link target, stat key]. A file's
 * stat key (device, inode, size, mtime, ctime) is "" when the file may still be changing.
 */
export type ContextManifestEntry = [string, 'dir' | 'file' | 'symlink', number, number, number, string, string];

/** The largest manifest berthd takes (POST /berth/build/context); a CLI sends a larger context whole. */
export const MAX_CONTEXT_MANIFEST = 64 * 1024 * 1024;

/**
 * POST /berth/build/context/walk (Berth's own): a CLI on berthd's host names its context
 * directory and berthd walks it, instead of the CLI listing every file. `Root` is the
 * directory's "dev:ino" as the CLI sees it: berthd walks only the same directory (not one of
 * the same name in another mount namespace). `Keep` are names .dockerignore cannot leave out;
 * `Entries` are carried files (a Dockerfile from elsewhere) whose bodies follow.
 */
export interface ContextWalkRequest {
  Path: string;
  Root: string;
  Keep: string[];
  Entries: ContextManifestEntry[];
}

/**
 * The answer when the build could not start at once: `Walked: false` when berthd did not walk
 * (another directory, an error, a context too large: the CLI lists it itself); otherwise the
 * prepared context's ID, the files whose bodies must follow (as walked) and the whole
 * context's size as a tar. A build started at once answers with its stream, X-Berth-Build: 1
 * and the size in X-Berth-Context-Size.
 */
export type ContextWalkAnswer = { Walked: false } | { Walked: true; ID: string; Need: ContextManifestEntry[]; ContextSize: number };

/** GET /events: one event (moby api/types/events.Message); status/id/from are the legacy fields. */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'node' | 'service' | 'secret' | 'config' | 'builder';

export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
}

/** GET /containers/{id}/stats (moby api/types/container.StatsResponse). */
export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

type BlkioEntries = { major: number; minor: number; op: string; value: number }[] | null;

export interface ContainerStats {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntries; io_serviced_recursive: BlkioEntries; io_queue_recursive: BlkioEntries; io_service_time_recursive: BlkioEntries;
    io_wait_time_recursive: BlkioEntries; io_merged_recursive: BlkioEntries; io_time_recursive: BlkioEntries; sectors_recursive: BlkioEntries;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  name: string;
  id: string;
  networks?: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}
