/**
 * How plain JS data is seen through Go's eyes: kinds, type names, truth, struct-ness and
 * key ordering.
 *
 * Mapping: undefined is Go's invalid (zero) reflect.Value — what a missing map key yields —
 * and null is a nil interface/pointer. Integral numbers (and bigints) are Go ints, other
 * numbers float64. Arrays are slices, Uint8Arrays []byte, Maps and plain objects maps, and
 * class instances or objects carrying the STRUCT symbol behave like Go structs.
 */

/**
 * Mark an object as a Go struct: `{ [STRUCT]: 'TypeName', ... }`. Unknown fields are then an
 * exec error ("can't evaluate field X in type TypeName") instead of a missing map key.
 */
export const STRUCT = Symbol.for('berth.gotemplate.struct');

/**
 * Mark a map as keeping Go's default missing-key behaviour ("<no value>") even when the
 * template runs with missingkey=error: what a typed map field (labels, options) does in
 * docker's inspect, where only struct fields are checked.
 */
export const LENIENT = Symbol.for('berth.gotemplate.lenient');

export type Kind =
  | 'invalid'
  | 'nil'
  | 'bool'
  | 'int'
  | 'float'
  | 'string'
  | 'slice'
  | 'bytes'
  | 'map'
  | 'struct'
  | 'func';

export function isStructLike(v: object): boolean {
  if (STRUCT in v) return true;
  if (Array.isArray(v) || v instanceof Map || ArrayBuffer.isView(v) || typeof v === 'function') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto !== null && proto !== Object.prototype;
}

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'undefined':
      return 'invalid';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'function':
      return 'func';
    case 'symbol':
      return 'string';
    case 'object':
      if (v === null) return 'nil';
      if (Array.isArray(v)) return 'slice';
      if (v instanceof Uint8Array) return 'bytes';
      if (v instanceof Map) return 'map';
      if (isStructLike(v)) return 'struct';
      return 'map';
  }
  return 'invalid';
}

/** Go's reflect type name, approximated for JS values. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
      return 'interface {}';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'slice':
      return '[]interface {}';
    case 'bytes':
      return '[]uint8';
    case 'map':
      return 'map[string]interface {}';
    case 'func':
      return 'func(...interface {}) interface {}';
    case 'struct':
      return structName(v as object);
  }
}

export function structName(o: object): string {
  const tag = (o as Record<symbol, unknown>)[STRUCT];
  if (typeof tag === 'string' && tag !== '') return tag;
  if (o instanceof Date) return 'time.Time';
  if (o instanceof Error) return '*errors.errorString';
  const ctor = (o as { constructor?: { name?: unknown } }).constructor;
  if (ctor && typeof ctor.name === 'string' && ctor.name !== '' && ctor.name !== 'Object') return ctor.name;
  return 'struct {}';
}

/** Field names of a struct-like object, in declaration (insertion) order; methods excluded. */
export function structFields(o: object): string[] {
  return Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] !== 'function');
}

/** Look a field up on a struct-like object: own or inherited, but never Object.prototype's. */
export function hasStructField(o: object, name: string): boolean {
  if (name === 'constructor' || name === '__proto__') return false;
  for (let p: object | null = o; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.hasOwn(p, name)) return true;
  }
  return false;
}

/** Number of entries of a map-like value (Map or plain object). */
export function mapSize(v: object): number {
  return v instanceof Map ? v.size : Object.keys(v).length;
}

/** Entries of a map-like value in Go's sorted key order (internal/fmtsort). */
export function sortedEntries(v: object): Array<[unknown, unknown]> {
  let entries: Array<[unknown, unknown]>;
  if (v instanceof Map) entries = [...v.entries()];
  else entries = Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]]);
  return entries.sort((a, b) => compareKeys(a[0], b[0]));
}

const KEY_RANK: Record<string, number> = { nil: 0, invalid: 0, bool: 1, int: 2, float: 2, string: 3 };

/** Ordering of map keys the way Go's fmtsort does it for the key types we can meet. */
export function compareKeys(a: unknown, b: unknown): number {
  const ka = kindOf(a);
  const kb = kindOf(b);
  const ra = KEY_RANK[ka] ?? 4;
  const rb = KEY_RANK[kb] ?? 4;
  if (ra !== rb) return ra - rb;
  switch (ka) {
    case 'bool':
      return (a ? 1 : 0) - (b ? 1 : 0);
    case 'int':
    case 'float': {
      const x = a as number | bigint;
      const y = b as number | bigint;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string':
      return compareStrings(a as string, b as string);
    default:
      return 0;
  }
}

/** Byte-wise (UTF-8) string comparison, as Go compares strings. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code point in UTF-8 order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Go's template truth: the zero value of a type is false; structs are always true. */
export function isTrue(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'invalid':
    case 'nil':
      return false;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'float':
      return typeof v === 'bigint' ? v !== 0n : v !== 0;
    case 'string':
      return (v as string).length > 0;
    case 'slice':
    case 'bytes':
      return (v as ArrayLike<unknown>).length > 0;
    case 'map':
      return mapSize(v as object) > 0;
    case 'struct':
    case 'func':
      return true;
  }
}

/** UTF-8 byte length of a string (Go's len). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function isIntValue(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}
