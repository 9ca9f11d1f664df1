/**
 * Uploads into a container (PUT /containers/{id}/archive, `docker cp` in): a tar, compressed or
 * not, extracted into a directory of the container's view, in one streaming pass.
 *
 * An archive with any entry that would land outside the target — a `..` name, a link climbing
 * out, a path through a symlink (in the container, or made by the archive itself) that leads
 * elsewhere — is refused whole, with nothing left written. So that this costs no second copy
 * of the data, entries are applied as they come only where that can be undone: what is new is
 * created in place (and deleted again if the archive is refused); a file that replaces a file
 * is written beside it under a temporary name and renamed over it once the whole archive has
 * been read; anything else that replaces what is there, and whatever lies below it, waits for
 * the end (file bodies spooled to <data-root>/tmp/cp-*), as do the owners, modes and times of
 * directories that were there before.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { link, lchown, lutimes, lstat, mkdir, open, readdir, rename, rm, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter } from '../../errdefs/index.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { log } from '../../lib/log.ts';
import { TarFormatError } from '../../lib/tar/header.ts';
import { readTar, type TarEntry } from '../../lib/tar/reader.ts';
import { writeChunks } from '../../lib/tar/writer.ts';
import type { TarHeader } from '../../lib/tar/header.ts';
import { spawnFsOps } from '../../store/layer/fsops.ts';
import { cleanEntryName, isWithin } from '../../lib/archivepath.ts';
import { notFoundIn, openView } from './archive.ts';
import { remapped, type ContainerDeps } from './deps.ts';
import { FsView, PathNotFound, fdPath, type VirtualKind } from './fsview.ts';
import { resolveUser } from './user.ts';

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

const at = fdPath;
const TMP_PREFIX = '.berth-cp-';

/** Removes the spools a daemon stopped mid-copy left behind. */
export async function cleanArchiveSpools(dataRoot: string): Promise<void> {
  const dir = join(dataRoot, 'tmp');
  for (const n of await readdir(dir).catch(() => [] as string[])) if (n.startsWith('cp-')) await rm(join(dir, n), { recursive: true, force: true });
}



type Existing = 'dir' | 'other' | undefined;

interface Plan {
  /** The entry's place: its resolved parent and its name. */
  parent: string;
  base: string;
  final: string;
  existing: Existing;
  /** For a hard link, the resolved path of what it links to. */
  linkTarget?: string;
}

interface PlanState {
  virtual: Map<string, VirtualKind>;
  /** Paths replaced by an entry that waits for the end: below them the disk is stale. */
  deferred: Set<string>;
}

const KNOWN = new Set(['directory', 'file', 'contiguous-file', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

/**
 * Where an entry lands, or why it may not. With `state`, the archive's earlier entries count
 * (`virtual`), and the state is updated with this one.
 */
async function planEntry(view: FsView, dest: string, h: TarHeader, opts: ExtractOptions, state?: PlanState): Promise<Plan | undefined> {
  const rel = cleanEntryName(h.name);
  if (rel === undefined) throw invalidParameter(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}`);
  if (rel === '') return undefined; // the target itself: left as it is
  if (!KNOWN.has(h.type)) throw invalidParameter(`unhandled tar header type ${h.typeflag}`);
  const shadowed = state ? (p: string) => [...state.deferred].some((r) => p !== r && isWithin(p, r)) : undefined;
  const resolveOpts = { followLast: true, lenient: true, ...(state ? { virtual: state.virtual, shadowed: shadowed! } : {}) };
  const target = posix.join(dest, rel);
  const parent = await view.resolve(posix.dirname(target), resolveOpts);
  if (!isWithin(parent, dest)) throw invalidParameter(`${JSON.stringify(h.name)} is outside of ${JSON.stringify(dest)}: its parent resolves to ${parent}`);
  const base = posix.basename(target);
  const final = posix.join(parent, base);
  const v = state?.virtual.get(final);
  let existing: Existing;
  if (v) existing = v.kind === 'dir' ? 'dir' : 'other';
  else if (!shadowed?.(final)) existing = await lstat(view.hostPath(final)).then((s) => (s.isDirectory() ? 'dir' : 'other'), () => undefined);
  const isDir = h.type === 'directory';
  if (opts.noOverwriteDirNonDir && existing === 'dir' && !isDir) throw invalidParameter(`cannot overwrite directory ${JSON.stringify(final)} with non-directory ${JSON.stringify(dest)}`);
  if (opts.noOverwriteDirNonDir && existing === 'other' && isDir) throw invalidParameter(`cannot overwrite non-directory ${JSON.stringify(final)} with directory ${JSON.stringify(dest)}`);
  const plan: Plan = { parent, base, final, existing };
  if (h.type === 'link') {
    const lrel = cleanEntryName(h.linkname);
    const lt = lrel === undefined ? undefined : posix.join(dest, lrel);
    if (lt === undefined || !isWithin(lt, dest)) throw invalidParameter(`invalid hardlink ${JSON.stringify(posix.join(dest, h.linkname))} -> ${JSON.stringify(h.linkname)}`);
    const resolved = posix.join(await view.resolve(posix.dirname(lt), resolveOpts), posix.basename(lt));
    if (!isWithin(resolved, dest)) throw invalidParameter(`invalid hardlink ${JSON.stringify(resolved)} -> ${JSON.stringify(h.linkname)}`);
    plan.linkTarget = resolved;
  } else if (h.type === 'symlink' && !h.linkname.startsWith('/')) {
    if (!isWithin(posix.join(posix.dirname(target), h.linkname), dest)) throw invalidParameter(`invalid symlink ${JSON.stringify(target)} -> ${JSON.stringify(h.linkname)}`);
  }
  if (state && (existing !== 'dir' || !isDir)) {
    // Replacing a directory drops what the archive put below it.
    if (existing === 'dir') for (const k of [...state.virtual.keys()]) if (k.startsWith(`${final}/`)) state.virtual.delete(k);
    state.virtual.set(final, isDir ? { kind: 'dir' } : h.type === 'symlink' ? { kind: 'symlink', target: h.linkname } : { kind: 'file' });
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

/** An entry that waits for the end of the archive. */
interface Pending {
  kind: 'rename' | 'entry' | 'dirmeta';
  h: TarHeader;
  plan: Plan;
  /** 'rename': the temporary name beside the final one; 'entry' of a file: its spooled body. */
  temp?: string;
  body?: string;
}

interface Ids {
  uid: number;
  gid: number;
}

/** PUT /containers/{id}/archive. */
export async function extractToDir(d: ContainerDeps, ref: string, path: string, body: Readable, opts: ExtractOptions): Promise<void> {
  const c = d.store.get(ref);
  const v = await openView(d, c);
  const view = v.view;
  try {
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
    const chownTo = opts.copyUIDGID && c.rec.Config.User ? await userIn(view, c.rec.Config.User) : undefined;
    const owner = (h: TarHeader): Ids => chownTo ?? (idmap ? idmap.toHost(h.uid, h.gid) : { uid: h.uid, gid: h.gid });
    const rootPair = idmap ? idmap.toHost(0, 0) : { uid: 0, gid: 0 };
    await new Extraction(d, view, dest, opts, owner, rootPair).run(body);
  } finally {
    await v.close();
  }
}

class Extraction {
  private readonly state: PlanState = { virtual: new Map(), deferred: new Set() };
  /** What was created in place, in order: deleted (last first) if the archive is refused. */
  private readonly created: string[] = [];
  private readonly pending: Pending[] = [];
  /** Final paths whose new content is still under a temporary name. */
  private readonly renames = new Set<string>();
  private readonly dirs: { path: string; mode: number; mtime: Date }[] = [];
  private spoolDir: string | undefined;

  private readonly d: ContainerDeps;
  private readonly view: FsView;
  private readonly dest: string;
  private readonly opts: ExtractOptions;
  private readonly owner: (h: TarHeader) => Ids;
  private readonly rootPair: Ids;

  constructor(d: ContainerDeps, view: FsView, dest: string, opts: ExtractOptions, owner: (h: TarHeader) => Ids, rootPair: Ids) {
    this.d = d;
    this.view = view;
    this.dest = dest;
    this.opts = opts;
    this.owner = owner;
    this.rootPair = rootPair;
  }

  async run(body: Readable): Promise<void> {
    try {
      // On a refusal the rest of the body is left to the server, which drains it before
      // answering: destroying the request would take the connection, and the answer, with it.
      const { stream } = await decompressStream(body);
      for await (const e of readTar(stream)) await this.entry(e);
    } catch (e) {
      await this.rollback();
      throw e instanceof TarFormatError ? invalidParameter(`archive/tar: ${e.message}`) : e;
    }
    try {
      for (const p of this.pending) await this.commit(p);
      // Directory modes and times last: adding entries changed their times.
      for (let i = this.dirs.length - 1; i >= 0; i--) {
        const fh = await this.view.openDir(this.dirs[i].path);
        try {
          await fh.chmod(this.dirs[i].mode);
          await fh.utimes(this.dirs[i].mtime, this.dirs[i].mtime);
        } finally {
          await fh.close();
        }
      }
    } finally {
      await this.dropSpool();
    }
  }

  private async entry(e: TarEntry): Promise<void> {
    const h = e.header;
    const plan = await planEntry(this.view, this.dest, h, this.opts, this.state);
    if (!plan) return;
    const blocked = [...this.state.deferred].some((r) => isWithin(plan.final, r) || (plan.linkTarget !== undefined && isWithin(plan.linkTarget, r)))
      || (plan.linkTarget !== undefined && this.renames.has(plan.linkTarget));
    const isDir = h.type === 'directory';
    const isFile = h.type === 'file' || h.type === 'contiguous-file';
    if (!blocked && plan.existing === undefined) return this.createNew(e, plan);
    if (!blocked && plan.existing === 'dir' && isDir) {
      this.pending.push({ kind: 'dirmeta', h, plan });
      return;
    }
    if (!blocked && plan.existing === 'other' && isFile && !this.renames.has(plan.final)) {
      const temp = `${TMP_PREFIX}${randomBytes(6).toString('hex')}`;
      await this.writeFile(e, plan.parent, temp, true);
      this.renames.add(plan.final);
      this.pending.push({ kind: 'rename', h, plan, temp });
      return;
    }
    // Everything else replaces what is there (or lies below such an entry): at the end.
    const p: Pending = { kind: 'entry', h, plan };
    if (isFile) p.body = await this.spool(e);
    this.pending.push(p);
    this.state.deferred.add(plan.final);
  }

  private async createNew(e: TarEntry, plan: Plan): Promise<void> {
    const h = e.header;
    const made = (cpath: string) => this.created.push(cpath);
    const parent = await this.view.openDir(plan.parent, { ...this.rootPair, made });
    try {
      const p = at(parent, plan.base);
      const ids = this.owner(h);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        this.created.push(plan.final);
        await this.writeTo(e, p, ids);
        return;
      }
      await this.make(h, plan, p, ids);
      this.created.push(plan.final);
    } finally {
      await parent.close();
    }
  }

  /** A directory, link or node at `p` (nothing is there). */
  private async make(h: TarHeader, plan: Plan, p: string, ids: Ids): Promise<void> {
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'directory':
        await mkdir(p, { mode: 0o700 });
        await lchown(p, ids.uid, ids.gid);
        this.dirs.push({ path: plan.final, mode, mtime: h.mtime });
        break;
      case 'symlink':
        await symlink(h.linkname, p);
        await lchown(p, ids.uid, ids.gid);
        await lutimes(p, h.mtime, h.mtime);
        break;
      case 'link': {
        const lt = plan.linkTarget!;
        const tp = await this.view.openDir(posix.dirname(lt));
        try {
          await link(at(tp, posix.basename(lt)), p);
        } finally {
          await tp.close();
        }
        break;
      }
      default: {
        // No device nodes in a user namespace, as docker.
        if (this.d.rt.idmap && h.type !== 'fifo') return;
        await spawnFsOps.mknod(p, h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c', mode, h.devmajor, h.devminor);
        await lchown(p, ids.uid, ids.gid);
      }
    }
    if (h.type !== 'link') for (const [k, val] of h.xattrs) await spawnFsOps.setXattr(p, k, val);
  }

  private async writeFile(e: TarEntry, parentPath: string, name: string, temp: boolean): Promise<void> {
    const parent = await this.view.openDir(parentPath);
    try {
      if (temp) this.created.push(posix.join(parentPath, name));
      await this.writeTo(e, at(parent, name), this.owner(e.header));
    } finally {
      await parent.close();
    }
  }

  private async writeTo(e: TarEntry | { header: TarHeader; chunks(): AsyncIterable<Buffer> }, p: string, ids: Ids): Promise<void> {
    const h = e.header;
    const fh = await open(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await writeChunks(fh, e.chunks());
      await fh.chown(ids.uid, ids.gid);
      await fh.chmod(h.mode & 0o7777);
      await fh.utimes(h.mtime, h.mtime);
    } finally {
      await fh.close();
    }
    for (const [k, val] of h.xattrs) await spawnFsOps.setXattr(p, k, val);
  }

  private async spool(e: TarEntry): Promise<string> {
    if (!this.spoolDir) {
      this.spoolDir = join(this.d.paths.dataRoot, 'tmp', `cp-${randomBytes(8).toString('hex')}`);
      await mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
    }
    const file = join(this.spoolDir, String(this.pending.length));
    await pipeline(e.chunks(), createWriteStream(file, { mode: 0o600, highWaterMark: 1 << 20 }));
    return file;
  }

  private async dropSpool(): Promise<void> {
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true }).catch((e: unknown) => log.warn('removing a cp spool', { dir: this.spoolDir, error: e }));
  }

  private async commit(p: Pending): Promise<void> {
    const { h } = p;
    if (p.kind === 'dirmeta') {
      const fh = await this.view.openDir(p.plan.final);
      try {
        const ids = this.owner(h);
        await fh.chown(ids.uid, ids.gid);
      } finally {
        await fh.close();
      }
      this.dirs.push({ path: p.plan.final, mode: h.mode & 0o7777, mtime: h.mtime });
      return;
    }
    if (p.kind === 'rename') {
      const parent = await this.view.openDir(p.plan.parent);
      try {
        await rename(at(parent, p.temp!), at(parent, p.plan.base));
      } finally {
        await parent.close();
      }
      return;
    }
    // Planned again: what came before it has been applied now.
    const plan = await planEntry(this.view, this.dest, h, this.opts);
    if (!plan) return;
    const parent = await this.view.openDir(plan.parent, this.rootPair);
    try {
      const path = at(parent, plan.base);
      const existing = await lstat(path).catch(() => undefined);
      if (existing && !(existing.isDirectory() && h.type === 'directory')) await removeAt(parent, plan.base);
      const ids = this.owner(h);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const file = p.body!;
        await this.writeTo({ header: h, chunks: () => createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer> }, path, ids);
      } else if (existing?.isDirectory() && h.type === 'directory') {
        await lchown(path, ids.uid, ids.gid);
        this.dirs.push({ path: plan.final, mode: h.mode & 0o7777, mtime: h.mtime });
      } else await this.make(h, plan, path, ids);
    } finally {
      await parent.close();
    }
  }

  /** Undoes what the archive did before it was refused: temporary files, then what it created. */
  private async rollback(): Promise<void> {
    for (let i = this.created.length - 1; i >= 0; i--) {
      const cpath = this.created[i];
      try {
        const parent = await this.view.openDir(posix.dirname(cpath));
        try {
          await removeAt(parent, posix.basename(cpath));
        } finally {
          await parent.close();
        }
      } catch (e) {
        log.warn('undoing a refused upload', { path: cpath, error: e });
      }
    }
    await this.dropSpool();
  }
}

/** Config.User as the container's own passwd and group files say (copyUIDGID). */
async function userIn(view: FsView, spec: string): Promise<Ids> {
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

