/**
 * A build context directory as a list of entries: what `berth build` sends, less what
 * .dockerignore leaves out (never the Dockerfile or .dockerignore), in name order, with a
 * stat key per file. Walked by the CLI (synchronously: a one-shot process), or by berthd for a
 * CLI on the same host (asynchronously: a daemon must not stall on many small files). Both
 * walks apply the same rules, so a context is the same list whoever walks it.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { isIgnored, type IgnorePattern } from './dockerignore.ts';
import { encodeHeader } from './tar/header.ts';

export interface WalkEntry {
  rel: string;
  abs: string;
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  linkname: string;
  /** Stat key of a file that has not changed lately (see fileKey), else "". */
  key: string;
  /** A carried Dockerfile's bytes (it has no file of its own in the context). */
  content?: Buffer;
}

/** [name, type, mode, mtime (whole seconds, in ms), size, linkname, stat key]: api's ContextManifestEntry. */
export type ManifestTuple = [string, 'dir' | 'file' | 'symlink', number, number, number, string, string];

/**
 * A file's stat key: the same key means the same bytes. A file changed in the last two
 * seconds gets none (and so is always sent): file times come from a coarse clock, and two
 * writes of the same size within one tick would otherwise share a key.
 */
const SETTLED_MS = 2000;
export function fileKey(st: Stats, now: number): string {
  if (st.ctimeMs > now - SETTLED_MS || st.mtimeMs > now - SETTLED_MS) return '';
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** Whether an entry is left out: ignored, and (for a directory) no exception brings back anything below it. */
function leftOut(rel: string, isDir: boolean, ignore: IgnorePattern[], keep: Set<string>): boolean {
  if (!ignore.length || !isIgnored(rel, ignore) || keep.has(rel)) return false;
  return !isDir || !ignore.some((x) => x.exclusion && x.text.startsWith(`${rel}/`));
}

function entryOf(rel: string, abs: string, st: Stats, now: number): WalkEntry | undefined {
  const e: WalkEntry = { rel, abs, type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, size: 0, linkname: '', key: '' };
  if (st.isDirectory()) e.type = 'dir';
  else if (st.isSymbolicLink()) e.type = 'symlink';
  else if (st.isFile()) {
    e.size = st.size;
    e.key = fileKey(st, now);
  } else return undefined; // devices, fifos and sockets have no place in a context
  return e;
}

/** One directory entry as both walks take it; undefined when it is left out. */
function visit(abs: string, rel: string, name: string, ignore: IgnorePattern[], keep: Set<string>, now: number): WalkEntry | undefined {
  const r = rel ? `${rel}/${name}` : name;
  const p = `${abs}/${name}`;
  const st = lstatSync(p);
  if (leftOut(r, st.isDirectory(), ignore, keep)) return undefined;
  const e = entryOf(r, p, st, now);
  if (e?.type === 'symlink') e.linkname = readlinkSync(p);
  return e;
}

export function walkContextSync(dir: string, ignore: IgnorePattern[], keep: Set<string>): WalkEntry[] {
  const out: WalkEntry[] = [];
  const now = Date.now();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const e = visit(abs, rel, name, ignore, keep, now);
      if (!e) continue;
      out.push(e);
      if (e.type === 'dir') walk(e.abs, e.rel);
    }
  };
  walk(dir, '');
  return out;
}

/** Entries listed between two turns of the event loop. */
const SLICE = 256;

/**
 * The same walk for a daemon: synchronous calls in slices of SLICE entries, the event loop
 * served between slices. (The thread pool's round trips made a walk of 1,000 files 2–3×
 * slower than plain calls, which cost ~1.5 ms per slice here.) Undefined once the entries'
 * estimated manifest size passes `maxBytes` (such a context is sent whole).
 */
export async function walkContext(dir: string, ignore: IgnorePattern[], keep: Set<string>, maxBytes: number): Promise<WalkEntry[] | undefined> {
  const out: WalkEntry[] = [];
  const now = Date.now();
  let bytes = 0;
  let slice = 0;
  const walk = async (abs: string, rel: string): Promise<boolean> => {
    for (const name of readdirSync(abs).sort()) {
      if (++slice >= SLICE) {
        slice = 0;
        await new Promise((r) => setImmediate(r));
      }
      const e = visit(abs, rel, name, ignore, keep, now);
      if (!e) continue;
      out.push(e);
      bytes += manifestBytes(e);
      if (bytes > maxBytes) return false;
      if (e.type === 'dir' && !(await walk(e.abs, e.rel))) return false;
    }
    return true;
  };
  return (await walk(dir, '')) ? out : undefined;
}

/** A generous estimate of an entry's JSON in a manifest (a name's JSON may escape characters). */
export function manifestBytes(e: WalkEntry): number {
  return e.rel.length * 2 + e.linkname.length * 2 + 100;
}

export function manifestTuple(e: WalkEntry): ManifestTuple {
  return [e.rel, e.type, e.mode, Math.floor(e.mtimeMs / 1000) * 1000, e.size, e.linkname, e.key];
}

/** An entry's tar header, made only when it is sent or measured. */
export function headerOf(e: WalkEntry): Buffer {
  const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) };
  if (e.type === 'dir') return encodeHeader({ name: `${e.rel}/`, type: 'directory', ...common });
  if (e.type === 'symlink') return encodeHeader({ name: e.rel, type: 'symlink', linkname: e.linkname, ...common });
  return encodeHeader({ name: e.rel, type: 'file', size: e.size, ...common });
}

/** The size of the whole context as a tar, as docker reports it ("Sending build context"). */
export function tarSize(entries: WalkEntry[]): number {
  let n = 1024;
  for (const e of entries) n += headerOf(e).length + Math.ceil(e.size / 512) * 512;
  return n;
}
