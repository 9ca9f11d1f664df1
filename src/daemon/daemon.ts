/**
 * The daemon: owns the stores and services and implements the Backend interfaces that the
 * API routers declare. Only src/cmd/berthd.ts constructs it.
 */
import { send } from '../distribution/http.ts';
import { parseDockerRef, referenceString } from '../lib/reference.ts';
import { dirSize } from '../lib/dirsize.ts';
import { log } from '../lib/log.ts';
import { boolFilter, matchLabel, pruneUntil } from '../lib/filters.ts';
import { VolumeService } from './volumes/service.ts';
import type { VolumeBackend } from './server/routers/volumes/backend.ts';
import { VolumeStore } from './volumes/store.ts';
import { saveImages } from './images/archive/save.ts';
import { loadImages } from './images/archive/load.ts';
import { hostname, cpus, totalmem, release } from 'node:os';
import { readFile, readdir, statfs } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { API_VERSION, ENGINE_VERSION } from '../api/version.ts';
import type { ContainerInspect, VersionResponse, ContainerConfig, ContainerSummary, NetworkContainer, NetworkResource, PushCompression } from '../api/types.ts';
import { invalidParameter, notFound, notImplemented } from '../errdefs/index.ts';
import { ContentStore } from '../store/content/store.ts';
import { OverlaySnapshotter } from '../store/snapshots/overlay.ts';
import { LayerStore } from '../store/layer/store.ts';
import { spawnFsOps } from '../store/layer/fsops.ts';
import { ImageStore } from '../store/metadata/images.ts';
import { ImageService } from './images/service.ts';
import { parseChanges } from './images/changes.ts';
import { ContainerService, type RuntimeSettings } from './container/service.ts';
import { inspectContainer, listContainers } from './container/view.ts';
import { LOG_DRIVERS } from './container/logdriver.ts';
import { readJournal } from './logs/journald.ts';
import { readJsonLog } from './logs/jsonfile.ts';
import type { ContainerBackend, LogChunk, LogsOptions, WaitCondition } from './server/routers/containers/backend.ts';
import type { ImageBackend } from './server/routers/images/backend.ts';
import type { ExecBackend } from './server/routers/exec/backend.ts';
import { ExecService } from './exec/service.ts';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../lib/escape.ts';
import type { SystemBackend } from './server/routers/system/backend.ts';
import { randomUUID } from 'node:crypto';
import { EngineError, kindOf, messageOf } from '../errdefs/index.ts';
import { BuildService } from './build/service.ts';
import { probeComponents, type Components } from './components.ts';
import type { BuildRouteBackend } from './server/routers/build/routes.ts';
import { familiarName, familiarString, fullName, parseNormalizedNamed } from '../lib/reference.ts';
import { decodeRegistryAuth, encodeRegistryAuth, parseAuthBody } from '../distribution/authconfig.ts';
import { DOCKER_HUB_AUTH_KEY, type RegistrySettings } from '../distribution/resolve.ts';
import { pullImage, withEndpoints, type RegistryAccess } from './images/pull.ts';
import { inspectDistribution } from './images/distribution.ts';
import { fetchManifest, pushManifestList } from './images/manifests.ts';
import { pushImage } from './images/push.ts';
import type { ProgressSink } from './images/progress.ts';
import { writeFileAtomic } from '../lib/atomic.ts';
import { NetworkService, type NetworkRecord } from '../network/service.ts';
import { filterNetworks } from '../network/filters.ts';
import type { NetworkBackend } from './server/routers/networks/backend.ts';
import { encodeEvent, EventsService } from './events/service.ts';

/** daemon.json's networking keys, resolved (see cmd/berthd.ts). */
export interface NetworkSettings {
  bridge: string;
  bip?: string;
  /** IPv6 on the default bridge (--ipv6), with --fixed-cidr-v6's subnet or one of the engine's ULA /48. */
  ipv6?: boolean;
  fixedCidrV6?: string;
  pools: { base: string; size: number }[];
  mtu: number;
  iptables: boolean;
}

export interface DaemonConfig {
  network: NetworkSettings;
  dataRoot: string;
  execRoot: string;
  runtime: RuntimeSettings;
  debug: boolean;
  warnings: string[];
  registry: RegistrySettings;
  maxConcurrentDownloads: number;
  registryTimeoutMs: number;
  /** The oldest API version served (MIN_API_VERSION unless configured higher). */
  minApiVersion: string;
  /** Containers keep running while berthd is down; false: they are stopped at shutdown. */
  liveRestore: boolean;
}

/** docker's name for the file system under the data root (moby's FsMagic names). */
async function backingFs(path: string): Promise<string> {
  const names: Record<number, string> = {
    0xef53: 'extfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs',
    0x6969: 'nfs', 0x65735546: 'fuseblk', 0xf2f52010: 'f2fs', 0x858458f6: 'ramfs', 0x73717368: 'squashfs',
  };
  try {
    const st = await statfs(path);
    return names[st.type] ?? '<unknown>';
  } catch {
    return '<unknown>';
  }
}

export class Daemon implements SystemBackend {
  readonly config: DaemonConfig;
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  readonly execs: ExecService;
  readonly builds: BuildService;
  readonly eventLog: EventsService;
  private id = '';
  private access: RegistryAccess | undefined;
  /** Asked once at start (components.ts); `version` and `info` wait for it. */
  private components: Promise<Components> | undefined;

  private constructor(config: DaemonConfig, images: ImageService, containers: ContainerService, volumes: VolumeService, networks: NetworkService, events: EventsService) {
    this.config = config;
    this.eventLog = events;
    this.images = images;
    this.containers = containers;
    this.volumes = volumes;
    this.networks = networks;
    this.execs = new ExecService(config.execRoot, config.runtime.shimPath, containers, events.sink);
    containers.onRemoved((id) => this.execs.forget(id));
    containers.setProber((id, cmd, timeoutMs, maxOutput) => this.execs.probe(id, cmd, timeoutMs, maxOutput));
    // A name without a tag is `latest` here, as in moby's builder (in the API a bare name pulls every tag).
    this.builds = new BuildService(images, containers, (ref, out, signal, auth) => this.pull({ image: referenceString(parseDockerRef(ref)), ...(auth ? { auth: encodeRegistryAuth(auth) } : {}) }, (m) => {
      // Pull progress in a build shows as its status lines.
      const msg = m as { id?: string; status?: string; progressDetail?: { current?: number } };
      if (msg.status && !msg.progressDetail?.current) out(`${msg.id ? `${msg.id}: ` : ''}${msg.status}\n`);
    }, signal), join(config.dataRoot, 'tmp'), join(config.dataRoot, 'build-cache-mounts'), join(config.execRoot, 'build-secrets'));
  }

  static async open(config: DaemonConfig): Promise<Daemon> {
    const content = new ContentStore(config.dataRoot);
    const snapshots = new OverlaySnapshotter(config.dataRoot, config.runtime.idmap?.root);
    const layers = new LayerStore(config.dataRoot, snapshots, spawnFsOps);
    const imageStore = new ImageStore(config.dataRoot, content);
    await content.init();
    await snapshots.init();
    await layers.init();
    await imageStore.init();
    const images = new ImageService(content, imageStore, layers, snapshots);
    const volumes = new VolumeService(new VolumeStore(config.dataRoot, config.runtime.idmap?.root));
    await volumes.init();
    const networks = new NetworkService({ ...config.network, dataRoot: config.dataRoot, execRoot: config.execRoot });
    await networks.init();
    const events = new EventsService();
    // An image's events carry its labels (moby's LogImageEvent), its name after them.
    images.events = (type, action, id, attributes = {}) => events.sink(type, action, id, type === 'image' ? { ...images.labelsOf(id), ...attributes } : attributes);
    volumes.events = events.sink;
    const containers = new ContainerService({ dataRoot: config.dataRoot, execRoot: config.execRoot }, config.runtime, images, volumes, networks, events.sink);
    const d = new Daemon(config, images, containers, volumes, networks, events);
    await containers.restore();
    await d.builds.init();
    // Content an operation cut short left unrecorded, then directories no record owns.
    if (!containers.store.problems.length) await images.collectGarbage(containers.chainsInUse());
    await d.removeOrphanDirs();
    d.id = await d.engineId();
    const rt = config.runtime;
    d.components = probeComponents({ name: rt.defaultRuntime, path: rt.runtimes[rt.defaultRuntime] }, rt.initPath);
    return d;
  }

  /** Layer directories that neither a layer record nor a container owns were left by a crash. */
  /** What start-up set aside or could not read: shown by `info` among the warnings. */
  private startupProblems(): string[] {
    return [...this.images.images.problems, ...this.images.layers.problems, ...this.containers.store.problems, ...this.volumes.store.problems, ...this.networks.problems];
  }

  private async removeOrphanDirs(): Promise<void> {
    // A layer or image record that could not be read might own any directory: keep them all.
    if (this.images.images.problems.length || this.images.layers.problems.length) {
      log.warn('records were set aside at start-up: unreferenced layer directories are kept this time');
    } else {
      const keep = this.images.layers.cacheIds();
      for (const c of this.containers.store.all()) keep.add(c.id);
      for (const id of this.containers.store.setAsideIds) keep.add(id);
      keep.add('l');
      const names = await readdir(this.images.snapshots.home);
      await this.images.removeOrphanLayerDirs(keep, names.filter((n) => !n.startsWith('.')));
    }
    const links = await this.images.snapshots.pruneLinks();
    if (links) log.info('removed layer links to nothing', { links });
  }

  private async engineId(): Promise<string> {
    const p = join(this.config.dataRoot, 'engine-id');
    try {
      return (await readFile(p, 'utf8')).trim();
    } catch {
      const id = randomUUID();
      await writeFileAtomic(p, id + '\n');
      return id;
    }
  }

  // ------------------------------------------------------------------ system

  async version(): Promise<VersionResponse> {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const { runtime, init } = await this.componentVersions();
    return {
      Platform: { Name: 'Berth' },
      Components: [
        { Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, Arch: arch, BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: this.config.minApiVersion, Os: 'linux' } },
        ...[runtime, init].filter((c) => c !== undefined).map((c) => ({ Name: c.name, Version: c.version, Details: { GitCommit: c.commit } })),
      ],
      Version: ENGINE_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: this.config.minApiVersion,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: arch,
      KernelVersion: release(),
      BuildTime: '',
    };
  }

  private async componentVersions(): Promise<Components> {
    return (await this.components) ?? { runtime: undefined, init: undefined };
  }

  async info(): Promise<Record<string, unknown>> {
    const { runtime, init } = await this.componentVersions();
    const all = this.containers.store.all();
    const running = all.filter((c) => c.running && !c.state.Paused).length;
    const paused = all.filter((c) => c.state.Paused).length;
    const rt = this.config.runtime;
    let os = 'Linux';
    let osVersion = '';
    try {
      const release = await readFile('/etc/os-release', 'utf8');
      os = /PRETTY_NAME="([^"]+)"/.exec(release)?.[1] ?? os;
      osVersion = /^VERSION_ID="?([^"\n]*)"?$/m.exec(release)?.[1] ?? '';
    } catch {
      // keep the generic name
    }
    const runtimes: Record<string, { path: string }> = {};
    for (const [name, path] of Object.entries(rt.runtimes)) runtimes[name] = { path };
    const warnings = [...this.config.warnings, ...this.startupProblems()];
    if (!rt.seccomp.available()) warnings.push('WARNING: seccomp-profile is "unconfined": containers run without seccomp unless they ask for a profile');
    if (!rt.swapAccounting) warnings.push('WARNING: No swap limit support');
    return {
      ID: this.id,
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: all.length - running - paused,
      Images: this.images.images.all().length,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', await backingFs(this.config.dataRoot)], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: LOG_DRIVERS.filter((l) => l !== 'none') },
      MemoryLimit: true,
      SwapLimit: rt.swapAccounting,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: this.config.debug,
      NFd: 0,
      OomKillDisable: rt.cgroupVersion === 1,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: rt.logConfig?.Type ?? 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: String(rt.cgroupVersion),
      NEventsListener: this.eventLog.listeners,
      KernelVersion: release(),
      OperatingSystem: os,
      OSVersion: osVersion,
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        // Deprecated, and dropped by the route from API 1.49 (moby).
        AllowNondistributableArtifactsCIDRs: [],
        AllowNondistributableArtifactsHostnames: [],
        InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128', ...this.config.registry.insecure.filter((i) => i.includes('/'))],
        // Docker Hub's index is always listed, with the mirrors that serve it (moby).
        IndexConfigs: {
          'docker.io': { Name: 'docker.io', Mirrors: [...this.config.registry.mirrors], Secure: true, Official: true },
          ...Object.fromEntries(this.config.registry.insecure.filter((i) => !i.includes('/')).map((h) => [h, { Name: h, Mirrors: [], Secure: false, Official: false }])),
        },
        Mirrors: [...this.config.registry.mirrors],
      },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: this.config.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: runtimes,
      DefaultRuntime: rt.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: this.config.liveRestore,
      Isolation: '',
      InitBinary: rt.initPath ? basename(rt.initPath) : '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: runtime?.commit ?? '' },
      InitCommit: { ID: init?.commit ?? '' },
      SecurityOptions: [
        ...(rt.seccomp.available() ? [`name=seccomp,profile=${rt.seccomp.name}`] : []),
        ...(rt.idmap ? ['name=userns'] : []),
        ...(rt.cgroupVersion === 2 ? ['name=cgroupns'] : []),
      ],
      CDISpecDirs: [],
      // null when there are none, as Go writes an empty slice moby never made
      Warnings: warnings.length ? warnings : null,
    };
  }

  events(f: { sinceNs?: bigint; untilNs?: bigint; filters: Map<string, string[]> }, signal: AbortSignal): AsyncIterable<string> {
    const sub = this.eventLog.subscribe(f, signal);
    return (async function* () {
      for await (const m of sub) yield encodeEvent(m);
    })();
  }

  // ------------------------------------------------------------------ containers

  containerBackend(): ContainerBackend {
    const cs = this.containers;
    return {
      create: (req, name, platform) => cs.create(req, name, platform),
      list: (opts) => this.listContainers(opts),
      addSizes: (list) => this.addContainerSizes(list),
      inspect: (ref, size) => this.inspectContainer(ref, size),
      start: (ref) => cs.start(ref),
      stop: (ref, opts) => cs.stop(ref, opts),
      kill: (ref, signal) => cs.kill(ref, signal),
      restart: (ref, opts) => cs.restart(ref, opts),
      remove: (ref, opts) => cs.remove(ref, opts),
      removeLink: (name) => cs.removeLink(name),
      prepareWait: (ref, condition) => this.prepareWait(ref, condition),
      streamInfo: (ref) => ({ tty: cs.get(ref).rec.Config.Tty }),
      logs: (ref, opts) => this.logs(ref, opts),
      attach: (ref, stream, opts) => cs.attach(ref, stream, { ...opts, detachKeys: parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS), raw: opts.raw === true }),
      resize: (ref, rows, cols) => cs.resize(ref, rows, cols),
      changes: (ref) => cs.changes(ref),
      prune: async (filters) => this.announcePrune('container', await this.pruneContainers(filters)),
      exportFs: (ref) => cs.exportFs(ref),
      statPath: (ref, path) => cs.statPath(ref, path),
      archivePath: (ref, path) => cs.archivePath(ref, path),
      extractToDir: (ref, path, body, opts) => cs.extractToDir(ref, path, body, opts),
      commit: (ref, opts) => cs.commit(ref, opts),
      pause: (ref) => cs.pause(ref),
      unpause: (ref) => cs.unpause(ref),
      rename: (ref, name) => cs.rename(ref, name),
      top: (ref, psArgs) => cs.top(ref, psArgs),
      update: (ref, body) => cs.update(ref, body),
      stats: (ref, opts, signal) => {
        cs.get(ref);
        return cs.stats(ref, opts, signal);
      },
    };
  }

  volumeBackend(): VolumeBackend {
    const vs = this.volumes;
    return {
      list: (filters) => vs.list(filters),
      create: (body) => vs.create({ ...(body.Name ? { Name: body.Name } : {}), ...(body.Driver ? { Driver: body.Driver } : {}), DriverOpts: body.DriverOpts ?? null, Labels: body.Labels ?? null }),
      inspect: (name) => vs.get(name),
      remove: (name, force) => vs.remove(name, force),
      prune: async (filters, all) => this.announcePrune('volume', await vs.prune(filters, all)),
    };
  }

  networkBackend(): NetworkBackend {
    const ns = this.networks;
    const view = (rec: NetworkRecord, withContainers: boolean): NetworkResource => {
      const containers: Record<string, NetworkContainer> = {};
      if (withContainers) {
        for (const c of this.containers.store.all()) {
          for (const ep of Object.values(c.rec.Networks ?? {})) {
            if (ep.NetworkID !== rec.Id || !ep.EndpointID) continue;
            containers[c.id] = { Name: c.name, EndpointID: ep.EndpointID, MacAddress: ep.MacAddress, IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`, IPv6Address: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : '' };
          }
        }
      }
      return {
        Name: rec.Name, Id: rec.Id, Created: rec.Created, Scope: rec.Scope, Driver: rec.Driver, EnableIPv4: rec.EnableIPv4, EnableIPv6: rec.EnableIPv6,
        IPAM: rec.IPAM, Internal: rec.Internal, Attachable: rec.Attachable, Ingress: rec.Ingress, ConfigFrom: rec.ConfigFrom, ConfigOnly: rec.ConfigOnly,
        Containers: containers, Options: rec.Options, Labels: rec.Labels,
      };
    };
    const inUse = (rec: NetworkRecord) => this.containers.store.all().filter((c) => Object.values(c.rec.Networks ?? {}).some((ep) => ep.NetworkID === rec.Id && ep.EndpointID)).map((c) => c.id);
    return {
      list: (filters) => filterNetworks(ns.list(), filters, (rec) => inUse(rec).length > 0).map((rec) => view(rec, false)),
      inspect: (ref) => view(ns.get(ref), true),
      create: async (body) => {
        const r = await ns.create({
          Name: body.Name ?? '', ...(body.Driver ? { Driver: body.Driver } : {}), Internal: body.Internal ?? false, Attachable: body.Attachable ?? false,
          Labels: body.Labels ?? {}, Options: body.Options ?? {}, EnableIPv6: body.EnableIPv6 ?? false,
          // Every field goes on: the service applies each or refuses it by name.
          ...(body.EnableIPv4 !== undefined ? { EnableIPv4: body.EnableIPv4 } : {}), ...(body.Scope ? { Scope: body.Scope } : {}),
          Ingress: body.Ingress ?? false, ConfigOnly: body.ConfigOnly ?? false, ...(body.ConfigFrom?.Network ? { ConfigFrom: { Network: body.ConfigFrom.Network } } : {}),
          ...(body.IPAM ? {
            IPAM: {
              ...(body.IPAM.Driver ? { Driver: body.IPAM.Driver } : {}), ...(body.IPAM.Options ? { Options: body.IPAM.Options } : {}),
              Config: (body.IPAM.Config ?? []).map((c) => ({ ...(c.Subnet ? { Subnet: c.Subnet } : {}), ...(c.Gateway ? { Gateway: c.Gateway } : {}), ...(c.IPRange ? { IPRange: c.IPRange } : {}), ...(c.AuxiliaryAddresses ? { AuxiliaryAddresses: c.AuxiliaryAddresses } : {}) })),
            },
          } : {}),
        });
        const rec = ns.get(r.Id);
        this.eventLog.log('network', 'create', rec.Id, { name: rec.Name, type: rec.Driver });
        return r;
      },
      remove: async (ref) => {
        const rec = ns.get(ref);
        // moby names each endpoint still on it: its container's name and the endpoint's short ID
        const eps = this.containers.store.all().flatMap((c) => Object.values(c.rec.Networks ?? {}).filter((ep) => ep.NetworkID === rec.Id && ep.EndpointID).map((ep) => `name:"${c.name}" id:"${ep.EndpointID.slice(0, 12)}"`));
        await ns.remove(ref, eps);
        this.eventLog.log('network', 'destroy', rec.Id, { name: rec.Name, type: rec.Driver });
      },
      connect: (net, container, ep) => this.containers.connectNetwork(container, net, ep),
      disconnect: (net, container, force) => this.containers.disconnectNetwork(container, net, force),
      prune: async (filters) => {
        for (const k of filters.keys()) if (!['until', 'label', 'label!'].includes(k)) throw new EngineError('InvalidParameter', `invalid filter '${k}'`);
        const until = pruneUntil(filters);
        const deleted: string[] = [];
        for (const rec of ns.list()) {
          if (['bridge', 'host', 'none'].includes(rec.Name) || inUse(rec).length) continue;
          if (until !== undefined && Date.parse(rec.Created) >= until) continue;
          if (!(filters.get('label') ?? []).every((l) => matchLabel(rec.Labels, l))) continue;
          if ((filters.get('label!') ?? []).some((l) => matchLabel(rec.Labels, l))) continue;
          await ns.remove(rec.Id, []);
          this.eventLog.log('network', 'destroy', rec.Id, { name: rec.Name, type: rec.Driver });
          deleted.push(rec.Name);
        }
        this.eventLog.log('network', 'prune', '', { reclaimed: '0' });
        return { NetworksDeleted: deleted.length ? deleted : null };
      },
    };
  }

  buildBackend(): BuildRouteBackend {
    return {
      build: (body, opts, out, signal) => this.builds.build(body, opts, out, signal),
      prepareContext: (manifest) => this.builds.prepareContext(manifest),
      walkContext: (path, root, keep, carried) => this.builds.walkContext(path, root, keep, carried),
      prune: async (filters) => {
        const images = await this.images.pruneBuildCache(filters);
        const mounts = await this.builds.pruneCacheMounts(filters);
        const deleted = [...(images.CachesDeleted ?? []), ...mounts.deleted];
        return this.announcePrune('builder', { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: images.SpaceReclaimed + mounts.space });
      },
      fetchContext: async (url, signal) => {
        const res = await fetch(url, { signal }).catch((e: unknown) => {
          throw new EngineError('InvalidParameter', `unable to download the build context ${url}: ${messageOf(e)}`);
        });
        if (!res.ok || !res.body) throw new EngineError('InvalidParameter', `unable to download the build context ${url}: ${res.status} ${res.statusText}`);
        return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
      },
    };
  }

  execBackend(): ExecBackend {
    const ex = this.execs;
    return {
      create: (container, body) => ex.create(container, body),
      inspect: (id) => ex.inspect(id),
      check: (id) => ex.check(id),
      start: (id, opts, stream) => ex.start(id, opts, stream),
      resize: (id, rows, cols) => ex.resize(id, rows, cols),
    };
  }

  /** Every prune ends with its event, naming what it reclaimed (moby). */
  private announcePrune<T extends { SpaceReclaimed: number }>(type: 'container' | 'image' | 'volume' | 'builder', report: T): T {
    this.eventLog.log(type, 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
    return report;
  }

  /** `docker container prune`: every container not running (until/label filters). */
  private async pruneContainers(filters: Map<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const k of filters.keys()) if (!['until', 'label', 'label!'].includes(k)) throw new EngineError('InvalidParameter', `invalid filter '${k}'`);
    const until = pruneUntil(filters);
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const deleted: string[] = [];
    let space = 0;
    for (const c of this.containers.store.all()) {
      if (c.running || c.rec.State.Restarting) continue;
      if (until !== undefined && Date.parse(c.rec.Created) >= until) continue;
      const l = c.rec.Config.Labels ?? {};
      if (labels.length && !labels.every((f) => matchLabel(l, f))) continue;
      if (notLabels.some((f) => matchLabel(l, f))) continue;
      const [upper] = await this.images.snapshots.layerDirs(c.id);
      const size = await dirSize(upper);
      try {
        await this.containers.remove(c.id, {});
        deleted.push(c.id);
        space += size;
      } catch (e) {
        log.warn('prune: could not remove container', { id: c.id, error: e });
      }
    }
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /** A container's writable layer (SizeRw) and that plus its image (SizeRootFs), as docker's `ps -s` and `inspect -s`. */
  private async containerSizes(id: string, imageId: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const [upper] = await this.images.snapshots.layerDirs(id);
    const SizeRw = await dirSize(upper);
    const img = this.images.images.get(imageId);
    return { SizeRw, SizeRootFs: SizeRw + (img ? this.images.size(img) : 0) };
  }

  private async addContainerSizes(list: ContainerSummary[]): Promise<void> {
    for (const c of list) {
      // omitempty in moby's list summary (inspect's pointers show a 0)
      const { SizeRw, SizeRootFs } = await this.containerSizes(c.Id, c.ImageID);
      Object.assign(c, SizeRw ? { SizeRw } : {}, SizeRootFs ? { SizeRootFs } : {});
    }
  }

  /** `docker system df`: images (shared layers counted once), containers' own layers, and the empty rest. */
  /** `types` (API 1.42+): only those sections are computed; the others are null, as moby's. */
  async diskUsage(types?: Set<string>): Promise<Record<string, unknown>> {
    const want = (t: string) => !types || types.has(t);
    let containers = null;
    if (want('container')) {
      containers = this.listContainers({ all: true, limit: -1, filters: new Map() });
      await this.addContainerSizes(containers);
    }
    return {
      LayersSize: want('image') ? this.images.layersSize() : 0,
      Images: want('image') ? this.images.list({ all: true, sharedSize: true }) : null,
      Containers: containers,
      Volumes: want('volume') ? await this.volumes.usage() : null,
      BuildCache: want('build-cache') ? [] : null,
    };
  }

  private listContainers(opts: { all: boolean; limit: number; filters: Map<string, string[]> }) {
    return listContainers(this.containers.store.all(), opts, {
      resolve: (n) => {
        try {
          return this.images.lookup(n).rec.id;
        } catch {
          return undefined;
        }
      },
      descendants: (id) => new Set([id]),
    });
  }

  private async inspectContainer(ref: string, size: boolean): Promise<ContainerInspect> {
    const c = this.containers.get(ref);
    const view = inspectContainer(c, await this.images.snapshots.graphDriverData(c.id), size ? await this.containerSizes(c.id, c.rec.Image) : undefined);
    const execIds = this.execs.idsFor(c.id);
    view.ExecIDs = execIds.length ? execIds : null;
    return view;
  }

  private prepareWait(ref: string, condition: WaitCondition) {
    const c = this.containers.get(ref);
    const p = c.wait(condition);
    return async () => {
      const r = await p;
      // Error is omitempty in moby's WaitResponse
      return { StatusCode: r.exitCode, ...(r.error ? { Error: { Message: r.error } } : {}) };
    };
  }

  private logs(ref: string, opts: LogsOptions): AsyncIterable<LogChunk[]> {
    const c = this.containers.get(ref);
    const journald = c.rec.HostConfig.LogConfig.Type === 'journald';
    if (!journald && (c.rec.HostConfig.LogConfig.Type === 'none' || !c.rec.LogPath)) {
      throw notImplemented('configured logging driver does not support reading');
    }
    const stopped = opts.follow && c.running ? c.wait('not-running').then(() => undefined) : Promise.resolve();
    if (journald) {
      return readJournal(c.id, {
        stdout: opts.stdout, stderr: opts.stderr, tail: opts.tail, follow: opts.follow && c.running, stopped, signal: opts.signal,
        ...(opts.sinceNs !== undefined ? { sinceNs: opts.sinceNs } : {}),
        ...(opts.untilNs !== undefined ? { untilNs: opts.untilNs } : {}),
      });
    }
    return readJsonLog(c.rec.LogPath, {
      stdout: opts.stdout,
      stderr: opts.stderr,
      tail: opts.tail,
      follow: opts.follow && c.running,
      stopped,
      signal: opts.signal,
      ...(opts.sinceNs !== undefined ? { sinceNs: opts.sinceNs } : {}),
      ...(opts.untilNs !== undefined ? { untilNs: opts.untilNs } : {}),
    });
  }

  // ------------------------------------------------------------------ images

  imageBackend(): ImageBackend {
    const is = this.images;
    return {
      list: (opts) => is.list(opts),
      manifestSummaries: (list) => is.manifestSummaries(list),
      inspect: (name) => is.inspect(name),
      history: (name) => is.history(name),
      prune: async (filters) => {
        return this.announcePrune('image', await is.prune({ all: boolFilter(filters, 'dangling') === false, filters }));
      },
      save: async (names, platform) => {
        const out = await saveImages(is, names, platform);
        for (const n of names) this.images.events('image', 'save', n, { name: n });
        return out;
      },
      load: async (src, onMessage, onProgress, platform) => {
        const loaded: string[] = [];
        await is.track(() => loadImages(is, src, {
          onMessage: (line) => {
            const m = /^Loaded image(?: ID)?: (.*)$/.exec(line);
            if (m) loaded.push(m[1]);
            onMessage(line);
          },
          onProgress, platform,
        }));
        for (const n of loaded) this.images.events('image', 'load', n, { name: n });
      },
      remove: (name, opts) => is.remove(name, opts),
      tag: (name, repo, tag) => is.tag(name, repo, tag),
      importImage: (src, opts) => this.importImage(src, opts),
      pull: (opts, progress, signal) => this.pull(opts, progress, signal),
      push: (opts, progress) => this.push(opts, progress),
      login: (body) => this.login(body),
      search: (opts) => this.search(opts),
      distribution: (name, auth) => inspectDistribution(this.registryAccess, parseNormalizedNamed(name), decodeRegistryAuth(auth)),
      registryManifest: (name, auth, insecure) => fetchManifest(this.registryAccess, parseNormalizedNamed(name), decodeRegistryAuth(auth), insecure),
      pushManifestList: (name, req, auth, insecure) => pushManifestList(this.registryAccess, parseNormalizedNamed(name), req, decodeRegistryAuth(auth), insecure),
    };
  }

  private async importImage(src: Readable, opts: { repo?: string; tag?: string; message?: string; changes: string[]; source: string; platform?: string }): Promise<string> {
    const config: Partial<ContainerConfig> = parseChanges(opts.changes);
    let platform: { os: string; architecture: string } | undefined;
    if (opts.platform) {
      const [os, architecture] = opts.platform.split('/');
      if (os !== 'linux' || !architecture) throw invalidParameter(`invalid platform: ${opts.platform}`);
      platform = { os, architecture };
    }
    if (opts.source !== '-') {
      // `docker import URL`: the daemon downloads the archive (http or https only).
      let url: URL;
      try {
        url = new URL(opts.source);
      } catch {
        throw invalidParameter(`invalid import source ${JSON.stringify(opts.source)}: expected "-" or an http(s) URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidParameter(`invalid import source ${opts.source}: only http and https URLs can be imported`);
      src.resume();
      const res = await send(url.href, { timeoutMs: this.config.registryTimeoutMs });
      if (res.status !== 200) {
        res.body.resume();
        throw invalidParameter(`Get "${url.href}": HTTP ${res.status}`);
      }
      src = res.body;
    }
    const id = await this.images.track(() => this.images.importImage(src, {
      ...(opts.repo ? { repo: opts.repo } : {}),
      ...(opts.tag ? { tag: opts.tag } : {}),
      ...(opts.message ? { message: opts.message } : {}),
      config,
      source: opts.source,
      ...(platform ? { platform } : {}),
    }));
    this.images.announceTag(id, opts.repo, opts.tag);
    this.images.events('image', 'import', id, { name: id });
    return id;
  }

  private get registryAccess(): RegistryAccess {
    this.access ??= { settings: this.config.registry, maxConcurrentDownloads: this.config.maxConcurrentDownloads, preferred: new Map(), timeoutMs: this.config.registryTimeoutMs };
    return this.access;
  }

  /** POST /images/create?fromImage=: `docker pull` (the tag may also be a digest). */
  private async pull(opts: { image: string; tag?: string; platform?: string; auth?: string }, progress: ProgressSink, signal: AbortSignal): Promise<void> {
    let name = opts.image;
    // A tag never contains ':', so one that does is a digest of any algorithm (moby: digest.Parse).
    if (opts.tag) name += opts.tag.includes(':') ? `@${opts.tag}` : `:${opts.tag}`;
    const ref = parseNormalizedNamed(name);
    const creds = decodeRegistryAuth(opts.auth);
    const pullOpts = { ...(opts.platform ? { platform: opts.platform } : {}), ...(creds ? { credentials: creds } : {}), signal };
    if (ref.tag || ref.digest) {
      await this.images.track(() => pullImage(this.images, this.registryAccess, ref, pullOpts, progress));
      this.images.events('image', 'pull', familiarString(ref), { name: familiarString(ref) });
      return;
    }
    // No tag at all: every tag of the repository (docker pull --all-tags).
    const tags = await withEndpoints(this.registryAccess, ref.domain, creds, (c) => c.tags(ref.path));
    if (!tags.length) throw notImplemented('the repository has no tags');
    for (const tag of tags.sort()) {
      await this.images.track(() => pullImage(this.images, this.registryAccess, { ...ref, tag }, pullOpts, progress));
      this.images.events('image', 'pull', familiarString({ ...ref, tag }), { name: familiarString({ ...ref, tag }) });
    }
  }

  private async push(opts: { name: string; tag?: string; auth?: string; compression: PushCompression }, progress: ProgressSink): Promise<void> {
    const ref = parseNormalizedNamed(opts.tag ? `${opts.name}:${opts.tag}` : opts.name);
    if (ref.digest) throw invalidParameter('cannot push a digest reference');
    // No tag at all: every tag of the repository, one after another (moby; docker push -a).
    const refs = ref.tag ? [ref] : this.images.images.allRefs().map(([r]) => parseNormalizedNamed(r)).filter((r) => r.tag && !r.digest && r.domain === ref.domain && r.path === ref.path);
    if (!refs.length) {
      progress({ status: `The push refers to repository [${fullName(ref)}]` });
      throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
    }
    for (const r of refs) {
      await this.images.track(() => pushImage(this.images, this.registryAccess, r, decodeRegistryAuth(opts.auth), progress, opts.compression));
      this.images.events('image', 'push', familiarString(r), { name: familiarString(r) });
    }
  }

  /** POST /auth: logs in to a registry by asking it for /v2/ with the credentials. */
  private async login(body: string): Promise<{ Status: string; IdentityToken: string }> {
    const c = parseAuthBody(body);
    const server = (c.serveraddress ?? DOCKER_HUB_AUTH_KEY).replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    const domain = server === 'index.docker.io' || server === '' ? 'docker.io' : server;
    await withEndpoints(this.registryAccess, domain, c, async (client) => {
      try {
        await client.ping();
      } catch (e) {
        if (kindOf(e) === 'Unauthorized') throw new EngineError('Unauthorized', `login attempt to ${client.endpoint.url}/v2/ failed with status: 401 Unauthorized`, { cause: e });
        throw e;
      }
    });
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** GET /images/search: the registry's catalog, filtered by the term (docker's columns). */
  private async search(opts: { term: string; limit: number; auth?: string }) {
    let domain = 'docker.io';
    let term = opts.term;
    const slash = term.indexOf('/');
    if (slash > 0 && /[.:]|^localhost$/.test(term.slice(0, slash))) {
      domain = term.slice(0, slash);
      term = term.slice(slash + 1);
    }
    const repos = await withEndpoints(this.registryAccess, domain, decodeRegistryAuth(opts.auth), (client) => client.catalog());
    return repos
      .filter((r) => r.includes(term))
      .slice(0, opts.limit)
      .map((r) => ({ name: domain === 'docker.io' ? r : `${domain}/${r}`, description: '', star_count: 0, is_official: false, is_automated: false }));
  }


  /** Binaries the daemon needs that are missing. */
  missingBinaries(): string[] {
    const missing: string[] = [];
    if (!existsSync(this.config.runtime.shimPath)) missing.push(this.config.runtime.shimPath);
    return missing;
  }
}
