/**
 * The local side of `berth cp`: a tar of a local path (go-archive's TarWithOptions with the
 * source directory included), entries renamed (RebaseArchiveEntries), and a tar extracted into a
 * local directory (Untar with NoLchown and NoOverwriteDirNonDir: files belong to whoever runs
 * the copy). Extraction never writes outside the target: a name that climbs out, a link that
 * points out, or a path through a symlink (one already there or one the archive made) that
 * leads elsewhere is refused.
 */
import { fsp } from '../../lazy.ts';
import { constants, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { encodeHeader, TarFormatError, type WriteHeader } from '../../../lib/tar/header.ts';
import { readTar } from '../../../lib/tar/reader.ts';
import { tarSource, type TarSource, type TarWriter } from '../../../lib/tar/writer.ts';
import { StatusError } from '../../context.ts';
import { cleanEntryName, isWithin } from '../../../lib/archivepath.ts';

/**
 * A tar of `path` (a trailing `/.` means its contents), the top entry named `name` if given
 * (RebaseArchiveEntries' renaming done as the names are made, not by rewriting the tar).
 */
export function packLocal(path: string, name?: string): TarSource {
  const contents = path === '.' || path.endsWith('/.');
  const top = path.replace(/\/\.$/, '').replace(/(.)\/+$/, '$1') || '/';
  const topName = name || (contents ? '.' : posix.basename(top) || '/');
  const links = new Map<string, string>();
  const entry = async (w: TarWriter, abs: string, name: string): Promise<void> => {
    const st = await fsp().lstat(abs);
    const h: WriteHeader = { name, type: 'file', uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isDirectory()) {
      await w.write(encodeHeader({ ...h, type: 'directory' }));
      for (const n of (await fsp().readdir(abs)).sort()) await entry(w, posix.join(abs, n), `${name.replace(/\/$/, '')}/${n}`);
    } else if (st.isSymbolicLink()) {
      await w.write(encodeHeader({ ...h, type: 'symlink', linkname: await fsp().readlink(abs) }));
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) return w.write(encodeHeader({ ...h, type: 'link', linkname: first }));
      if (st.nlink > 1) links.set(key, name);
      const fh = await fsp().open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await w.write(encodeHeader({ ...h, size: st.size }));
        await w.file(fh, st.size);
      } finally {
        await fh.close();
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const major = Math.floor(st.rdev / 256) & 0xfff;
      const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
      await w.write(encodeHeader({ ...h, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor }));
    } else if (st.isFIFO()) {
      await w.write(encodeHeader({ ...h, type: 'fifo' }));
    }
    // Sockets are left out, as docker does.
  };
  return tarSource((w) => entry(w, top, topName), () => Promise.resolve());
}

/** RebaseArchiveEntries' renaming: the first `from` in a name (or hard link target) becomes `to`. */
export function renamer(from: string, to: string): (name: string) => string {
  const old = from === '/' ? '' : from;
  return (n) => (old === '' ? to + n : n.replace(old, to));
}

/** The CLI does nothing else meanwhile, and a write straight from the still-warm buffer is the cheapest. */
function writeFully(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
}

/**
 * Extracts `src` into the local directory `dir` (which must exist), each entry's name (and hard
 * link target) passed through `rename`. The chunks may be transient (one reused buffer): each
 * is written out before the next is asked for.
 */
export async function extractLocal(src: AsyncIterable<Buffer>, dir: string, rename: (name: string) => string = (n) => n): Promise<void> {
  const root = await fsp().realpath(dir).catch(() => {
    throw new StatusError(1, `stat ${dir}: no such file or directory`);
  });
  const dirs: { path: string; mode: number; mtime: Date }[] = [];
  /** The parent of `rel` made (0755) or checked: its real path must stay under root. */
  const parentOf = async (rel: string, name: string): Promise<string> => {
    let cur = root;
    for (const part of rel.split('/').slice(0, -1)) {
      const next = `${cur}/${part}`;
      const st = await fsp().lstat(next).catch(() => undefined);
      if (!st) await fsp().mkdir(next, { mode: 0o755 });
      else if (st.isSymbolicLink()) {
        const real = await fsp().realpath(next).catch(() => undefined);
        if (!real || !isWithin(real, root)) throw new StatusError(1, `${JSON.stringify(name)} is outside of ${JSON.stringify(dir)}`);
        cur = real;
        continue;
      } else if (!st.isDirectory()) throw new StatusError(1, `${JSON.stringify(name)}: ${next} is not a directory`);
      cur = next;
    }
    return cur;
  };
  try {
    for await (const e of readTar(src, { transient: true })) {
      const h = e.header;
      const name = rename(h.name);
      const rel = cleanEntryName(name);
      if (rel === undefined) throw new StatusError(1, `${JSON.stringify(name)} is outside of ${JSON.stringify(dir)}`);
      if (rel === '') continue;
      const parent = await parentOf(rel, name);
      const path = `${parent}/${posix.basename(rel)}`;
      const existing = await fsp().lstat(path).catch(() => undefined);
      const isDir = h.type === 'directory';
      if (existing?.isDirectory() && !isDir) throw new StatusError(1, `cannot overwrite directory ${JSON.stringify(path)} with non-directory ${JSON.stringify(dir)}`);
      if (existing && !existing.isDirectory() && isDir) throw new StatusError(1, `cannot overwrite non-directory ${JSON.stringify(path)} with directory ${JSON.stringify(dir)}`);
      if (existing && !(existing.isDirectory() && isDir)) await fsp().rm(path, { recursive: true, force: true });
      const mode = h.mode & 0o7777;
      switch (h.type) {
        case 'directory':
          if (!existing) await fsp().mkdir(path, { mode: 0o700 });
          dirs.push({ path, mode, mtime: h.mtime });
          break;
        case 'file':
        case 'contiguous-file': {
          const fh = await fsp().open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
          try {
            for await (const c of e.chunks()) writeFully(fh.fd, c);
            await fh.chmod(mode);
            await fh.utimes(h.mtime, h.mtime);
          } finally {
            await fh.close();
          }
          break;
        }
        case 'symlink':
          if (!h.linkname.startsWith('/') && !isWithin(posix.join(posix.dirname(path), h.linkname), root)) {
            throw new StatusError(1, `invalid symlink ${JSON.stringify(path)} -> ${JSON.stringify(h.linkname)}`);
          }
          await fsp().symlink(h.linkname, path);
          await fsp().lutimes(path, h.mtime, h.mtime);
          break;
        case 'link': {
          const lname = rename(h.linkname);
          const lrel = cleanEntryName(lname);
          if (lrel === undefined || lrel === '') throw new StatusError(1, `invalid hardlink ${JSON.stringify(posix.join(dir, lname))} -> ${JSON.stringify(lname)}`);
          const target = `${await parentOf(lrel, lname)}/${posix.basename(lrel)}`;
          await fsp().link(target, path);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          const t = h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c';
          const args = ['-m', mode.toString(8), path, t, ...(t === 'p' ? [] : [String(h.devmajor), String(h.devminor)])];
          await new Promise<void>((resolve, reject) => process.getBuiltinModule('node:child_process').execFile('mknod', args, (err, _o, stderr) => (err ? reject(new StatusError(1, `mknod ${path}: ${String(stderr).trim() || err.message}`)) : resolve())));
          break;
        }
        default:
          throw new StatusError(1, `unhandled tar header type ${h.typeflag}`);
      }
    }
  } catch (e) {
    if (e instanceof TarFormatError) throw new StatusError(1, `archive/tar: ${e.message}`);
    throw e;
  }
  for (let i = dirs.length - 1; i >= 0; i--) {
    await fsp().chmod(dirs[i].path, dirs[i].mode);
    await fsp().utimes(dirs[i].path, dirs[i].mtime, dirs[i].mtime);
  }
}
