/**
 * Paths inside a container's root filesystem, resolved as the container would see them:
 * symlinks followed within the root (an absolute link starts again at the root, `..` stops
 * at it), never onto the host (moby's FollowSymlinkInScope).
 */
import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { invalidParameter } from '../errdefs/index.ts';

const MAX_LINKS = 255;

/**
 * The host path of `path` inside `root`, every symlink on the way resolved in scope. Missing
 * components are kept as they are (the result may not exist). With `followLast` false, a
 * final symlink is not followed (lstat semantics).
 */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  return posix.join(root, await resolveInScope(root, path, followLast));
}

/** As resolveInRoot, but the container-side path (starting with '/'). */
export async function resolveInScope(root: string, path: string, followLast = true): Promise<string> {
  let pending = splitPath(path);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part];
    if (!followLast && pending.length === 0) {
      resolved = candidate;
      break;
    }
    const host = posix.join(root, ...candidate);
    const st = await lstat(host).catch(() => undefined);
    if (!st?.isSymbolicLink()) {
      resolved = candidate;
      continue;
    }
    if (++links > MAX_LINKS) throw invalidParameter(`too many levels of symbolic links resolving ${path}`);
    const target = await readlink(host);
    if (target.startsWith('/')) resolved = [];
    pending = [...splitPath(target), ...pending];
  }
  return '/' + resolved.join('/');
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}
