/**
 * Directory trees as tar streams, the other direction of apply.ts: a container's writable
 * (upper) directory becomes a layer (`commit`), with overlay whiteouts (0/0 character
 * devices) written as OCI `.wh.<name>` files and opaque directories as `.wh..wh..opq`; a
 * mounted root filesystem becomes a flat archive (`export`). Ownership, modes, times,
 * symlinks, hard links (within the tree), devices and FIFOs are kept; sockets are skipped,
 * as docker does.
 */
import { layerIdMapping, type IdMapping } from '../../lib/idmap.ts';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as fss from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { encodeHeader, padding, END, type WriteHeader } from '../../lib/tar/header.ts';
import { tarSink, writeBody } from '../../lib/tar/writer.ts';

// In a worker thread (commit runs there) the walk uses blocking calls: no thread-pool round
// trip per call, which is what a layer of many small files costs otherwise.
const sync = !isMainThread;
/** A blocking call as a promise, its error a rejection as the asynchronous call's (the walk's `.catch`es rely on it). */
function settled<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (e) {
    return Promise.reject(e);
  }
}
const lstat = (p: string) => (sync ? settled(() => fss.lstatSync(p)) : fsp.lstat(p));
const readdir = (p: string) => (sync ? settled(() => fss.readdirSync(p)) : fsp.readdir(p));
const readlink = (p: string) => (sync ? settled(() => fss.readlinkSync(p)) : fsp.readlink(p));
const readFile = (p: string) => (sync ? settled(() => fss.readFileSync(p)) : fsp.readFile(p));

export interface PackOptions {
  /** The userns-remap mapping the tree is stored with (default: the process's). */
  idmap?: IdMapping;
  /** Translate overlay whiteouts and opaque directories into OCI whiteout files. */
  whiteouts?: boolean;
  /** Relative paths to leave out. */
  exclude?: Set<string>;
}

/**
 * Files the runtime creates in a container's own layer as mount points for /etc/hostname,
 * /etc/hosts, /etc/resolv.conf and --init's /sbin/docker-init when the image lacks them.
 * Docker keeps them in a separate init layer, so they never show in `diff` or land in
 * `commit`; neither do they here.
 */
const MOUNT_POINT_FILES = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', '.dockerenv', 'sbin/docker-init'];

export async function mountPointFiles(upper: string, lowers: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const rel of MOUNT_POINT_FILES) {
    const st = await lstat(join(upper, rel)).catch(() => undefined);
    if (!st?.isFile() || st.size !== 0) continue;
    let inLower = false;
    for (const l of lowers) if (await lstat(join(l, rel)).then(() => true, () => false)) inLower = true;
    if (!inLower) out.add(rel);
  }
  return out;
}

/**
 * The mount points a runtime made in a container's own layer for mounts at `targets`
 * (absolute paths) where the image had nothing: each target and the parents made for it, as
 * long as they exist in no lower layer and hold nothing else (an empty file, or a directory
 * of such stubs). BuildKit leaves RUN --mount's stubs out of the step's layer; so does the
 * builder here.
 */
export async function mountStubs(upper: string, lowers: string[], targets: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const inLower = async (rel: string) => {
    for (const l of lowers) if (await fsp.lstat(join(l, rel)).then(() => true, () => false)) return true;
    return false;
  };
  // deepest first, so that a parent sees its stub children already taken
  const all = new Set<string>();
  for (const t of targets) {
    for (let rel = t.replace(/^\/+|\/+$/g, ''); rel && rel !== '.'; rel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '') all.add(rel);
  }
  for (const rel of [...all].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const st = await fsp.lstat(join(upper, rel)).catch(() => undefined);
    if (!st || (await inLower(rel))) continue;
    if (st.isFile() && st.size === 0) out.add(rel);
    else if (st.isDirectory() && (await fsp.readdir(join(upper, rel))).every((n) => out.has(`${rel}/${n}`))) out.add(rel);
  }
  return out;
}

const major = (rdev: number) => Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
const minor = (rdev: number) => Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & 0xfff00n);

/**
 * Extended attributes under `root`, from one getfattr run: directories overlayfs marked
 * opaque (trusted.overlay.opaque=y), and the rest as PAX records for tar headers (path →
 * name and value bytes; overlayfs's own trusted.* attributes stay out). Values go into the
 * archive byte for byte.
 */
export async function scanXattrs(root: string): Promise<{ opaque: Set<string>; pax: Map<string, [string, Buffer][]> }> {
  const opaque = new Set<string>();
  const pax = new Map<string, [string, Buffer][]>();
  const text = await new Promise<string>((resolve) => {
    const p = spawn('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', root], { stdio: ['ignore', 'pipe', 'ignore'] });
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d.toString()));
    p.on('error', () => resolve(''));
    p.on('close', () => resolve(s));
  });
  let file: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const abs = line.slice(8);
      file = abs === root ? '' : abs.startsWith(`${root}/`) ? abs.slice(root.length + 1) : undefined;
      continue;
    }
    const eq = line.indexOf('=');
    if (file === undefined || eq <= 0) continue;
    const name = line.slice(0, eq);
    const raw = line.slice(eq + 1);
    const value = raw.startsWith('0s') ? Buffer.from(raw.slice(2), 'base64') : Buffer.from(raw.replace(/^"|"$/g, ''));
    if (name === 'trusted.overlay.opaque') {
      if (value.toString() === 'y' && file) opaque.add(file);
      continue;
    }
    if (name.startsWith('trusted.') || !file) continue;
    (pax.get(file) ?? pax.set(file, []).get(file)!).push([name, value]);
  }
  return { opaque, pax };
}

export function packTree(root: string, opts: PackOptions = {}): Readable {
  const { out, write } = tarSink();
  const entry = async (h: WriteHeader, body?: Buffer) => {
    await write(encodeHeader(h));
    if (body && body.length) {
      await write(body);
      await write(padding(body.length));
    }
  };
  const links = new Map<string, string>();
  let xattrs = new Map<string, [string, Buffer][]>();
  // With userns-remap, owners go back to the container's view (moby's IDMap.ToContainer).
  const idmap = opts.idmap ?? layerIdMapping();
  const own = (st: { uid: number; gid: number }) => (idmap ? idmap.toContainer(st.uid, st.gid) : { uid: st.uid, gid: st.gid });
  const walk = async (rel: string, opaque: Set<string>): Promise<void> => {
    const names = (await readdir(join(root, rel)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' && rel) return [] as string[]; // a directory removed as it was walked
      throw e;
    })).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (opts.exclude?.has(path)) continue;
      const abs = join(root, path);
      // A running container not paused for the commit may remove a file as it is listed.
      const st = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (!st) continue;
      const whiteout = st.isCharacterDevice() && st.rdev === 0 && opts.whiteouts;
      // The kernel makes overlay whiteouts as host root, outside any mapping: they are root's.
      const ids = whiteout && idmap ? { uid: 0, gid: 0 } : own(st);
      const base = { name: path, uid: ids.uid, gid: ids.gid, mode: st.mode & 0o7777, mtime: st.mtime, xattrs: xattrs.get(path) };
      if (whiteout) {
        await entry({ name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', uid: ids.uid, gid: ids.gid, mode: 0o644, mtime: st.mtime, size: 0 });
      } else if (st.isDirectory()) {
        await entry({ ...base, type: 'directory' });
        if (opts.whiteouts && opaque.has(path)) await entry({ name: `${path}/.wh..wh..opq`, type: 'file', uid: ids.uid, gid: ids.gid, mtime: st.mtime, mode: 0o644, size: 0 });
        await walk(path, opaque);
      } else if (st.isSymbolicLink()) {
        const linkname = await readlink(abs).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined; // removed as it was listed
          throw e;
        });
        if (linkname !== undefined) await entry({ ...base, type: 'symlink', linkname });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await entry({ ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, path);
        if (st.size <= SMALL_FILE) {
          // One read instead of a stream's open/read/close: most files in a layer are small.
          const data = await readFile(abs).catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return undefined; // removed as it was listed
            throw e;
          });
          if (data) await entry({ ...base, type: 'file', size: data.length }, data);
          continue;
        }
        await write(encodeHeader({ ...base, type: 'file', size: st.size }));
        await writeBody(write, createReadStream(abs, { highWaterMark: 1 << 20 }), st.size);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await entry({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      } else if (st.isFIFO()) {
        await entry({ ...base, type: 'fifo' });
      }
    }
  };
  void (async () => {
    const scan = await scanXattrs(root);
    const opaque = opts.whiteouts ? scan.opaque : new Set<string>();
    xattrs = scan.pax;
    await walk('', opaque);
    await write(END);
    out.end();
  })().catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  return out;
}

export type ChangeKind = 0 | 1 | 2;

const SMALL_FILE = 256 << 10;

/**
 * `docker diff`: what a container's upper directory changed against its image's layers —
 * 0 modified (also every directory a change was copied up into), 1 added, 2 deleted —
 * sorted by path, each path absolute.
 */
export async function listChanges(upper: string, lowers: string[]): Promise<{ Path: string; Kind: ChangeKind }[]> {
  const out: { Path: string; Kind: ChangeKind }[] = [];
  const exclude = await mountPointFiles(upper, lowers);
  const inLower = async (rel: string) => {
    for (const l of lowers) if (await lstat(join(l, rel)).then(() => true, () => false)) return true;
    return false;
  };
  /** Returns whether the subtree held only excluded mount points (then its copy-up is noise). */
  const walk = async (rel: string): Promise<{ kept: number; excluded: number }> => {
    let kept = 0;
    let excluded = 0;
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (exclude.has(path)) {
        excluded++;
        continue;
      }
      const st = await lstat(join(upper, path));
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: `/${path}`, Kind: 2 });
        kept++;
        continue;
      }
      const lower = await inLower(path);
      const entry = { Path: `/${path}`, Kind: (lower ? 0 : 1) as ChangeKind };
      out.push(entry);
      if (st.isDirectory()) {
        const sub = await walk(path);
        if (lower && sub.kept === 0 && sub.excluded > 0) {
          out.splice(out.indexOf(entry), 1);
          excluded += sub.excluded;
          continue;
        }
      }
      kept++;
    }
    return { kept, excluded };
  };
  await walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
