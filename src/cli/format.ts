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
  if (s.length <= n) return s; // no more code points than UTF-16 units
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

type Engine = typeof import('../lib/gotemplate/index.ts');

/**
 * The Go template engine is loaded only when a --format asks for it: default tables render
 * without it. The CLI's build ships it as a file of its own beside the CLI's bundle, so that
 * no other command even reads it (it marks Go structs with registry symbols, which cross the
 * two bundles); run from source, it is the module itself.
 */
async function engine(): Promise<Engine> {
  if (typeof __dirname === 'string') {
    const { createRequire } = await import('node:module');
    const bundled = `${__dirname}/berth-gotemplate.cjs`;
    const { existsSync } = await import('node:fs');
    if (existsSync(bundled)) return createRequire(bundled)(bundled) as Engine;
  }
  const source = '../lib/gotemplate/index.ts';
  return (await import(source)) as Engine;
}

/** A default table: columns of row fields, rendered directly. */
export function renderTable(rows: Record<string, unknown>[], columns: [field: string, header: string][]): string {
  const lines = [columns.map(([, h]) => h).join('\t')];
  for (const r of rows) lines.push(columns.map(([f]) => String(r[f] ?? '')).join('\t'));
  return tabwrite(lines);
}

/**
 * How a command reports template errors, as the docker CLI's code path for it does: most
 * listings wrap both parse and exec errors in "template parsing error: ", `ps` says "failed
 * to parse/execute template: ", some print Go's error bare.
 */
export interface TemplateErrorStyle {
  parse: string;
  exec: string;
  /** Exit code for a template that does not parse (docker's inspect, version, info: 64). */
  parseExit?: number;
}

export const FORMATTER_ERRORS: TemplateErrorStyle = { parse: 'template parsing error: ', exec: 'template parsing error: ' };

function templateError(e: unknown, prefix: string, code = 1): StatusError {
  return new StatusError(code, prefix + (e instanceof Error ? e.message : String(e)));
}

/** Marks a struct row so that `json` writes its fields in their own order (a Go struct without MarshalJSON). */
export function fieldOrderJson<T extends object>(row: T): T {
  Object.defineProperty(row, 'toJSON', { value: () => ({ ...row }), enumerable: false });
  return row;
}

/** Marks a row so that `json` writes its fields with keys sorted, as the CLI's contexts marshal themselves. */
export function sortedJson<T extends object>(row: T): T {
  Object.defineProperty(row, 'toJSON', { value: () => new Map(Object.entries(row)), enumerable: false });
  return row;
}

/**
 * Renders rows with a user format (`table …`, a plain template, or `json`). `headers` maps
 * placeholder names to column titles for the table header row.
 */
export async function renderRows(rows: object[], format: string, headers: Record<string, string>, errors: TemplateErrorStyle = FORMATTER_ERRORS): Promise<string> {
  const { parseTemplate, dockerFuncs, dockerHeaderFuncs, dockerPreFormat } = await engine();
  const { table, format: body } = dockerPreFormat(format);
  let tmpl;
  try {
    tmpl = parseTemplate(body, { funcs: dockerFuncs });
  } catch (e) {
    throw templateError(e, errors.parse);
  }
  const lines: string[] = [];
  try {
    for (const r of rows) lines.push(tmpl.execute(r));
  } catch (e) {
    throw templateError(e, errors.exec);
  }
  if (!table) return lines.map((l) => l + '\n').join('');
  // The header row comes last, over a plain map of titles, its errors ignored (docker's postFormat).
  let header = '';
  try {
    header = tmpl.execute({ ...headers }, { funcs: dockerHeaderFuncs });
  } catch {
    header = '';
  }
  return tabwrite([header, ...lines]);
}

/**
 * Checks a format before anything is listed, as `docker ps` does: parsed whole (the `table`
 * word included) and run once over an empty row.
 */
export async function validateFormat(format: string, emptyRow: object, errors: TemplateErrorStyle): Promise<void> {
  const { parseTemplate, dockerFuncs } = await engine();
  let tmpl;
  try {
    tmpl = parseTemplate(format, { funcs: dockerFuncs });
  } catch (e) {
    throw templateError(e, errors.parse);
  }
  try {
    tmpl.execute(emptyRow);
  } catch (e) {
    throw templateError(e, errors.exec);
  }
}

/**
 * One template over one object, written straight out. `version` and `info` (newline: true)
 * end it with a newline, written even when it fails, before the error; `system df -v` writes
 * the result alone. Exec errors come as Go prints them.
 */
export async function renderOne(
  ctx: { stdout: NodeJS.WritableStream },
  obj: unknown,
  format: string,
  opts: { name?: string; newline: boolean; errors: TemplateErrorStyle },
): Promise<void> {
  const { parseTemplate, dockerFuncs, dockerPreFormat } = await engine();
  const { format: body } = dockerPreFormat(format);
  let tmpl;
  try {
    tmpl = parseTemplate(body, { funcs: dockerFuncs, name: opts.name });
  } catch (e) {
    throw templateError(e, opts.errors.parse, opts.errors.parseExit);
  }
  let out: string;
  try {
    out = tmpl.execute(obj);
  } catch (e) {
    if (opts.newline) ctx.stdout.write('\n');
    throw templateError(e, opts.errors.exec);
  }
  ctx.stdout.write(opts.newline ? out + '\n' : out);
}

/** version, info and inspect: bad templates exit 64, exec errors print bare. */
export const INSPECT_ERRORS: TemplateErrorStyle = { parse: 'template parsing error: ', exec: '', parseExit: 64 };

/** Map-typed fields of docker's inspect structs: a missing key in them is "<no value>", not an error. */
const MAP_FIELDS = new Set(['Labels', 'Options', 'ExposedPorts', 'Volumes', 'Ports', 'PortBindings', 'Networks', 'Annotations', 'DriverOpts', 'Sysctls', 'StorageOpt', 'Tmpfs', 'Data', 'DriverOptions']);
/**
 * Struct fields docker omits from JSON when empty: absent (or null), a template still sees
 * their zero value — "", <nil>, false, [] or map[].
 */
const STRING_FIELDS = ['StopSignal', 'MacAddress', 'WorkingDir', 'User', 'Variant', 'OsVersion', 'Comment', 'Author', 'Parent', 'DockerVersion', 'Created', 'Container', 'Domainname'];
const POINTER_FIELDS = ['Node', 'Health', 'Healthcheck', 'Descriptor', 'Identity', 'ContainerConfig', 'ImageManifestDescriptor', 'Init', 'StopTimeout', 'SizeRw', 'SizeRootFs'];
const BOOL_FIELDS = ['ArgsEscaped', 'NetworkDisabled'];
const SLICE_FIELDS = new Set(['Shell', 'OnBuild', 'Entrypoint', 'Cmd', 'Env', 'Manifests', 'Mounts']);
const OPTIONAL_MAPS = new Set(['ExposedPorts', 'Volumes', 'Labels', 'Annotations']);

/**
 * Inspect data as docker's TemplateInspector sees it: struct fields that do not exist are an
 * error ("map has no entry for key", from its raw-JSON fallback with missingkey=error), keys
 * of map-typed fields and absent optional fields are not.
 */
function inspectView(v: unknown, key: string, parentKey: string, lenient: symbol): unknown {
  // Typed nil slices and maps print as "[]" and "map[]"; time.Time fields as Go prints them.
  if (v === null && SLICE_FIELDS.has(key)) return [];
  if (v === null && OPTIONAL_MAPS.has(key)) return { [lenient]: true };
  if (key === 'LastTagTime' && typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v);
  if (Array.isArray(v)) return v.map((x) => inspectView(x, '', key, lenient));
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const isMap = MAP_FIELDS.has(key) || (key === 'Config' && parentKey === 'LogConfig');
  const out: Record<string | symbol, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = isMap ? inspectView(x, '', '', lenient) : inspectView(x, k, key, lenient);
  if (isMap) out[lenient] = true;
  else {
    const zero = (f: string, value: unknown) => {
      if (!Object.hasOwn(out, f)) Object.defineProperty(out, f, { value, enumerable: false });
    };
    for (const f of STRING_FIELDS) zero(f, '');
    for (const f of POINTER_FIELDS) zero(f, null);
    for (const f of BOOL_FIELDS) zero(f, false);
    for (const f of SLICE_FIELDS) zero(f, []);
    for (const f of OPTIONAL_MAPS) zero(f, { [lenient]: true });
  }
  return out;
}

/** A lookup for inspectEach whose failures read as the docker CLI prints the daemon's. */
export function fromDaemon(fetch: (ref: string) => Promise<unknown>): (ref: string) => Promise<unknown> {
  return async (ref) => {
    try {
      return await fetch(ref);
    } catch (e) {
      throw new Error(`Error response from daemon: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

/**
 * docker inspect's output for several objects: the template is parsed first (a bad one exits
 * 64 before anything is fetched), results one per line; objects whose template fails add
 * their error. With nothing printed, a single newline (docker's Flush).
 */
export async function inspectEach(
  ctx: { stdout: NodeJS.WritableStream },
  refs: string[],
  fetch: (ref: string) => Promise<unknown>,
  format: string | undefined,
  opts: { goEscape?: boolean } = {},
): Promise<void> {
  const errors: string[] = [];
  if (!format || format === 'json') {
    const objs: unknown[] = [];
    for (const r of refs) {
      try {
        objs.push(await fetch(r));
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    // No format: indented, four spaces; `--format json`: the docker CLI's jsonInspector, one line.
    const text = format ? JSON.stringify(objs) : JSON.stringify(objs, null, 4);
    // What the CLI marshals itself, Go's encoder writes with <, > and & escaped.
    ctx.stdout.write((opts.goEscape ? text.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : text) + '\n');
  } else {
    const { parseTemplate, dockerFuncs, dockerPreFormat, LENIENT } = await engine();
    const { format: body } = dockerPreFormat(format);
    let tmpl;
    try {
      tmpl = parseTemplate(body, { funcs: dockerFuncs, missingKey: 'error' });
    } catch (e) {
      throw templateError(e, INSPECT_ERRORS.parse, INSPECT_ERRORS.parseExit);
    }
    let out = '';
    for (const r of refs) {
      let obj: unknown;
      try {
        obj = await fetch(r);
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
        continue;
      }
      try {
        // A struct row is a Go struct the CLI made itself: its fields are all there is.
        out += tmpl.execute(obj && typeof obj === 'object' && STRUCT in obj ? obj : inspectView(obj, '', '', LENIENT)) + '\n';
      } catch (e) {
        errors.push('template parsing error: ' + (e instanceof Error ? e.message : String(e)));
      }
    }
    ctx.stdout.write(out || '\n');
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}
