import type { Platform } from '../../../../lib/platform.ts';
import type { Readable } from 'node:stream';
import type { TarSource } from '../../../../lib/tar/writer.ts';
import type { Duplex } from 'node:stream';
import type { ContainerConfigInput, ContainerCreateInput, ContainerUpdateInput } from '../../bodies.ts';
import type {
  ContainerCreateResponse, ContainerInspect, ContainerStats, ContainerSummary, ContainerWaitResponse, PathStat,
} from '../../../../api/types.ts';

export type { PathStat };

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  tail: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  signal: AbortSignal;
}

/** A log line: `buf[logStart, logEnd)` (+ "\n" when `nl`) is the payload; `buf[timeStart, timeEnd)` the RFC3339Nano time. */
export interface LogChunk {
  stream: 'stdout' | 'stderr';
  buf: Buffer;
  logStart: number;
  logEnd: number;
  nl: boolean;
  timeStart: number;
  timeEnd: number;
  /** The line's attributes for `logs --details`: `k=v,k2=v2`. */
  attrs?: string;
}

/** What the container routes need from the daemon. */
export interface ContainerBackend {
  /** `platform`: the image's must match it. */
  create(req: ContainerCreateInput, name: string | undefined, platform?: Platform): Promise<ContainerCreateResponse>;
  list(opts: { all: boolean; limit: number; filters: Map<string, string[]> }): ContainerSummary[];
  /** Fills SizeRw and SizeRootFs (`ps --size`): walks each container's writable layer. */
  addSizes(list: ContainerSummary[]): Promise<void>;
  /** With `size`, SizeRw and SizeRootFs too (`inspect --size`). */
  inspect(ref: string, size: boolean): Promise<ContainerInspect>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  kill(ref: string, signal: string | undefined): Promise<void>;
  restart(ref: string, opts: { signal?: string; timeout?: number }): Promise<void>;
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  /** DELETE /containers/<parent>/<alias>?link=1. */
  removeLink(name: string): Promise<void>;
  /** Looks the container up now (so a missing one fails before any header is sent) and returns the wait. */
  prepareWait(ref: string, condition: WaitCondition): () => Promise<ContainerWaitResponse>;
  /** Looks the container up and tells whether it has a TTY; throws NotFound. */
  streamInfo(ref: string): { tty: boolean };
  /** Batches of log entries, oldest first. */
  logs(ref: string, opts: LogsOptions): AsyncIterable<LogChunk[]>;
  /** `detachKeys`: docker's key list ("ctrl-p,ctrl-q"); '' means the default. */
  attach(ref: string, stream: Duplex, opts: { stdin: boolean; stdout: boolean; stderr: boolean; detachKeys: string; raw?: boolean }): Promise<void>;
  resize(ref: string, rows: number, cols: number): Promise<void>;
  /** GET /containers/{id}/changes: Kind 0 modified, 1 added, 2 deleted. */
  changes(ref: string): Promise<{ Path: string; Kind: number }[]>;
  /** GET /containers/{id}/export: the root filesystem as a tar. */
  exportFs(ref: string): Promise<Readable>;
  /** HEAD /containers/{id}/archive: the path's stat (X-Docker-Container-Path-Stat). */
  statPath(ref: string, path: string): Promise<PathStat>;
  /** GET /containers/{id}/archive: the stat and a tar of the path. */
  archivePath(ref: string, path: string): Promise<{ stat: PathStat; tar: TarSource }>;
  /** PUT /containers/{id}/archive: a tar (compressed or not) extracted into a directory. */
  extractToDir(ref: string, path: string, body: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
  /** POST /containers/prune. */
  prune(filters: Map<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  /** GET /containers/{id}/top: `ps` with the caller's options, narrowed to the container. */
  top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** POST /containers/{id}/update. */
  update(ref: string, body: ContainerUpdateInput): Promise<{ Warnings: string[] | null }>;
  /** GET /containers/{id}/stats: looks the container up now (404 before headers), then samples. */
  stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncIterable<ContainerStats>;
  /** POST /commit. */
  commit(ref: string, opts: { repo?: string; tag?: string; author?: string; comment?: string; changes: string[]; config?: ContainerConfigInput; pause: boolean }): Promise<string>;
}
