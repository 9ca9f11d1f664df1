/**
 * docker/go-units: human-readable sizes and durations, plus the `docker ps` STATUS strings built
 * from them. Output is byte-for-byte what Go prints (including `%g` formatting and its
 * round-half-to-even on exact ties).
 */
import { quote } from './goquote.ts';
import { invalidParameter } from '../errdefs/index.ts';

export const KB = 1000;
export const MB = 1000 * KB;
export const GB = 1000 * MB;
export const TB = 1000 * GB;
export const PB = 1000 * TB;
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;
export const PiB = 1024 * TiB;

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

// ---------------------------------------------------------------------------------------------
// Go's strconv.FormatFloat(x, 'g', prec, 64), i.e. fmt's `%.<prec>g`.

/** Exact decimal expansion of a finite positive double: value = 0.<digits> × 10^dp. */
function exactDecimal(x: number): { digits: string; dp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) {
    exp = -1074;
  } else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  digits = digits.replace(/0+$/, '');
  return { digits, dp };
}

/** Round a digit string to `n` significant digits, half to even (Go's decimal.Round). */
function roundDigits(digits: string, dp: number, n: number): { digits: string; dp: number } {
  if (digits.length <= n) return { digits, dp };
  const next = digits.charCodeAt(n) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else if (digits.length > n + 1) up = true; // more non-zero digits follow (trailing zeros were trimmed)
  else up = n > 0 && (digits.charCodeAt(n - 1) - 48) % 2 === 1;
  let kept = digits.slice(0, n);
  if (up) {
    let i = n - 1;
    while (i >= 0 && kept[i] === '9') i--;
    if (i < 0) {
      kept = '1';
      dp += 1;
    } else {
      kept = kept.slice(0, i) + String.fromCharCode(kept.charCodeAt(i) + 1);
    }
  }
  return { digits: kept.replace(/0+$/, ''), dp };
}

/**
 * The digits of x rounded to n significant digits by the engine's own correctly rounded
 * toExponential — the same as rounding the exact expansion, except on an exact tie, which JS
 * rounds up and Go to even. A tie shows as a trailing 5 one digit further; those (rare) take
 * the exact path. Listings format thousands of sizes, so this matters.
 */
function fastDigits(x: number, n: number): { digits: string; dp: number } | undefined {
  const probe = x.toExponential(n);
  if (probe.charCodeAt(probe.indexOf('e') - 1) === 53) return undefined;
  const s = x.toExponential(n - 1);
  const e = s.indexOf('e');
  return { digits: s.slice(0, e).replace('.', '').replace(/0+$/, ''), dp: Number(s.slice(e + 1)) + 1 };
}

/** Go `%.<prec>g`. */
export function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  if (prec === 0) prec = 1;
  let digits = '';
  let dp = 0;
  if (x !== 0) {
    const fast = prec <= 20 ? fastDigits(Math.abs(x), prec) : undefined;
    if (fast) ({ digits, dp } = fast);
    else {
      const exact = exactDecimal(Math.abs(x));
      ({ digits, dp } = roundDigits(exact.digits, exact.dp, prec));
    }
  }
  const nd = digits.length;
  let eprec = prec;
  if (eprec > nd && nd >= dp) eprec = nd;
  const exp = dp - 1;
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const p = Math.min(prec, nd);
    out = nd > 0 ? digits[0] : '0';
    if (p - 1 > 0) out += '.' + digits.slice(1, p).padEnd(p - 1, '0');
    const e = nd === 0 ? 0 : dp - 1;
    const ae = Math.abs(e);
    out += 'e' + (e < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + String(ae);
  } else {
    const p = prec > dp ? nd : prec;
    const frac = Math.max(p - dp, 0);
    out = dp > 0 ? digits.slice(0, dp).padEnd(dp, '0') : '0';
    if (frac > 0) {
      let f = '';
      for (let i = 1; i <= frac; i++) {
        const j = dp + i - 1;
        f += j >= 0 && j < nd ? digits[j] : '0';
      }
      out += '.' + f;
    }
  }
  return neg ? '-' + out : out;
}

// ---------------------------------------------------------------------------------------------
// sizes

function sizeAndUnit(size: number, base: number, abbrs: readonly string[]): [number, string] {
  let i = 0;
  const limit = abbrs.length - 1;
  while (size >= base && i < limit) {
    size /= base;
    i++;
  }
  return [size, abbrs[i]];
}

/** go-units HumanSizeWithPrecision: decimal units, `%.<precision>g` + unit ("1.23MB", "5.6kB", "0B"). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [v, unit] = sizeAndUnit(size, 1000, DECIMAL_ABBRS);
  return formatG(v, precision) + unit;
}

/**
 * Decimal human size with `precision` significant digits — 3 by default, which is what the docker
 * CLI uses for image and container sizes (`HumanSizeWithPrecision(size, 3)`). Pass 4 for go-units'
 * own `HumanSize` (used by e.g. `docker system df`).
 */
export function humanSize(size: number, precision = 3): string {
  return humanSizeWithPrecision(size, precision);
}

/** go-units BytesSize: binary units, 4 significant digits ("1.5MiB", "44KiB"). */
export function bytesSize(size: number): string {
  const [v, unit] = sizeAndUnit(size, 1024, BINARY_ABBRS);
  return formatG(v, 4) + unit;
}


const GO_DECIMAL_FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** strconv.ParseFloat(s, 64) for decimal input (hex floats are not accepted). */
function parseGoFloat(s: string): number {
  if (!GO_DECIMAL_FLOAT.test(s)) {
    throw invalidParameter(`strconv.ParseFloat: parsing ${quote(s)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) throw invalidParameter(`strconv.ParseFloat: parsing ${quote(s)}: value out of range`);
  return v;
}

/** Go's int64(float64) for in-range values (never -0). */
function toInt64(v: number): number {
  return Math.trunc(v) || 0;
}

const UNIT_MULT: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

function parseSize(sizeStr: string, base: number): number {
  // strings.LastIndexAny(sizeStr, "01234567890. ")
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    const c = sizeStr[i];
    if ((c >= '0' && c <= '9') || c === '.' || c === ' ') {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw invalidParameter(`invalid size: '${sizeStr}'`);
  const num = sizeStr[sep] !== ' ' ? sizeStr.slice(0, sep + 1) : sizeStr.slice(0, sep);
  let sfx = sizeStr.slice(sep + 1);
  let size = parseGoFloat(num);
  if (size < 0) throw invalidParameter(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return toInt64(size);
  const badSuffix = () => invalidParameter(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw badSuffix();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw badSuffix();
    return toInt64(size);
  }
  const pow = Object.hasOwn(UNIT_MULT, sfx[0]) ? UNIT_MULT[sfx[0]] : undefined;
  if (pow === undefined) throw badSuffix();
  size *= base ** pow;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw badSuffix();
  return toInt64(size);
}

/**
 * go-units FromHumanSize: SI sizes ("44kB", "17MB", "1.5 GB", "100"); suffixes k/m/g/t/p are
 * case-insensitive, an optional trailing `b` or `ib` is accepted. Errors: `invalid size: 'x'`,
 * `invalid suffix: 'x'`, `strconv.ParseFloat: parsing "x": invalid syntax`.
 */
export function fromHumanSize(s: string): number {
  return parseSize(s, 1000);
}

/** go-units RAMInBytes: like fromHumanSize but with binary multiples ("512m" = 512 MiB). */
export function ramInBytes(s: string): number {
  return parseSize(s, 1024);
}

// ---------------------------------------------------------------------------------------------
// durations

/**
 * go-units HumanDuration for a duration in milliseconds: "Less than a second", "1 second",
 * "N seconds", "About a minute", "N minutes", "About an hour", "N hours" (< 48h), "N days"
 * (< 2 weeks), "N weeks" (< 60 days), "N months" (< 2 years, 30-day months), "N years".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor((ms + 1_800_000) / 3_600_000); // d.Round(time.Hour).Hours()
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

// ---------------------------------------------------------------------------------------------
// docker ps helpers

/** Epoch ms of Go's zero time (0001-01-01T00:00:00Z); anything at or before it counts as unset. */
export const GO_ZERO_TIME_MS = -62135596800000;

export interface ContainerStateLike {
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  RemovalInProgress?: boolean;
  Dead?: boolean;
  ExitCode: number;
  /** Epoch milliseconds; undefined or ≤ GO_ZERO_TIME_MS means never. */
  StartedAt?: number;
  FinishedAt?: number;
  /** Health status when a healthcheck is configured: 'starting' | 'healthy' | 'unhealthy'. */
  Health?: { Status: string };
}

function isZeroTime(t: number | undefined): t is undefined {
  return t === undefined || Number.isNaN(t) || t <= GO_ZERO_TIME_MS;
}

/**
 * moby container.State.String(): the `docker ps` STATUS column, e.g. "Up 2 minutes",
 * "Up 3 hours (healthy)", "Up 5 seconds (health: starting)", "Up 1 second (Paused)",
 * "Restarting (1) 2 seconds ago", "Exited (0) About a minute ago", "Created", "Dead",
 * "Removal In Progress", or "" (stopped but never finished).
 */
export function containerStatus(s: ContainerStateLike, now: number = Date.now()): string {
  if (s.Running) {
    const up = humanDuration(now - (isZeroTime(s.StartedAt) ? GO_ZERO_TIME_MS : s.StartedAt));
    if (s.Paused) return `Up ${up} (Paused)`;
    if (s.Restarting) {
      const since = humanDuration(now - (isZeroTime(s.FinishedAt) ? GO_ZERO_TIME_MS : s.FinishedAt));
      return `Restarting (${s.ExitCode}) ${since} ago`;
    }
    if (s.Health !== undefined) {
      const h = s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status;
      return `Up ${up} (${h})`;
    }
    return `Up ${up}`;
  }
  if (s.RemovalInProgress) return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (isZeroTime(s.StartedAt)) return 'Created';
  if (isZeroTime(s.FinishedAt)) return '';
  return `Exited (${s.ExitCode}) ${humanDuration(now - s.FinishedAt)} ago`;
}

/** moby container.State.StateString(): the `State` field ("running", "exited", …). */
export function containerStateString(s: ContainerStateLike): string {
  if (s.Running) {
    if (s.Paused) return 'paused';
    if (s.Restarting) return 'restarting';
    return 'running';
  }
  if (s.RemovalInProgress) return 'removing';
  if (s.Dead) return 'dead';
  if (isZeroTime(s.StartedAt)) return 'created';
  return 'exited';
}

/** docker CLI's CREATED column: `HumanDuration(now - created) + " ago"`. */
export function humanAgo(thenMs: number, now: number = Date.now()): string {
  return `${humanDuration(now - thenMs)} ago`;
}

/** docker CLI `ps --size` column: "2B (virtual 1.23MB)" or just "2B" when virtual size is 0. */
export function containerSizeString(sizeRw: number, sizeRootFs: number): string {
  const srw = humanSizeWithPrecision(sizeRw, 3);
  return sizeRootFs > 0 ? `${srw} (virtual ${humanSizeWithPrecision(sizeRootFs, 3)})` : srw;
}
