/**
 * Decoding JSON the way Go's encoding/json decodes it into a typed struct, because every
 * Docker client was written against dockerd: object keys match struct fields
 * case-insensitively (docker-py sends `detachKeys`), unknown keys are ignored, `null` leaves
 * the zero value, and a value of the wrong JSON type — or a number that does not fit the
 * field's integer type — is refused with Go's message naming the field:
 * `json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64`.
 *
 * The Go types are described as data (`go.struct`, `go.int64`, …); `decodeGo` returns a value
 * with every struct field under its canonical name, absent when the input had none or null.
 */
import { invalidParameter } from '../errdefs/index.ts';

interface Base<K extends string> { readonly k: K; readonly goName: string }
export type GoString = Base<'string'>;
export type GoBool = Base<'bool'>;
export interface GoInt extends Base<'int'> { readonly min: bigint; readonly max: bigint }
export type GoFloat = Base<'float'>;
/** interface{}: any JSON value, kept as parsed. */
export type GoAny = Base<'any'>;
/** moby's strslice.StrSlice: a string or a list of strings. */
export type GoStrSlice = Base<'strslice'>;
export interface GoSlice<E extends GoType = GoType> extends Base<'slice'> { readonly elem: E }
export interface GoArray<E extends GoType = GoType, N extends number = number> extends Base<'array'> { readonly elem: E; readonly len: N }
export interface GoMap<E extends GoType = GoType> extends Base<'map'> { readonly elem: E }
export interface GoStruct<F extends Record<string, GoType> = Record<string, GoType>> extends Base<'struct'> {
  readonly fields: F;
  /** Lower-cased JSON name → canonical name. */
  readonly folded: ReadonlyMap<string, string>;
}

export type GoType = GoString | GoBool | GoInt | GoFloat | GoAny | GoStrSlice | GoSlice | GoArray | GoMap | GoStruct;

/** The TypeScript value a Go type decodes to. */
export type Infer<T extends GoType> =
  T extends GoString ? string
    : T extends GoBool ? boolean
      : T extends GoInt | GoFloat ? number
        : T extends GoAny ? unknown
          : T extends GoStrSlice ? string[]
            : T extends GoArray<infer E, 2> ? [Infer<E>, Infer<E>]
              : T extends GoSlice<infer E> | GoArray<infer E> ? Infer<E>[]
              : T extends GoMap<infer E> ? Record<string, Infer<E>>
                : T extends GoStruct<infer F> ? { [K in keyof F]?: Infer<F[K]> }
                  : never;

function int(goName: string, bits: number, unsigned: boolean): GoInt {
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  return { k: 'int', goName, min, max };
}

/** Go type constructors. `goName` is the name Go prints in its errors. */
export const go = {
  string: { k: 'string', goName: 'string' } as GoString,
  named: (goName: string): GoString => ({ k: 'string', goName }),
  bool: { k: 'bool', goName: 'bool' } as GoBool,
  int: int('int', 64, false),
  int64: int('int64', 64, false),
  int32: int('int32', 32, false),
  uint: int('uint', 64, true),
  uint16: int('uint16', 16, true),
  uint32: int('uint32', 32, true),
  uint64: int('uint64', 64, true),
  /** A named integer type (time.Duration, os.FileMode). */
  intNamed: (goName: string, bits: number, unsigned: boolean): GoInt => int(goName, bits, unsigned),
  float64: { k: 'float', goName: 'float64' } as GoFloat,
  any: { k: 'any', goName: 'interface {}' } as GoAny,
  strslice: { k: 'strslice', goName: 'strslice.StrSlice' } as GoStrSlice,
  slice: <E extends GoType>(elem: E, goName = `[]${elem.goName}`): GoSlice<E> => ({ k: 'slice', goName, elem }),
  array: <E extends GoType, N extends number>(elem: E, len: N): GoArray<E, N> => ({ k: 'array', goName: `[${len}]${elem.goName}`, elem, len }),
  map: <E extends GoType>(elem: E, goName = `map[string]${elem.goName}`): GoMap<E> => ({ k: 'map', goName, elem }),
  struct: <F extends Record<string, GoType>>(goName: string, fields: F): GoStruct<F> => ({
    k: 'struct', goName, fields, folded: new Map(Object.keys(fields).map((n) => [n.toLowerCase(), n])),
  }),
} as const;

/** A parsed JSON number with its source text, so integer fields can be checked as Go does. */
export class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** JSON.parse that keeps numbers' source text (V8's JSON.parse source text access). */
export function parseKeepingNumbers(text: string): unknown {
  const reviver: Reviver = (_k, v, ctx) => (typeof v === 'number' ? new JsonNumber(ctx?.source ?? String(v)) : v);
  return JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]);
}

/** Turns kept numbers back into plain JSON values (for interface{} fields). */
function plain(v: unknown): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

function jsonKind(v: unknown): string {
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

interface Where {
  struct: string;
  path: string[];
}

function typeError(value: string, t: GoType, where: Where | undefined): never {
  const msg = where
    ? `json: cannot unmarshal ${value} into Go struct field ${where.struct}.${where.path.join('.')} of type ${t.goName}`
    : `json: cannot unmarshal ${value} into Go value of type ${t.goName}`;
  throw invalidParameter(msg);
}

function zero(t: GoType): unknown {
  switch (t.k) {
    case 'string': return '';
    case 'bool': return false;
    case 'int': case 'float': return 0;
    case 'array': return Array.from({ length: t.len }, () => zero(t.elem));
    case 'struct': return {};
    default: return null;
  }
}

function decodeValue(v: unknown, t: GoType, where: Where | undefined): unknown {
  if (v === null) return undefined;
  switch (t.k) {
    case 'any':
      return plain(v);
    case 'string':
      if (typeof v !== 'string') typeError(jsonKind(v), t, where);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') typeError(jsonKind(v), t, where);
      return v;
    case 'float': {
      if (!(v instanceof JsonNumber)) typeError(jsonKind(v), t, where);
      const n = Number(v.text);
      if (!Number.isFinite(n)) typeError(`number ${v.text}`, t, where);
      return n;
    }
    case 'int': {
      if (!(v instanceof JsonNumber)) typeError(jsonKind(v), t, where);
      // Go parses the literal as an integer: no fraction, no exponent, within the type's range.
      if (!/^-?\d+$/.test(v.text)) typeError(`number ${v.text}`, t, where);
      const n = BigInt(v.text);
      if (n < t.min || n > t.max) typeError(`number ${v.text}`, t, where);
      // Records and answers are JSON numbers (doubles): beyond 2^53 the value would be kept
      // rounded, possibly out of the type's range, and no Go client could read it back.
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw invalidParameter(`${where ? `${where.struct}.${where.path.join('.')}` : t.goName}: ${v.text} is beyond what Berth keeps exactly (±9007199254740991); the request was refused`);
      }
      return Number(n);
    }
    case 'strslice':
      if (typeof v === 'string') return [v];
      if (!Array.isArray(v)) typeError(jsonKind(v), t, where);
      return v.map((x) => (x === null ? '' : decodeValue(x, go.string, where)));
    case 'slice':
    case 'array': {
      if (!Array.isArray(v)) typeError(jsonKind(v), t, where);
      const items = v.map((x) => (x === null ? zero(t.elem) : decodeValue(x, t.elem, where)));
      if (t.k === 'slice') return items;
      // A Go array keeps its length: extra elements are dropped, missing ones are zero.
      return Array.from({ length: t.len }, (_, i) => (i < items.length ? items[i] : zero(t.elem)));
    }
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) typeError(jsonKind(v), t, where);
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(v as Record<string, unknown>)) out[key] = x === null ? zero(t.elem) : decodeValue(x, t.elem, where);
      return out;
    }
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) typeError(jsonKind(v), t, where);
      const out: Record<string, unknown> = {};
      for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
        const name = key in t.fields ? key : t.folded.get(key.toLowerCase());
        if (name === undefined) continue;
        const field = t.fields[name];
        const decoded = decodeValue(x, field, { struct: t.goName.replace(/^.*\./, ''), path: [...(where?.path ?? []), name] });
        if (decoded === undefined) delete out[name];
        else out[name] = decoded;
      }
      return out;
    }
  }
}

/** Decodes an already parsed value (from `parseKeepingNumbers`) as Go would into `t`. */
export function decodeParsed<T extends GoType>(parsed: unknown, t: T): Infer<T> | undefined {
  return decodeValue(parsed, t, undefined) as Infer<T> | undefined;
}

/** Parses and decodes JSON text as Go's json.Unmarshal into a value of type `t`. */
export function decodeGo<T extends GoType>(text: string, t: T): Infer<T> | undefined {
  return decodeGoText(text, t) as Infer<T> | undefined;
}

/** A decoder for one Go type, for code generic over the result (Infer is computed here, once). */
export interface GoDecoder<R> {
  readonly type: GoType;
  decode(text: string): R | undefined;
}

export function goDecoder<T extends GoType>(t: T): GoDecoder<Infer<T>> {
  return { type: t, decode: (text) => decodeGoText(text, t) as Infer<T> | undefined };
}

/**
 * The deepest nesting taken. encoding/json allows 10,000; parsing that deep would overflow
 * the stack here, and no Engine API body comes near 1,000, so that is the limit (Go's message).
 */
const MAX_DEPTH = 1_000;

/** Refuses JSON nested deeper than Go accepts, before parsing it recursively. */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) throw invalidParameter(`invalid character '${text[i]}' exceeded max depth`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

function decodeGoText(text: string, t: GoType): unknown {
  checkDepth(text);
  let parsed: unknown;
  try {
    parsed = parseKeepingNumbers(text);
  } catch (e) {
    // a body cut short, in Go's words
    const m = (e as Error).message;
    throw invalidParameter(`invalid JSON: ${/Unexpected end of JSON input/.test(m) ? 'unexpected EOF' : m}`, e);
  }
  return decodeValue(parsed, t, undefined);
}

/**
 * A string as Go's encoding/json writes it: <, > and & escaped for HTML, U+2028/2029 escaped,
 * control characters as \n, \r, \t or \u00XX.
 */
export function goStringLiteral(str: string): string {
  let out = '"';
  for (const ch of str) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * Compact JSON as Go writes a json.RawMessage (or, with `sortKeys`, a map): numbers as they
 * were written, strings escaped as Go escapes them, object keys in their order (or sorted).
 */
export function encodeGoJson(v: unknown, opts: { sortKeys?: boolean } = {}): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return goStringLiteral(v);
  if (Array.isArray(v)) return `[${v.map((x) => encodeGoJson(x)).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  if (opts.sortKeys) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${goStringLiteral(k)}:${encodeGoJson(x)}`).join(',')}}`;
}

/** A value of a Go type that is not its zero value (the first field of a struct set). */
export function goSample(t: GoType): unknown {
  switch (t.k) {
    case 'string': return 'x';
    case 'bool': return true;
    case 'int': return 1;
    case 'float': return 1.5;
    case 'any': return 1;
    case 'strslice': return ['x'];
    case 'slice': return [goSample(t.elem)];
    case 'array': return Array.from({ length: t.len }, () => goSample(t.elem));
    case 'map': return { k: goSample(t.elem) };
    case 'struct': {
      const [first] = Object.entries(t.fields);
      return first ? { [first[0]]: goSample(first[1]) } : {};
    }
  }
}
