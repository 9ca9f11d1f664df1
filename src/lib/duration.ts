/**
 * Go time semantics that leak into docker's API and CLI:
 *
 * - `parseDuration`: Go's `time.ParseDuration`, returning **nanoseconds as a bigint** (exact, the
 *   same integer Go's `time.Duration` holds; the API's healthcheck/stop-timeout fields are ns).
 *   `parseDurationMs` is a convenience returning (possibly fractional) milliseconds as a number.
 * - `formatDuration`: Go's `Duration.String()` ("1h30m0s", "1.5s", "300ms").
 * - `getTimestamp` / `parseUnixTimestamp` / `parseTimestamp`: docker's `--since/--until` handling
 *   (api/types/time: GetTimestamp on the client, ParseTimestamps on the daemon). `parseTimestamp`
 *   returns **epoch nanoseconds as a bigint**.
 * - `formatRFC3339Nano` / `parseRFC3339Nano`: Go's RFC3339Nano, keeping nanoseconds (bigint ns).
 *
 * All errors are InvalidParameter with Go's exact texts.
 */
import { quote } from './goquote.ts';
import { invalidParameter } from '../errdefs/index.ts';

export const NANOSECOND = 1n;
export const MICROSECOND = 1000n;
export const MILLISECOND = 1_000_000n;
export const SECOND = 1_000_000_000n;
export const MINUTE = 60n * SECOND;
export const HOUR = 60n * MINUTE;

const MAX_INT64 = (1n << 63n) - 1n;
const ONE_63 = 1n << 63n;

/** The time package's quote(): ASCII-only, non-ASCII and control bytes as \xNN. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}


// ---------------------------------------------------------------------------------------------
// time.ParseDuration

const UNIT_NS: Record<string, bigint> = {
  ns: NANOSECOND,
  us: MICROSECOND,
  'µs': MICROSECOND, // U+00B5 micro sign
  'μs': MICROSECOND, // U+03BC Greek mu
  ms: MILLISECOND,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
};

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Go `time.ParseDuration`: a possibly signed sequence of decimal numbers, each with optional
 * fraction and a unit (ns, us/µs, ms, s, m, h), e.g. "300ms", "-1.5h", "2h45m". Returns ns.
 * Errors: `time: invalid duration "x"`, `time: missing unit in duration "x"`,
 * `time: unknown unit "u" in duration "x"`.
 */
export function parseDuration(str: string): bigint {
  const orig = str;
  const invalid = () => invalidParameter('time: invalid duration ' + timeQuote(orig));
  let s = str;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    let v = 0n;
    let f = 0n;
    let scale = 1;
    const c0 = s.charCodeAt(0);
    if (!(s[0] === '.' || isDigitCode(c0))) throw invalid();
    // leadingInt
    let i = 0;
    for (; i < s.length && isDigitCode(s.charCodeAt(i)); i++) {
      if (v > ONE_63 / 10n) throw invalid(); // overflow
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > ONE_63) throw invalid();
    }
    const pre = i > 0;
    s = s.slice(i);
    let post = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      // leadingFraction
      let j = 0;
      let overflow = false;
      for (; j < s.length && isDigitCode(s.charCodeAt(j)); j++) {
        if (overflow) continue;
        if (f > MAX_INT64 / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (y > ONE_63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    // unit
    let k = 0;
    for (; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c === 46 || isDigitCode(c)) break;
    }
    if (k === 0) throw invalidParameter('time: missing unit in duration ' + timeQuote(orig));
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = Object.hasOwn(UNIT_NS, u) ? UNIT_NS[u] : undefined;
    if (unit === undefined) {
      throw invalidParameter('time: unknown unit ' + timeQuote(u) + ' in duration ' + timeQuote(orig));
    }
    if (v > ONE_63 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // float64 arithmetic, as Go does, to stay nanosecond-accurate for fractions of hours.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > ONE_63) throw invalid();
    }
    d += v;
    if (d > ONE_63) throw invalid();
  }
  if (neg) return -d;
  if (d > MAX_INT64) throw invalid();
  return d;
}

/** `parseDuration` in milliseconds (fractional for sub-millisecond parts). */
export function parseDurationMs(s: string): number {
  return Number(parseDuration(s)) / 1e6;
}

/** fmtFrac: the fraction of v/10^prec without trailing zeros (and no '.' when zero). */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let out = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) out = digit.toString() + out;
    v /= 10n;
  }
  if (print) out = '.' + out;
  return [out, v];
}

/** Go `time.Duration.String()` for a duration in nanoseconds. */
export function formatDuration(ns: bigint): string {
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  if (u > ONE_63) u = ONE_63; // clamp (Go wraps; durations are int64 anyway)
  let out: string;
  if (u < SECOND) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < MICROSECOND) {
      prec = 0;
      unit = 'ns';
    } else if (u < MILLISECOND) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, rest] = fmtFrac(u, prec);
    out = rest.toString() + frac + unit;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    out = (secs % 60n).toString() + frac + 's';
    let mins = secs / 60n;
    if (mins > 0n) {
      out = (mins % 60n).toString() + 'm' + out;
      const hours = mins / 60n;
      mins = hours;
      if (hours > 0n) out = hours.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

// ---------------------------------------------------------------------------------------------
// A subset of Go's time.Parse: the layouts docker uses.

type Std = '2006' | '01' | '02' | '15' | '04' | '05' | '.999999999' | 'Z07:00';
const STDS: readonly Std[] = ['Z07:00', '.999999999', '2006', '01', '02', '15', '04', '05'];

export const RFC3339 = '2006-01-02T15:04:05Z07:00';
export const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';
const RFC3339_LOCAL = '2006-01-02T15:04:05';
const RFC3339_NANO_LOCAL = '2006-01-02T15:04:05.999999999';
const DATE_WITH_ZONE = '2006-01-02Z07:00';
const DATE_LOCAL = '2006-01-02';

interface Chunk {
  prefix: string;
  std: Std | '';
}

const layoutCache = new Map<string, Chunk[]>();

function compileLayout(layout: string): Chunk[] {
  const cached = layoutCache.get(layout);
  if (cached) return cached;
  const out: Chunk[] = [];
  let prefix = '';
  let i = 0;
  while (i < layout.length) {
    const std = STDS.find((c) => layout.startsWith(c, i));
    if (std !== undefined) {
      out.push({ prefix, std });
      prefix = '';
      i += std.length;
    } else {
      prefix += layout[i];
      i++;
    }
  }
  out.push({ prefix, std: '' });
  layoutCache.set(layout, out);
  return out;
}

function parseError(layout: string, value: string, layoutElem: string, valueElem: string, message: string): Error {
  if (message === '') {
    return invalidParameter(
      `parsing time ${timeQuote(value)} as ${timeQuote(layout)}: cannot parse ${timeQuote(valueElem)} as ${timeQuote(layoutElem)}`,
    );
  }
  return invalidParameter(`parsing time ${timeQuote(value)}${message}`);
}

function isDigitAt(s: string, i: number): boolean {
  return i < s.length && isDigitCode(s.charCodeAt(i));
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  if (!isDigitAt(s, 1)) {
    if (fixed) return undefined;
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)];
}

function parseNanoseconds(value: string, nbytes: number): number {
  if (nbytes > 10) nbytes = 10;
  let ns = Number(value.slice(1, nbytes));
  for (let i = 0; i < 10 - nbytes; i++) ns *= 10;
  return ns;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_BEFORE = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(month: number, year: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_BEFORE[month - 1];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [m <= 2 ? y + 1 : y, m, d];
}

/**
 * Go's time.Parse (defaultOffsetSeconds undefined → UTC) / time.ParseInLocation with a fixed
 * zone, for layouts built from 2006 01 02 15 04 05 .999999999 Z07:00 and literals.
 * Returns epoch nanoseconds.
 */
export function parseGoTime(layout: string, value: string, defaultOffsetSeconds = 0): bigint {
  const chunks = compileLayout(layout);
  let v = value;
  let year = 0;
  let month = -1;
  let day = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let offset: number | undefined;
  for (let ci = 0; ci < chunks.length; ci++) {
    const { prefix, std } = chunks[ci];
    // skip(value, prefix)
    for (let i = 0; i < prefix.length; i++) {
      if (v.length === 0 || v[0] !== prefix[i]) throw parseError(layout, value, prefix, v, '');
      v = v.slice(1);
    }
    if (std === '') {
      if (v.length !== 0) throw parseError(layout, value, '', v, ': extra text: ' + timeQuote(v));
      break;
    }
    const hold = v;
    let bad = false;
    let rangeErr = '';
    switch (std) {
      case '2006': {
        if (v.length < 4 || !isDigitAt(v, 0) || !/^[0-9]{4}$/.test(v.slice(0, 4))) {
          bad = true;
          break;
        }
        year = Number(v.slice(0, 4));
        v = v.slice(4);
        break;
      }
      case '01': {
        const r = getnum(v, true);
        if (!r) {
          bad = true;
          break;
        }
        [month, v] = r;
        if (month <= 0 || month > 12) rangeErr = 'month';
        break;
      }
      case '02': {
        const r = getnum(v, true);
        if (!r) {
          bad = true;
          break;
        }
        [day, v] = r;
        if (day > 31) rangeErr = 'day';
        break;
      }
      case '15': {
        const r = getnum(v, false);
        if (!r) {
          bad = true;
          break;
        }
        [hour, v] = r;
        if (hour >= 24) rangeErr = 'hour';
        break;
      }
      case '04': {
        const r = getnum(v, true);
        if (!r) {
          bad = true;
          break;
        }
        [min, v] = r;
        if (min >= 60) rangeErr = 'minute';
        break;
      }
      case '05': {
        const r = getnum(v, true);
        if (!r) {
          bad = true;
          break;
        }
        [sec, v] = r;
        if (sec >= 60) {
          rangeErr = 'second';
          break;
        }
        // A fractional second in the value but not in the layout is accepted.
        if (v.length >= 2 && (v[0] === '.' || v[0] === ',') && isDigitAt(v, 1)) {
          const next = chunks[ci + 1];
          if (next !== undefined && next.prefix === '' && next.std === '.999999999') break;
          let n = 2;
          while (n < v.length && isDigitAt(v, n)) n++;
          nsec = parseNanoseconds(v, n);
          v = v.slice(n);
        }
        break;
      }
      case '.999999999': {
        if (v.length < 2 || !(v[0] === '.' || v[0] === ',') || !isDigitAt(v, 1)) break; // omitted
        let i = 0;
        while (i + 1 < v.length && isDigitAt(v, i + 1)) i++;
        nsec = parseNanoseconds(v, 1 + i);
        v = v.slice(1 + i);
        break;
      }
      case 'Z07:00': {
        if (v.length >= 1 && v[0] === 'Z') {
          v = v.slice(1);
          offset = 0;
          break;
        }
        if (v.length < 6 || v[3] !== ':') {
          bad = true;
          break;
        }
        const sign = v[0];
        const hh = getnum(v.slice(1, 3), true);
        const mm = getnum(v.slice(4, 6), true);
        if (!hh || !mm || (sign !== '+' && sign !== '-')) {
          bad = true;
          break;
        }
        v = v.slice(6);
        if (hh[0] > 24) rangeErr = 'time zone offset hour';
        if (mm[0] > 60) rangeErr = 'time zone offset minute';
        offset = (hh[0] * 60 + mm[0]) * 60 * (sign === '-' ? -1 : 1);
        break;
      }
    }
    if (rangeErr !== '') throw parseError(layout, value, std, v, `: ${rangeErr} out of range`);
    if (bad) throw parseError(layout, value, std, hold, '');
  }
  if (month < 0) month = 1;
  if (day < 0) day = 1;
  if (day < 1 || day > daysIn(month, year)) throw parseError(layout, value, '', v, ': day out of range');
  const secs = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - (offset ?? defaultOffsetSeconds);
  return BigInt(secs) * SECOND + BigInt(nsec);
}

// ---------------------------------------------------------------------------------------------
// RFC3339Nano

let hrAnchor: bigint | undefined;

/** Current wall-clock time in epoch nanoseconds, with sub-millisecond resolution. */
export function nowNs(): bigint {
  const hr = process.hrtime.bigint();
  const wallNs = BigInt(Date.now()) * MILLISECOND;
  if (hrAnchor === undefined) hrAnchor = wallNs - hr;
  let t = hrAnchor + hr;
  // Re-anchor when the wall clock was stepped.
  if (t < wallNs - MILLISECOND || t > wallNs + 2n * MILLISECOND) {
    hrAnchor = wallNs - hr;
    t = wallNs;
  }
  return t;
}

function toNs(t: Date | bigint): bigint {
  if (typeof t === 'bigint') return t;
  const ms = t.getTime();
  if (Number.isNaN(ms)) throw invalidParameter('invalid date');
  return BigInt(ms) * MILLISECOND;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/**
 * Go's `t.UTC().Format(time.RFC3339Nano)`: `2026-11-23T21:31:08.101475Z` — fraction trimmed of
 * trailing zeros and omitted when zero. Takes a Date or epoch nanoseconds.
 */
export function formatRFC3339Nano(t: Date | bigint): string {
  const ns = toNs(t);
  let secs = ns / SECOND;
  let frac = ns % SECOND;
  if (frac < 0n) {
    frac += SECOND;
    secs -= 1n;
  }
  const s = Number(secs);
  const days = Math.floor(s / 86400);
  const rem = s - days * 86400;
  const [y, m, d] = civilFromDays(days);
  const year = y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
  let out = `${year}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(rem / 3600), 2)}:${pad(Math.floor((rem % 3600) / 60), 2)}:${pad(rem % 60, 2)}`;
  if (frac !== 0n) out += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return out + 'Z';
}

/** Go's `time.Parse(time.RFC3339Nano, s)` (also accepts RFC3339): epoch nanoseconds. */
export function parseRFC3339Nano(s: string): bigint {
  return parseGoTime(RFC3339_NANO, s);
}

/** Go's zero time, 0001-01-01T00:00:00Z, in epoch nanoseconds. */
export const GO_ZERO_TIME_NS = -62135596800n * SECOND;

// ---------------------------------------------------------------------------------------------
// docker --since / --until

function localOffsetSeconds(nowMs: number): number {
  return -new Date(nowMs).getTimezoneOffset() * 60;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/**
 * docker's client-side `GetTimestamp(value, reference)`: turns a `--since/--until` value into the
 * string the API expects: a Go duration ("10m" → now-10m, whole Unix seconds), an RFC3339-like
 * date/time ("2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05.999999999Z07:00", … →
 * "sec.nnnnnnnnn"), or a Unix timestamp passed through as is ("1700000000.123"). Values without a
 * zone are read in `tzOffsetSeconds` (default: the local zone's offset at `now`).
 */
export function getTimestamp(value: string, now: Date | bigint, tzOffsetSeconds?: number): string {
  const nowNsVal = toNs(now);
  if (value !== '0') {
    let d: bigint | undefined;
    try {
      d = parseDuration(value);
    } catch {
      d = undefined;
    }
    if (d !== undefined) return floorDiv(nowNsVal - d, SECOND).toString();
  }
  const offset = tzOffsetSeconds ?? localOffsetSeconds(Number(nowNsVal / MILLISECOND));
  const parseInLocation = !(/[zZ+]/.test(value) || value.split('-').length - 1 === 3);
  let format: string;
  if (value.includes('.')) {
    format = parseInLocation ? RFC3339_NANO_LOCAL : RFC3339_NANO;
  } else if (value.includes('T')) {
    let tcolons = value.split(':').length - 1;
    if (!parseInLocation && !/[zZ]/.test(value) && tcolons > 0) tcolons--;
    if (parseInLocation) {
      format = tcolons === 0 ? '2006-01-02T15' : tcolons === 1 ? '2006-01-02T15:04' : RFC3339_LOCAL;
    } else {
      format = tcolons === 0 ? '2006-01-02T15Z07:00' : tcolons === 1 ? '2006-01-02T15:04Z07:00' : RFC3339;
    }
  } else {
    format = parseInLocation ? DATE_LOCAL : DATE_WITH_ZONE;
  }
  let ns: bigint;
  try {
    ns = parseGoTime(format, value, parseInLocation ? offset : 0);
  } catch (err) {
    if (value.includes('-')) throw err;
    try {
      parseUnixTimestamp(value);
    } catch {
      throw invalidParameter(`failed to parse value as time or duration: ${quote(value)}`);
    }
    return value;
  }
  const secs = floorDiv(ns, SECOND);
  const nsec = ns - secs * SECOND;
  return `${secs}.${nsec.toString().padStart(9, '0')}`;
}

/** strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(s)) throw invalidParameter(`strconv.ParseInt: parsing ${quote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > MAX_INT64 || v < -ONE_63) throw invalidParameter(`strconv.ParseInt: parsing ${quote(s)}: value out of range`);
  return v;
}

/**
 * The daemon's parse of a `since`/`until` API value: "sec" or "sec.fraction" (the fraction scaled
 * to nanoseconds). Errors are strconv.ParseInt's.
 */
export function parseUnixTimestamp(value: string): { sec: number; nsec: number } {
  const dot = value.indexOf('.');
  const s = dot < 0 ? value : value.slice(0, dot);
  const sec = Number(parseInt64(s));
  if (dot < 0) return { sec, nsec: 0 };
  const n = value.slice(dot + 1);
  const raw = Number(parseInt64(n));
  const nsec = Math.trunc(raw * Math.pow(10, 9 - n.length)) || 0;
  return { sec, nsec };
}

/** docker `ParseTimestamps(value, defaultSeconds)`: an empty value yields `{defaultSeconds, 0}`. */
export function parseTimestamps(value: string, defaultSeconds: number): { sec: number; nsec: number } {
  if (value === '') return { sec: defaultSeconds, nsec: 0 };
  return parseUnixTimestamp(value);
}

/**
 * `--since/--until` value → epoch nanoseconds (bigint): `getTimestamp` then the daemon's parse.
 * "10m" → now − 10 minutes (truncated to whole seconds, as docker does).
 */
export function parseTimestamp(value: string, now: Date | bigint, tzOffsetSeconds?: number): bigint {
  const { sec, nsec } = parseUnixTimestamp(getTimestamp(value, now, tzOffsetSeconds));
  return BigInt(sec) * SECOND + BigInt(nsec);
}
