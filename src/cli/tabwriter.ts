/**
 * Go's text/tabwriter as docker's formatter configures it (minwidth 10, tabwidth 1,
 * padding 3, pad with spaces): cells end at tabs; every column but the last is padded to
 * its widest cell plus 3, and to at least 10.
 */
export function tabwrite(lines: string[], minWidth = 10, padding = 3): string {
  const rows = lines.map((l) => l.split('\t'));
  const cellWidths = rows.map((r) => r.map(displayWidth));
  // Go's tabwriter aligns a column only across consecutive lines that have that column.
  const widths: number[] = [];
  for (const r of cellWidths) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, r[i]);
  }
  let out = '';
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    let line = '';
    for (let i = 0; i < r.length; i++) {
      if (i < r.length - 1) {
        const w = Math.max(minWidth, widths[i] + padding);
        line += r[i] + ' '.repeat(Math.max(0, w - cellWidths[j][i]));
      } else {
        line += r[i];
      }
    }
    out += line + '\n';
  }
  return out;
}

const PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/**
 * Width in terminal cells; counts code points (enough for the text docker tables hold): the
 * UTF-16 length less one per surrogate pair. (Iterating the string instead cost ~4 ms of a
 * `ps` of 300 rows in a CLI whose code has not been optimised yet.)
 */
export function displayWidth(s: string): number {
  const pairs = s.match(PAIR);
  return pairs ? s.length - pairs.length : s.length;
}
