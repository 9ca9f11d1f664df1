/**
 * Files out of a container (`docker cp`, the archive API): the container's file-system view
 * (fsview.ts) opened under its lock — held as moby holds it, for a GET until the tar has been
 * read —, the stat of a path (HEAD) and a tar of it (GET), on created, running and stopped
 * containers alike, tmpfs mounts of a running one included. Uploads (PUT) are extract.ts.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PathStat } from '../../api/types.ts';
import { EngineError, notFound } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { mountsUnder } from '../../lib/mounts.ts';
import { encodeHeader, type WriteHeader } from '../../lib/tar/header.ts';
import { goBase, preserveTrailing } from '../../lib/archivepath.ts';
import { tarSource, type TarSource, type TarWriter } from '../../lib/tar/writer.ts';
import type { Container } from './container.ts';
import { remapped, type ContainerDeps } from './deps.ts';
import { run } from './snapshot.ts';
import { FsView, PathNotFound, fdPath, goFileMode, splitPath, type ViewMount } from './fsview.ts';

export type { PathStat };

const at = fdPath;


export interface OpenView {
  view: FsView;
  close(): Promise<void>;
}

/**
 * The container's view, its lock held until close(): the root (mounted here for a container
 * that is not running), its volumes (option volumes mounted), binds and network files.
 */
export async function openView(d: ContainerDeps, c: Container): Promise<OpenView> {
  const unlock = await d.locks.lock(c.id);
  const undo: (() => Promise<void>)[] = [() => Promise.resolve(unlock())];
  const close = async () => {
    for (const u of undo.reverse()) await u().catch((e: unknown) => log.warn('closing a container file-system view', { id: c.id, error: e }));
  };
  try {
    if (c.removed) throw notFound(`No such container: ${c.id}`);
    const m = await d.images.snapshots.mountFor(c.id);
    if (!(await mountsUnder(m.target)).includes(m.target)) {
      await mkdir(m.target, { recursive: true, mode: 0o700 });
      await run('mount', ['-t', 'overlay', 'overlay', '-o', m.data, m.target], m.cwd);
      undo.push(() => run('umount', [m.target]).catch(() => run('umount', ['-l', m.target])));
    }
    const key = `archive-${c.id}-${randomBytes(4).toString('hex')}`;
    undo.push(() => d.volumes.deactivate(key));
    const mounts: ViewMount[] = [];
    const rec = c.rec;
    // Volumes and binds; tmpfs mounts only while the container runs, for they live only in its
    // mount namespace: reached through /proc/<pid>/root (docker's view skips them, so `docker
    // cp` sees the directory below). Shallowest first, each target resolved through the ones
    // before it.
    const running = c.state.Running && c.state.Pid > 0;
    const inNamespace = (dest: string) => Promise.resolve(`/proc/${c.state.Pid}/root${dest}`);
    const points: { target: string; rw: boolean; source: (dest: string) => Promise<string> }[] = [
      ...Object.values(rec.MountPoints ?? {}).filter((p) => p.Type !== 'tmpfs' || running).map((p) => ({
        target: p.Destination, rw: p.RW,
        source: p.Type === 'tmpfs' ? inNamespace : p.Type === 'volume' ? () => d.volumes.activate(p.Name!, key) : () => Promise.resolve(p.Source),
      })),
      ...(running ? Object.entries(rec.HostConfig.Tmpfs ?? {}).map(([target, opts]) => ({ target, rw: !/(^|,)ro(,|$)/.test(opts), source: inNamespace })) : []),
    ];
    for (const p of points.sort((a, b) => splitPath(a.target).length - splitPath(b.target).length)) {
      const dest = await new FsView(m.target, mounts, false).resolve(p.target, { lenient: true }).catch(() => p.target);
      mounts.push({ dest, source: await p.source(dest), rw: p.rw });
    }
    for (const [dest, source] of [['/etc/resolv.conf', rec.ResolvConfPath], ['/etc/hostname', rec.HostnamePath], ['/etc/hosts', rec.HostsPath]] as const) {
      if (source && !mounts.some((x) => x.dest === dest) && (await lstat(source).catch(() => undefined))) mounts.push({ dest, source, rw: true });
    }
    return { view: new FsView(m.target, mounts, rec.HostConfig.ReadonlyRootfs), close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** moby's PreserveTrailingDotOrSeparator over path.Join("/", p). */
export function absContainerPath(p: string): string {
  return preserveTrailing(posix.join('/', p), p);
}

export function notFoundIn(path: string, ref: string): EngineError {
  return notFound(`Could not find the file ${path} in container ${ref}`);
}

async function statAt(view: FsView, abs: string, ref: string, rawPath: string): Promise<{ cpath: string; st: Stats; stat: PathStat }> {
  const follow = abs.endsWith('/') || abs.endsWith('/.');
  let cpath: string;
  try {
    cpath = await view.resolve(abs, { followLast: follow });
  } catch (e) {
    if (e instanceof PathNotFound) throw notFoundIn(rawPath, ref);
    throw e;
  }
  const l = await view.lstatAt(cpath);
  const big = l.st ? await lstat(l.at, { bigint: true }).catch(() => undefined) : undefined;
  await l.parent.close();
  if (!l.st) throw notFoundIn(rawPath, ref);
  let linkTarget = '';
  if (l.st.isSymbolicLink()) linkTarget = await view.resolve(cpath, { followLast: true, lenient: true });
  return { cpath, st: l.st, stat: { name: goBase(abs), size: l.st.size, mode: goFileMode(l.st), mtime: rfc3339(big?.mtimeNs), linkTarget } };
}

function rfc3339(ns: bigint | undefined): string {
  if (ns === undefined) return '0001-01-01T00:00:00Z';
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  return `${base}${frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`}Z`;
}

/** HEAD /containers/{id}/archive. */
export async function statPath(d: ContainerDeps, ref: string, path: string): Promise<PathStat> {
  const c = d.store.get(ref);
  const v = await openView(d, c);
  try {
    return (await statAt(v.view, absContainerPath(path), ref, path)).stat;
  } finally {
    await v.close();
  }
}

/**
 * GET /containers/{id}/archive: the path's stat and a tar of it, made as it is read (the view
 * stays open until then; `abandon` closes it when the tar is not wanted after all).
 */
export async function archivePath(d: ContainerDeps, ref: string, path: string): Promise<{ stat: PathStat; tar: TarSource & { abandon(): Promise<void> } }> {
  const c = d.store.get(ref);
  const v = await openView(d, c);
  let res: Awaited<ReturnType<typeof statAt>>;
  try {
    res = await statAt(v.view, absContainerPath(path), ref, path);
  } catch (e) {
    await v.close();
    throw e;
  }
  const abs = absContainerPath(path);
  const prefix = goBase(abs);
  const idmap = remapped(d, c.rec.HostConfig) ? d.rt.idmap : undefined;
  const own = (st: Stats) => (idmap ? idmap.toContainer(st.uid, st.gid) : { uid: st.uid, gid: st.gid });
  let w!: TarWriter;
  const write = (b: Buffer) => w.write(b);
  const links = new Map<string, string>();
  const header = (name: string, st: Stats, extra: Partial<WriteHeader> & { type: WriteHeader['type'] }): WriteHeader => ({
    name, ...own(st), mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), ...extra,
  });
  /** One entry; `dirFh` is the opened directory for a directory entry. */
  const entry = async (name: string, st: Stats, path: string, openFile: () => Promise<FileHandle>): Promise<void> => {
    if (st.isDirectory()) return write(encodeHeader(header(name, st, { type: 'directory' })));
    if (st.isSymbolicLink()) return write(encodeHeader(header(name, st, { type: 'symlink', linkname: await readlink(path) })));
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) return write(encodeHeader(header(name, st, { type: 'link', linkname: first })));
      if (st.nlink > 1) links.set(key, name);
      const fh = await openFile();
      try {
        await write(encodeHeader(header(name, st, { type: 'file', size: st.size })));
        await w.file(fh, st.size);
      } finally {
        await fh.close();
      }
      return;
    }
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      return write(encodeHeader(header(name, st, { type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor })));
    }
    if (st.isFIFO()) return write(encodeHeader(header(name, st, { type: 'fifo' })));
    // Sockets are left out, as docker does.
  };
  const walk = async (dir: FileHandle, cdir: string, name: string): Promise<void> => {
    const names = (await readdir(at(dir))).sort();
    for (const n of names) {
      const cpath = cdir === '/' ? `/${n}` : `${cdir}/${n}`;
      const child = name === '/' ? `/${n}` : `${name}/${n}`;
      const m = v.view.mountAt(cpath);
      const path = m ? m.source : at(dir, n);
      const st = await (m ? stat(path) : lstat(path)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined; // removed as it was listed
        throw e;
      });
      if (!st) continue;
      await entry(child, st, path, () => open(path, constants.O_RDONLY | (m ? 0 : constants.O_NOFOLLOW)));
      if (st.isDirectory()) {
        const sub = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | (m ? 0 : constants.O_NOFOLLOW)).catch(() => undefined);
        if (!sub) continue;
        try {
          await walk(sub, cpath, child);
        } finally {
          await sub.close();
        }
      }
    }
  };
  const produce = async (writer: TarWriter): Promise<void> => {
    w = writer;
    const { cpath, st } = res;
    const top = await v.view.lstatAt(cpath);
    try {
      const openTop = () => (top.name ? open(top.at, constants.O_RDONLY | (v.view.mountAt(cpath) ? 0 : constants.O_NOFOLLOW)) : open(top.at, constants.O_RDONLY));
      if (st.isDirectory()) {
        await entry(prefix === '/' ? '/' : `${prefix}/`, st, top.at, openTop);
        const dir = await open(top.at, constants.O_RDONLY | constants.O_DIRECTORY | (top.name && !v.view.mountAt(cpath) ? constants.O_NOFOLLOW : 0));
        try {
          await walk(dir, cpath, prefix);
        } finally {
          await dir.close();
        }
      } else {
        await entry(prefix, st, top.at, openTop);
      }
    } finally {
      await top.parent.close();
    }
  };
  return { stat: res.stat, tar: tarSource(produce, () => v.close()) };
}
