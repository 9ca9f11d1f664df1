/**
 * The container model: configuration (what the user asked for, fixed at create) and state
 * (what is happening, changed only through the transition methods below, which enforce the
 * state machine created → running ⇄ paused → exited → (running | removing)).
 *
 * Persisted as <data-root>/containers/<id>/config.v2.json (see store.ts for the layout).
 */
import type { ContainerConfig, ContainerState, HostConfig } from '../../api/types.ts';
import { conflict } from '../../errdefs/index.ts';
import type { EndpointRecord } from '../../network/service.ts';
import type { PublishedPort } from '../../network/ports.ts';
import type { MountPointRecord } from './mountspec.ts';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ContainerRecord {
  version: 1;
  ID: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  /** Image ID (config digest). */
  Image: string;
  /** Chain ID of the image's top layer (the container layer's parent), or '' for none. */
  ImageChainId: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  LogPath: string;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  /** Runtime that runs it (crun/runc); fixed at create like docker's HostConfig.Runtime. */
  Runtime: string;
  /** True while an explicit stop is in progress, so the exit isn't treated as a crash. */
  HasBeenManuallyStopped: boolean;
  /** Volumes, binds and --mount tmpfs, by destination (absent in records made before volumes). */
  MountPoints?: Record<string, MountPointRecord>;
  /**
   * The networks it is on, by name: what create asked for each, and the endpoint while it runs
   * (absent in records made before networks: the container's NetworkMode is its one network).
   */
  Networks?: Record<string, EndpointRecord>;
  /** Its network namespace's file while it runs with networks of its own. */
  SandboxKey?: string;
  /** The ports published while it runs (absent when it is not running). */
  PublishedPorts?: PublishedPort[];
}

export function newState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface Waiter {
  condition: WaitCondition;
  resolve: (r: { exitCode: number; error?: string }) => void;
}

export class Container {
  rec: ContainerRecord;
  /** Set while berthd has a shim for it (running or paused). */
  shimDir: string | undefined;
  /** Bumped on every start so that a stale exit notification is ignored. */
  generation = 0;
  private waiters: Waiter[] = [];
  removed = false;
  /** A pending restart-policy restart, and the current back-off. */
  restartTimer: NodeJS.Timeout | undefined;
  /** A policy restart's start under way: stop and kill wait for it, then act on what it made. */
  restartInFlight: Promise<void> | undefined;
  restartDelay = 50;
  /** The next health probe, while a health check runs. */
  healthTimer: NodeJS.Timeout | undefined;
  /**
   * Variables its process gets that are never written to its record (a build's secrets as
   * `RUN --mount=type=secret,env=…`): held in memory only, given to every start.
   */
  unrecordedEnv: string[] | undefined;
  /** The connection carrying its DNS queries from its monitor (on macvlan/ipvlan networks). */
  dnsRelay: { destroyed: boolean; destroy(): void } | undefined;

  constructor(rec: ContainerRecord) {
    this.rec = rec;
  }

  get id(): string {
    return this.rec.ID;
  }

  /** Name without the leading slash. */
  get name(): string {
    return this.rec.Name.replace(/^\//, '');
  }

  get state(): ContainerState {
    return this.rec.State;
  }

  get running(): boolean {
    return this.rec.State.Running;
  }

  /** docker's `State.String()`-like one-word status for filters. */
  get status(): ContainerState['Status'] {
    return this.rec.State.Status;
  }

  setRunning(pid: number, startedAt: string): void {
    const s = this.rec.State;
    Object.assign(s, {
      Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false,
      Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: startedAt,
    } satisfies Partial<ContainerState>);
    this.rec.HasBeenManuallyStopped = false;
  }

  setStopped(exit: { exitCode: number; exitedAt: string; oomKilled: boolean; error?: string }): void {
    const s = this.rec.State;
    Object.assign(s, {
      Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: exit.oomKilled,
      Pid: 0, ExitCode: exit.exitCode, FinishedAt: exit.exitedAt, Error: exit.error ?? '',
    } satisfies Partial<ContainerState>);
    this.notify(['not-running', 'next-exit'], exit.exitCode);
  }

  /** Waiting out a restart policy's back-off: docker shows it as restarting until it runs again. */
  setRestarting(): void {
    this.rec.State.Restarting = true;
    this.rec.State.Status = 'restarting';
  }

  /** A start that failed after create: docker shows such a container as created with an error. */
  setStartFailed(error: string, exitCode: number): void {
    const s = this.rec.State;
    s.Error = error;
    s.ExitCode = exitCode;
    s.Restarting = false;
    if (s.Status !== 'created') {
      s.Status = 'exited';
      s.FinishedAt = new Date().toISOString();
    }
    this.notify(['not-running', 'next-exit'], exitCode);
  }

  setPaused(paused: boolean): void {
    this.rec.State.Paused = paused;
    this.rec.State.Status = paused ? 'paused' : 'running';
  }

  setRemoving(): void {
    if (this.rec.State.Status === 'removing') throw conflict(`removal of container ${this.name} is already in progress`);
    this.rec.State.Status = 'removing';
  }

  setRemoved(): void {
    this.removed = true;
    this.notify(['not-running', 'next-exit', 'removed'], this.rec.State.ExitCode);
  }

  /**
   * Waits for a condition. `not-running` resolves at once if the container isn't running;
   * `next-exit` always waits for an exit; `removed` waits for removal.
   */
  wait(condition: WaitCondition): Promise<{ exitCode: number; error?: string }> {
    if (condition === 'not-running' && !this.running) return Promise.resolve({ exitCode: this.rec.State.ExitCode });
    if (this.removed) return Promise.resolve({ exitCode: this.rec.State.ExitCode });
    return new Promise((resolve) => this.waiters.push({ condition, resolve }));
  }

  private notify(conditions: WaitCondition[], exitCode: number): void {
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (conditions.includes(w.condition)) w.resolve({ exitCode });
      else keep.push(w);
    }
    this.waiters = keep;
  }
}
