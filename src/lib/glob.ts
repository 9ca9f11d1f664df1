/**
 * Shell patterns (`*`, `?`, `[…]`, `[!…]`/`[^…]`, `\` escapes) as regular-expression source.
 * `paths`: Go's filepath.Match as .dockerignore uses it (`*` and `?` stop at `/`, `**` crosses
 * directories, and `**` followed by a slash matches no directory too); otherwise a plain string pattern, as a shell's `${V#pat}`.
 * Unanchored: callers add `^…$` where they need a whole match.
 */
const special = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function globSource(p: string, opts: { paths: boolean }): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      if (!opts.paths) {
        re += '.*';
      } else if (p[i + 1] === '*') {
        i++;
        // "**/" matches no directory too.
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += opts.paths ? '[^/]' : '.';
    } else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
      } else {
        let cls = p.slice(i + 1, end);
        if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < p.length) {
      re += special(p[++i]);
    } else {
      re += special(c);
    }
  }
  return re;
}
