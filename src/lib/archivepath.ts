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
