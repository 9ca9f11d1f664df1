/**
 * Template functions: Go's builtins (text/template/funcs.go) on JS values, and the signature
 * metadata that lets JS functions be checked the way Go checks a func's parameter types.
 */

import { sprint } from './fmt.ts';
import { isPrint } from '../goquote.ts';
import {
  byteLength,
  compareStrings,
  isIntValue,
  isTrue,
  kindOf,
  mapSize,
  typeName,
} from './values.ts';

/** Template function type: JS functions called with evaluated arguments. */
export type TemplateFunc = (...args: unknown[]) => unknown;

/**
 * Go parameter types a template function can declare. 'value' is reflect.Value (anything,
 * nil kept as is), 'any' is interface{} (a missing value arrives as null).
 */
export type GoType = 'any' | 'value' | 'string' | 'int' | 'float64' | 'bool' | '[]string';

export interface FuncSignature {
  params: GoType[];
  /** Element type of a trailing ...variadic parameter. */
  variadic?: GoType;
}

const SIGNATURE = Symbol.for('berth.gotemplate.signature');

/**
 * Attach a Go signature to a template function: the engine then checks the argument count
 * and types with Go's error messages ("wrong number of args for join: want 2 got 1",
 * "wrong type for value; expected string; got int") before calling it.
 */
export function withSignature<F extends TemplateFunc>(fn: F, sig: FuncSignature): F {
  Object.defineProperty(fn, SIGNATURE, { value: sig, enumerable: false });
  return fn;
}

export function signatureOf(fn: TemplateFunc): FuncSignature | undefined {
  const s = (fn as unknown as Record<symbol, unknown>)[SIGNATURE];
  return s === undefined ? undefined : (s as FuncSignature);
}

export function canBeNil(t: GoType): boolean {
  return t === 'any' || t === 'value' || t === '[]string';
}

/** Go's nil: undefined (invalid value) or null. */
export function isNil(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

/** Does a value satisfy a Go parameter type? Returns an error message, or null if it does. */
export function checkType(v: unknown, t: GoType): string | null {
  switch (t) {
    case 'any':
    case 'value':
      return null;
    case 'string':
      if (typeof v === 'string') return null;
      break;
    case 'int':
      if (isIntValue(v)) return null;
      break;
    case 'float64':
      if (typeof v === 'number') return null;
      break;
    case 'bool':
      if (typeof v === 'boolean') return null;
      break;
    case '[]string':
      if (Array.isArray(v) && v.every((e) => typeof e === 'string')) return null;
      break;
  }
  return `wrong type for value; expected ${t}; got ${typeName(v)}`;
}

// ---------------------------------------------------------------------------------------
// Builtins

export interface BuiltinSpec {
  params: GoType[];
  variadic?: GoType;
}

export const BUILTIN_SPECS: Readonly<Record<string, BuiltinSpec>> = {
  and: { params: ['value'], variadic: 'value' },
  or: { params: ['value'], variadic: 'value' },
  not: { params: ['value'] },
  len: { params: ['value'] },
  index: { params: ['value'], variadic: 'value' },
  slice: { params: ['value'], variadic: 'value' },
  print: { params: [], variadic: 'any' },
  printf: { params: ['string'], variadic: 'any' },
  println: { params: [], variadic: 'any' },
  html: { params: [], variadic: 'any' },
  js: { params: [], variadic: 'any' },
  urlquery: { params: [], variadic: 'any' },
  eq: { params: ['value'], variadic: 'value' },
  ne: { params: ['value', 'value'] },
  lt: { params: ['value', 'value'] },
  le: { params: ['value', 'value'] },
  gt: { params: ['value', 'value'] },
  ge: { params: ['value', 'value'] },
  call: { params: ['value'], variadic: 'value' },
};

export function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTIN_SPECS, name);
}

/** len: bytes of a string, elements of a slice or map. */
export function length(item: unknown): number {
  if (isNil(item)) throw new Error('len of nil pointer');
  switch (kindOf(item)) {
    case 'string':
      return byteLength(item as string);
    case 'slice':
    case 'bytes':
      return (item as ArrayLike<unknown>).length;
    case 'map':
      return mapSize(item as object);
  }
  throw new Error(`len of type ${typeName(item)}`);
}

function indexArg(index: unknown, cap: number): number {
  if (isNil(index)) throw new Error('cannot index slice/array with nil');
  if (!isIntValue(index)) throw new Error(`cannot index slice/array with type ${typeName(index)}`);
  const x = Number(index);
  if (x < 0 || x > cap) throw new Error(`index out of range: ${String(index)}`);
  return x;
}

/** The zero value Go would return for a missing key of this map (string maps give ""). */
function mapZero(m: object): unknown {
  const values = m instanceof Map ? [...m.values()] : Object.values(m);
  return values.every((v) => typeof v === 'string') ? '' : null;
}

/** index: item[i][j]...; missing map keys give the map's zero value. */
export function index(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new Error('index of untyped nil');
  let cur: unknown = item;
  for (const idx of indexes) {
    if (isNil(cur)) throw new Error('index of nil pointer');
    switch (kindOf(cur)) {
      case 'string': {
        const bytes = Buffer.from(cur as string, 'utf8');
        const x = indexArg(idx, bytes.length);
        if (x >= bytes.length) throw new Error(`index out of range: ${x}`);
        cur = bytes[x];
        break;
      }
      case 'slice':
      case 'bytes': {
        const arr = cur as ArrayLike<unknown>;
        const x = indexArg(idx, arr.length);
        if (x >= arr.length) throw new Error(`index out of range: ${x}`);
        cur = arr[x];
        break;
      }
      case 'map': {
        if (cur instanceof Map) {
          cur = cur.has(idx) ? cur.get(idx) : mapZero(cur);
          break;
        }
        if (isNil(idx)) throw new Error('value is nil; should be of type string');
        if (typeof idx !== 'string') throw new Error(`value has type ${typeName(idx)}; should be string`);
        const o = cur as Record<string, unknown>;
        cur = Object.hasOwn(o, idx) ? o[idx] : mapZero(o);
        break;
      }
      default:
        throw new Error(`can't index item of type ${typeName(cur)}`);
    }
  }
  return cur;
}

/** slice: item[i:j:k] of a string (bytes) or slice. */
export function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  const kind = kindOf(item);
  let len: number;
  let bytes: Buffer | undefined;
  if (kind === 'string') {
    if (indexes.length === 3) throw new Error('cannot 3-index slice a string');
    bytes = Buffer.from(item as string, 'utf8');
    len = bytes.length;
  } else if (kind === 'slice' || kind === 'bytes') {
    len = (item as ArrayLike<unknown>).length;
  } else {
    throw new Error(`can't slice item of type ${typeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(x, len);
  });
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (bytes) return bytes.subarray(idx[0], idx[1]).toString('utf8');
  if (item instanceof Uint8Array) return item.slice(idx[0], idx[1]);
  return (item as unknown[]).slice(idx[0], idx[1]);
}

// ---- comparison ----

type BasicKind = 'bool' | 'number' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  switch (kindOf(v)) {
    case 'bool':
      return 'bool';
    case 'int':
    case 'float':
      return 'number';
    case 'string':
      return 'string';
    default:
      return 'invalid';
  }
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';

/** eq: arg1 == arg2 || arg1 == arg3 || ... */
export function eq(arg1: unknown, ...arg2: unknown[]): boolean {
  if (arg2.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of arg2) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (!isNil(arg1) && !isNil(arg)) throw new Error(errBadComparison);
    } else if (k1 === 'invalid') {
      if (isNil(arg1) || isNil(arg)) truth = isNil(arg1) === isNil(arg);
      else {
        for (const v of [arg1, arg]) {
          const k = kindOf(v);
          if (k === 'slice' || k === 'bytes' || k === 'map' || k === 'func') {
            throw new Error(`non-comparable type ${sprint(v)}: ${typeName(v)}`);
          }
        }
        truth = arg1 === arg;
      }
    } else if (k1 === 'number') {
      truth = Number(arg1) === Number(arg) && (typeof arg1 !== 'bigint' || typeof arg !== 'bigint' || arg1 === arg);
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

export function ne(arg1: unknown, arg2: unknown): boolean {
  return !eq(arg1, arg2);
}

export function lt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  if (k1 === 'invalid') throw new Error(errBadComparisonType);
  const k2 = basicKind(arg2);
  if (k2 === 'invalid') throw new Error(errBadComparisonType);
  if (k1 !== k2) throw new Error(errBadComparison);
  switch (k1) {
    case 'bool':
      throw new Error(errBadComparisonType);
    case 'number':
      return (arg1 as number | bigint) < (arg2 as number | bigint);
    default:
      return compareStrings(arg1 as string, arg2 as string) < 0;
  }
}

export function le(arg1: unknown, arg2: unknown): boolean {
  return lt(arg1, arg2) || eq(arg1, arg2);
}

export function gt(arg1: unknown, arg2: unknown): boolean {
  return !le(arg1, arg2);
}

export function ge(arg1: unknown, arg2: unknown): boolean {
  return !lt(arg1, arg2);
}

export function not(arg: unknown): boolean {
  return !isTrue(arg);
}

// ---- escaping ----

/** The text of the arguments of html/js/urlquery: one string as is, else fmt.Sprint. */
export function evalArgs(args: readonly unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args.map((a) => (isNil(a) ? '<no value>' : a)));
}

/** template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '&#34;';
        break;
      case "'":
        out += '&#39;';
        break;
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '\0':
        out += '\uFFFD';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80 || isPrint(c)) out += ch;
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
export function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (b === 0x20) out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
