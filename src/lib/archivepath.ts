/**
 * Path rules docker's copy code shares between the CLI and the daemon (go-archive's
 * PreserveTrailingDotOrSeparator, Go's filepath.Base): a trailing `/` or `/.` carries meaning
 * ("follow the link", "the contents of") and must survive cleaning.
 */

/** `cleaned` with the trailing `/.` or `/` of `original` put back. */
export function preserveTrailing(cleaned: string, original: string): string {
  const curDir = (s: string) => s === '.' || s.endsWith('/.');
  let out = cleaned;
  if (!curDir(out) && curDir(original)) {
    if (!out.endsWith('/')) out += '/';
    out += '.';
  }
  if (!out.endsWith('/') && original.endsWith('/')) out += '/';
  return out;
}

/** Go's filepath.Base: the last element, trailing slashes ignored; "/" for the root, "." for "". */
export function goBase(p: string): string {
  const t = p.replace(/\/+$/, '');
  if (t === '') return p === '' ? '.' : '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

const CLEANABLE = /(^|\/)(\.\.?)?(\/|$)/;

/**
 * An archive entry's name cleaned to a path relative to where it is extracted, or undefined
 * when its `..` components climb out of it (go-archive's breakout check).
 */
export function cleanEntryName(name: string): string | undefined {
  // Most names are clean already: no empty, "." or ".." segment.
  if (!CLEANABLE.test(name)) return name;
  const out: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (!out.length) return undefined;
      out.pop();
    } else out.push(p);
  }
  return out.join('/');
}

/** True when `p` is `root` or below it (both absolute, cleaned). */
export function isWithin(p: string, root: string): boolean {
  return p === root || p.startsWith(root === '/' ? '/' : `${root}/`);
}
