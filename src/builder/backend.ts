/**
 * What the builder needs from the daemon: images (resolve, pull, commit, the cache's child
 * lookup, tag), and containers to run RUN in and copy files into. The daemon implements it
 * (src/daemon/build/backend.ts); the builder sees nothing else.
 */
import type { Readable } from 'node:stream';
import type { BuildRunHost, ContainerConfig, ImageConfigFile } from '../api/types.ts';

export type RunConfig = Partial<ContainerConfig>;

export interface BuildImage {
  /** sha256:… */
  id: string;
  config: ImageConfigFile;
}

/** A mount of one RUN step's container: a host directory bound in, or a tmpfs. */
export type StepMount = { type: 'bind'; source: string; target: string; readOnly: boolean } | { type: 'tmpfs'; target: string; size?: number };

export interface BuildBackend {
  /** A local image; undefined when there is none. */
  image(ref: string): BuildImage | undefined;
  /** Pulls `ref`, writing docker's progress lines to `out`. */
  pull(ref: string, out: (line: string) => void): Promise<BuildImage>;
  /** An image whose parent is `parent` and whose container_config is `cacheKey` (docker's cache). */
  cached(parent: string | undefined, cacheKey: RunConfig): BuildImage | undefined;
  /** Whether `ancestor` is `id` or one of its parents (the local parent links). */
  isAncestor(ancestor: string, id: string): boolean;
  /** --cache-from: `id` (a source matched at its last step) gets `parent` as its parent. */
  adoptParent(id: string, parent: string): Promise<void>;
  /**
   * --cache-from: the image `source` had after its history entry `index`, rebuilt over
   * `parent`: the parent's layers plus the one that entry made (if any), that history entry,
   * `config`, and `cacheKey` as its container config. Undefined when the source's layer is not
   * at hand (an image without a manifest).
   */
  restoreCached(parent: BuildImage | undefined, source: BuildImage, index: number, config: RunConfig, cacheKey: RunConfig): Promise<BuildImage | undefined>;
  /** A new image: the parent's layers and `config`, with one history entry (no new layer). `author`: MAINTAINER's. */
  commitConfig(parent: BuildImage | undefined, config: RunConfig, cacheKey: RunConfig, createdBy: string, author?: string): Promise<BuildImage>;
  /** A container of `image` (the empty one for scratch) with `config`, not started; `mounts`: RUN --mount's. */
  createContainer(image: BuildImage | undefined, config: RunConfig, host: { networkMode: string; extraHosts: string[]; shmSize: number; runHost?: BuildRunHost; mounts?: StepMount[]; secretEnv?: string[] }): Promise<string>;
  /** A tar unpacked into a directory of its own on the daemon's host, for a bind mount of one step. */
  materialize(tar: Readable): Promise<string>;
  /** A secret's value in a file `<dir>/secret` of a new directory (on the exec root: not on disk where it can be), with `mode`, `uid`, `gid`; returns the directory. */
  secretFile(value: Buffer, mode: number, uid: number, gid: number): Promise<string>;
  /**
   * ADD of a git repository: `ref` (a branch, tag or commit; the remote's HEAD when absent)
   * fetched from `url`, its commit, and its tree (or `subdir`'s) as a tar with every entry
   * under `prefix/` (with `keepGitDir`, the checkout and its .git). `remove` drops what was fetched.
   */
  gitSource(url: string, ref: string | undefined, subdir: string | undefined, keepGitDir?: boolean): Promise<{ commit: string; archive: (prefix: string) => Promise<Readable>; remove: () => Promise<void> }>;
  /** A directory `materialize` or `secretFile` made, removed. */
  discard(dir: string): Promise<void>;
  /** The host directory of a cache mount (`RUN --mount=type=cache`), made with `mode`, `uid`, `gid` the first time. */
  cacheDir(id: string, mode: number, uid: number, gid: number): Promise<string>;
  /** Starts the container with its output going to `out`; resolves with its exit code. */
  run(id: string, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<number>;
  /** Extracts a tar into the container at `dir` (docker's PUT archive, owners as in the tar). */
  copyInto(id: string, dir: string, tar: Readable): Promise<void>;
  /** What is at `path` in the container: a directory, something else, or nothing. */
  stat(id: string, path: string): Promise<'dir' | 'other' | undefined>;
  /** `path` in the container as a tar (docker's GET archive), for COPY --from. */
  archive(id: string, path: string): Promise<Readable>;
  /** The container's changes as a new image over `parent`, with `config`; the stubs made for mounts at `mountTargets` left out. */
  commit(id: string, parent: BuildImage | undefined, config: RunConfig, cacheKey: RunConfig, createdBy: string, author?: string, mountTargets?: string[]): Promise<BuildImage>;
  removeContainer(id: string): Promise<void>;
  /** The container stays after the build (rm=false), and after a crash of the daemon. */
  keepContainer(id: string): Promise<void>;
  /** What is at `path` in the container's image layers (symlinks not followed), or nothing. */
  pathInfo(id: string, path: string): Promise<{ type: 'dir' | 'file' | 'symlink' | 'other'; mode: number; uid: number; gid: number; mtime: Date } | undefined>;
  /** A tar as a new layer over `parent`'s, with `config` (COPY without a container diff). */
  commitTar(parent: BuildImage | undefined, tar: Readable, config: RunConfig, cacheKey: RunConfig, createdBy: string, author?: string): Promise<BuildImage>;
  /** uid and gid of `user[:group]` as the image's /etc/passwd and /etc/group say. */
  lookupUser(id: string, spec: string): Promise<{ uid: number; gid: number }>;
  tag(id: string, ref: string): Promise<void>;
}
