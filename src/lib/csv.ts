/**
 * encoding/csv's reading of one record: commas split fields, double quotes group them (`""`
 * inside stands for one); a quote inside an unquoted field, or text after a closing quote, is
 * refused as Go refuses it. Flags docker reads as CSV (`--mount`, `--network`) and
 * DOCKER_CUSTOM_HEADERS go through it.
 */
export function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let closed = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
        closed = true;
      } else cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
      closed = false;
    } else if (closed) {
      throw new Error('extraneous or missing " in quoted-field');
    } else if (ch === '"') {
      if (cur !== '') throw new Error('bare " in non-quoted-field');
      quoted = true;
    } else cur += ch;
  }
  if (quoted) throw new Error('extraneous or missing " in quoted-field');
  out.push(cur);
  return out;
}
