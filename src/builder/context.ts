/**
 * The build context as the builder sees it: a tree it can list, stat and read, kept by the
 * daemon however it likes (a spooled tar, read only where a step needs the bytes). Paths are
 * relative to the context's root, with `/`, "" for the root itself.
 */
export interface ContextStat {
  type: 'dir' | 'file' | 'symlink';
  /** Permission bits. */
  mode: number;
  size: number;
  mtime: Date;
}

export interface ContextView {
  lstat(rel: string): ContextStat | undefined;
  /** Entry names of a directory, sorted. */
  readdir(rel: string): string[];
  readlink(rel: string): string;
  /** sha256 of a file's content. */
  hash(rel: string): string;
  read(rel: string): Promise<Buffer>;
  chunks(rel: string): AsyncIterable<Buffer>;
}

const MAX_LINKS = 40;

/**
 * A path with its symlinks followed inside the context (FollowSymlinkInScope): undefined when
 * it does not exist, 'outside' when a link leads out of the context.
 */
export function resolveInContext(view: ContextView, rel: string): string | undefined | 'outside' {
  let parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const out: string[] = [];
  let links = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === '..') {
      if (!out.length) return 'outside';
      out.pop();
      continue;
    }
    const cur = [...out, p].join('/');
    const st = view.lstat(cur);
    if (!st) return undefined;
    if (st.type === 'symlink') {
      if (++links > MAX_LINKS) return undefined;
      const target = view.readlink(cur);
      if (target.startsWith('/')) return 'outside';
      parts = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...parts];
      continue;
    }
    out.push(p);
  }
  return out.join('/');
}
