/**
 * Go's encoding/json output for JS values, as produced by the docker CLI's `json` template
 * function (json.Encoder with SetEscapeHTML(false), trailing newline trimmed): compact, map
 * keys sorted, U+2028/U+2029 escaped, []byte as base64, time.Time as RFC 3339.
 *
 * Plain objects keep their insertion order (they usually mirror Go structs, whose fields
 * encode in declaration order); Maps are Go maps and are sorted. Properties whose value is
 * undefined or a function are omitted, as JSON.stringify does.
 */

import { goTimeRFC3339 } from './gotime.ts';
import { compareStrings } from './values.ts';

export class JSONEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JSONEncodeError';
  }
}

const HEX = '0123456789abcdef';

/** Encode a string the way Go's encoder does (escapeHTML selects \u003c-style escaping of <>&). */
export function encodeString(s: string, escapeHTML = false): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f) {
      if (escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26)) {
        out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
      } else out += s[i];
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
    }
    if (c < 0x20) {
      out += '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += '\\u202' + HEX[c & 0xf];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
        continue;
      }
      out += '\\ufffd'; // lone surrogate: invalid UTF-8 in Go becomes U+FFFD
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    out += s[i];
  }
  return out + '"';
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new JSONEncodeError(`json: unsupported value: ${formatNonFinite(n)}`);
  if (Object.is(n, -0)) return '-0';
  // JS number formatting switches to exponent form at the same thresholds as Go
  // (< 1e-6 or >= 1e21) and writes exponents the same way ("1e+21", "1e-7").
  return String(n);
}

function formatNonFinite(n: number): string {
  return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
}

function mapKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  throw new JSONEncodeError(`json: unsupported type: map[${typeof k}]interface {}`);
}

/** json.Marshal of a JS value, compact. Throws JSONEncodeError for what Go refuses. */
export function marshal(v: unknown, escapeHTML = false): string {
  const seen = new Set<object>();
  const enc = (x: unknown): string | undefined => {
    switch (typeof x) {
      case 'undefined':
        return 'null';
      case 'boolean':
        return x ? 'true' : 'false';
      case 'number':
        return encodeNumber(x);
      case 'bigint':
        return x.toString();
      case 'string':
        return encodeString(x, escapeHTML);
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (x === null) return 'null';
    const o = x as object;
    if (seen.has(o)) throw new JSONEncodeError('json: unsupported value: encountered a cycle');
    if (o instanceof Date) {
      if (Number.isNaN(o.getTime())) throw new JSONEncodeError('json: error calling MarshalJSON for type time.Time');
      return '"' + goTimeRFC3339(o) + '"';
    }
    if (o instanceof Uint8Array) return '"' + Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64') + '"';
    seen.add(o);
    try {
      const toJSON = (o as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return enc(toJSON.call(o));
      if (Array.isArray(o)) return '[' + o.map((e) => enc(e) ?? 'null').join(',') + ']';
      let entries: Array<[string, unknown]>;
      if (o instanceof Map) {
        entries = [...o.entries()].map(([k, val]): [string, unknown] => [mapKey(k), val]);
        entries.sort((a, b) => compareStrings(a[0], b[0]));
      } else if (o instanceof Set) {
        return '[' + [...o].map((e) => enc(e) ?? 'null').join(',') + ']';
      } else {
        entries = Object.keys(o).map((k): [string, unknown] => [k, (o as Record<string, unknown>)[k]]);
      }
      const parts: string[] = [];
      for (const [k, val] of entries) {
        if (val === undefined && !(o instanceof Map)) continue;
        const e = enc(val);
        if (e === undefined) continue;
        parts.push(encodeString(k, escapeHTML) + ':' + e);
      }
      return '{' + parts.join(',') + '}';
    } finally {
      seen.delete(o);
    }
  };
  return enc(v) ?? 'null';
}
