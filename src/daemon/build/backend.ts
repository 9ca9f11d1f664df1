/**
 * The builder's backend over the daemon's services: images from the image service (the cache
 * is its parent/child index and each image's container_config), containers from the
 * container service (created, attached, started, archived into, committed and removed as any
 * client would), pulls through the daemon's pull.
 *
 * RUN --mount's host side: a cache mount is <cache-mounts>/<sha256 of its id>, kept across
 * builds until `builder prune`; a bind mount's source is unpacked into <tmp>/build-mount-XXXXXX
 * (removed after the step, and at start with the rest of <tmp>/build-*); a secret's value is a
 * file in <exec-root>/build-secrets/secret-XXXXXX (the exec root is a tmpfs on a host),
 * removed after the step, and at start.
 */
import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { runCommand } from '../../lib/spawner.ts';
import { applyTar } from '../../store/layer/apply.ts';
import { spawnFsOps } from '../../store/layer/fsops.ts';
import { layerIdMapping } from '../../lib/idmap.ts';
import type { BuildRunHost, ContainerConfig, ImageConfigFile } from '../../api/types.ts';
import type { BuildBackend, BuildImage, RunConfig, StepMount } from '../../builder/backend.ts';
import { layerOfHistory } from '../../builder/cachefrom.ts';
import type { Descriptor } from '../../distribution/media.ts';
import { invalidParameter, isNotFound, notFound } from '../../errdefs/index.ts';
import type { ContainerService } from '../container/service.ts';
import type { ImageService } from '../images/service.ts';
import { childConfig, writeChild } from '../images/childimage.ts';

const GO_MODE_DIR = 0x80000000;

/** Fields of container_config the cache compares (moby's image cache compare()). */
function cacheView(c: RunConfig | undefined): string {
  const v = c ?? {};
  return JSON.stringify([v.Cmd ?? null, v.Entrypoint ?? null, v.Env ?? null, v.Labels ?? {}, Object.keys(v.ExposedPorts ?? {}).sort(), Object.keys(v.Volumes ?? {}).sort(),
    v.WorkingDir ?? '', v.User ?? '', v.OnBuild ?? null, v.Shell ?? null, v.Healthcheck ?? null, v.StopSignal ?? '']);
}

/** A step's mount as a container's HostConfig.Mounts entry. */
function toMount(m: StepMount): { Type: 'bind' | 'tmpfs'; Source?: string; Target: string; ReadOnly?: boolean; TmpfsOptions?: { SizeBytes: number } } {
  if (m.type === 'tmpfs') return { Type: 'tmpfs', Target: m.target, ...(m.size !== undefined ? { TmpfsOptions: { SizeBytes: m.size } } : {}) };
  return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly };
}

export class DaemonBuildBackend implements BuildBackend {
  private readonly images: ImageService;
  private readonly containers: ContainerService;
  private readonly pullImage: (ref: string, out: (line: string) => void, signal: AbortSignal) => Promise<void>;
  private readonly signal: AbortSignal;
  private scratch: BuildImage | undefined;
  /** Containers this build made: all removed at the end, whatever happened. */
  readonly made = new Set<string>();

  /** Notes a container as it is made ("-ID" once it is kept), for the next start to remove if the daemon dies. */
  private readonly note: (id: string) => Promise<void>;

  /** Where bind sources are unpacked (<tmp>) and cache mounts live. */
  private readonly dirs: { tmp: string; cacheMounts: string; secrets: string };

  constructor(images: ImageService, containers: ContainerService, pull: (ref: string, out: (line: string) => void, signal: AbortSignal) => Promise<void>, signal: AbortSignal, note: (id: string) => Promise<void>, dirs: { tmp: string; cacheMounts: string; secrets: string }) {
    this.note = note;
    this.dirs = dirs;
    this.images = images;
    this.containers = containers;
    this.pullImage = pull;
    this.signal = signal;
  }

  image(ref: string): BuildImage | undefined {
    try {
      const img = this.images.lookup(ref);
      return { id: img.rec.id, config: img.config };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async pull(ref: string, out: (line: string) => void): Promise<BuildImage> {
    await this.pullImage(ref, out, this.signal);
    const img = this.image(ref);
    if (!img) throw notFound(`No such image: ${ref}`);
    return img;
  }

  cached(parent: string | undefined, key: RunConfig): BuildImage | undefined {
    const want = cacheView(key);
    let best: BuildImage | undefined;
    for (const img of this.images.images.all()) {
      if ((img.rec.parent || undefined) !== parent) continue;
      if (cacheView(img.config.container_config) !== want) continue;
      // The newest match, as moby's cache picks.
      if (!best || (img.config.created ?? '') > (best.config.created ?? '')) best = { id: img.rec.id, config: img.config };
    }
    return best;
  }

  isAncestor(ancestor: string, id: string): boolean {
    const seen = new Set<string>();
    for (let cur: string | undefined = id; cur && !seen.has(cur); cur = this.images.images.get(cur)?.rec.parent || undefined) {
      if (cur === ancestor) return true;
      seen.add(cur);
    }
    return false;
  }

  async adoptParent(id: string, parent: string): Promise<void> {
    const img = this.images.images.get(id);
    if (!img || img.rec.parent === parent || this.isAncestor(id, parent)) return;
    img.rec.parent = parent;
    await this.images.images.update(img);
  }

  async restoreCached(parent: BuildImage | undefined, source: BuildImage, index: number, config: RunConfig, key: RunConfig): Promise<BuildImage | undefined> {
    const images = this.images;
    const src = images.images.get(source.id);
    const entry = source.config.history?.[index];
    if (!src?.rec.manifest || !entry) return undefined;
    return images.track(async () => {
      const parentImg = parent ? images.images.get(parent.id) : undefined;
      const li = layerOfHistory(source.config, index);
      let layer: Descriptor | undefined;
      const diffIds = [...(parent?.config.rootfs.diff_ids ?? [])];
      if (li !== undefined) {
        layer = ((await images.content.readJson(src.rec.manifest!)) as { layers: Descriptor[] }).layers[li];
        if (!layer) return undefined;
        diffIds.push(source.config.rootfs.diff_ids[li]);
      }
      // moby's restoreCachedImage: the parent's history and the source's entry, the source's platform.
      const file: ImageConfigFile = {
        architecture: source.config.architecture,
        os: source.config.os,
        ...(source.config.variant ? { variant: source.config.variant } : {}),
        ...(entry.created ? { created: entry.created } : {}),
        ...(source.config.author ? { author: source.config.author } : {}),
        config: config as Partial<ContainerConfig>,
        container_config: key as Partial<ContainerConfig>,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [...(parent?.config.history ?? []), entry],
      };
      const made = await writeChild(images.content, parentImg?.rec.manifest, file, layer);
      await images.images.add(made.config, { manifest: made.manifest, ...(parent ? { parent: parent.id } : {}) });
      return { id: made.config, config: file };
    });
  }

  async commitConfig(parent: BuildImage | undefined, config: RunConfig, key: RunConfig, createdBy: string, author?: string): Promise<BuildImage> {
    const file = childConfig(parent?.config, { created: new Date().toISOString(), ...(author ? { author } : {}), config: config as Partial<ContainerConfig>, containerConfig: key as Partial<ContainerConfig>, createdBy });
    const images = this.images;
    return images.track(async () => {
      const parentImg = parent ? images.images.get(parent.id) : undefined;
      const made = await writeChild(images.content, parentImg?.rec.manifest, file);
      await images.images.add(made.config, { manifest: made.manifest, ...(parent ? { parent: parent.id } : {}) });
      return { id: made.config, config: file };
    });
  }

  async createContainer(image: BuildImage | undefined, config: RunConfig, host: { networkMode: string; extraHosts: string[]; shmSize: number; runHost?: BuildRunHost; mounts?: StepMount[]; secretEnv?: string[] }): Promise<string> {
    const base = image ?? (this.scratch ??= await this.commitConfig(undefined, {}, { Cmd: ['/bin/sh', '-c', '#(nop) FROM scratch'] }, ''));
    const { Id } = await this.containers.create({
      ...config,
      Image: base.id,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        ...(host.runHost ?? {}),
        NetworkMode: host.networkMode,
        ...(host.extraHosts.length ? { ExtraHosts: host.extraHosts } : {}),
        ...(host.shmSize ? { ShmSize: host.shmSize } : {}),
        ...(host.mounts?.length ? { Mounts: host.mounts.map(toMount) } : {}),
      },
    } as Parameters<ContainerService['create']>[0], undefined);
    // a secret's variable reaches the process only, never the container's record on disk
    if (host.secretEnv?.length) this.containers.get(Id).unrecordedEnv = host.secretEnv;
    this.made.add(Id);
    await this.note(Id);
    return Id;
  }

  async materialize(tar: Readable): Promise<string> {
    await mkdir(this.dirs.tmp, { recursive: true });
    const dir = await mkdtemp(join(this.dirs.tmp, 'build-mount-'));
    try {
      await applyTar(tar, dir, spawnFsOps, { hash: false });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return dir;
  }

  async secretFile(value: Buffer, mode: number, uid: number, gid: number): Promise<string> {
    await mkdir(this.dirs.secrets, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.dirs.secrets, 'secret-'));
    const file = join(dir, 'secret');
    const owner = layerIdMapping()?.toHost(uid, gid) ?? { uid, gid };
    try {
      await writeFile(file, value, { mode: 0o600 });
      await chown(file, owner.uid, owner.gid);
      await chmod(file, mode);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return dir;
  }

  async gitSource(url: string, ref: string | undefined, subdir: string | undefined, keepGitDir = false): Promise<{ commit: string; archive: (prefix: string) => Promise<Readable>; remove: () => Promise<void> }> {
    await mkdir(this.dirs.tmp, { recursive: true });
    const dir = await mkdtemp(join(this.dirs.tmp, 'build-git-'));
    const remove = () => rm(dir, { recursive: true, force: true });
    const git = async (args: string[]) => {
      const r = await runCommand('git', ['-C', dir, ...args], '', 300_000).catch((e: Error) => {
        throw invalidParameter(`ADD failed: cannot run git (${e.message}): ADD of a repository needs git on the daemon's host`);
      });
      if (r.code !== 0) throw invalidParameter(`ADD failed: git ${args[0]} ${url}${ref ? `#${ref}` : ''}: ${r.stderr.trim() || `exit status ${r.code ?? r.signal}`}`);
      return r.stdout.trim();
    };
    try {
      await git(['init', '-q']);
      await git(['remote', 'add', 'origin', url]);
      // only what is asked for: one commit, no history
      await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', ref || 'HEAD']);
      const commit = await git(['rev-parse', 'FETCH_HEAD']);
      const tree = subdir ? `${commit}:${subdir.replace(/^\/+|\/+$/g, '')}` : commit;
      await git(['cat-file', '-e', tree]).catch(() => {
        throw invalidParameter(`ADD failed: ${subdir} is not a directory of ${url} at ${commit.slice(0, 12)}`);
      });
      if (keepGitDir) {
        // the work tree and its .git, HEAD detached at the commit (BuildKit's --keep-git-dir)
        await git(['checkout', '-q', '--detach', 'FETCH_HEAD']);
        const archive = async (prefix: string): Promise<Readable> => spawn('tar', ['-C', dir, '-cf', '-', `--transform=s,^\\.,${prefix},`, '.'], { stdio: ['ignore', 'pipe', 'ignore'] }).stdout;
        return { commit, archive, remove };
      }
      const archive = async (prefix: string): Promise<Readable> => {
        const p = spawn('git', ['-C', dir, 'archive', '--format=tar', `--prefix=${prefix}/`, tree], { stdio: ['ignore', 'pipe', 'ignore'] });
        return p.stdout;
      };
      return { commit, archive, remove };
    } catch (e) {
      await remove();
      throw e;
    }
  }

  async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  async cacheDir(id: string, mode: number, uid: number, gid: number): Promise<string> {
    const dir = join(this.dirs.cacheMounts, createHash('sha256').update(id).digest('hex'));
    await mkdir(this.dirs.cacheMounts, { recursive: true, mode: 0o700 });
    // Made once, with the mount's mode and owner (as the containers see them under userns-remap).
    if (await mkdir(dir, { mode }).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false;
      throw e;
    })) {
      const owner = layerIdMapping()?.toHost(uid, gid) ?? { uid, gid };
      await chmod(dir, mode);
      await chown(dir, owner.uid, owner.gid);
    } else {
      // its time is its last use, for `builder prune --filter until=…`
      const now = new Date();
      await utimes(dir, now, now);
    }
    return dir;
  }

  async run(id: string, out: (chunk: Buffer) => void, signal: AbortSignal): Promise<number> {
    const c = this.containers.get(id);
    const exited = this.containers.waitFor(c, 'next-exit');
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => out(d));
    const attached = this.containers.attach(id, stream, { stdin: false, stdout: true, stderr: true, raw: true });
    const abort = () => void this.containers.kill(id, 'SIGKILL').catch(() => {});
    signal.addEventListener('abort', abort);
    try {
      await this.containers.start(id);
      // Cancelled while it was starting (a kill then finds nothing running): now it runs.
      if (signal.aborted) abort();
      const r = await exited;
      await attached.catch(() => {});
      return r.exitCode;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  copyInto(id: string, dir: string, tar: Readable): Promise<void> {
    return this.containers.extractToDir(id, dir, tar, { noOverwriteDirNonDir: false, copyUIDGID: true });
  }

  async stat(id: string, path: string): Promise<'dir' | 'other' | undefined> {
    try {
      const st = await this.containers.statPath(id, path);
      return st.mode & GO_MODE_DIR ? 'dir' : 'other';
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async archive(id: string, path: string): Promise<Readable> {
    return (await this.containers.archivePath(id, path)).tar.stream();
  }

  async commit(id: string, _parent: BuildImage | undefined, config: RunConfig, key: RunConfig, createdBy: string, author?: string, mountTargets?: string[]): Promise<BuildImage> {
    const imageId = await this.containers.commit(id, { changes: [], pause: false, ...(author ? { author } : {}), build: { config: config as Partial<ContainerConfig>, containerConfig: key as Partial<ContainerConfig>, createdBy, ...(mountTargets?.length ? { mountTargets } : {}) } });
    const img = this.images.images.get(imageId)!;
    return { id: imageId, config: img.config };
  }

  pathInfo(id: string, path: string): Promise<{ type: 'dir' | 'file' | 'symlink' | 'other'; mode: number; uid: number; gid: number; mtime: Date } | undefined> {
    return this.containers.layerPathInfo(id, path);
  }

  async commitTar(parent: BuildImage | undefined, tar: Readable, config: RunConfig, key: RunConfig, createdBy: string, author?: string): Promise<BuildImage> {
    const id = await this.images.track(() => this.images.commitLayer(parent?.id, tar, config as Partial<ContainerConfig>, key as Partial<ContainerConfig>, createdBy, author));
    return { id, config: this.images.images.get(id)!.config };
  }

  async removeContainer(id: string): Promise<void> {
    await this.containers.remove(id, { force: true, volumes: true });
    this.made.delete(id);
  }

  async keepContainer(id: string): Promise<void> {
    await this.note(`-${id}`);
    this.made.delete(id);
  }

  lookupUser(id: string, spec: string): Promise<{ uid: number; gid: number }> {
    return this.containers.userOf(id, spec.includes(':') ? spec : `${spec}:${spec}`);
  }

  async tag(id: string, ref: string): Promise<void> {
    await this.images.tag(id, ref);
  }
}
