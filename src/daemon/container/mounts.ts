/**
 * A container's mounts over its life: planned at create (moby's registerMountPoints order:
 * --volumes-from, then -v, then --mount, then the image's and the request's anonymous
 * volumes), volumes created and filled from the image (copy-up) then; bound into the spec at
 * start; anonymous volumes removed with the container when asked (`rm -v`, `--rm`).
 */
import { runChecked } from '../../lib/spawner.ts';
import { existsSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ContainerConfig, HostConfig, MountPoint } from '../../api/types.ts';
import { EngineError, invalidParameter, messageOf, notFound, system } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import type { OciMount } from '../../runtime/spec.ts';
import type { VolumeService } from '../volumes/service.ts';
import type { ContainerRecord } from './container.ts';
import type { ContainerDeps } from './deps.ts';
import { FsView } from './fsview.ts';
import { withReadOnlyRoot } from './snapshot.ts';
import { checkTmpfsTargets, parseBind, parseMount, parseVolumesFrom, tmpfsOptions, type MountPointRecord } from './mountspec.ts';

export type { MountPointRecord } from './mountspec.ts';

/**
 * A bind that holds the data root (or is inside it) shares mounts made there later, rslave,
 * unless asked otherwise; another propagation is refused (moby's validateBindDaemonRoot).
 */
function daemonRootPropagation(dataRoot: string, r: { point: MountPointRecord; defaultPropagation?: boolean }): void {
  const src = r.point.Source;
  const within = src === dataRoot || src.startsWith(`${dataRoot}/`) || dataRoot.startsWith(src === '/' ? '/' : `${src}/`);
  if (r.point.Type !== 'bind' || !within) return;
  if (r.defaultPropagation) {
    r.point.Propagation = 'rslave';
    return;
  }
  if (!['rslave', 'rshared'].includes(r.point.Propagation)) {
    throw invalidParameter(`invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: "${dataRoot}", bind mount source: "${src}", propagation: "${r.point.Propagation}"`);
  }
}

/** The mount points of a new container, keyed by destination; volumes not created yet. */
export function planMounts(d: ContainerDeps, h: HostConfig, config: ContainerConfig): Map<string, MountPointRecord> {
  const points = new Map<string, MountPointRecord>();
  if (h.VolumeDriver && h.VolumeDriver !== 'local') throw notFound(`error looking up volume plugin ${h.VolumeDriver}: plugin "${h.VolumeDriver}" not found`);
  const tmpfs = h.Tmpfs ?? {};
  checkTmpfsTargets(tmpfs);
  for (const t of Object.keys(tmpfs)) tmpfsOptions(tmpfs[t]);
  for (const spec of h.VolumesFrom ?? []) {
    const { id, rw } = parseVolumesFrom(spec);
    const from = d.store.tryGet(id);
    if (!from) throw invalidParameter(`No such container: ${id}`);
    for (const m of Object.values(from.rec.MountPoints ?? {})) {
      // A copy: the same volume or bind, docker's mode dropped, read-only if either says so.
      const copy: MountPointRecord = { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: '', RW: m.RW && rw, Propagation: m.Propagation };
      if (m.Name) copy.Name = m.Name;
      if (m.Driver) copy.Driver = m.Driver;
      if (m.TmpfsData !== undefined) copy.TmpfsData = m.TmpfsData;
      if (m.NonRecursive) copy.NonRecursive = true;
      if (m.Anonymous) copy.Anonymous = true;
      points.set(m.Destination, copy);
    }
  }
  const binds = new Set<string>();
  for (const raw of h.Binds ?? []) {
    const r = parseBind(raw, h.VolumeDriver);
    daemonRootPropagation(d.paths.dataRoot, r);
    const dest = r.point.Destination;
    if (binds.has(dest) || dest in tmpfs) throw invalidParameter(`Duplicate mount point: ${dest}`);
    binds.add(dest);
    points.set(dest, r.point);
  }
  const fromMounts = new Set<string>();
  for (const m of h.Mounts ?? []) {
    const r = parseMount(m, existsSync);
    daemonRootPropagation(d.paths.dataRoot, r);
    const dest = r.point.Destination;
    if (binds.has(dest) || fromMounts.has(dest)) throw invalidParameter(`Duplicate mount point: ${r.rawTarget}`);
    fromMounts.add(dest);
    points.set(dest, r.point);
  }
  for (const raw of Object.keys(config.Volumes ?? {})) {
    const dest = raw.replace(/(.)\/+$/, '$1');
    if (points.has(dest) || dest in tmpfs) continue;
    if (!dest.startsWith('/')) throw invalidParameter(`invalid mount path: '${raw}' mount path must be absolute`);
    if (dest === '/') throw invalidParameter("invalid specification: destination can't be '/'");
    points.set(dest, { Type: 'volume', Source: '', Destination: dest, Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true, CopyData: true });
  }
  return points;
}

/** What create made for the mounts, to be undone if the create fails. */
export interface MountsMade {
  /** Releases the holds on the volumes (once the container's record refers to them). */
  release(): void;
  /** Removes the anonymous volumes made (a failed create). */
  undo(): Promise<void>;
}

/**
 * Creates the volumes the mount points name (a named one on first use, with the --mount
 * labels and options if it is new; an anonymous one with a random name), holding each until
 * the container's record refers to it.
 */
export async function createVolumes(volumes: VolumeService, points: Map<string, MountPointRecord>): Promise<MountsMade> {
  const holds: (() => void)[] = [];
  const anonymous: string[] = [];
  const made: MountsMade = {
    release: () => holds.forEach((h) => h()),
    undo: async () => {
      made.release();
      for (const n of anonymous) await volumes.remove(n, true).catch((e: unknown) => log.warn('removing a volume of a failed create', { volume: n, error: e }));
    },
  };
  try {
    for (const p of points.values()) {
      if (p.Type !== 'volume') continue;
      if (p.Name) {
        holds.push(volumes.hold(p.Name));
        await volumes.create({ Name: p.Name, Labels: p.VolumeLabels ?? null, DriverOpts: p.VolumeOptions ?? null });
      } else {
        const v = await volumes.create({ Labels: p.VolumeLabels ?? null, DriverOpts: p.VolumeOptions ?? null });
        holds.push(volumes.hold(v.Name));
        anonymous.push(v.Name);
        p.Name = v.Name;
      }
      p.Source = volumes.path(p.Name);
      delete p.VolumeLabels;
      delete p.VolumeOptions;
    }
  } catch (e) {
    await made.undo();
    throw e;
  }
  return made;
}

/**
 * docker's copy-up: an empty volume mounted where the image has a directory is first filled
 * with that directory (owner, mode, times, links, xattrs). `root` is the container's root
 * filesystem, read-only; mount points are resolved inside it (a symlink in the image is
 * followed within the image). A volume mounted over a file in the image is refused.
 */
export async function populateVolumes(volumes: VolumeService, root: string, points: Map<string, MountPointRecord>, id: string): Promise<void> {
  for (const p of points.values()) {
    if (p.Type !== 'volume' || !p.Name) continue;
    const inImage = posix.join(root, await new FsView(root, [], false).resolve(p.Destination, { lenient: true }));
    const st = await lstat(inImage).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) {
      if (p.Anonymous && p.CopyData && p.Mode === '') throw invalidParameter(`cannot mount volume over existing file, file exists ${inImage}`);
      continue;
    }
    if (!p.CopyData || !(await volumes.isEmpty(p.Name))) continue;
    const target = await volumes.activate(p.Name, id);
    try {
      await runChecked('cp', ['-a', '--', `${inImage}/.`, `${target}/`], '', 'failed to populate volume');
    } finally {
      await volumes.deactivate(id);
    }
  }
}

/** True when create must look into the image (copy-up, or a volume over a file). */
export function needsImageView(points: Map<string, MountPointRecord>): boolean {
  return [...points.values()].some((p) => p.Type === 'volume' && p.CopyData);
}

/**
 * The spec's user mounts, shallowest first: volumes (mounted first if they have driver
 * options), binds (a -v source created if missing, as docker does), tmpfs.
 */
export async function specMounts(d: ContainerDeps, rec: ContainerRecord): Promise<OciMount[]> {
  const out: OciMount[] = [];
  for (const p of Object.values(rec.MountPoints ?? {})) {
    if (p.Type === 'tmpfs') {
      out.push({ destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(p.TmpfsData ?? '') });
      continue;
    }
    let source = p.Source;
    if (p.Type === 'volume') {
      source = await d.volumes.activate(p.Name!, rec.ID);
      d.events('volume', 'mount', p.Name!, { container: rec.ID, destination: p.Destination, driver: p.Driver || 'local', propagation: p.Propagation ?? '', 'read/write': String(p.RW) });
    }
    else if (p.CreateSource && !existsSync(source)) {
      try {
        await mkdir(source, { recursive: true, mode: 0o755 });
      } catch (e) {
        throw system(`error while creating mount source path '${source}': ${messageOf(e)}`);
      }
    }
    const options = [p.NonRecursive ? 'bind' : 'rbind', ...(p.RW ? [] : ['ro']), ...(p.Type === 'bind' ? [p.Propagation || 'rprivate'] : [])];
    out.push({ destination: p.Destination, type: 'bind', source, options });
  }
  for (const [dest, data] of Object.entries(rec.HostConfig.Tmpfs ?? {})) {
    out.push({ destination: dest.replace(/(.)\/+$/, '$1'), type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(data) });
  }
  return out.sort((a, b) => depth(a.destination) - depth(b.destination));
}

/**
 * Mount targets with the symlinks on their way resolved inside the container's root, as
 * docker shows them to the runtime: a link to `/etc` means the container's /etc and one that
 * climbs with `..` stops at its root, whichever runtime mounts it. A read-only view of the root
 * is mounted only when some layer has a symlink on a target's path. Targets under another
 * mount are left to the runtime, which resolves them in the root once that mount is made.
 */
export async function resolveMountTargets(d: ContainerDeps, id: string, mounts: OciMount[]): Promise<OciMount[]> {
  const dests = mounts.map((m) => m.destination);
  const own = mounts.filter((m) => !dests.some((o) => o !== m.destination && m.destination.startsWith(o === '/' ? o : `${o}/`)));
  if (own.length === 0) return mounts;
  const layers = await d.images.snapshots.layerDirs(id);
  const linked = await Promise.all(own.map((m) => symlinkOnPath(layers, m.destination)));
  if (!linked.some(Boolean)) return mounts;
  const resolved = new Map<OciMount, string>();
  await withReadOnlyRoot(d.images, id, async (root) => {
    for (const [i, m] of own.entries()) if (linked[i]) resolved.set(m, await new FsView(root, [], false).resolve(m.destination, { lenient: true }));
  });
  return mounts.map((m) => (resolved.has(m) ? { ...m, destination: resolved.get(m)! } : m)).sort((a, b) => depth(a.destination) - depth(b.destination));
}

/** True when any layer has a symlink at some component of `path` (cheap lstats, no mount). */
async function symlinkOnPath(layers: string[], path: string): Promise<boolean> {
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    for (const l of layers) if ((await lstat(`${l}/${rel}`).catch(() => undefined))?.isSymbolicLink()) return true;
  }
  return false;
}

function depth(p: string): number {
  return p.split('/').length;
}

/** inspect's and ps's Mounts, sorted by destination (docker's order is a Go map's: none). */
export function mountsView(rec: ContainerRecord): MountPoint[] {
  return Object.values(rec.MountPoints ?? {})
    .sort((a, b) => (a.Destination < b.Destination ? -1 : 1))
    .map((p) => ({
      Type: p.Type,
      ...(p.Name ? { Name: p.Name } : {}),
      Source: p.Source,
      Destination: p.Destination,
      ...(p.Driver ? { Driver: p.Driver } : {}),
      Mode: p.Mode,
      RW: p.RW,
      Propagation: p.Propagation,
    }));
}

/** The names of the container's anonymous volumes (`rm -v` removes them with it). */
export function anonymousVolumes(rec: ContainerRecord): string[] {
  return Object.values(rec.MountPoints ?? {}).filter((p) => p.Type === 'volume' && p.Anonymous && p.Name).map((p) => p.Name!);
}

/** `rm -v` / `--rm`: the container's anonymous volumes go too, unless another container uses one. */
export async function removeAnonymousVolumes(volumes: VolumeService, names: string[]): Promise<void> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      await volumes.remove(name, true);
    } catch (e) {
      if (e instanceof EngineError && e.kind === 'Conflict') continue;
      errors.push(messageOf(e));
    }
  }
  if (errors.length) throw system(`Error removing volumes:\n${errors.join('\n')}`);
}
