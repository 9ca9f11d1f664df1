/**
 * Go's text/tabwriter as docker's formatter configures it (minwidth 10, tabwidth 1,
 * padding 3, pad with spaces): cells end at tabs; every column but the last is padded to
 * its widest cell plus 3, and to at least 10.
 */
export function tabwrite(lines: string[], minWidth = 10, padding = 3): string {
  const rows = lines.map((l) => l.split('\t'));
  // Go's tabwriter aligns a column only across consecutive lines that have that column.
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, displayWidth(r[i]));
  }
  let out = '';
  for (const r of rows) {
    let line = '';
    for (let i = 0; i < r.length; i++) {
      if (i < r.length - 1) {
        const w = Math.max(minWidth, widths[i] + padding);
        line += r[i] + ' '.repeat(Math.max(0, w - displayWidth(r[i])));
      } else {
        line += r[i];
      }
    }
    out += line + '\n';
  }
  return out;
}

/** Width in terminal cells; counts code points (enough for the text docker tables hold). */
export function displayWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
