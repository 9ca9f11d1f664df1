/**
 * overlayfs snapshots: read-only image layers stacked under a container's writable layer.
 *
 * On-disk layout (owned by this file; version 1), modelled on dockerd's overlay2 so that
 * people who know where docker keeps things find their way:
 *
 *   <root>/overlay2/
 *     l/<SHORT>          -> ../<id>/diff   short links: a 127-layer lowerdir list of these
 *                                          stays under the one-page limit of mount data
 *     <id>/diff/         the layer's own files (image layer) or the container's upper dir
 *                        (made holding docker's empty /.dockerenv, unless the image has one)
 *     <id>/link          SHORT, the name of this layer's short link
 *     <id>/lower         "l/A:l/B:…" the parents' short links, nearest first (absent for base)
 *     <id>/work/         overlay work dir (container layers only)
 *     <id>/merged/       mount point of the container's root filesystem
 *
 * Image layers are immutable once committed (a `.staging-<id>` directory renamed into place).
 * The mount itself is done by berth-shim (it is on the container start path, and spawning
 * `mount` costs ~10 ms), so this class only returns what to mount.
 */
import { chmod, chown, mkdir, readFile, rm, symlink, writeFile, readdir, rename, lstat, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { notFound } from '../../errdefs/index.ts';
import { unmountUnder } from '../../lib/mounts.ts';
import { log } from '../../lib/log.ts';
import { settleAll } from '../../lib/settle.ts';

/** What the runtime side needs to mount a container's root filesystem. */
export interface OverlayMount {
  target: string;
  /** Mount data; lowerdir entries are relative to `cwd`. */
  data: string;
  cwd: string;
}

const SHORT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function shortName(): string {
  const b = randomBytes(26);
  let s = '';
  for (const x of b) s += SHORT_CHARS[x % SHORT_CHARS.length];
  return s;
}

export class OverlaySnapshotter {
  readonly home: string;
  /**
   * With userns-remap, the host IDs of container root: layer and container directories are
   * theirs (0710 root:<its group> above them), so the runtime can reach the root filesystem
   * from inside the user namespace.
   */
  private readonly root: { uid: number; gid: number } | undefined;

  constructor(dataRoot: string, root?: { uid: number; gid: number }) {
    this.home = join(dataRoot, 'overlay2');
    this.root = root;
  }

  /** 0710 root:<remapped group> for a directory on the way to a root filesystem. */
  private async traversable(dir: string): Promise<void> {
    if (!this.root) return;
    await chown(dir, 0, this.root.gid);
    await chmod(dir, 0o710);
  }

  /** Owned by container root (with userns-remap). */
  private async rootOwned(path: string): Promise<void> {
    if (this.root) await chown(path, this.root.uid, this.root.gid);
  }

  /** Removes links in l/ whose layer directory is gone (a crash between the two steps). */
  async pruneLinks(): Promise<number> {
    let n = 0;
    for (const short of await readdir(join(this.home, 'l'))) {
      const link = join(this.home, 'l', short);
      const target = await readlink(link).catch(() => '');
      const id = /^\.\.\/([^/]+)\/diff$/.exec(target)?.[1];
      if (id && !id.startsWith('.') && (await this.exists(id))) continue;
      await rm(link, { force: true });
      n++;
    }
    return n;
  }

  async init(): Promise<void> {
    await mkdir(join(this.home, 'l'), { recursive: true });
    await this.traversable(this.home);
    // Remove leftovers of layers that were being unpacked, or removed, when the daemon stopped
    // (a container's root may still be mounted there if its monitor died with it).
    for (const name of await readdir(this.home)) {
      if (!name.startsWith('.staging-')) continue;
      const dir = join(this.home, name);
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true }).catch((e: unknown) => log.warn('could not remove a leftover layer directory', { dir, error: e }));
    }
  }

  dir(id: string): string {
    return join(this.home, id);
  }

  diffDir(id: string): string {
    return join(this.home, id, 'diff');
  }

  /**
   * Starts an image layer: returns a staging directory whose `diff/` the caller fills, then
   * `commitLayer` makes it visible under `id`.
   */
  async stageLayer(): Promise<string> {
    const staging = join(this.home, `.staging-${randomBytes(8).toString('hex')}`);
    await mkdir(join(staging, 'diff'), { recursive: true, mode: 0o755 });
    return staging;
  }

  async commitLayer(staging: string, id: string, parentId: string | undefined): Promise<void> {
    await this.traversable(staging);
    const short = shortName();
    await writeFile(join(staging, 'link'), short);
    if (parentId) await writeFile(join(staging, 'lower'), await this.lowerChain(parentId));
    await rename(staging, this.dir(id));
    await symlink(`../${id}/diff`, join(this.home, 'l', short));
  }

  /** The lowerdir list for a layer whose parent is `parentId`: parent first, then its lowers. */
  private async lowerChain(parentId: string): Promise<string> {
    const link = (await readFile(join(this.dir(parentId), 'link'), 'utf8')).trim();
    let lower = '';
    try {
      lower = (await readFile(join(this.dir(parentId), 'lower'), 'utf8')).trim();
    } catch {
      // a base layer has no lower file
    }
    return lower ? `l/${link}:${lower}` : `l/${link}`;
  }

  /** Creates a container's writable layer on top of image layer `parentId`. */
  async createContainerLayer(id: string, parentId: string | undefined): Promise<void> {
    const dir = this.dir(id);
    const short = shortName();
    // On every run's path: independent steps go to the thread pool together, not one round
    // trip after another.
    await mkdir(join(dir, 'diff'), { recursive: true, mode: 0o755 });
    let chain: string | undefined;
    await settleAll([
      mkdir(join(dir, 'work'), { mode: 0o700 }),
      mkdir(join(dir, 'merged'), { mode: 0o700 }),
      this.traversable(dir),
      writeFile(join(dir, 'link'), short),
      parentId ? this.lowerChain(parentId).then((c) => writeFile(join(dir, 'lower'), chain = c)) : undefined,
    ]);
    // docker's init layer marks every container with an empty /.dockerenv (0755) unless its
    // image has one; scripts test for it. It stays out of diff and commit (pack.ts).
    const inImage = chain ? await Promise.all(chain.split(':').map((l) => lstat(join(this.home, l, '.dockerenv')).then(() => true, () => false))) : [];
    const marker = join(dir, 'diff', '.dockerenv');
    if (!inImage.includes(true)) await writeFile(marker, '', { mode: 0o755 }).then(() => chmod(marker, 0o755));
    await settleAll([...['diff', 'work', 'merged', ...(inImage.includes(true) ? [] : ['diff/.dockerenv'])].map((d) => this.rootOwned(join(dir, d))), symlink(`../${id}/diff`, join(this.home, 'l', short))]);
  }

  async mountFor(id: string): Promise<OverlayMount> {
    const dir = this.dir(id);
    let lower: string;
    try {
      lower = (await readFile(join(dir, 'lower'), 'utf8')).trim();
    } catch {
      // overlayfs needs a lower dir; an image with no layers gets an empty one
      const empty = join(dir, 'empty');
      await mkdir(empty, { recursive: true });
      await this.rootOwned(empty);
      lower = empty;
    }
    return {
      target: join(dir, 'merged'),
      data: `lowerdir=${lower},upperdir=${join(dir, 'diff')},workdir=${join(dir, 'work')}`,
      cwd: this.home,
    };
  }

  /**
   * Mount data for a read-only view of `id`: its own diff stacked as the top lower layer, so
   * no upper or work directory is needed and a running container's mount is not disturbed.
   * `l/` names stay relative to `cwd`, keeping the data within the kernel's page limit.
   */
  async readOnlyMountFor(id: string, target: string): Promise<OverlayMount> {
    let lower = '';
    try {
      lower = (await readFile(join(this.dir(id), 'lower'), 'utf8')).trim();
    } catch {
      // no parent layers
    }
    const own = `${id}/diff`;
    // overlayfs wants two lower layers at least for a mount without an upper dir.
    const layers = lower ? `${own}:${lower}` : `${own}:${await this.emptyDir()}`;
    return { target, data: `lowerdir=${layers}`, cwd: this.home };
  }

  private async emptyDir(): Promise<string> {
    await mkdir(join(this.home, 'empty'), { recursive: true, mode: 0o755 });
    return 'empty';
  }

  /** The layer directories of `id` from top to bottom (its own diff first). */
  async layerDirs(id: string): Promise<string[]> {
    const dir = this.dir(id);
    const out = [join(dir, 'diff')];
    let lower = '';
    try {
      lower = (await readFile(join(dir, 'lower'), 'utf8')).trim();
    } catch {
      return out;
    }
    for (const l of lower.split(':')) out.push(join(this.home, l));
    return out;
  }

  /** docker inspect's GraphDriver.Data for a container layer. */
  async graphDriverData(id: string): Promise<Record<string, string>> {
    const dir = this.dir(id);
    const data: Record<string, string> = {
      MergedDir: join(dir, 'merged'),
      UpperDir: join(dir, 'diff'),
      WorkDir: join(dir, 'work'),
    };
    const lowers = (await this.layerDirs(id)).slice(1);
    const resolved: string[] = [];
    for (const l of lowers) {
      try {
        const target = await readlink(l);
        resolved.push(join(this.home, 'l', target));
      } catch {
        resolved.push(l);
      }
    }
    if (resolved.length) data.LowerDir = resolved.join(':');
    return data;
  }

  async exists(id: string): Promise<boolean> {
    try {
      await lstat(this.dir(id));
      return true;
    } catch {
      return false;
    }
  }

  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    let short: string | undefined;
    try {
      short = (await readFile(join(dir, 'link'), 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !(await this.exists(id))) {
        throw notFound(`layer ${id} not found`);
      }
    }
    if (short) await rm(join(this.home, 'l', short), { force: true });
    // A root left mounted (its monitor died, a view a crash left behind) would make the
    // removal fail half-way.
    if (await hasMountPoint(dir)) await unmountUnder(dir);
    // Rename first so a crash mid-delete leaves a staging dir that init() removes.
    const doomed = join(this.home, `.staging-rm-${id}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }
}

/**
 * Whether a directory directly in `dir` is a mount point (another device than `dir`'s): its
 * root (`merged`) or a view (`view-*`), the only places Berth mounts in a layer. Looking costs a
 * few stats, where reading /proc/self/mounts costs ~6 ms with 1,000 containers running, on
 * every removal. A directory that cannot be looked at counts as one.
 */
async function hasMountPoint(dir: string): Promise<boolean> {
  const own = await stat(dir).catch(() => undefined);
  if (!own) return false;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const devs = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => stat(join(dir, e.name)).then((s) => s.dev, () => -1)));
  return devs.some((dev) => dev !== own.dev);
}
