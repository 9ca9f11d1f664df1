/**
 * `berth cp`: files between a container and the local file system, as docker/cli's cp.go and
 * go-archive's copy.go do it — the same rules for trailing `/` and `/.`, a directory onto a
 * file and the reverse, `-` for a tar on stdin or stdout, and the same messages. The local
 * side is written by cptar.ts.
 */
import { fsp, streamp } from '../../lazy.ts';
import { resolve as resolvePath, posix } from 'node:path';
import type { PathStat } from '../../../api/types.ts';
import { humanSizeWithPrecision } from '../../../lib/units.ts';
import { goBase, preserveTrailing } from '../../../lib/archivepath.ts';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { extractLocal, packLocal, renamer } from './cptar.ts';

const cpFlags = defineFlags({
  followLink: { short: 'L', long: 'follow-link', kind: 'bool', help: 'Always follow symbol link in SRC_PATH' },
  archive: { short: 'a', long: 'archive', kind: 'bool', help: 'Archive mode (copy all uid/gid information)' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
});

export const cpCommand = defineCommand({
  name: 'cp', usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  short: 'Copy files/folders between a container and the local filesystem',
  aliasPaths: ['container cp', 'cp'], flags: cpFlags, args: { min: 2, max: 2 },
});

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_IRREGULAR = 2 ** 26 + 2 ** 25 + 2 ** 24 + 2 ** 21 + 2 ** 19;
const isDirMode = (m: number) => m >= MODE_DIR;
const isSymlinkMode = (m: number) => Math.floor(m / MODE_SYMLINK) % 2 === 1;

/** `CONTAINER:PATH` or a local path (absolute, or with no colon, or starting with `.`). */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** filepath.Abs keeping a trailing `/` or `/.` (go-archive's PreserveTrailingDotOrSeparator). */
export function resolveLocalPath(p: string): string {
  return preserveTrailing(resolvePath(p), p);
}

const assertsDirectory = (p: string) => p.endsWith('/') || p === '.' || p.endsWith('/.');

/** go-archive's SplitPathDirEntry: the parent and the last element (a trailing `/.` kept as `.`). */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = posix.normalize(p);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (p === '.' || p.endsWith('/.')) cleaned = cleaned === '/' ? '/.' : `${cleaned}/.`;
  return [posix.dirname(cleaned), goBase(cleaned)];
}

interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName?: string;
}

/**
 * go-archive's PrepareArchiveCopy: the directory to extract into, and the entry name to
 * rename the archive's top element to (undefined: as it is).
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dir: string; rename?: [string, string] } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  const srcBase = src.rebaseName || goBase(src.path.replace(/\/\.$/, '/.'));
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists && src.isDir) throw new StatusError(1, 'cannot copy directory');
  if (dst.exists || src.isDir) return { dir: dstDir, rename: [srcBase, dstBase] };
  if (assertsDirectory(dst.path)) throw new StatusError(1, 'no such directory');
  return { dir: dstDir, rename: [srcBase, dstBase] };
}

/** go-archive's GetRebaseName: a link's target keeps the link's trailing `/` or `/.`. */
function rebaseName(path: string, resolved: string): { resolved: string; rebase: string } {
  let r = resolved;
  if (path.endsWith('/') && !r.endsWith('/')) r += '/';
  else if (path.endsWith('/.') && !r.endsWith('/.')) r += r.endsWith('/') ? '.' : '/.';
  return { resolved: r, rebase: goBase(path) !== goBase(r) ? goBase(path) : '' };
}

/** Live progress on a terminal stderr, docker's escape sequences; nothing otherwise. */
function progress(ctx: CliContext, quiet: boolean, header: string, counter: { readonly n: number }): () => void {
  if (quiet || !ctx.stderr.isTTY) return () => {};
  ctx.stderr.write(`\x1b[s\x1b[?25l\x1b[u\x1b[2K${header}0B`);
  let last = -1;
  const t = setInterval(() => {
    if (counter.n === last) return;
    last = counter.n;
    ctx.stderr.write(`\x1b[${header.length + 1}G\x1b[0K${humanSizeWithPrecision(counter.n, 3)}`);
  }, 75);
  return () => {
    clearInterval(t);
    ctx.stderr.write('\x1b[?25h\x1b[u\x1b[2K');
  };
}

export async function cp(ctx: CliContext, p: Parsed<typeof cpFlags>): Promise<number> {
  const [srcArg, dstArg] = p.args;
  if (srcArg === '') throw new StatusError(1, 'source can not be empty');
  if (dstArg === '') throw new StatusError(1, 'destination can not be empty');
  const src = splitCpArg(srcArg);
  const dst = splitCpArg(dstArg);
  // Quiet unless stdout is a terminal, as docker decides.
  const quiet = p.flags.quiet || !ctx.stdout.isTTY;
  if (src.container && dst.container) throw new StatusError(1, 'copying between containers is not supported');
  if (src.container) return copyFromContainer(ctx, src.container, src.path, dstArg === '-' ? '-' : dst.path, p.flags.followLink, quiet);
  if (dst.container) return copyToContainer(ctx, srcArg === '-' ? '-' : src.path, dst.container, dst.path, p.flags.followLink, p.flags.archive, quiet);
  throw new StatusError(1, 'must specify at least one container source');
}

async function copyFromContainer(ctx: CliContext, container: string, srcPath: string, dstPath: string, follow: boolean, quiet: boolean): Promise<number> {
  let dst = dstPath;
  if (dst !== '-') {
    dst = resolveLocalPath(dst);
    await validateOutputPath(dst);
  }
  let rebase = '';
  if (follow) {
    const st = await ctx.client.containerStatPath(container, srcPath).catch(() => undefined);
    if (st && isSymlinkMode(st.mode)) {
      const target = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(posix.dirname(srcPath), st.linkTarget);
      const r = rebaseName(srcPath, target);
      rebase = r.rebase;
      srcPath = r.resolved;
    }
  }
  if (dst === '-') {
    const { body } = await ctx.client.containerArchive(container, srcPath);
    await streamp().pipeline(body, ctx.stdout as unknown as NodeJS.WritableStream);
    return 0;
  }
  const { stat, chunks } = await ctx.client.containerArchiveChunks(container, srcPath);
  const counter = { n: 0 };
  const counted = async function* () {
    for await (const c of chunks) {
      counter.n += c.length;
      yield c;
    }
  };
  const done = progress(ctx, quiet, 'Copying from container - ', counter);
  const srcInfo: CopyInfo = { path: srcPath, exists: true, isDir: isDirMode(stat.mode), ...(rebase ? { rebaseName: rebase } : {}) };
  const renames: ((n: string) => string)[] = [];
  if (rebase) renames.push(renamer(goBase(srcPath), rebase));
  let failure: unknown;
  const tar = counted();
  try {
    const dstInfo = await copyInfoDestinationPath(dst);
    const plan = prepareArchiveCopy(srcInfo, dstInfo);
    if (plan.rename) renames.push(renamer(plan.rename[0], plan.rename[1]));
    await extractLocal(tar, plan.dir, (n) => renames.reduce((m, r) => r(m), n));
  } catch (e) {
    failure = e;
    // Closes the connection if the archive was not read to its end.
    await tar.return(undefined);
  } finally {
    done();
  }
  if (!quiet) ctx.stderr.write(`Successfully copied ${humanSizeWithPrecision(counter.n, 3)} to ${dst}\n`);
  if (failure) throw failure;
  return 0;
}

async function copyToContainer(ctx: CliContext, srcPath: string, container: string, dstPath: string, follow: boolean, copyUIDGID: boolean, quiet: boolean): Promise<number> {
  if (srcPath !== '-') srcPath = resolveLocalPath(srcPath);
  let dstInfo: CopyInfo = { path: dstPath, exists: false, isDir: false };
  let dstStat: PathStat | undefined = await ctx.client.containerStatPath(container, dstPath).catch(() => undefined);
  if (dstStat && isSymlinkMode(dstStat.mode)) {
    let target = dstStat.linkTarget;
    if (!target.startsWith('/')) target = posix.join(posix.dirname(dstPath), target);
    dstInfo.path = target;
    dstStat = await ctx.client.containerStatPath(container, target).catch(() => undefined);
  }
  if (dstStat) {
    if (!isDirMode(dstStat.mode) && dstStat.mode & MODE_IRREGULAR) {
      throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory or a regular file: got ${Math.floor(dstStat.mode / 2 ** 26) % 2 ? 'a device' : 'an irregular file'}`);
    }
    dstInfo = { ...dstInfo, exists: true, isDir: isDirMode(dstStat.mode) };
  }
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory`);
    await ctx.client.containerPutArchive(container, dstInfo.path, ctx.stdin, { noOverwriteDirNonDir: true, copyUIDGID });
    if (!quiet) ctx.stderr.write(`Successfully copied 0B to ${container}:${dstInfo.path}\n`);
    return 0;
  }
  const srcInfo = await copyInfoSourcePath(srcPath, follow);
  const plan = prepareArchiveCopy(srcInfo, dstInfo);
  const tar = packLocal(srcInfo.path, plan.rename ? plan.rename[1] : srcInfo.rebaseName);
  const counter = { n: 0 };
  const done = progress(ctx, quiet, 'Copying to container - ', counter);
  let failure: unknown;
  try {
    await ctx.client.containerPutArchive(container, plan.dir, (dest) => tar.writeTo(dest, (n) => (counter.n += n)), { noOverwriteDirNonDir: true, copyUIDGID });
  } catch (e) {
    failure = e;
  } finally {
    done();
  }
  if (!quiet) ctx.stderr.write(`Successfully copied ${humanSizeWithPrecision(counter.n, 3)} to ${container}:${dstInfo.path}\n`);
  if (failure) throw failure;
  return 0;
}

/** docker's ValidateOutputPath: the parent exists; an existing path is a directory or a file. */
async function validateOutputPath(path: string): Promise<void> {
  const dir = posix.dirname(posix.normalize(path).replace(/(.)\/$/, '$1'));
  const ds = await fsp().stat(dir).catch(() => undefined);
  if (!ds) throw new StatusError(1, `invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  const st = await fsp().stat(path).catch(() => undefined);
  if (st && !st.isDirectory() && !st.isFile()) {
    throw new StatusError(1, `invalid output path: ${JSON.stringify(path)} must be a directory or a regular file: got ${st.isBlockDevice() || st.isCharacterDevice() ? 'a device' : 'an irregular file'}`);
  }
}

/** go-archive's CopyInfoDestinationPath: local symlinks followed (10 at most). */
async function copyInfoDestinationPath(path: string): Promise<CopyInfo> {
  let p = path;
  for (let n = 0; ; n++) {
    const st = await fsp().lstat(p).catch(() => undefined);
    if (!st) {
      const parent = posix.dirname(p.replace(/(.)\/+$/, '$1').replace(/\/\.$/, ''));
      const ps = await fsp().stat(parent).catch((e: NodeJS.ErrnoException) => {
        throw new StatusError(1, `stat ${parent}: ${e.code === 'ENOTDIR' ? 'not a directory' : 'no such file or directory'}`);
      });
      if (!ps.isDirectory()) throw new StatusError(1, `stat ${parent}: not a directory`);
      return { path: p, exists: false, isDir: false };
    }
    if (!st.isSymbolicLink()) return { path: p, exists: true, isDir: st.isDirectory() };
    if (n >= 10) throw new StatusError(1, `too many symlinks in ${path}`);
    const target = await fsp().readlink(p);
    p = target.startsWith('/') ? target : posix.join(posix.dirname(p), target);
  }
}

/** go-archive's CopyInfoSourcePath: the parent's links resolved; the last only with -L (or a trailing /). */
async function copyInfoSourcePath(path: string, follow: boolean): Promise<CopyInfo> {
  let resolved: string;
  let rebase = '';
  const [dir, base] = splitPathDirEntry(path);
  try {
    if (follow) {
      const r = rebaseName(path, await fsp().realpath(path));
      resolved = r.resolved;
      rebase = r.rebase;
    } else {
      resolved = preserveTrailing(posix.join(await fsp().realpath(dir), base), path);
      if (path.endsWith('/')) {
        const st = await fsp().lstat(resolved.replace(/\/+$/, ''));
        if (st.isSymbolicLink()) {
          const r = rebaseName(path, await fsp().realpath(resolved));
          resolved = r.resolved;
          rebase = r.rebase;
        }
      }
    }
    const st = await fsp().lstat(resolved.replace(/(.)\/+$/, '$1').replace(/\/\.$/, '') || '/');
    return { path: resolved, exists: true, isDir: st.isDirectory(), ...(rebase ? { rebaseName: rebase } : {}) };
  } catch (e) {
    if (e instanceof StatusError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StatusError(1, `lstat ${path.replace(/\/\.?$/, '') || '/'}: ${code === 'ENOTDIR' ? 'not a directory' : 'no such file or directory'}`);
  }
}
