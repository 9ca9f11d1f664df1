/**
 * Container lifecycle: create, start, stop, kill, restart, remove, wait, attach, and the
 * reconciliation of saved containers with their shims when the daemon starts.
 *
 * Each operation takes the container's lock, runs as ordered steps, and registers an undo
 * for every step that changes something, so a failure leaves nothing half-made.
 */
import { failpoint } from '../../lib/failpoint.ts';
import { containerChanges, exportContainer, commitContainer, type CommitOptions } from './snapshot.ts';
import { chmod, chown, mkdir, readdir, rm, writeFile, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IdMapping } from '../../lib/idmap.ts';
import type { Duplex, Readable } from 'node:stream';
import { joinStreams } from './streams.ts';
import { hostname as osHostname } from 'node:os';
import type { ContainerCreateInput } from '../server/bodies.ts';
import { refuseUnsupported } from './fields.ts';
import { conflict, invalidParameter, notFound, notModified, system, EngineError, messageOf } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import { generateName, validContainerName } from '../../lib/names.ts';
import { newId } from '../../lib/idprefix.ts';
import { parseSignal } from '../../lib/signal.ts';
import { isShimGone, launchShim, ShimClient, ShimStartError, type ExitInfo } from '../../runtime/shim.ts';
import { forceDelete } from '../../runtime/runtime.ts';
import { unmountUnder } from '../../lib/mounts.ts';
import type { SeccompBpfCache, SeccompProfiles } from '../../runtime/seccomp.ts';
import { withSeccompBpf } from '../../runtime/spec.ts';
import type { ImageService } from '../images/service.ts';
import { Container, newState, type ContainerRecord, type WaitCondition } from './container.ts';
import { ContainerStore } from './store.ts';
import { checkNetworkingConfig, decodeConfig, decodeHostConfig, entrypointAndArgs, mergeImageConfig } from './config.ts';
import { containerSpec, type NamespaceKind } from './spec.ts';
import { lookupUser } from './user.ts';
import { daemonLimits, hasSysResource } from '../../lib/rlimits.ts';

export interface RuntimeSettings {
  /** name → binary path, e.g. { crun: '/usr/bin/crun', runc: '/usr/sbin/runc' } */
  runtimes: Record<string, string>;
  defaultRuntime: string;
  shimPath: string;
  cgroupParent: string;
  cgroupVersion: 1 | 2;
  swapAccounting: boolean;
  seccomp: SeccompProfiles;
  /** Precompiled filters for crun; undefined to let the runtime compile them. */
  seccompBpf?: SeccompBpfCache;
  /** tini, run as the container's init with --init (docker-init is the same program). */
  initPath?: string;
  /** memory.kmem.tcp limits are available (cgroup v1). */
  kernelTcp: boolean;
  /** userns-remap: containers run in a user namespace with these mappings (layers are stored shifted). */
  idmap?: IdMapping;
}

export interface ContainerPaths {
  dataRoot: string;
  execRoot: string;
}

interface PendingAttach {
  flags: string;
  connect: (shim: ShimClient) => Promise<void>;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Parsed detach keys; none disables detaching. */
  detachKeys?: number[];
  /** Output without stream headers even without a TTY (websocket clients). */
  raw?: boolean;
}

/** State.Error when a container's monitor died without recording its exit. */
const MONITOR_DIED = 'the container monitor (berth-shim) died unexpectedly; the container was stopped';

const RUNTIME_ERROR_PREFIX = 'failed to create task for container: OCI runtime create failed';

export class ContainerService {
  readonly store: ContainerStore;
  private readonly paths: ContainerPaths;
  private readonly rt: RuntimeSettings;
  private readonly images: ImageService;
  private readonly locks = new KeyedMutex();
  private readonly pending = new Map<string, PendingAttach[]>();
  private readonly removedListeners: ((id: string) => void)[] = [];

  constructor(paths: ContainerPaths, rt: RuntimeSettings, images: ImageService) {
    this.paths = paths;
    this.rt = rt;
    this.images = images;
    this.store = new ContainerStore(paths.dataRoot);
    images.setUsers({
      containersUsing: (id) => this.store.all().filter((c) => c.rec.Image === id).map((c) => ({ id: c.id, running: c.running })),
      chainsInUse: () => new Set(this.store.all().map((c) => c.rec.ImageChainId).filter(Boolean)),
    });
  }

  /** Layer chains containers stand on (for the collection of unreferenced layers). */
  chainsInUse(): Set<string> {
    return new Set(this.store.all().map((c) => c.rec.ImageChainId).filter(Boolean));
  }

  private shimDir(id: string): string {
    return join(this.paths.execRoot, 'c', id);
  }

  get(ref: string): Container {
    return this.store.get(ref);
  }

  /** Calls `fn` with the ID of every container removed. */
  onRemoved(fn: (id: string) => void): void {
    this.removedListeners.push(fn);
  }

  // ---------------------------------------------------------------- create

  async create(req: ContainerCreateInput, name: string | undefined): Promise<{ Id: string; Warnings: string[] }> {
    const warnings: string[] = [];
    // 1. Validate everything before touching anything.
    if (name !== undefined && name !== '') validContainerName(name);
    refuseUnsupported(req);
    const user = decodeConfig(req);
    if (!user.Image) throw invalidParameter('Config cannot be empty in order to create a container');
    const hostConfig = decodeHostConfig(req.HostConfig, {
      defaultRuntime: this.rt.defaultRuntime,
      runtimes: Object.keys(this.rt.runtimes),
      cgroupVersion: this.rt.cgroupVersion,
      swapAccounting: this.rt.swapAccounting,
      kernelTcp: this.rt.kernelTcp,
      userns: this.rt.idmap !== undefined,
      ...(this.rt.initPath ? { initPath: this.rt.initPath } : {}),
    }, warnings, req);
    checkNetworkingConfig(req.NetworkingConfig, hostConfig.NetworkMode);
    checkUlimits(hostConfig.Ulimits ?? []);
    this.checkNamespaceDonors(hostConfig);
    // The image cannot be deleted (rmi, prune) between here and the container's record.
    const found = this.images.lookup(user.Image);
    const releaseImage = await this.images.usage.lock(found.rec.id);
    try {
      const image = this.images.images.get(found.rec.id);
      if (!image) throw notFound(`No such image: ${user.Image}`);
      const config = mergeImageConfig(user, image.config);
      const { path, args } = entrypointAndArgs(config);
      const id = this.newContainerId();
      // The host's name where the container shares the host's UTS or network namespace.
      config.Hostname ||= hostConfig.UTSMode === 'host' || hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12);
      const cname = name ? name.replace(/^\//, '') : this.generateUniqueName();

      // 2. Reserve the name, then build the container's directories; undo on failure.
      await using undo = new AsyncDisposableStack();
      this.store.reserveName(cname, id);
      undo.defer(() => this.store.releaseName(cname));
      const dir = this.store.dir(id);
      await mkdir(dir, { recursive: true, mode: 0o710 });
      // Under userns-remap, container root must reach its bind-mounted files in here.
      if (this.remapped(hostConfig)) await chown(dir, 0, this.rt.idmap!.root.gid);
      undo.defer(() => rm(dir, { recursive: true, force: true }));
      const chain = this.images.topChain(image);
      const parentCache = chain ? this.images.layers.mustGet(chain).cacheId : undefined;
      await this.images.snapshots.createContainerLayer(id, parentCache);
      undo.defer(() => this.images.snapshots.remove(id).catch(() => {}));
      await this.ensureWorkingDir(id, config.WorkingDir);

      const rec: ContainerRecord = {
        version: 1,
        ID: id,
        Created: new Date().toISOString(),
        Path: path,
        Args: args,
        Config: config,
        HostConfig: hostConfig,
        State: newState(),
        Image: image.rec.id,
        ImageChainId: chain,
        Name: `/${cname}`,
        RestartCount: 0,
        Driver: 'overlay2',
        LogPath: hostConfig.LogConfig.Type === 'none' ? '' : join(dir, `${id}-json.log`),
        HostnamePath: join(dir, 'hostname'),
        HostsPath: join(dir, 'hosts'),
        ResolvConfPath: join(dir, 'resolv.conf'),
        Runtime: hostConfig.Runtime,
        HasBeenManuallyStopped: false,
      };
      await this.writeEtcFiles(rec);
      const c = new Container(rec);
      failpoint('create-before-record');
      await this.store.save(c);
      this.store.add(c);
      undo.move();
      return { Id: id, Warnings: warnings };
    } finally {
      releaseImage();
    }
  }

  private newContainerId(): string {
    for (;;) {
      const id = newId();
      if (!this.store.tryGet(id)) return id;
    }
  }

  private generateUniqueName(): string {
    for (let i = 0; i < 10; i++) {
      const n = generateName(i);
      if (!this.store.hasName(n)) return n;
    }
    return newId().slice(0, 12);
  }

  /** Creates a missing WORKDIR in the container's own layer, as docker does at start. */
  private async ensureWorkingDir(id: string, wd: string): Promise<void> {
    if (!wd || wd === '/') return;
    if (!wd.startsWith('/')) throw invalidParameter(`the working directory '${wd}' is invalid, it needs to be an absolute path`);
    const dirs = await this.images.snapshots.layerDirs(id);
    for (const d of dirs) {
      try {
        if ((await stat(join(d, wd))).isDirectory()) return;
      } catch {
        // keep looking in lower layers
      }
    }
    const made = await mkdir(join(dirs[0], wd), { recursive: true, mode: 0o755 });
    // New directories in the container's layer belong to container root (moby: WithOnlyNew).
    const root = this.rt.idmap?.root;
    if (root && made) {
      for (let p = join(dirs[0], wd); p.length >= made.length; p = dirname(p)) await chown(p, root.uid, root.gid);
    }
  }

  /** True when the container runs in a user namespace of its own (userns-remap, not --userns=host). */
  private remapped(h: ContainerRecord['HostConfig']): boolean {
    return this.rt.idmap !== undefined && h.UsernsMode !== 'host';
  }

  private async writeEtcFiles(rec: ContainerRecord): Promise<void> {
    const host = rec.Config.Hostname;
    const fqdn = rec.Config.Domainname ? `${host}.${rec.Config.Domainname}` : host;
    await writeFile(rec.HostnamePath, `${host}\n`);
    const extra = (rec.HostConfig.ExtraHosts ?? []).map((e) => {
      const i = e.indexOf(':');
      return `${e.slice(i + 1)}\t${e.slice(0, i)}`;
    });
    // In the host's network namespace the container sees the host's own hosts file (docker).
    const base = rec.HostConfig.NetworkMode === 'host'
      ? [(await readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n')).replace(/\n$/, '')]
      : [
          '127.0.0.1\tlocalhost',
          '::1\tlocalhost ip6-localhost ip6-loopback',
          'fe00::\tip6-localnet',
          'ff00::\tip6-mcastprefix',
          'ff02::1\tip6-allnodes',
          'ff02::2\tip6-allrouters',
        ];
    const self = rec.HostConfig.NetworkMode === 'host' ? [] : [`127.0.1.1\t${fqdn === host ? host : `${fqdn} ${host}`}`];
    await writeFile(rec.HostsPath, [...base, ...extra, ...self, ''].join('\n'));
    let resolv: string;
    try {
      resolv = await readFile('/etc/resolv.conf', 'utf8');
    } catch {
      resolv = '';
    }
    const dns = rec.HostConfig.Dns ?? [];
    const search = rec.HostConfig.DnsSearch ?? [];
    const options = rec.HostConfig.DnsOptions ?? [];
    if (dns.length || search.length || options.length) {
      const lines = resolv.split('\n').filter((l) => !(dns.length && l.startsWith('nameserver')) && !(search.length && l.startsWith('search')) && !(options.length && l.startsWith('options')));
      for (const s of dns) lines.push(`nameserver ${s}`);
      if (search.length) lines.push(`search ${search.join(' ')}`);
      if (options.length) lines.push(`options ${options.join(' ')}`);
      resolv = lines.filter((l) => l !== '').join('\n') + '\n';
    }
    await writeFile(rec.ResolvConfPath, resolv);
    const root = this.remapped(rec.HostConfig) ? this.rt.idmap!.root : undefined;
    if (root) for (const f of [rec.HostnamePath, rec.HostsPath, rec.ResolvConfPath]) await chown(f, root.uid, root.gid);
  }

  // ---------------------------------------------------------------- start

  async start(ref: string): Promise<void> {
    const c = this.store.get(ref);
    try {
      await this.locks.with(c.id, () => this.startLocked(c));
    } catch (e) {
      // docker removes an --rm container whose start failed: nothing is left behind.
      if (c.rec.HostConfig.AutoRemove && !(e instanceof EngineError && e.kind === 'NotModified')) {
        await this.remove(c.id, { force: true }).catch((err: unknown) => log.warn('auto-remove after failed start', { id: c.id, error: err }));
      }
      throw e;
    }
  }

  private async startLocked(c: Container): Promise<void> {
    if (c.removed) throw conflict(`No such container: ${c.id}`);
    // A start asked for during a restart back-off starts it now (the timer's start is moot).
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
    }
    const s = c.state;
    if (s.Paused) throw conflict('cannot start a paused container, try unpause instead');
    if (s.Running) throw notModified('container already started');
    if (s.Status === 'removing') throw conflict('container is marked for removal and cannot be started');
    const rec = c.rec;
    const shimDir = this.shimDir(c.id);
    await rm(shimDir, { recursive: true, force: true });
    await mkdir(shimDir, { recursive: true, mode: 0o700 });
    const t0 = performance.now();
    try {
      // 1. The OCI bundle: the spec, with the user resolved from the image's files.
      const layerDirs = await this.images.snapshots.layerDirs(c.id);
      const user = await lookupUser(layerDirs, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
      const mount = await this.images.snapshots.mountFor(c.id);
      const joins = this.namespaceJoins(rec);
      this.shareNetworkFiles(rec);
      const shm = await this.shmFor(rec);
      const spec = containerSpec(rec, user, {
        joins,
        ...(this.remapped(rec.HostConfig) ? { idmap: this.rt.idmap! } : {}),
        ...(shm ? { shm: shm.source } : {}),
        rootfs: mount.target,
        cgroupParent: this.rt.cgroupParent,
        seccomp: this.rt.seccomp,
        swapAccounting: this.rt.swapAccounting,
        ...(this.rt.initPath ? { initPath: this.rt.initPath } : {}),
      });
      if (rec.Runtime === 'crun' && spec.linux.seccomp && this.rt.seccompBpf) {
        const bpf = await this.rt.seccompBpf.get(spec.linux.seccomp);
        if (bpf) withSeccompBpf(bpf)(spec);
      }
      await writeFile(join(shimDir, 'config.json'), JSON.stringify(spec));
      const t1 = performance.now();
      // 2. The shim mounts the root file system and creates the container.
      const logOpts = rec.HostConfig.LogConfig.Config;
      await launchShim({
        shimPath: this.rt.shimPath,
        id: c.id,
        bundle: shimDir,
        runtimePath: this.runtimePath(rec.Runtime),
        runtimeRoot: join(this.paths.execRoot, 'runtime', rec.Runtime),
        stateDir: shimDir,
        ...(rec.LogPath ? { logPath: rec.LogPath } : {}),
        ...(logOpts['max-size'] ? { logMaxSize: parseLogSize(logOpts['max-size']) } : {}),
        ...(logOpts['max-file'] ? { logMaxFile: parseLogFiles(logOpts['max-file']) } : {}),
        tty: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        stdinOnce: rec.Config.StdinOnce,
        overlay: mount,
        oomFile: this.oomFile(spec.linux.cgroupsPath ?? ''),
        ...(rec.Runtime === 'crun' ? { roPaths: spec.linux.readonlyPaths ?? [] } : {}),
        ...(shm?.own ? { shm: { path: shm.source, size: rec.HostConfig.ShmSize } } : {}),
        oomScoreAdj: rec.HostConfig.OomScoreAdj,
      });
      const t2 = performance.now();
      const shim = new ShimClient(shimDir);
      c.shimDir = shimDir;
      const generation = ++c.generation;
      // 3. Watch for the exit before starting, so no exit can be missed.
      this.watchExit(c, shim, generation);
      // 4. Clients that attached before start get their streams now.
      const waiting = this.pending.get(c.id) ?? [];
      this.pending.delete(c.id);
      await Promise.all(waiting.map((p) => p.connect(shim).catch((e: unknown) => log.warn('attach failed', { id: c.id, error: e }))));
      // 5. Go.
      const t3 = performance.now();
      failpoint('start-before-run');
      const pid = await shim.start();
      failpoint('start-before-record');
      c.setRunning(pid, new Date().toISOString());
      await this.store.save(c);
      log.debug('container started', { id: c.id, specMs: (t1 - t0).toFixed(1), shimCreateMs: (t2 - t1).toFixed(1), startMs: (performance.now() - t3).toFixed(1) });
    } catch (e) {
      c.shimDir = undefined;
      const err = e instanceof ShimStartError ? runtimeError(e, rec.Runtime, rec.Path) : e;
      c.setStartFailed(messageOf(err), (err instanceof EngineError ? err.exitCode : undefined) ?? 128);
      await this.store.save(c).catch(() => {});
      await rm(shimDir, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * The namespaces a container shares with another (`--pid/--ipc/--uts/--network
   * container:NAME`): that container must be running, as in docker.
   */
  private namespaceJoins(rec: ContainerRecord): Partial<Record<NamespaceKind | 'user', string>> {
    const out: Partial<Record<NamespaceKind | 'user', string>> = {};
    const modes: [NamespaceKind, string, string][] = [
      ['pid', rec.HostConfig.PidMode, 'PID'], ['ipc', rec.HostConfig.IpcMode, 'IPC'],
      ['uts', rec.HostConfig.UTSMode, 'UTS'], ['network', rec.HostConfig.NetworkMode, 'network'],
    ];
    for (const [kind, mode, what] of modes) {
      if (!mode.startsWith('container:')) continue;
      const target = this.store.get(mode.slice('container:'.length));
      if (!target.running || !target.state.Pid) throw conflict(`cannot join ${what} of a non running container: ${target.id}`);
      // In another container's namespaces under userns-remap, its user namespace comes too.
      if (this.remapped(rec.HostConfig)) out.user = `/proc/${target.state.Pid}/ns/user`;
      if (kind === 'ipc' && !['shareable', 'host'].includes(target.rec.HostConfig.IpcMode)) {
        throw conflict(`container ${target.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      }
      out[kind] = `/proc/${target.state.Pid}/ns/${kind === 'network' ? 'net' : kind}`;
    }
    return out;
  }

  /**
   * A `container:NAME` mode must name a container that exists (it must run only at start).
   * Refused as a bad parameter: the docker CLI would take a 404 for a missing image.
   */
  private checkNamespaceDonors(h: ContainerRecord['HostConfig']): void {
    for (const mode of [h.PidMode, h.IpcMode, h.UTSMode, h.NetworkMode]) {
      if (!mode.startsWith('container:')) continue;
      const name = mode.slice('container:'.length);
      if (!this.store.tryGet(name)) throw invalidParameter(`No such container: ${name}`);
    }
  }

  /**
   * The host side of /dev/shm: the container's own tmpfs under containers/<id>/mounts/shm when
   * it is shareable (its shim mounts it), or its IPC donor's.
   */
  private async shmFor(rec: ContainerRecord): Promise<{ source: string; own: boolean } | undefined> {
    const ipc = rec.HostConfig.IpcMode;
    if (ipc === 'shareable') {
      const source = join(this.store.dir(rec.ID), 'mounts', 'shm');
      await mkdir(source, { recursive: true, mode: 0o700 });
      if (this.remapped(rec.HostConfig)) {
        await chown(dirname(source), 0, this.rt.idmap!.root.gid);
        await chmod(dirname(source), 0o710);
      }
      return { source, own: true };
    }
    if (!ipc.startsWith('container:')) return undefined;
    const donor = this.store.get(ipc.slice('container:'.length)).rec;
    return { source: donor.HostConfig.IpcMode === 'host' ? '/dev/shm' : join(this.store.dir(donor.ID), 'mounts', 'shm'), own: false };
  }

  /**
   * In another container's network namespace, a container uses that container's hostname,
   * hosts and resolv.conf (moby's initializeNetworkingPaths), recorded as it starts.
   */
  private shareNetworkFiles(rec: ContainerRecord): void {
    if (!rec.HostConfig.NetworkMode.startsWith('container:')) return;
    const nc = this.store.get(rec.HostConfig.NetworkMode.slice('container:'.length)).rec;
    rec.HostnamePath = nc.HostnamePath;
    rec.HostsPath = nc.HostsPath;
    rec.ResolvConfPath = nc.ResolvConfPath;
    rec.Config.Hostname = nc.Config.Hostname;
    rec.Config.Domainname = nc.Config.Domainname;
  }

  private runtimePath(name: string): string {
    const p = this.rt.runtimes[name];
    if (!p) throw invalidParameter(`unknown or invalid runtime name: ${name}`);
    if (!existsSync(p)) throw system(`OCI runtime "${name}" cannot be used: its binary ${p} is missing (install it or fix "runtimes" in daemon.json)`);
    return p;
  }

  private oomFile(cgroupsPath: string): string {
    return this.rt.cgroupVersion === 2
      ? join('/sys/fs/cgroup', cgroupsPath, 'memory.events')
      : join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control');
  }

  /** Waits on the shim for the exit and records it; falls back to exit.json if the shim vanishes. */
  private watchExit(c: Container, shim: ShimClient, generation: number): void {
    const done = async (exit: ExitInfo | undefined) => {
      if (c.generation !== generation || c.removed) return;
      // No exit recorded: the monitor itself died (killed, say). The container must not live
      // on unsupervised: it is stopped and its root unmounted, and the error says why.
      if (!exit) await this.reapMonitor(c.id, c.rec.Runtime).catch((e: unknown) => log.warn('cleaning up after a dead monitor', { id: c.id, error: e }));
      await this.locks.with(c.id, () => this.recordExit(c, exit ?? { exitCode: 255, exitedAt: new Date().toISOString(), oomKilled: false, error: MONITOR_DIED }));
      if (c.rec.HostConfig.AutoRemove) await this.remove(c.id, { force: true }).catch((e: unknown) => log.warn('auto-remove failed', { id: c.id, error: e }));
      else if (c.state.Restarting) this.scheduleRestart(c);
    };
    shim.wait().then(done, async () => done(await shim.readExit()));
  }

  /** docker's restart policies: no, always, unless-stopped, on-failure[:N]. */
  private restartWanted(c: Container): boolean {
    const p = c.rec.HostConfig.RestartPolicy;
    if (c.removed || c.rec.HasBeenManuallyStopped || c.state.Running || c.rec.HostConfig.AutoRemove) return false;
    return p.Name === 'always' || p.Name === 'unless-stopped' ||
      (p.Name === 'on-failure' && c.state.ExitCode !== 0 && (p.MaximumRetryCount <= 0 || c.rec.RestartCount < p.MaximumRetryCount));
  }

  /**
   * Waits out the back-off, then starts the container again. The container reads
   * `restarting` from its exit until it runs again, as in docker (moby's SetRestarting).
   */
  private scheduleRestart(c: Container): void {
    // Back off from 100 ms, doubling up to a minute; a container that ran 10 s starts over.
    const ranMs = Date.parse(c.state.FinishedAt) - Date.parse(c.state.StartedAt);
    c.restartDelay = ranMs >= 10_000 ? 100 : Math.min(60_000, Math.max(100, c.restartDelay * 2));
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (c.removed || c.rec.HasBeenManuallyStopped || !c.state.Restarting) return;
      c.rec.RestartCount++;
      this.start(c.id).catch((e: unknown) => {
        log.warn('restarting container failed', { id: c.id, error: e });
        if (this.restartWanted(c)) {
          c.setRestarting();
          this.scheduleRestart(c);
        }
      });
    }, c.restartDelay);
    c.restartTimer.unref();
  }

  /** Cancels a pending policy restart (stop, kill, rm, start). Returns true if one was pending. */
  private cancelRestart(c: Container): boolean {
    if (c.restartTimer) clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    if (!c.state.Restarting) return false;
    c.rec.State.Restarting = false;
    c.rec.State.Status = 'exited';
    return true;
  }

  private async recordExit(c: Container, exit: ExitInfo & { error?: string }): Promise<void> {
    if (!c.state.Running && c.state.Status !== 'removing') return;
    const shimDir = c.shimDir;
    c.shimDir = undefined;
    const wasRemoving = c.state.Status === 'removing';
    c.setStopped(exit);
    if (wasRemoving) c.rec.State.Status = 'removing';
    else if (this.restartWanted(c)) c.setRestarting();
    const saved = await this.store.save(c).then(() => true, (e: unknown) => {
      log.warn('saving container state', { id: c.id, error: e });
      return false;
    });
    // The monitor's exit.json is the record of the exit until the container's record holds
    // it: if that could not be written (no space left), it stays for the next start to read.
    if (shimDir && saved) await rm(shimDir, { recursive: true, force: true }).catch(() => {});
  }

  // ---------------------------------------------------------------- stop / kill

  async stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const c = this.store.get(ref);
    if (this.cancelRestart(c)) {
      c.rec.HasBeenManuallyStopped = true;
      await this.store.save(c);
      return;
    }
    if (!c.running) {
      // It may have exited just now, its exit still being recorded: a policy restart must not
      // follow a stop the user asked for.
      if (c.rec.HostConfig.RestartPolicy.Name !== 'no' && c.rec.HostConfig.RestartPolicy.Name !== '' && !c.rec.HasBeenManuallyStopped) {
        c.rec.HasBeenManuallyStopped = true;
        await this.store.save(c);
      }
      throw notModified('container already stopped');
    }
    const sig = parseSignal(opts.signal || c.rec.Config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? c.rec.Config.StopTimeout ?? 10;
    c.rec.HasBeenManuallyStopped = true;
    const exited = c.wait('not-running');
    await this.signal(c, sig).catch(() => {});
    failpoint('stop-after-signal');
    if (timeout >= 0) {
      const graceful = await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
      if (graceful) return;
      log.info('container did not stop gracefully; killing it', { id: c.id, timeout });
    }
    await this.signal(c, 9).catch(() => {});
    await exited;
  }

  async kill(ref: string, signal: string | undefined): Promise<void> {
    const c = this.store.get(ref);
    const sig = parseSignal(signal || 'SIGKILL');
    if (this.cancelRestart(c)) {
      c.rec.HasBeenManuallyStopped = true;
      return;
    }
    if (!c.running) throw conflict(`Cannot kill container: ${ref}: container ${c.id} is not running`);
    if (sig === 9) c.rec.HasBeenManuallyStopped = true;
    const exited = c.wait('not-running');
    await this.signal(c, sig);
    if (sig === 9) await Promise.race([exited, sleep(10_000)]);
  }

  private async signal(c: Container, sig: number): Promise<void> {
    const notRunning = () => conflict(`Cannot kill container: ${c.id}: container ${c.id} is not running`);
    if (!c.shimDir) throw notRunning();
    try {
      await new ShimClient(c.shimDir).kill(sig);
    } catch (e) {
      // The process ended as the signal was on its way.
      if (isShimGone(e)) throw notRunning();
      throw e;
    }
  }

  async restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    const c = this.store.get(ref);
    if (c.running) await this.stop(c.id, opts).catch((e: unknown) => { if (!(e instanceof EngineError && e.kind === 'NotModified')) throw e; });
    await this.start(c.id);
  }

  // ---------------------------------------------------------------- remove

  async remove(ref: string, opts: { force?: boolean }): Promise<void> {
    const c = this.store.get(ref);
    if (c.state.Restarting && !opts.force) {
      throw conflict(`cannot remove container "${c.rec.Name}": container is restarting: stop the container before removing or force remove`);
    }
    this.cancelRestart(c);
    if (c.running && !opts.force) {
      if (c.state.Paused) throw conflict(`cannot remove container "${c.rec.Name}": container is paused and must be unpaused first`);
      throw conflict(`cannot remove container "${c.rec.Name}": container is ${c.state.Status}: stop the container before removing or force remove`);
    }
    if (c.state.Status === 'removing') throw conflict(`removal of container ${c.id} is already in progress`);
    const exited = c.wait('not-running');
    c.setRemoving();
    if (c.running) {
      await this.signal(c, 9).catch(() => {});
      await Promise.race([exited, sleep(15_000)]);
      if (c.running) {
        c.rec.State.Status = 'running';
        throw system(`cannot remove container "${c.rec.Name}": could not kill running container ${c.id}, cannot remove`);
      }
    }
    await this.locks.with(c.id, async () => {
      // Rename the record away first: a crash mid-removal must not resurrect a half-deleted container.
      await rm(join(this.store.dir(c.id), 'config.v2.json'), { force: true });
      failpoint('rm-after-record');
      this.store.delete(c);
      await this.images.snapshots.remove(c.id).catch((e: unknown) => log.warn('removing container layer', { id: c.id, error: e }));
      await rm(this.store.dir(c.id), { recursive: true, force: true });
      await rm(this.shimDir(c.id), { recursive: true, force: true });
      this.pending.delete(c.id);
      c.setRemoved();
      for (const fn of this.removedListeners) fn(c.id);
    });
  }

  // ---------------------------------------------------------------- wait / attach

  async wait(ref: string, condition: WaitCondition): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.store.get(ref);
    const r = await c.wait(condition);
    return { StatusCode: r.exitCode, Error: r.error ? { Message: r.error } : null };
  }

  /** Registers interest in a container's exit and returns the promise (call before start). */
  waitFor(c: Container, condition: WaitCondition): Promise<{ exitCode: number; error?: string }> {
    return c.wait(condition);
  }

  /**
   * Connects `client` (a hijacked connection) to the container's streams. Before start it
   * waits for the start; the promise settles when the streams end, the client detaches with
   * the detach keys, or goes away.
   */
  async attach(ref: string, client: Duplex, opts: AttachOptions): Promise<void> {
    const c = this.store.get(ref);
    if (c.state.Paused) throw conflict(`container ${ref} is paused, unpause the container before attach`);
    if (c.state.Restarting) throw conflict(`container ${ref} is restarting, wait until the container is running`);
    const stdin = opts.stdin && (c.rec.Config.OpenStdin || c.rec.Config.Tty);
    const flags = (stdin ? 'i' : '') + (opts.stdout ? 'o' : '') + (opts.stderr ? 'e' : '');
    if (!flags) throw invalidParameter('at least one stream must be attached');
    // Detach keys apply only to a terminal, as in moby's CopyStreams: without one, stdin is
    // data and is copied byte for byte.
    const join = {
      stdin,
      ...(opts.detachKeys && c.rec.Config.Tty ? { detachKeys: opts.detachKeys } : {}),
      ...(opts.raw && !c.rec.Config.Tty ? { stripFrames: true } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const connect = async (shim: ShimClient) => {
        const s = await shim.attach(flags);
        joinStreams(s, client, join).then(() => resolve(), reject);
      };
      if (c.running && c.shimDir) {
        connect(new ShimClient(c.shimDir)).catch(reject);
        return;
      }
      const list = this.pending.get(c.id) ?? [];
      const entry: PendingAttach = { flags, connect };
      list.push(entry);
      this.pending.set(c.id, list);
      const drop = () => {
        const l = this.pending.get(c.id);
        if (l) this.pending.set(c.id, l.filter((p) => p !== entry));
        resolve();
      };
      client.once('close', drop);
      void c.wait('removed').then(drop);
    });
  }

  /** Resizes the container's TTY; containers without one ignore it, as docker's do. */
  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const c = this.store.get(ref);
    if (!c.running || !c.shimDir) throw conflict(`Container ${c.id} is not running`);
    if (!c.rec.Config.Tty) return;
    try {
      await new ShimClient(c.shimDir).resize(rows, cols);
    } catch (e) {
      // The process ended as the resize was on its way.
      if (isShimGone(e)) throw conflict(`Container ${c.id} is not running`);
      throw e;
    }
  }

  /** `docker diff`. */
  async changes(ref: string): Promise<{ Path: string; Kind: number }[]> {
    return containerChanges(this.images, this.store.get(ref));
  }

  /** `docker export`. */
  async exportFs(ref: string): Promise<Readable> {
    return exportContainer(this.images, this.store.get(ref));
  }

  /** `docker commit`, with the container held so it is not removed meanwhile. */
  async commit(ref: string, opts: Omit<CommitOptions, 'cgroupPath'>): Promise<string> {
    const c = this.store.get(ref);
    return this.locks.with(c.id, () => this.images.track(() => commitContainer(this.images, c, { ...opts, cgroupPath: `${c.rec.HostConfig.CgroupParent || this.rt.cgroupParent}/${c.id}` })));
  }

  /** What exec needs of a running container: its bundle, runtime, and image layers. */
  execTarget(ref: string): { container: Container; bundle: string; runtimePath: string; runtimeRoot: string; layerDirs: () => Promise<string[]> } {
    const c = this.store.get(ref);
    if (c.state.Paused) throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
    if (!c.running || !c.shimDir) throw conflict(`container ${c.id} is not running`);
    return {
      container: c,
      bundle: c.shimDir,
      runtimePath: this.runtimePath(c.rec.Runtime),
      runtimeRoot: join(this.paths.execRoot, 'runtime', c.rec.Runtime),
      layerDirs: () => this.images.snapshots.layerDirs(c.id),
    };
  }

  // ---------------------------------------------------------------- restore

  /** Rebuilds state at daemon start: reconnects to live shims, records exits that happened while down. */
  async restore(): Promise<void> {
    const containers = await this.store.load();
    if (this.rt.idmap) {
      // containers/ is on the way to every container's bind-mounted files (moby: 0710 root:<gid>).
      await chown(this.store.root, 0, this.rt.idmap.root.gid);
      await chmod(this.store.root, 0o710);
    }
    await Promise.all(containers.map((c) => this.restoreOne(c).catch((e: unknown) => log.warn('restoring container', { id: c.id, error: e }))));
    await this.reapOrphanMonitors();
  }

  private async restoreOne(c: Container): Promise<void> {
    if (c.state.Status === 'removing') {
      c.rec.State.Status = 'exited';
      c.rec.State.Running = false;
      await this.reapMonitor(c.id, c.rec.Runtime);
      await this.remove(c.id, { force: true });
      return;
    }
    if (!c.state.Running) {
      // A start cut short by a crash (the record was never marked running): roll it back,
      // whatever the monitor got to — the client never heard that it succeeded.
      if (existsSync(this.shimDir(c.id))) await this.reapMonitor(c.id, c.rec.Runtime);
      // Its restart back-off was under way when berthd stopped: carry it on.
      if (c.state.Restarting) this.scheduleRestart(c);
      return;
    }
    const shim = new ShimClient(this.shimDir(c.id));
    if (await shim.alive()) {
      c.shimDir = this.shimDir(c.id);
      this.watchExit(c, shim, ++c.generation);
      return;
    }
    const exit = await shim.readExit();
    if (!exit) await this.reapMonitor(c.id, c.rec.Runtime);
    // It ended while berthd was away: its monitor's directory goes with the recorded exit.
    c.shimDir = this.shimDir(c.id);
    await this.recordExit(c, exit ?? { exitCode: 255, exitedAt: new Date().toISOString(), oomKilled: false, error: MONITOR_DIED });
    await this.store.save(c);
    if (c.rec.HostConfig.AutoRemove) await this.remove(c.id, { force: true });
    else if (c.state.Restarting) this.scheduleRestart(c);
  }

  /**
   * Clears what a container's monitor leaves when it is gone, or stopped mid-start: the shim
   * (asked to kill the container, then waited for), else the runtime's state and processes
   * (delete --force), the root filesystem's mount, and the monitor's directory.
   */
  private async reapMonitor(id: string, runtime: string): Promise<void> {
    const dir = this.shimDir(id);
    const shim = new ShimClient(dir);
    const rt = this.rt.runtimes[runtime];
    const rtRoot = join(this.paths.execRoot, 'runtime', runtime);
    if (await shim.alive()) {
      const exited = shim.wait().catch(() => undefined);
      // A container never started takes no signal through its monitor: the runtime ends it.
      if (!(await shim.kill(9).then(() => true, () => false)) && rt) await forceDelete(rt, rtRoot, id);
      if ((await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)])) === false) {
        const pid = Number(await readFile(join(dir, 'shim.pid'), 'utf8').catch(() => '0'));
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
    if (rt) await forceDelete(rt, rtRoot, id);
    await unmountUnder(join(this.images.snapshots.dir(id), 'merged'));
    await rm(dir, { recursive: true, force: true });
  }

  /** Monitors with no container record (a removal cut short): their containers go too. */
  async reapOrphanMonitors(): Promise<void> {
    const dir = join(this.paths.execRoot, 'c');
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const id of names) {
      if (this.store.tryGet(id)) continue;
      log.warn('removing the leftovers of a container with no record', { id });
      for (const rt of Object.keys(this.rt.runtimes)) await this.reapMonitor(id, rt);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/**
 * docker's message for a runtime failure, in docker's words so that clients map it to 127
 * ("executable file not found", "no such file or directory") or 126 ("permission denied").
 * crun and runc word these differently (crun omits the path on EACCES), so we normalise.
 */
export function runtimeError(e: ShimStartError, runtime: string, path: string): EngineError {
  const msg = e.runtimeMessage;
  const prefix = `${RUNTIME_ERROR_PREFIX}: ${runtime} create failed: unable to start container process`;
  const runcForm = /exec: "([^"]+)": (.*)$/.exec(msg);
  if (/executable file .*not found/i.test(msg)) {
    const name = /executable file [`'"]([^`'"]+)[`'"]/.exec(msg)?.[1] ?? runcForm?.[1] ?? path;
    return new EngineError('System', `${prefix}: exec: "${name}": executable file not found in $PATH: unknown`, { exitCode: 127 });
  }
  if (/no such file or directory/i.test(msg)) {
    return new EngineError('System', `${prefix}: exec: "${runcForm?.[1] ?? path}": stat ${runcForm?.[1] ?? path}: no such file or directory: unknown`, { exitCode: 127 });
  }
  if (/permission denied|operation not permitted|is a directory|exec format error/i.test(msg) && /exec|executable/i.test(msg)) {
    const reason = /exec format error/i.test(msg) ? 'exec format error' : 'permission denied';
    return new EngineError('System', `${prefix}: exec: "${runcForm?.[1] ?? path}": ${reason}: unknown`, { exitCode: 126 });
  }
  return new EngineError('System', `${RUNTIME_ERROR_PREFIX}: ${msg}: unknown`, e.exitCode === undefined ? undefined : { exitCode: e.exitCode });
}

function parseLogSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(v.trim());
  if (!m) throw invalidParameter(`invalid value for max-size: ${v}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

function parseLogFiles(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalidParameter('max-file cannot be less than 1');
  return n;
}

/** Rejects ulimits the daemon cannot grant (above its own hard limit without CAP_SYS_RESOURCE). */
function checkUlimits(ulimits: { Name: string; Soft: number; Hard: number }[]): void {
  if (!ulimits.length) return;
  const limits = daemonLimits();
  const canRaise = hasSysResource();
  for (const u of ulimits) {
    const own = limits.get(u.Name);
    if (!own) throw invalidParameter(`invalid ulimit type: ${u.Name}`);
    if (!canRaise && u.Hard > own.hard) {
      throw invalidParameter(`ulimit ${u.Name}: hard limit ${u.Hard} is above the daemon's own hard limit ${own.hard}, and berthd lacks CAP_SYS_RESOURCE to raise it`);
    }
  }
}

