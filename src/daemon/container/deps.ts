/**
 * What every container operation works with: the stores, the daemon's runtime settings and the
 * operations that call one another (a failed start removes an --rm container; an exit starts a
 * restart), late-bound so that no operation's file imports another's in a circle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '../../lib/idmap.ts';
import type { KeyedMutex } from '../../lib/mutex.ts';
import { invalidParameter, system } from '../../errdefs/index.ts';
import type { SeccompBpfCache, SeccompProfiles } from '../../runtime/seccomp.ts';
import type { ShimClient } from '../../runtime/shim.ts';
import type { ImageService } from '../images/service.ts';
import type { VolumeService } from '../volumes/service.ts';
import type { NetworkService } from '../../network/service.ts';
import type { ContainerRecord } from './container.ts';
import type { ContainerStore } from './store.ts';
import type { EventSink } from '../events/service.ts';

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
  /** The default log driver and options (daemon.json log-driver/log-opts, --log-driver/--log-opt). */
  logConfig?: { Type: string; Config: Record<string, string> };
  /** userns-remap: containers run in a user namespace with these mappings (layers are stored shifted). */
  idmap?: IdMapping;
}

export interface ContainerPaths {
  dataRoot: string;
  execRoot: string;
}

/** A client that attached before the start: connected once the shim is up. */
export interface PendingAttach {
  flags: string;
  connect: (shim: ShimClient) => Promise<void>;
}

export interface ContainerDeps {
  readonly store: ContainerStore;
  readonly paths: ContainerPaths;
  readonly rt: RuntimeSettings;
  readonly images: ImageService;
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  readonly locks: KeyedMutex;
  readonly pending: Map<string, PendingAttach[]>;
  readonly removedListeners: ((id: string) => void)[];
  readonly events: EventSink;
  /** Set when berthd is going down: no policy restarts and no probes start any more. */
  shuttingDown: boolean;
  /** The operations others call back into. */
  readonly ops: {
    start(ref: string): Promise<void>;
    remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void>;
    /** Runs a health probe as an exec (set by the daemon once execs exist). */
    probe?: (containerId: string, cmd: string[], timeoutMs: number, maxOutput: number) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  };
}

/** The monitor's directory under the exec root: bundle, sockets, exit.json. */
export function shimDir(d: ContainerDeps, id: string): string {
  return join(d.paths.execRoot, 'c', id);
}

/** The runtime's own state directory (its --root). */
export function runtimeRoot(d: ContainerDeps, runtime: string): string {
  return join(d.paths.execRoot, 'runtime', runtime);
}

/** True when the container runs in a user namespace of its own (userns-remap, not --userns=host). */
export function remapped(d: ContainerDeps, h: ContainerRecord['HostConfig']): boolean {
  return d.rt.idmap !== undefined && h.UsernsMode !== 'host';
}

export function runtimePath(d: ContainerDeps, name: string): string {
  const p = d.rt.runtimes[name];
  if (!p) throw invalidParameter(`unknown or invalid runtime name: ${name}`);
  if (!existsSync(p)) throw system(`OCI runtime "${name}" cannot be used: its binary ${p} is missing (install it or fix "runtimes" in daemon.json)`);
  return p;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
