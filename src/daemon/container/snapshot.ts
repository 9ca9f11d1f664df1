/**
 * What a container's filesystem becomes outside it: `docker diff` (its changes against the
 * image), `docker export` (its whole root filesystem as a tar) and `docker commit` (its
 * writable layer as a new image layer, with OCI whiteouts, on top of its image).
 */
import { failpoint } from '../../lib/failpoint.ts';
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { ContainerConfig } from '../../api/types.ts';
import { conflict, invalidParameter, system } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { parseNormalizedNamed, withDefaultTag, referenceString } from '../../lib/reference.ts';
import { packTree, listChanges, mountPointFiles, mountStubs, type ChangeKind } from '../../store/layer/pack.ts';
import { checkDepth } from '../../store/layer/store.ts';
import { setFrozen } from '../../runtime/freezer.ts';
import { MEDIA, type ImageService } from '../images/service.ts';
import { childConfig, writeChild } from '../images/childimage.ts';
import { mergeCommitConfig, parseChanges } from '../images/changes.ts';
import { ContainerConfigType, type ContainerConfigInput } from '../server/bodies.ts';
import { decodeConfig } from './config.ts';
import { isSet } from './fields.ts';
import { layerWorkers } from '../images/workers.ts';
import type { Container } from './container.ts';

export async function containerChanges(images: ImageService, c: Container): Promise<{ Path: string; Kind: ChangeKind }[]> {
  const [upper, ...lowers] = await images.snapshots.layerDirs(c.id);
  return listChanges(upper, lowers);
}

/** Runs a mount tool; its stderr is the error. */
export function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(system(`${cmd} ${args[0]}: ${err.trim() || `exit status ${code}`}`))));
  });
}

/**
 * The container's root filesystem as a tar: a private read-only overlay of its layers (its
 * own on top), mounted for the duration, so running or not, the container is undisturbed.
 */
export async function exportContainer(images: ImageService, c: Container): Promise<Readable> {
  const target = join(images.snapshots.dir(c.id), `export-${randomBytes(6).toString('hex')}`);
  await mkdir(target, { mode: 0o700 });
  const m = await images.snapshots.readOnlyMountFor(c.id, target);
  try {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,${m.data}`, target], m.cwd);
  } catch (e) {
    await rm(target, { recursive: true, force: true });
    throw e;
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const tarStream = packTree(target);
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await run('umount', [target]).catch(() => run('umount', ['-l', target]).catch((e: unknown) => log.warn('unmounting export view', { target, error: e })));
    await rm(target, { recursive: true, force: true }).catch(() => {});
  };
  tarStream.on('error', (e) => out.destroy(e));
  tarStream.pipe(out);
  out.on('close', () => void cleanup());
  out.on('end', () => void cleanup());
  return out;
}

/**
 * Runs `fn` with the container's root filesystem mounted read-only at a private directory
 * (its own layer over its image's), unmounted afterwards whatever happens.
 */
export async function withReadOnlyRoot<T>(images: ImageService, id: string, fn: (root: string) => Promise<T>): Promise<T> {
  const target = join(images.snapshots.dir(id), `view-${randomBytes(6).toString('hex')}`);
  await mkdir(target, { mode: 0o700 });
  try {
    const m = await images.snapshots.readOnlyMountFor(id, target);
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,${m.data}`, target], m.cwd);
    try {
      return await fn(target);
    } finally {
      await run('umount', [target]).catch(() => run('umount', ['-l', target]).catch((e: unknown) => log.warn('unmounting a root filesystem view', { target, error: e })));
    }
  } finally {
    await rm(target, { recursive: true, force: true }).catch(() => {});
  }
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  author?: string;
  comment?: string;
  changes: string[];
  /** The request body's Config (docker-py's `conf`): its set fields override the container's. */
  config?: ContainerConfigInput;
  pause: boolean;
  /** The container's cgroup path, to freeze it while the layer is taken. */
  cgroupPath: string;
  /** The builder's: the new image's config as it is (not merged), its container_config and history line. */
  build?: { config: Partial<ContainerConfig>; containerConfig: Partial<ContainerConfig>; createdBy: string; mountTargets?: string[] };
}

/** `docker commit`: returns the new image ID. */
export async function commitContainer(images: ImageService, c: Container, opts: CommitOptions): Promise<string> {
  let ref;
  if (opts.repo) {
    ref = parseNormalizedNamed(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
    if (ref.digest) throw invalidParameter('cannot commit to digest reference');
    ref = withDefaultTag(ref);
  }
  // moby: the body's config (else the container's), the --change instructions applied on top.
  const fromBody = opts.config ? Object.fromEntries(Object.entries(decodeConfig(opts.config)).filter(([k, v]) => isSet(v, ContainerConfigType.fields[k as keyof typeof ContainerConfigType.fields]))) : {};
  const changed = mergeCommitConfig(parseChanges(opts.changes, { ...c.rec.Config, ...fromBody }), c.rec.Config);
  const base = images.images.get(c.rec.Image);
  if (!base) throw conflict(`the image of container ${c.name} is gone; it cannot be committed`);
  checkDepth(base.config.rootfs.diff_ids.length + 1);
  const [upper, ...lowers] = await images.snapshots.layerDirs(c.id);
  const exclude = [...(await mountPointFiles(upper, lowers)), ...(opts.build?.mountTargets?.length ? await mountStubs(upper, lowers, opts.build.mountTargets) : [])];
  const { staging, diffDir } = await images.layers.stage();
  const ingestPath = images.content.tempPath();
  let r;
  const frozen = opts.pause && c.running ? await setFrozen(opts.cgroupPath, true).catch(() => false) : false;
  try {
    // The tar of the upper dir is stored and unpacked in one pass, on a worker thread.
    r = await layerWorkers.pack({ pack: upper, exclude, ingestPath, diffDir });
  } catch (e) {
    await images.layers.discard({ staging, diffId: '', size: 0 });
    throw e;
  } finally {
    if (frozen) await setFrozen(opts.cgroupPath, false).catch((e: unknown) => log.warn('thawing container after commit', { id: c.id, error: e }));
  }
  if (await images.content.has(r.digest)) await rm(ingestPath, { force: true });
  else await images.content.commit(ingestPath, r.digest);
  const blob = { digest: r.digest, size: r.size };
  const diffId = r.diffId;
  const size = r.unpackedSize;
  const parentChain = c.rec.ImageChainId || undefined;
  await images.layers.commit({ staging, diffId, size }, parentChain);

  const created = new Date().toISOString();
  const cfg: Partial<ContainerConfig> = opts.build ? opts.build.config : changed;
  const config = childConfig(base.config, {
    created,
    ...(opts.author ? { author: opts.author } : {}),
    ...(opts.comment ? { comment: opts.comment } : {}),
    config: cfg,
    container: c.id,
    containerConfig: opts.build ? opts.build.containerConfig : c.rec.Config,
    createdBy: opts.build ? opts.build.createdBy : [c.rec.Path, ...c.rec.Args].join(' '),
    diffId,
  });
  const made = await writeChild(images.content, base.rec.manifest, config, { mediaType: MEDIA.ociLayerTar, digest: blob.digest, size: blob.size });
  failpoint('commit-before-image');
  await images.images.add(made.config, { manifest: made.manifest, parent: base.rec.id });
  if (ref) await images.images.setRef(referenceString(ref), made.config);
  return made.config;
}
