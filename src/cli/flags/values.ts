/**
 * Value conversions with Go's semantics and error texts (strconv.ParseBool/ParseInt/ParseUint,
 * time.ParseDuration, encoding/csv for stringSlice), since pflag's messages embed them:
 * `invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax`.
 * Each parser throws an Error whose message is the Go error text.
 */
import { goQuote } from './errors.ts';

/** strconv.ParseBool */
export { parseGoBool } from '../../lib/strconv.ts';

/** Go's strconv underscoreOK: `_` only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1])) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

class NumError extends Error {
  constructor(fn: string, num: string, reason: 'invalid syntax' | 'value out of range') {
    super(`strconv.${fn}: parsing ${goQuote(num)}: ${reason}`);
  }
}

/** Unsigned magnitude of `s` (no sign) in base 0 rules; `'range'` on overflow of `bits`. */
function parseMagnitude(s: string, bits: number): bigint | 'syntax' | 'range' {
  if (s === '') return 'syntax';
  const s0 = s;
  let base = 10;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1].toLowerCase() : '';
    if (p === 'b') { base = 2; s = s.slice(2); }
    else if (p === 'o') { base = 8; s = s.slice(2); }
    else if (p === 'x') { base = 16; s = s.slice(2); }
    else { base = 8; s = s.slice(1); }
  }
  const max = (1n << BigInt(bits)) - 1n;
  const b = BigInt(base);
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = digitValue(c);
    if (d >= base) return 'syntax';
    n = n * b + BigInt(d);
    if (n > max) return 'range';
  }
  if (underscores && !underscoreOK(s0)) return 'syntax';
  return n;
}

function digitValue(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 122) return lower - 97 + 10;
  return 99;
}

/** strconv.ParseInt(s, 0, bits). Precision above 2^53 is lost in the returned number. */
export function parseGoInt(s: string, bits: 8 | 16 | 32 | 64 = 64): number {
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  const mag = parseMagnitude(body, 64);
  if (mag === 'syntax') throw new NumError('ParseInt', s, 'invalid syntax');
  const cutoff = 1n << BigInt(bits - 1);
  if (mag === 'range' || (!neg && mag >= cutoff) || (neg && mag > cutoff)) throw new NumError('ParseInt', s, 'value out of range');
  return Number(neg ? -mag : mag);
}

/** strconv.ParseUint(s, 0, bits). */
export function parseGoUint(s: string, bits: 8 | 16 | 32 | 64 = 64): number {
  const mag = parseMagnitude(s, bits);
  if (mag === 'syntax') throw new NumError('ParseUint', s, 'invalid syntax');
  if (mag === 'range') throw new NumError('ParseUint', s, 'value out of range');
  return Number(mag);
}

// ---- durations ----

/** time's own quoting: non-ASCII and control bytes as \xNN. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x80 || cp < 0x20) {
      for (const byte of Buffer.from(ch, 'utf8')) out += '\\x' + byte.toString(16).padStart(2, '0');
    } else {
      out += ch === '"' || ch === '\\' ? '\\' + ch : ch;
    }
  }
  return out + '"';
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n, // U+00B5
  'μs': 1000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION = (1n << 63n) - 1n;

/** time.ParseDuration; returns nanoseconds. */
export function parseGoDuration(orig: string): number {
  const invalid = () => new Error('time: invalid duration ' + timeQuote(orig));
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) throw invalid();
    const intMatch = /^[0-9]*/.exec(s)![0];
    s = s.slice(intMatch.length);
    let frac = '';
    if (s[0] === '.') {
      s = s.slice(1);
      frac = /^[0-9]*/.exec(s)![0];
      s = s.slice(frac.length);
    }
    if (intMatch === '' && frac === '') throw invalid();
    let i = 0;
    while (i < s.length && !(s[i] === '.' || (s[i] >= '0' && s[i] <= '9'))) i++;
    if (i === 0) throw new Error('time: missing unit in duration ' + timeQuote(orig));
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNITS[u];
    if (unit === undefined) throw new Error('time: unknown unit ' + timeQuote(u) + ' in duration ' + timeQuote(orig));
    let v = intMatch === '' ? 0n : BigInt(intMatch);
    if (v > (1n << 63n) / unit) throw invalid();
    v *= unit;
    if (frac !== '' && /[1-9]/.test(frac)) {
      // Go keeps at most ~19 fraction digits and converts with float64; do the same.
      const digits = frac.slice(0, 18);
      const f = Number(digits);
      const scale = 10 ** digits.length;
      v += BigInt(Math.trunc(f * (Number(unit) / scale)));
      if (v > 1n << 63n) throw invalid();
    }
    total += v;
    if (total > 1n << 63n) throw invalid();
  }
  if (!neg && total > MAX_DURATION) throw invalid();
  return Number(neg ? -total : total);
}

/** time.Duration.String() for a nanosecond count: `1h0m0s`, `30s`, `1.5ms`, `0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = BigInt(Math.trunc(Math.abs(ns)));
  let out: string;
  if (u < 1_000_000_000n) {
    let prec: number;
    let unit: string;
    if (u < 1000n) return (neg ? '-' : '') + `${u}ns`;
    if (u < 1_000_000n) { prec = 3; unit = 'µs'; }
    else { prec = 6; unit = 'ms'; }
    const [rest, fracText] = fmtFrac(u, prec);
    out = `${rest}${fracText}${unit}`;
  } else {
    const [secs, fracText] = fmtFrac(u, 9);
    u = secs;
    out = `${u % 60n}${fracText}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m` + out;
      u /= 60n;
      if (u > 0n) out = `${u}h` + out;
    }
  }
  return (neg ? '-' : '') + out;
}

/** Splits off `prec` decimal digits: [v / 10^prec, ".ddd" without trailing zeros or ""]. */
function fmtFrac(v: bigint, prec: number): [bigint, string] {
  const p = 10n ** BigInt(prec);
  const digits = (v % p).toString().padStart(prec, '0').replace(/0+$/, '');
  return [v / p, digits === '' ? '' : '.' + digits];
}

// ---- CSV (pflag stringSlice reads each value with encoding/csv) ----

/** The first CSV record of `s` (pflag readAsCSV): `a,"b,c"` → [a, b,c]; "" → []. */
export function parseCsvRecord(s: string): string[] {
  if (s === '') return [];
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`parse error on line 1, column ${start + 1}: extraneous or missing " in quoted-field`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i++];
      }
      if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') {
        throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
    } else {
      while (i < s.length && s[i] !== ',' && s[i] !== '\n') {
        if (s[i] === '"') throw new Error(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        field += s[i++];
      }
      if (s[i] === '\n' && field.endsWith('\r')) field = field.slice(0, -1);
    }
    fields.push(field);
    if (i < s.length && s[i] === ',') {
      i++;
      continue;
    }
    return fields;
  }
}

/** pflag's writeAsCSV inside brackets, for `(default [a,b])`. */
export function formatCsvList(items: readonly unknown[]): string {
  const cells = items.map((item) => {
    const f = String(item);
    const needsQuotes = f !== '' && (f === '\\.' || /[",\r\n]/.test(f) || f[0] === ' ' || f[0] === '\t');
    return needsQuotes ? '"' + f.replaceAll('"', '""') + '"' : f;
  });
  return '[' + cells.join(',') + ']';
}
