/**
 * Container lifecycle, as moby's daemon/ lays it out: one file per operation (create, start,
 * stop/kill/restart, remove, attach, the monitor and restart policy, restore), each working
 * on the `ContainerDeps` this class holds. The class is the index the API's backend calls.
 *
 * Each operation takes the container's lock, runs as ordered steps, and registers an undo
 * for every step that changes something, so a failure leaves nothing half-made.
 */
import type { Platform } from '../../lib/platform.ts';
import type { Duplex, Readable } from 'node:stream';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, kindOf, notFound } from '../../errdefs/index.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import type { ImageService } from '../images/service.ts';
import type { VolumeService } from '../volumes/service.ts';
import type { NetworkService } from '../../network/service.ts';
import type { ContainerCreateInput } from '../server/bodies.ts';
import type { EventSink } from '../events/service.ts';
import { attachContainer, resizeContainer, type AttachOptions } from './attach.ts';
import type { Container, WaitCondition } from './container.ts';
import { createContainer } from './create.ts';
import { runtimePath, runtimeRoot, type ContainerDeps, type ContainerPaths, type PendingAttach, type RuntimeSettings } from './deps.ts';
import { removeContainer } from './remove.ts';
import { restoreContainers } from './restore.ts';
import { archivePath, statPath, type PathStat } from './archive.ts';
import type { TarSource } from '../../lib/tar/writer.ts';
import { cleanArchiveSpools, extractToDir, type ExtractOptions } from './extract.ts';
import { containerChanges, exportContainer, commitContainer, type CommitOptions } from './snapshot.ts';
import { startContainer } from './start.ts';
import { killContainer, restartContainer, stopContainer } from './stop.ts';
import { ContainerStore } from './store.ts';
import { lookupUser } from './user.ts';
import { removeLink } from './links.ts';
import { connectContainer, disconnectContainer, type EndpointAsk } from './network.ts';
import { containerEvent } from './events.ts';
import { cgroupPath, pauseContainer, renameContainer, topContainer, unpauseContainer } from './operate.ts';
import { stopHealthMonitor } from './health.ts';
import { updateContainer } from './update.ts';
import { emptyStats, sampleStats } from './stats.ts';
import type { ContainerStats } from '../../api/types.ts';
import type { ContainerUpdateInput } from '../server/bodies.ts';

export type { AttachOptions } from './attach.ts';
export type { ContainerPaths, RuntimeSettings } from './deps.ts';
export { runtimeError } from './runtime-error.ts';

export class ContainerService {
  readonly store: ContainerStore;
  private readonly d: ContainerDeps;

  constructor(paths: ContainerPaths, rt: RuntimeSettings, images: ImageService, volumes: VolumeService, networks: NetworkService, events: EventSink) {
    this.store = new ContainerStore(paths.dataRoot);
    this.d = {
      store: this.store,
      paths,
      rt,
      images,
      volumes,
      networks,
      locks: new KeyedMutex(),
      pending: new Map<string, PendingAttach[]>(),
      removedListeners: [],
      events,
      shuttingDown: false,
      ops: {
        start: (ref) => this.start(ref),
        remove: (ref, opts) => this.remove(ref, opts),
      },
    };
    images.setUsers({
      containersUsing: (id) => this.store.all().filter((c) => c.rec.Image === id).map((c) => ({ id: c.id, running: c.running })),
      chainsInUse: () => this.chainsInUse(),
    });
    volumes.setUsers({
      containersUsing: (name) => this.store.all().filter((c) => Object.values(c.rec.MountPoints ?? {}).some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.id),
    });
  }

  /** Layer chains containers stand on (for the collection of unreferenced layers). */
  chainsInUse(): Set<string> {
    return new Set(this.store.all().map((c) => c.rec.ImageChainId).filter(Boolean));
  }

  get(ref: string): Container {
    return this.store.get(ref);
  }

  /**
   * berthd is going down: no more policy restarts or probes. With `stopContainers`
   * (--shutdown-stops-containers, or live-restore off) the running containers are stopped
   * as docker's daemon does, each with its stop signal and timeout, without counting as a
   * user's stop: those with restart policies come back at the next start.
   */
  async shutdown(stopContainers: boolean): Promise<void> {
    this.d.shuttingDown = true;
    for (const c of this.store.all()) {
      stopHealthMonitor(c);
      if (c.restartTimer) clearTimeout(c.restartTimer);
    }
    if (!stopContainers) return;
    await Promise.all(this.store.all().filter((c) => c.running).map((c) => stopContainer(this.d, c.id, { byDaemon: true }).catch(() => {})));
    // Each exit's record is written under the container's lock: wait for them.
    await Promise.all(this.store.all().map((c) => this.d.locks.with(c.id, async () => {})));
  }

  /** How health probes run (the exec service, made after this one). */
  setProber(probe: NonNullable<ContainerDeps['ops']['probe']>): void {
    this.d.ops.probe = probe;
  }

  /** Calls `fn` with the ID of every container removed. */
  onRemoved(fn: (id: string) => void): void {
    this.d.removedListeners.push(fn);
  }

  create(req: ContainerCreateInput, name: string | undefined, platform?: Platform): Promise<{ Id: string; Warnings: string[] }> {
    return createContainer(this.d, req, name, platform);
  }

  /** POST /networks/{id}/connect: now if it runs, at its next start if not. */
  connectNetwork(ref: string, network: string, ask: EndpointAsk): Promise<void> {
    return connectContainer(this.d, this.store.get(ref), network, ask);
  }

  disconnectNetwork(ref: string, network: string, force: boolean): Promise<void> {
    let c: Container;
    try {
      c = this.store.get(ref);
    } catch (e) {
      // moby's ForceEndpointDelete: with --force a name that is no container is looked up as an endpoint of the network
      if (!force || kindOf(e) !== 'NotFound') throw e;
      this.d.networks.get(network);
      throw notFound(`endpoint ${ref} not found`);
    }
    return disconnectContainer(this.d, c, network, force);
  }

  removeLink(name: string): Promise<void> {
    return removeLink(this.d, name);
  }

  start(ref: string): Promise<void> {
    return startContainer(this.d, ref);
  }

  stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    return stopContainer(this.d, ref, opts);
  }

  kill(ref: string, signal: string | undefined): Promise<void> {
    return killContainer(this.d, ref, signal);
  }

  restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
    return restartContainer(this.d, ref, opts);
  }

  remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
    return removeContainer(this.d, ref, opts);
  }

  async wait(ref: string, condition: WaitCondition): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const r = await this.store.get(ref).wait(condition);
    return { StatusCode: r.exitCode, Error: r.error ? { Message: r.error } : null };
  }

  /** Registers interest in a container's exit and returns the promise (call before start). */
  waitFor(c: Container, condition: WaitCondition): Promise<{ exitCode: number; error?: string }> {
    return c.wait(condition);
  }

  attach(ref: string, client: Duplex, opts: AttachOptions): Promise<void> {
    return attachContainer(this.d, ref, client, opts);
  }

  resize(ref: string, rows: number, cols: number): Promise<void> {
    return resizeContainer(this.d, ref, rows, cols);
  }

  pause(ref: string): Promise<void> {
    return pauseContainer(this.d, ref);
  }

  unpause(ref: string): Promise<void> {
    return unpauseContainer(this.d, ref);
  }

  rename(ref: string, name: string): Promise<void> {
    return renameContainer(this.d, ref, name);
  }

  top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return topContainer(this.d, ref, psArgs);
  }

  update(ref: string, body: ContainerUpdateInput): Promise<{ Warnings: string[] | null }> {
    return updateContainer(this.d, ref, body);
  }

  /**
   * Stats samples a second apart: while it runs (stream), or one (with the previous second's
   * CPU figures unless one-shot, as docker). A container not running gives docker's empty stats.
   */
  async *stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncGenerator<ContainerStats> {
    const c = this.store.get(ref);
    let prev: ContainerStats | undefined;
    for (;;) {
      if (signal.aborted || c.removed) return;
      if (!c.running) {
        yield emptyStats(c);
        if (!opts.stream) return;
      } else {
        const s = await sampleStats(this.d, c);
        if (prev) {
          s.precpu_stats = prev.cpu_stats;
          s.preread = prev.read;
        }
        if (opts.stream || opts.oneShot || prev) {
          yield s;
          if (!opts.stream) return;
        }
        prev = s;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(done, 1000);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          r();
        }
        signal.addEventListener('abort', done);
      });
    }
  }

  /** `docker diff`. */
  changes(ref: string): Promise<{ Path: string; Kind: number }[]> {
    return containerChanges(this.d.images, this.store.get(ref));
  }

  /** HEAD /containers/{id}/archive. */
  statPath(ref: string, path: string): Promise<PathStat> {
    return statPath(this.d, ref, path);
  }

  /** GET /containers/{id}/archive, with moby's archive-path event once the archive is ready. */
  async archivePath(ref: string, path: string): Promise<{ stat: PathStat; tar: TarSource & { abandon(): Promise<void> } }> {
    const r = await archivePath(this.d, ref, path);
    containerEvent(this.d, this.store.get(ref), 'archive-path');
    return r;
  }

  /** PUT /containers/{id}/archive, with moby's extract-to-dir event once it is done. */
  async extractToDir(ref: string, path: string, body: Readable, opts: ExtractOptions): Promise<void> {
    await extractToDir(this.d, ref, path, body, opts);
    containerEvent(this.d, this.store.get(ref), 'extract-to-dir');
  }

  /** `docker export`, with its event. */
  async exportFs(ref: string): Promise<Readable> {
    const c = this.store.get(ref);
    const out = await exportContainer(this.d.images, c);
    containerEvent(this.d, c, 'export');
    return out;
  }

  /** uid and gid of `spec` (user[:group]) as the container's image files say. */
  async userOf(ref: string, spec: string): Promise<{ uid: number; gid: number }> {
    const c = this.store.get(ref);
    const u = await lookupUser(await this.d.images.snapshots.layerDirs(c.id), spec);
    return { uid: u.uid, gid: u.gid };
  }

  /**
   * What `path` is in the container's layers, read from the layer directories top down (a
   * whiteout ends the search): a parent that is not a directory stops it. For the builder,
   * whose containers are made, never started, and removed.
   */
  async layerPathInfo(ref: string, path: string): Promise<{ type: 'dir' | 'file' | 'symlink' | 'other'; mode: number; uid: number; gid: number; mtime: Date } | undefined> {
    const c = this.store.get(ref);
    const dirs = await this.d.images.snapshots.layerDirs(c.id);
    const parts = path.split('/').filter(Boolean);
    let info: { type: 'dir' | 'file' | 'symlink' | 'other'; mode: number; uid: number; gid: number; mtime: Date } | undefined;
    for (let i = 0; i < parts.length; i++) {
      const rel = parts.slice(0, i + 1).join('/');
      info = undefined;
      for (const dir of dirs) {
        const st = await lstat(join(dir, rel)).catch(() => undefined);
        if (!st) continue;
        // A whiteout: deleted in this layer.
        if (st.isCharacterDevice() && st.rdev === 0) return undefined;
        info = { type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
        break;
      }
      if (!info) return undefined;
      if (i < parts.length - 1 && info.type !== 'dir') return info;
    }
    return info;
  }

  /** `docker commit`, with the container held so it is not removed meanwhile. */
  commit(ref: string, opts: Omit<CommitOptions, 'cgroupPath'>): Promise<string> {
    const c = this.store.get(ref);
    const { images } = this.d;
    return this.d.locks.with(c.id, async () => {
      const id = await images.track(() => commitContainer(images, c, { ...opts, cgroupPath: cgroupPath(this.d, c) }));
      images.announceTag(id, opts.repo, opts.tag);
      containerEvent(this.d, c, 'commit', { comment: opts.comment ?? '', imageID: id, imageRef: opts.repo ? `${opts.repo}${opts.tag ? `:${opts.tag}` : ''}` : '' });
      return id;
    });
  }

  /** What exec needs of a running container: its bundle, runtime, and image layers. */
  execTarget(ref: string): { container: Container; bundle: string; runtimePath: string; runtimeRoot: string; layerDirs: () => Promise<string[]> } {
    const c = this.store.get(ref);
    if (c.state.Paused) throw conflict(`Container ${ref} is paused, unpause the container before exec`);
    if (!c.running || !c.shimDir) throw conflict(`container ${c.id} is not running`);
    return {
      container: c,
      bundle: c.shimDir,
      runtimePath: runtimePath(this.d, c.rec.Runtime),
      runtimeRoot: runtimeRoot(this.d, c.rec.Runtime),
      layerDirs: () => this.d.images.snapshots.layerDirs(c.id),
    };
  }

  /** Rebuilds state at daemon start: reconnects to live shims, records exits that happened while down. */
  async restore(): Promise<void> {
    await restoreContainers(this.d);
    await cleanArchiveSpools(this.d.paths.dataRoot);
    // Option volumes stay mounted only for the containers that still run.
    const running = new Map<string, string[]>();
    for (const c of this.store.all()) {
      if (!c.running) continue;
      for (const m of Object.values(c.rec.MountPoints ?? {})) if (m.Type === 'volume' && m.Name) running.set(m.Name, [...(running.get(m.Name) ?? []), c.id]);
    }
    await this.d.volumes.settleMounts(running);
  }
}
