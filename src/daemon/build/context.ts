/**
 * The build context: the request body (a tar, plain or compressed, streamed) unpacked into a
 * private directory under <data-root>/tmp/build-*, removed after the build and at start.
 * Entries whose names climb out are refused; a path through a symlink the archive made is
 * refused too, so nothing lands outside the directory.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, realpath, symlink, link, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter } from '../../errdefs/index.ts';
import { cleanEntryName } from '../../lib/archivepath.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { readTar } from '../../lib/tar/reader.ts';

/** The unpacked context, and the sha256 of each regular file's content by absolute path (the cache's). */
export async function unpackContext(body: Readable, tmpRoot: string): Promise<{ dir: string; hashes: Map<string, string> }> {
  const hashes = new Map<string, string>();
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpRoot, 'build-'));
  const { stream } = await decompressStream(body);
  // Directories known to be real ones of ours: checked once, not for every file below them.
  const dirs = new Set<string>([dir]);
  const safeParent = async (path: string) => {
    // Every directory on the way must be a real one of ours (not a symlink the archive made).
    const parts = path.slice(dir.length + 1).split('/').slice(0, -1);
    let cur = dir;
    for (const p of parts) {
      cur = join(cur, p);
      if (dirs.has(cur)) continue;
      const st = await lstat(cur).catch(() => undefined);
      if (!st) await mkdir(cur, { mode: 0o755 });
      else if (!st.isDirectory()) throw invalidParameter(`invalid build context: ${path.slice(dir.length + 1)} is below a non-directory`);
      dirs.add(cur);
    }
  };
  // Small files are written in the background, several at once, while the stream is read on
  // (bounded in number and bytes); large ones are streamed in order.
  const pending = new Set<Promise<void>>();
  let pendingBytes = 0;
  let failed: unknown;
  const writeSmall = (path: string, name: string, body: Buffer, mode: number, mtime: Date) => {
    const p = (async () => {
      const fh = await open(path, 'wx', mode).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'EEXIST' ? invalidParameter(`invalid build context: ${name} appears twice`) : err;
      });
      try {
        await fh.writeFile(body);
        if ((mode & 0o7777) !== (mode & 0o755)) await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
    })().catch((e: unknown) => {
      failed ??= e;
    }).finally(() => {
      pending.delete(p);
      pendingBytes -= body.length;
    });
    pending.add(p);
    pendingBytes += body.length;
  };
  const drain = async (max: number, maxBytes: number) => {
    while (pending.size > max || pendingBytes > maxBytes) await Promise.race(pending);
    if (failed) throw failed;
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
        if (h.size <= 1 << 20) {
          await drain(32, 64 << 20);
          const body = await e.read();
          hashes.set(path, createHash('sha256').update(body).digest('hex'));
          writeSmall(path, name, body, h.mode & 0o7777, h.mtime);
          break;
        }
        const hash = createHash('sha256');
        await pipeline(e.chunks(), async function* (src: AsyncIterable<Buffer>) {
          for await (const c of src) {
            hash.update(c);
            yield c;
          }
        }, createWriteStream(path, { mode: h.mode & 0o7777, flags: 'wx' })).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') throw invalidParameter(`invalid build context: ${name} appears twice`);
          throw err;
        });
        hashes.set(path, hash.digest('hex'));
        await chmod(path, h.mode & 0o7777);
        await utimes(path, h.mtime, h.mtime);
        break;
      case 'symlink':
        await symlink(h.linkname, path);
        break;
      case 'link': {
        await drain(0, 0);
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
  await drain(0, 0);
  return { dir, hashes };
}
