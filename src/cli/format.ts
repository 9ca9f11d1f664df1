/**
 * Output helpers shared by listing commands: docker's relative times, sizes, truncation, and
 * `--format` templates (Go text/template semantics) with `table` headers, following the
 * docker CLI's formatter.Context (preFormat → parse → header row → rows → tabwriter).
 */
import { humanDuration, humanSize } from '../lib/units.ts';
import { tabwrite } from './tabwriter.ts';
import { StatusError } from './context.ts';

export function ago(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

export { humanSize };

/** Go's time.Time.String() for a Unix time, in UTC: "2026-11-24 02:40:10 +0000 UTC" (the CLI's CreatedAt). */
export function goTimeString(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' +0000 UTC');
}

/** docker's stringutils.Ellipsis: cut to n display chars with a trailing "…". */
export function ellipsis(s: string, n: number): string {
  const chars = [...s];
  if (chars.length <= n) return s;
  return chars.slice(0, n - 1).join('') + '…';
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The template engine's struct marker (same Symbol.for key), without loading the engine. */
const STRUCT = Symbol.for('berth.gotemplate.struct');

/** A row object whose fields behave like a Go struct in templates (unknown field → error). */
export function structRow<T extends object>(typeName: string, fields: T): T {
  return Object.assign({ [STRUCT]: typeName }, fields) as T;
}

/**
 * The Go template engine is loaded only when a --format asks for it: it is half of the
 * CLI's code, and default tables render without it, which keeps start-up short.
 */
function engine(): Promise<typeof import('../lib/gotemplate/index.ts')> {
  return import('../lib/gotemplate/index.ts');
}

/** A default table: columns of row fields, rendered directly. */
export function renderTable(rows: Record<string, unknown>[], columns: [field: string, header: string][]): string {
  const lines = [columns.map(([, h]) => h).join('\t')];
  for (const r of rows) lines.push(columns.map(([f]) => String(r[f] ?? '')).join('\t'));
  return tabwrite(lines);
}

function templateError(e: unknown): StatusError {
  return new StatusError(1, e instanceof Error ? e.message : String(e));
}

/**
 * Renders rows with a user format (`table …`, a plain template, or `json`). `headers` maps
 * placeholder names to column titles for the table header row.
 */
export async function renderRows(rows: object[], format: string, headers: Record<string, string>): Promise<string> {
  const { parseTemplate, dockerFuncs, dockerHeaderFuncs, dockerPreFormat } = await engine();
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
export async function renderOne(obj: unknown, format: string): Promise<string> {
  const { parseTemplate, dockerFuncs, dockerPreFormat } = await engine();
  const { format: body } = dockerPreFormat(format);
  try {
    return parseTemplate(body, { funcs: dockerFuncs }).execute(obj) + '\n';
  } catch (e) {
    throw templateError(e);
  }
}
