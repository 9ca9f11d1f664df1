/**
 * Files in and out of a container (`docker cp`, the archive API): stat a path (HEAD), a tar of
 * a path (GET), a tar extracted into a directory (PUT), on created, running, paused and stopped
 * containers alike, through the container's file-system view (fsview.ts), with its lock held
 * as moby does (for a GET, until the tar has been read).
 *
 * An upload is checked whole before anything is written: it is spooled (in memory when small,
 * else to <data-root>/tmp/cp-*), every entry's landing place resolved (the archive's own
 * symlinks and directories counted), and one that would land outside the target directory — a
 * `..` name, a link climbing out, a path through a symlink that leads elsewhere — refuses the
 * whole archive. Only then is it extracted.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { link, lchown, lutimes, lstat, mkdir, open, readdir, readlink, rm, rmdir, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import type { PathStat } from '../../api/types.ts';
import { EngineError, invalidParameter, notFound } from '../../errdefs/index.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { log } from '../../lib/log.ts';
import { mountsUnder } from '../../lib/mounts.ts';
import { encodeHeader, padding, END, TarFormatError, type WriteHeader } from '../../lib/tar/header.ts';
import { readTar } from '../../lib/tar/reader.ts';
import { spawnFsOps } from '../../store/layer/fsops.ts';
import type { Container } from './container.ts';
import { remapped, type ContainerDeps } from './deps.ts';
import { FsView, PathNotFound, goFileMode, splitPath, type ViewMount, type VirtualKind } from './fsview.ts';
import { resolveUser } from './user.ts';

export type { PathStat };

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

const PID = process.pid;
/** Paths through an open directory: openat for code that has only paths (and for helpers we spawn). */
const at = (fh: FileHandle, name = ''): string => (name ? `/proc/${PID}/fd/${fh.fd}/${name}` : `/proc/${PID}/fd/${fh.fd}`);
const SPOOL_IN_MEMORY = 16 << 20;

function runTool(cmd: string, args: string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd }, (err, _o, stderr) => (err ? reject(new EngineError('System', `${cmd}: ${String(stderr).trim() || err.message}`)) : resolve()));
  });
}

interface OpenView {
  view: FsView;
  close(): Promise<void>;
}

/**
 * The container's view, its lock held until close(): the root (mounted here for a container
 * that is not running), its volumes (option volumes mounted), binds and network files.
 */
async function openView(d: ContainerDeps, c: Container): Promise<OpenView> {
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
      await runTool('mount', ['-t', 'overlay', 'overlay', '-o', m.data, m.target], m.cwd);
      undo.push(() => runTool('umount', [m.target]).catch(() => runTool('umount', ['-l', m.target])));
    }
    const key = `archive-${c.id}-${randomBytes(4).toString('hex')}`;
    undo.push(() => d.volumes.deactivate(key));
    const mounts: ViewMount[] = [];
    const rec = c.rec;
    const points = Object.values(rec.MountPoints ?? {}).filter((p) => p.Type !== 'tmpfs').sort((a, b) => splitPath(a.Destination).length - splitPath(b.Destination).length);
    for (const p of points) {
      const source = p.Type === 'volume' ? await d.volumes.activate(p.Name!, key) : p.Source;
      const dest = await new FsView(m.target, mounts, false).resolve(p.Destination, { lenient: true }).catch(() => p.Destination);
      mounts.push({ dest, source, rw: p.RW });
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
  let cleaned = posix.join('/', p);
  const curDir = (s: string) => s === '.' || s.endsWith('/.');
  if (!curDir(cleaned) && curDir(p)) {
    if (!cleaned.endsWith('/')) cleaned += '/';
    cleaned += '.';
  }
  if (!cleaned.endsWith('/') && p.endsWith('/')) cleaned += '/';
  return cleaned;
}

/** Go's filepath.Base. */
export function goBase(p: string): string {
  const t = p.replace(/\/+$/, '');
  if (t === '') return p === '' ? '.' : '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

function notFoundIn(path: string, ref: string): EngineError {
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

/** GET /containers/{id}/archive: the path's stat and a tar of it, streamed. */
export async function archivePath(d: ContainerDeps, ref: string, path: string): Promise<{ stat: PathStat; stream: Readable }> {
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
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const write = async (b: Buffer): Promise<void> => {
    if (out.destroyed) throw new Error('archive reader went away');
    if (!out.write(b)) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          out.off('drain', done);
          out.off('close', closed);
          resolve();
        };
        const closed = () => {
          out.off('drain', done);
          reject(new Error('archive reader went away'));
        };
        out.once('drain', done);
        out.once('close', closed);
      });
    }
  };
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
        // The header promises st.size bytes: a file that changes while it is read is cut or padded.
        let sent = 0;
        const buf = Buffer.allocUnsafe(1 << 20);
        while (sent < st.size) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, st.size - sent), null);
          if (bytesRead === 0) break;
          await write(Buffer.from(buf.subarray(0, bytesRead)));
          sent += bytesRead;
        }
        if (sent < st.size) await write(Buffer.alloc(st.size - sent));
        await write(padding(st.size));
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
  void (async () => {
    try {
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
      await write(END);
      out.end();
    } catch (e) {
      out.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })().finally(() => void v.close());
  return { stat: res.stat, stream: out };
}

/** The upload, decompressed, kept whole: in memory when small, else in a file. */
interface Spool {
  open(): Readable;
  discard(): Promise<void>;
}

async function spoolUpload(d: ContainerDeps, body: Readable): Promise<Spool> {
  const { stream } = await decompressStream(body);
  const chunks: Buffer[] = [];
  let size = 0;
  let file: string | undefined;
  let ws: ReturnType<typeof createWriteStream> | undefined;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      if (!ws) {
        chunks.push(c);
        size += c.length;
        if (size <= SPOOL_IN_MEMORY) continue;
        const dir = join(d.paths.dataRoot, 'tmp');
        await mkdir(dir, { recursive: true, mode: 0o700 });
        file = join(dir, `cp-${randomBytes(8).toString('hex')}`);
        ws = createWriteStream(file, { mode: 0o600 });
        for (const b of chunks.splice(0)) if (!ws.write(b)) await new Promise<void>((r) => ws!.once('drain', () => r()));
        continue;
      }
      if (!ws.write(c)) await new Promise<void>((r) => ws!.once('drain', () => r()));
    }
    if (ws) await new Promise<void>((resolve, reject) => ws!.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    ws?.destroy();
    if (file) await rm(file, { force: true });
    throw invalidParameter(`reading the archive: ${(e as Error).message}`);
  }
  const mem = file ? undefined : Buffer.concat(chunks);
  return {
    open: () => (mem ? Readable.from([mem]) : createReadStream(file!, { highWaterMark: 1 << 20 })),
    discard: async () => {
      if (file) await rm(file, { force: true });
    },
  };
}

/** Removes a stale upload spool left by a daemon that stopped mid-copy. */
export async function cleanArchiveSpools(dataRoot: string): Promise<void> {
  const dir = join(dataRoot, 'tmp');
  for (const n of await readdir(dir).catch(() => [] as string[])) if (n.startsWith('cp-')) await rm(join(dir, n), { force: true });
}

function within(p: string, dest: string): boolean {
  return p === dest || p.startsWith(dest === '/' ? '/' : `${dest}/`);
}

/** An archive name cleaned to a path relative to the target, or undefined when it climbs out. */
function relName(name: string): string | undefined {
  let depth = 0;
  const out: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (--depth < 0) return undefined;
      out.pop();
    } else {
      depth++;
      out.push(p);
    }
  }
  return out.join('/');
}

interface Plan {
  /** The entry's place: its resolved parent and its name. */
  parent: string;
  base: string;
  /** For a hard link, the resolved path of what it links to. */
  linkTarget?: string;
}

/**
 * Where an entry lands, or why it may not: checked against the file system and, while an
 * archive is being checked, the entries before it (`virtual`).
 */
async function planEntry(view: FsView, dest: string, h: { name: string; type: string; linkname: string }, opts: ExtractOptions, virtual?: Map<string, VirtualKind>): Promise<Plan | undefined> {
  const rel = relName(h.name);
  if (rel === undefined) throw invalidParameter(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}`);
  if (rel === '') return undefined; // the target itself: left as it is
  const target = posix.join(dest, rel);
  const parent = await view.resolve(posix.dirname(target), { followLast: true, lenient: true, ...(virtual ? { virtual } : {}) });
  if (!within(parent, dest)) throw invalidParameter(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}: its parent resolves to ${parent}`);
  const base = posix.basename(target);
  const final = posix.join(parent, base);
  const v = virtual?.get(final);
  const existing: 'dir' | 'other' | undefined = v ? (v.kind === 'dir' ? 'dir' : 'other') : await lstat(view.hostPath(final)).then((s) => (s.isDirectory() ? 'dir' : 'other'), () => undefined);
  const isDir = h.type === 'directory';
  if (opts.noOverwriteDirNonDir && existing === 'dir' && !isDir) throw invalidParameter(`cannot overwrite directory ${JSON.stringify(final)} with non-directory ${JSON.stringify(dest)}`);
  if (opts.noOverwriteDirNonDir && existing === 'other' && isDir) throw invalidParameter(`cannot overwrite non-directory ${JSON.stringify(final)} with directory ${JSON.stringify(dest)}`);
  const plan: Plan = { parent, base };
  if (h.type === 'link') {
    const lrel = relName(h.linkname);
    const lt = lrel === undefined ? undefined : posix.join(dest, lrel);
    if (lt === undefined || !within(lt, dest)) throw invalidParameter(`invalid hardlink ${JSON.stringify(posix.join(dest, h.linkname))} -> ${JSON.stringify(h.linkname)}`);
    const ltParent = await view.resolve(posix.dirname(lt), { followLast: true, lenient: true, ...(virtual ? { virtual } : {}) });
    const resolved = posix.join(ltParent, posix.basename(lt));
    if (!within(resolved, dest)) throw invalidParameter(`invalid hardlink ${JSON.stringify(resolved)} -> ${JSON.stringify(h.linkname)}`);
    plan.linkTarget = resolved;
  } else if (h.type === 'symlink' && !h.linkname.startsWith('/')) {
    if (!within(posix.join(posix.dirname(target), h.linkname), dest)) throw invalidParameter(`invalid symlink ${JSON.stringify(target)} -> ${JSON.stringify(h.linkname)}`);
  } else if (!['directory', 'file', 'contiguous-file', 'symlink', 'character-device', 'block-device', 'fifo'].includes(h.type)) {
    throw invalidParameter(`unhandled tar header type ${h.type}`);
  }
  if (virtual) {
    if (existing !== 'dir' || !isDir) {
      // Replacing a directory drops what the archive put under it.
      if (existing === 'dir') for (const k of [...virtual.keys()]) if (k.startsWith(`${final}/`)) virtual.delete(k);
      virtual.set(final, isDir ? { kind: 'dir' } : h.type === 'symlink' ? { kind: 'symlink', target: h.linkname } : { kind: 'file' });
    }
  }
  return plan;
}

/** Removes `name` in `dir` and all below it, through directory handles (never following a link). */
async function removeAt(dir: FileHandle, name: string): Promise<void> {
  const p = at(dir, name);
  const st = await lstat(p).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) return unlink(p);
  const sub = await open(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    for (const n of await readdir(at(sub))) await removeAt(sub, n);
  } finally {
    await sub.close();
  }
  await rmdir(p);
}

/** PUT /containers/{id}/archive. */
export async function extractToDir(d: ContainerDeps, ref: string, path: string, body: Readable, opts: ExtractOptions): Promise<void> {
  const c = d.store.get(ref);
  const spool = await spoolUpload(d, body);
  try {
    const v = await openView(d, c);
    try {
      const view = v.view;
      let dest: string;
      try {
        dest = await view.resolve(posix.join('/', path), { followLast: true });
      } catch (e) {
        if (e instanceof PathNotFound) throw notFoundIn(path, ref);
        throw e;
      }
      const top = await view.lstatAt(dest);
      await top.parent.close();
      if (!top.st) throw notFoundIn(path, ref);
      if (!top.st.isDirectory()) throw invalidParameter('extraction point is not a directory');
      const m = view.mountHolding(dest);
      if (m && !m.rw) throw invalidParameter('mounted volume is marked read-only');
      if (!m && view.readonlyRoot) throw invalidParameter('container rootfs is marked read-only');
      const idmap = remapped(d, c.rec.HostConfig) ? d.rt.idmap : undefined;
      let chownTo: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID && c.rec.Config.User) chownTo = await userIn(view, c.rec.Config.User);
      const toHost = (uid: number, gid: number) => chownTo ?? (idmap ? idmap.toHost(uid, gid) : { uid, gid });
      const rootPair = idmap ? idmap.toHost(0, 0) : { uid: 0, gid: 0 };

      // 1. The whole archive checked, nothing written.
      const virtual = new Map<string, VirtualKind>();
      try {
        for await (const e of readTar(spool.open())) await planEntry(view, dest, e.header, opts, virtual);
      } catch (e) {
        throw tarError(e);
      }
      // 2. Extracted.
      const dirs: { path: string; mode: number; mtime: Date }[] = [];
      try {
        for await (const e of readTar(spool.open())) {
          const h = e.header;
          const plan = await planEntry(view, dest, h, opts);
          if (!plan) continue;
          const ids = toHost(h.uid, h.gid);
          const parent = await view.openDir(plan.parent, rootPair);
          try {
            const p = at(parent, plan.base);
            const existing = await lstat(p).catch(() => undefined);
            if (existing && !(existing.isDirectory() && h.type === 'directory')) await removeAt(parent, plan.base);
            const mode = h.mode & 0o7777;
            switch (h.type) {
              case 'directory':
                if (!existing?.isDirectory()) await mkdir(p, { mode: 0o700 });
                await lchown(p, ids.uid, ids.gid);
                dirs.push({ path: posix.join(plan.parent, plan.base), mode, mtime: h.mtime });
                break;
              case 'file':
              case 'contiguous-file': {
                const fh = await open(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
                try {
                  for await (const chunk of e.chunks()) await fh.write(chunk);
                  await fh.chown(ids.uid, ids.gid);
                  await fh.chmod(mode);
                  await fh.utimes(h.mtime, h.mtime);
                } finally {
                  await fh.close();
                }
                break;
              }
              case 'symlink':
                await symlink(h.linkname, p);
                await lchown(p, ids.uid, ids.gid);
                await lutimes(p, h.mtime, h.mtime);
                break;
              case 'link': {
                const lt = plan.linkTarget!;
                const tp = await view.openDir(posix.dirname(lt));
                try {
                  await link(at(tp, posix.basename(lt)), p);
                } finally {
                  await tp.close();
                }
                break;
              }
              case 'character-device':
              case 'block-device':
              case 'fifo': {
                if (idmap && h.type !== 'fifo') break; // no device nodes in a user namespace, as docker
                await spawnFsOps.mknod(p, h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c', mode, h.devmajor, h.devminor);
                await lchown(p, ids.uid, ids.gid);
                break;
              }
            }
            if (h.type !== 'link') for (const [k, val] of h.xattrs) await spawnFsOps.setXattr(p, k, val);
          } finally {
            await parent.close();
          }
        }
      } catch (e) {
        throw tarError(e);
      }
      // Directory modes and times last: adding entries changed their times.
      for (let i = dirs.length - 1; i >= 0; i--) {
        const fh = await view.openDir(dirs[i].path);
        try {
          await fh.chmod(dirs[i].mode);
          await fh.utimes(dirs[i].mtime, dirs[i].mtime);
        } finally {
          await fh.close();
        }
      }
    } finally {
      await v.close();
    }
  } finally {
    await spool.discard();
  }
}

function tarError(e: unknown): unknown {
  if (e instanceof TarFormatError) return invalidParameter(`archive/tar: ${e.message}`);
  return e;
}

/** Config.User as the container's own passwd and group files say (copyUIDGID). */
async function userIn(view: FsView, spec: string): Promise<{ uid: number; gid: number }> {
  const read = async (p: string) => {
    const cpath = await view.resolve(p).catch(() => undefined);
    if (!cpath) return undefined;
    const l = await view.lstatAt(cpath).catch(() => undefined);
    if (!l) return undefined;
    try {
      if (!l.st?.isFile()) return undefined;
      const fh = await open(l.at, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        return (await fh.readFile()).toString();
      } finally {
        await fh.close();
      }
    } finally {
      await l.parent.close();
    }
  };
  const [passwd, group] = await Promise.all([read('/etc/passwd'), read('/etc/group')]);
  const [u, g] = spec.split(':');
  try {
    const r = resolveUser(spec.includes(':') ? `${u || '0'}:${g || '0'}` : spec, passwd, group);
    return { uid: r.uid, gid: r.gid };
  } catch {
    const what = /^\d+$/.test(u) ? ['group', g, 'group'] : ['user', u, 'passwd'];
    throw invalidParameter(`failed to look up ${what[0]} "${what[1]}" in container: no matching entries in ${what[2]} file`);
  }
}

