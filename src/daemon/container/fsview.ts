/**
 * A container's file system as its processes see it, from the host: its root with its volumes,
 * bind mounts, network files (/etc/hosts, /etc/resolv.conf, /etc/hostname) and, while it runs,
 * its tmpfs mounts (through /proc/<pid>/root) over it. /proc, /sys and /dev are not in the view
 * (docker's archive view skips them, and tmpfs mounts too: one sees the directory below).
 *
 * Paths resolve inside the container: every symlink is followed within its root (an absolute
 * link starts again at the root, `..` stops there, as moby's FollowSymlinkInScope). Resolution
 * gives a container path with no symlink in it; the operations then open it one component at a
 * time, each through the directory opened before it (`/proc/<pid>/fd/N/name`, which is openat),
 * with O_NOFOLLOW. A running container that swaps a directory for a symlink between the two
 * makes the open fail; it can never redirect a read or a write onto the host.
 */
import { constants } from 'node:fs';
import { lchown, lstat, mkdir, open, readlink, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { EngineError, invalidParameter } from '../../errdefs/index.ts';

export interface ViewMount {
  /** The container path, symlinks on it resolved. */
  dest: string;
  /** The host path mounted there. */
  source: string;
  rw: boolean;
}

/** What a virtual entry (one an archive being checked would create) is. */
export type VirtualKind = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

const MAX_LINKS = 255;
const PID = process.pid;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A path through an open directory: openat for code that has only paths (and for tools we spawn). */
export function fdPath(fh: FileHandle, name = ''): string {
  return name ? `/proc/${PID}/fd/${fh.fd}/${name}` : `/proc/${PID}/fd/${fh.fd}`;
}

/** ENOENT on a container path: the API's 404 ("Could not find the file …"). */
export class PathNotFound extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`no such file or directory: ${path}`);
    this.path = path;
  }
}

export function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

export class FsView {
  /** Shallowest first. */
  private readonly mounts: ViewMount[];

  readonly root: string;
  readonly readonlyRoot: boolean;

  constructor(root: string, mounts: ViewMount[], readonlyRoot: boolean) {
    this.root = root;
    this.readonlyRoot = readonlyRoot;
    this.mounts = [...mounts].sort((a, b) => splitPath(a.dest).length - splitPath(b.dest).length);
  }

  /** The mount at exactly `cpath`, if any (the deepest added last wins). */
  mountAt(cpath: string): ViewMount | undefined {
    for (let i = this.mounts.length - 1; i >= 0; i--) if (this.mounts[i].dest === cpath) return this.mounts[i];
    return undefined;
  }

  /** The mount `cpath` is on (the deepest one holding it), if any. */
  mountHolding(cpath: string): ViewMount | undefined {
    for (let i = this.mounts.length - 1; i >= 0; i--) {
      const d = this.mounts[i].dest;
      if (cpath === d || cpath.startsWith(d === '/' ? '/' : `${d}/`)) return this.mounts[i];
    }
    return undefined;
  }

  /** The host path of a resolved container path (for reading only where no race matters). */
  hostPath(cpath: string): string {
    const m = this.mountHolding(cpath);
    if (!m) return posix.join(this.root, cpath);
    return posix.join(m.source, cpath.slice(m.dest.length));
  }

  /**
   * `path` resolved in the container: symlinks followed in scope (the last one only with
   * `followLast`). A missing component ends the walk: with `lenient` the rest is appended as
   * written (FollowSymlinkInScope's answer for a broken link), else PathNotFound. `virtual`
   * holds entries that do not exist yet but must count (an archive being checked).
   */
  async resolve(path: string, opts: { followLast?: boolean; lenient?: boolean; virtual?: Map<string, VirtualKind>; shadowed?: (cpath: string) => boolean } = {}): Promise<string> {
    const followLast = opts.followLast ?? true;
    let pending = path.split('/').filter((s) => s !== '');
    let resolved: string[] = [];
    let links = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = [...resolved, part];
      const cpath = '/' + candidate.join('/');
      const last = pending.every((p) => p === '.');
      const v = opts.virtual?.get(cpath);
      let link: string | undefined;
      if (v) {
        if (v.kind === 'symlink') link = v.target;
        else if (v.kind === 'file' && !last) throw notADirectory(path);
      } else if (opts.shadowed?.(cpath)) {
        // Below an entry the archive replaces but has not yet: the disk has the old one.
        if (!last) {
          if (opts.lenient) return posix.join('/', ...candidate, ...pending);
          throw new PathNotFound(path);
        }
      } else if (!this.mountAt(cpath)) {
        const st = await lstat(this.hostPath(cpath)).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' || (e.code === 'ENOTDIR' && opts.lenient)) return undefined;
          if (e.code === 'ENOTDIR') throw notADirectory(path);
          throw e;
        });
        if (!st) {
          if (opts.lenient) return posix.join('/', ...candidate, ...pending);
          if (last) return cpath;
          throw new PathNotFound(path);
        }
        if (st.isSymbolicLink()) link = await readlink(this.hostPath(cpath));
        else if (!st.isDirectory() && !last) {
          if (opts.lenient) return posix.join('/', ...candidate, ...pending);
          throw notADirectory(path);
        }
      }
      if (link === undefined || (last && !followLast)) {
        resolved = candidate;
        continue;
      }
      if (++links > MAX_LINKS) throw invalidParameter(`evalSymlinksInScope: too many links in ${path}`);
      if (link.startsWith('/')) resolved = [];
      pending = [...link.split('/').filter((s) => s !== ''), ...pending];
    }
    return '/' + resolved.join('/');
  }

  /**
   * Opens the directory at a resolved container path, component by component with O_NOFOLLOW
   * (a mount's source where one is). `create` makes missing directories (mode 0755, owned by
   * `owner`), as an archive's implied parents are.
   */
  async openDir(cpath: string, create?: { uid: number; gid: number; made?: (cpath: string) => void }): Promise<FileHandle> {
    let fh = await this.openMountOrRoot('/');
    let at = '';
    try {
      for (const part of splitPath(cpath)) {
        at = `${at}/${part}`;
        const m = this.mountAt(at);
        let next: FileHandle;
        if (m) next = await open(m.source, constants.O_RDONLY | constants.O_DIRECTORY);
        else {
          const p = `/proc/${PID}/fd/${fh.fd}/${part}`;
          next = await open(p, DIR_FLAGS).catch(async (e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT' || !create) throw fsError(e, at);
            const made = await mkdir(p, { mode: 0o755 }).then(() => true, (me: NodeJS.ErrnoException) => {
              if (me.code !== 'EEXIST') throw fsError(me, at);
              return false;
            });
            if (made) create.made?.(at);
            await lchown(p, create.uid, create.gid);
            return open(p, DIR_FLAGS).catch((e2: NodeJS.ErrnoException) => {
              throw fsError(e2, at);
            });
          });
        }
        await fh.close();
        fh = next;
      }
      return fh;
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  private async openMountOrRoot(cpath: string): Promise<FileHandle> {
    const m = this.mountAt(cpath);
    return open(m ? m.source : this.root, constants.O_RDONLY | constants.O_DIRECTORY);
  }

  /**
   * lstat of a resolved container path, through its parent opened safely (a mount point gives
   * what is mounted there). The parent handle is returned for operations on the entry.
   */
  async lstatAt(cpath: string): Promise<{ st: Stats | undefined; parent: FileHandle; name: string; at: string }> {
    if (cpath === '/') {
      const parent = await this.openMountOrRoot('/');
      return { st: await parent.stat(), parent, name: '', at: `/proc/${PID}/fd/${parent.fd}` };
    }
    const parent = await this.openDir(posix.dirname(cpath));
    const name = posix.basename(cpath);
    const m = this.mountAt(cpath);
    if (m) return { st: await stat(m.source), parent, name, at: m.source };
    const at = `/proc/${PID}/fd/${parent.fd}/${name}`;
    const st = await lstat(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw fsError(e, cpath);
    });
    return { st, parent, name, at };
  }
}

function notADirectory(path: string): EngineError {
  return new EngineError('System', `lstat ${path}: not a directory`);
}

function fsError(e: NodeJS.ErrnoException, cpath: string): Error {
  if (e.code === 'ELOOP') return new EngineError('System', `${cpath}: changed to a symbolic link during the copy`);
  if (e.code === 'ENOTDIR') return new EngineError('System', `${cpath}: not a directory`);
  if (e.code === 'ENOENT') return new PathNotFound(cpath);
  return e;
}

/** Go's os.FileMode bits for a stat (what the path-stat header carries). */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  const t = st.mode & constants.S_IFMT;
  if (t === constants.S_IFDIR) m |= 2 ** 31;
  else if (t === constants.S_IFLNK) m |= 2 ** 27;
  else if (t === constants.S_IFBLK) m |= 2 ** 26;
  else if (t === constants.S_IFCHR) m |= 2 ** 26 + 2 ** 21;
  else if (t === constants.S_IFIFO) m |= 2 ** 25;
  else if (t === constants.S_IFSOCK) m |= 2 ** 24;
  if (st.mode & 0o4000) m |= 2 ** 23;
  if (st.mode & 0o2000) m |= 2 ** 22;
  if (st.mode & 0o1000) m |= 2 ** 20;
  return m >>> 0;
}
