/**
 * Applies a layer tarball (uncompressed tar stream) to an empty directory, the layer's own
 * `diff` directory, converting OCI whiteouts into overlayfs ones.
 *
 * Safety: the directory starts empty, so every path in it was created by this archive. We
 * track what each path is as we create it and refuse any entry whose path leaves the root
 * (`..`) or whose parent is a symlink the archive made earlier: writing through such a link
 * could reach outside the layer (docker chroots to get the same guarantee). Hard links must
 * point at earlier entries inside the layer.
 */
import { FileSink } from '../../lib/filesink.ts';
import * as fsp from 'node:fs/promises';
import * as fss from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { posix, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readTar } from '../../lib/tar/reader.ts';
import { TarFormatError } from '../../lib/tar/header.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import type { FsOps } from './fsops.ts';
import { layerIdMapping, type IdMapping } from '../../lib/idmap.ts';

/**
 * The file operations of unpacking. In a worker thread (pulls, loads, commits) they are made
 * synchronously: blocking there holds up nobody, and it saves a thread-pool round trip per
 * call — five per file, which dominated unpacking layers of many small files. On the event
 * loop they stay asynchronous.
 */
const sync = !isMainThread;
const mkdir = (p: string, o: fss.MakeDirectoryOptions & { recursive?: false }) => (sync ? Promise.resolve(void fss.mkdirSync(p, o)) : fsp.mkdir(p, o).then(() => undefined));
const rm = (p: string, o: fss.RmOptions) => (sync ? Promise.resolve(fss.rmSync(p, o)) : fsp.rm(p, o));
const lchown = (p: string, u: number, g: number) => (sync ? Promise.resolve(fss.lchownSync(p, u, g)) : fsp.lchown(p, u, g));
const chmod = (p: string, m: number) => (sync ? Promise.resolve(fss.chmodSync(p, m)) : fsp.chmod(p, m));
const utimes = (p: string, a: Date, m: Date) => (sync ? Promise.resolve(fss.utimesSync(p, a, m)) : fsp.utimes(p, a, m));
const lutimes = (p: string, a: Date, m: Date) => (sync ? Promise.resolve(fss.lutimesSync(p, a, m)) : fsp.lutimes(p, a, m));
const link = (a: string, b: string) => (sync ? Promise.resolve(fss.linkSync(a, b)) : fsp.link(a, b));
const symlink = (a: string, b: string) => (sync ? Promise.resolve(fss.symlinkSync(a, b)) : fsp.symlink(a, b));
const writeFile = (p: string, d: Buffer, o: { mode: number }) => (sync ? Promise.resolve(fss.writeFileSync(p, d, o)) : fsp.writeFile(p, d, o));

/**
 * A small file whole: contents, owner, mode (after the owner: chown clears setuid bits) and
 * times. Blocking (in a worker) it goes through one descriptor — one path lookup instead of
 * four, which is most of the cost in a layer of many small files.
 */
async function writeSmallFile(p: string, data: Buffer, uid: number, gid: number, mode: number, mtime: Date): Promise<void> {
  if (!sync) {
    await writeFile(p, data, { mode: 0o600 });
    return setFileMeta(p, uid, gid, mode, mtime);
  }
  const fd = fss.openSync(p, 'w', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += fss.writeSync(fd, data, off, data.length - off);
    fss.fchownSync(fd, uid, gid);
    fss.fchmodSync(fd, mode);
    fss.futimesSync(fd, mtime, mtime);
  } finally {
    fss.closeSync(fd);
  }
}

/** Owner, then mode (chown clears setuid bits), then times, by path. */
async function setFileMeta(p: string, uid: number, gid: number, mode: number, mtime: Date): Promise<void> {
  await lchown(p, uid, gid);
  await chmod(p, mode);
  await utimes(p, mtime, mtime);
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream: the layer's DiffID ('' when not hashed). */
  diffId: string;
  /** Bytes of content (regular files once per inode, symlink targets), as docker's du. */
  size: number;
  entries: number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'other';

const SMALL_FILE = 256 * 1024;

/** Cleans an archive path to a relative path inside the root, or throws. */
export function cleanEntryPath(name: string): string {
  const cleaned = posix.normalize('/' + name).slice(1).replace(/\/+$/, '');
  const parts = name.split('/');
  if (parts.includes('..')) {
    // normalize('/..') stays inside '/', so we check the raw components: docker calls this a breakout.
    let depth = 0;
    for (const p of parts) {
      if (p === '..') depth--;
      else if (p !== '' && p !== '.') depth++;
      if (depth < 0) throw invalidParameter(`invalid tar entry "${name}": path escapes the layer root`);
    }
  }
  return cleaned;
}

interface DirTimes {
  path: string;
  mode: number;
  mtime: Date;
}

/**
 * Applies `src` (an uncompressed tar stream) to `root`. The caller owns `root` and removes it
 * when this throws.
 */
export async function applyTar(src: Readable, root: string, ops: FsOps, opts: { hash?: boolean; idmap?: IdMapping } = {}): Promise<ApplyResult> {
  // A caller that already hashes these exact bytes (an uncompressed blob) says hash: false.
  const hash = opts.hash === false ? undefined : createHash('sha256');
  // With userns-remap every owner is stored as the host sees it (moby's IDMap.ToHost).
  const idmap = opts.idmap ?? layerIdMapping();
  const owner = (uid: number, gid: number) => (idmap ? idmap.toHost(uid, gid) : { uid, gid });
  const rootPair = owner(0, 0);
  let total = 0;
  const onData = (c: Buffer) => {
    hash?.update(c);
    total += c.length;
  };
  const kinds = new Map<string, Kind>([['', 'dir']]);
  const dirs: DirTimes[] = [];
  let size = 0;
  let entries = 0;

  const ensureParent = async (rel: string, original: string): Promise<void> => {
    const parent = posix.dirname(rel);
    if (parent === '.' || parent === '') return;
    const kind = kinds.get(parent);
    if (kind === 'dir') return;
    if (kind !== undefined) {
      throw invalidParameter(`invalid tar entry "${original}": parent "${parent}" is a ${kind === 'symlink' ? 'symlink' : 'file'} in this layer`);
    }
    await ensureParent(parent, original);
    await mkdir(join(root, parent), { mode: 0o755 });
    if (idmap) await lchown(join(root, parent), rootPair.uid, rootPair.gid);
    kinds.set(parent, 'dir');
  };

  const removeExisting = async (rel: string): Promise<void> => {
    const kind = kinds.get(rel);
    if (kind === undefined) return;
    if (kind === 'dir') return; // a directory entry seen twice keeps its contents
    await rm(join(root, rel), { force: true });
    kinds.delete(rel);
  };

  try {
    for await (const entry of readTar(src, { onData })) {
      const h = entry.header;
      entries++;
      if (idmap) Object.assign(h, owner(h.uid, h.gid));
      const rel = cleanEntryPath(h.name);
      if (rel === '') {
        // The root directory entry ("./"): only its metadata matters.
        dirs.push({ path: root, mode: h.mode, mtime: h.mtime });
        await lchown(root, h.uid, h.gid);
        continue;
      }
      await ensureParent(rel, h.name);
      const abs = join(root, rel);
      const base = posix.basename(rel);
      const dir = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);

      if (base === OPAQUE_WHITEOUT) {
        await ops.setOpaque(join(root, dir));
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const target = posix.join(dir, base.slice(WHITEOUT_PREFIX.length));
        await removeExisting(target);
        await ops.whiteout(join(root, target));
        if (idmap) await lchown(join(root, target), rootPair.uid, rootPair.gid);
        kinds.set(target, 'other');
        continue;
      }

      const mode = h.mode & 0o7777;
      const mtime = h.mtime;
      switch (h.type) {
        case 'directory': {
          if (kinds.get(rel) !== 'dir') {
            await removeExisting(rel);
            await mkdir(abs, { mode: 0o755 });
            kinds.set(rel, 'dir');
          }
          await lchown(abs, h.uid, h.gid);
          dirs.push({ path: abs, mode, mtime });
          break;
        }
        case 'file':
        case 'contiguous-file': {
          await removeExisting(rel);
          if (h.size <= SMALL_FILE) {
            await writeSmallFile(abs, await entry.read(), h.uid, h.gid, mode, mtime);
          } else {
            await pipeline(entry.chunks(), new FileSink(abs, { mode: 0o600 }));
            await setFileMeta(abs, h.uid, h.gid, mode, mtime);
          }
          kinds.set(rel, 'file');
          size += h.size;
          break;
        }
        case 'link': {
          const target = cleanEntryPath(h.linkname);
          const tk = kinds.get(target);
          if (tk === undefined || tk === 'dir') {
            throw invalidParameter(`invalid tar entry "${h.name}": hard link target "${h.linkname}" is not an earlier file in this layer`);
          }
          await removeExisting(rel);
          await link(join(root, target), abs);
          kinds.set(rel, tk);
          break;
        }
        case 'symlink': {
          await removeExisting(rel);
          await symlink(h.linkname, abs);
          kinds.set(rel, 'symlink');
          size += Buffer.byteLength(h.linkname);
          await lchown(abs, h.uid, h.gid);
          await lutimes(abs, mtime, mtime);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          await removeExisting(rel);
          const type = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
          await ops.mknod(abs, type, mode, h.devmajor, h.devminor);
          kinds.set(rel, 'other');
          await lchown(abs, h.uid, h.gid);
          break;
        }
        default:
          // Other entry types (GNU sparse, volume labels) are skipped, as docker does.
          continue;
      }
      for (const [k, v] of h.xattrs) await ops.setXattr(abs, k, v);
    }
  } catch (e) {
    // The cause travels upstream too (a tee feeding this and a blob file stops with it).
    src.destroy(e instanceof Error ? e : undefined);
    throw wrapTarError(e);
  }
  if (entries === 0 && total === 0) throw invalidParameter('archive is empty');
  if (idmap && !dirs.some((d) => d.path === root)) await lchown(root, rootPair.uid, rootPair.gid);
  // Directory modes and times last: adding entries changed their mtimes.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i];
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtime, d.mtime);
  }
  return { diffId: hash ? 'sha256:' + hash.digest('hex') : '', size, entries };
}

function wrapTarError(e: unknown): unknown {
  if (e instanceof TarFormatError) return invalidParameter(`archive/tar: ${e.message}`, e);
  return e;
}
