/**
 * Output helpers shared by listing commands: docker's relative times, sizes, truncation, and
 * `--format` templates (Go text/template semantics) with `table` headers, following the
 * docker CLI's formatter.Context (preFormat → parse → header row → rows → tabwriter).
 */
import { humanDuration, humanSize } from '../lib/units.ts';
import { parseTemplate, dockerFuncs, dockerHeaderFuncs, dockerPreFormat, STRUCT } from '../lib/gotemplate/index.ts';
import { tabwrite } from './tabwriter.ts';
import { StatusError } from './context.ts';

export function ago(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

export { humanSize };

/** docker's stringutils.Ellipsis: cut to n display chars with a trailing "…". */
export function ellipsis(s: string, n: number): string {
  const chars = [...s];
  if (chars.length <= n) return s;
  return chars.slice(0, n - 1).join('') + '…';
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** A row object whose fields behave like a Go struct in templates (unknown field → error). */
export function structRow<T extends object>(typeName: string, fields: T): T {
  return Object.assign({ [STRUCT]: typeName }, fields) as T;
}

function templateError(e: unknown): StatusError {
  return new StatusError(1, e instanceof Error ? e.message : String(e));
}

/**
 * Renders rows with a user format (`table …`, a plain template, or `json`). `headers` maps
 * placeholder names to column titles for the table header row.
 */
export function renderRows(rows: object[], format: string, headers: Record<string, string>): string {
  const { table, format: body } = dockerPreFormat(format);
  let tmpl;
  try {
    tmpl = parseTemplate(body, { funcs: dockerFuncs });
  } catch (e) {
    throw templateError(e);
  }
  const lines: string[] = [];
  try {
    if (table) lines.push(tmpl.execute(structRow('headerContext', headers), { funcs: dockerHeaderFuncs }));
    for (const r of rows) lines.push(tmpl.execute(r));
  } catch (e) {
    throw templateError(e);
  }
  if (table) return tabwrite(lines);
  return lines.map((l) => l + '\n').join('');
}

/** One template over one object (inspect, version, info). */
export function renderOne(obj: unknown, format: string): string {
  const { format: body } = dockerPreFormat(format);
  try {
    return parseTemplate(body, { funcs: dockerFuncs }).execute(obj) + '\n';
  } catch (e) {
    throw templateError(e);
  }
}
