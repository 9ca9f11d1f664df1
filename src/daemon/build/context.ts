/**
 * The build context: the request body (a tar, plain or compressed, streamed) unpacked into a
 * private directory under <data-root>/tmp/build-*, removed after the build and at start.
 * Entries whose names climb out are refused; a path through a symlink the archive made is
 * refused too, so nothing lands outside the directory.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, realpath, symlink, link, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter } from '../../errdefs/index.ts';
import { cleanEntryName } from '../../lib/archivepath.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { readTar } from '../../lib/tar/reader.ts';

export async function unpackContext(body: Readable, tmpRoot: string): Promise<string> {
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'build-'));
  const { stream } = await decompressStream(body);
  const safeParent = async (path: string) => {
    // Every directory on the way must be a real one of ours (not a symlink the archive made).
    const parts = path.slice(dir.length + 1).split('/').slice(0, -1);
    let cur = dir;
    for (const p of parts) {
      cur = join(cur, p);
      const st = await lstat(cur).catch(() => undefined);
      if (!st) await mkdir(cur, { mode: 0o755 });
      else if (!st.isDirectory()) throw invalidParameter(`invalid build context: ${path.slice(dir.length + 1)} is below a non-directory`);
    }
  };
  for await (const e of readTar(stream)) {
    const name = cleanEntryName(e.header.name);
    if (name === undefined) throw invalidParameter(`invalid build context: the entry ${e.header.name} is outside the context`);
    if (name === '') continue;
    const path = join(dir, name);
    await safeParent(path);
    const h = e.header;
    switch (h.type) {
      case 'directory': {
        const st = await lstat(path).catch(() => undefined);
        if (!st) await mkdir(path, { mode: 0o755 });
        else if (!st.isDirectory()) throw invalidParameter(`invalid build context: ${name} is both a directory and a file`);
        await chmod(path, h.mode & 0o7777);
        break;
      }
      case 'file':
        await pipeline(e.chunks(), createWriteStream(path, { mode: h.mode & 0o7777, flags: 'wx' })).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') throw invalidParameter(`invalid build context: ${name} appears twice`);
          throw err;
        });
        await chmod(path, h.mode & 0o7777);
        await utimes(path, h.mtime, h.mtime);
        break;
      case 'symlink':
        await symlink(h.linkname, path);
        break;
      case 'link': {
        const target = cleanEntryName(h.linkname);
        if (target === undefined || target === '') throw invalidParameter(`invalid build context: the link ${name} points outside the context`);
        const real = await realpath(join(dir, target)).catch(() => '');
        if (!real.startsWith(`${dir}/`)) throw invalidParameter(`invalid build context: the link ${name} points outside the context`);
        await link(real, path);
        break;
      }
      default:
        // Devices and fifos have no place in a context.
        break;
    }
  }
  return dir;
}
