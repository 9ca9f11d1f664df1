/**
 * strconv.FormatFloat for the e, E, f, g and G formats: shortest round-trip digits when the
 * precision is negative, otherwise correct rounding (half to even) of the exact binary value,
 * laid out exactly as Go does (two-digit exponents, %g's switch to exponent form).
 */

/** A decimal: value = 0.d × 10^dp, d without leading or trailing zeros ("" for zero). */
interface Decimal {
  d: string;
  dp: number;
}

function trimZeros(d: string, dp: number): Decimal {
  let n = d.length;
  while (n > 0 && d.charCodeAt(n - 1) === 0x30) n--;
  if (n === 0) return { d: '', dp: 0 };
  return { d: d.slice(0, n), dp };
}

/** Shortest digits that round-trip (what JS and Go both produce). x > 0, finite. */
function shortestDecimal(x: number): Decimal {
  const s = x.toExponential();
  const e = s.indexOf('e');
  const mant = s.slice(0, e).replace('.', '');
  return trimZeros(mant, Number(s.slice(e + 1)) + 1);
}

/** The exact decimal expansion of a double. x > 0, finite. */
function exactDecimal(x: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (expBits === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = expBits - 1075;
  }
  if (e2 >= 0) {
    const digits = (mant << BigInt(e2)).toString();
    return trimZeros(digits, digits.length);
  }
  const k = -e2;
  const digits = (mant * 5n ** BigInt(k)).toString();
  return trimZeros(digits, digits.length - k);
}

/** Round to nd digits, half to even (the digits are exact). */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  let up: boolean;
  if (a.d[nd] === '5' && nd + 1 === a.d.length) {
    up = nd > 0 && (a.d.charCodeAt(nd - 1) - 0x30) % 2 === 1;
  } else {
    up = a.d[nd] >= '5';
  }
  if (!up) return trimZeros(a.d.slice(0, nd), a.dp);
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  return { d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp };
}

function fmtE(neg: boolean, d: Decimal, prec: number, expChar: string): string {
  let s = neg ? '-' : '';
  s += d.d.length === 0 ? '0' : d.d[0];
  if (prec > 0) {
    s += '.';
    let i = 1;
    const m = Math.min(d.d.length, prec + 1);
    if (i < m) {
      s += d.d.slice(i, m);
      i = m;
    }
    for (; i <= prec; i++) s += '0';
  }
  s += expChar;
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let s = neg ? '-' : '';
  if (d.dp > 0) {
    let m = Math.min(d.d.length, d.dp);
    s += d.d.slice(0, m);
    for (; m < d.dp; m++) s += '0';
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      s += j >= 0 && j < d.d.length ? d.d[j] : '0';
    }
  }
  return s;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f g G. */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  const shortest = prec < 0;
  let d: Decimal;
  if (shortest) {
    d = abs === 0 ? { d: '', dp: 0 } : shortestDecimal(abs);
    switch (fmt) {
      case 'e':
      case 'E':
        prec = Math.max(d.d.length - 1, 0);
        break;
      case 'f':
        prec = Math.max(d.d.length - d.dp, 0);
        break;
      default:
        prec = d.d.length;
    }
  } else {
    d = abs === 0 ? { d: '', dp: 0 } : exactDecimal(abs);
    switch (fmt) {
      case 'e':
      case 'E':
        d = roundDecimal(d, prec + 1);
        break;
      case 'f':
        d = roundDecimal(d, d.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        d = roundDecimal(d, prec);
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, d, prec, fmt);
    case 'f':
      return fmtF(neg, d, prec);
    default: {
      let eprec = prec;
      if (eprec > d.d.length && d.d.length >= d.dp) eprec = d.d.length;
      // %e is used if the exponent is less than -4 or at least the precision;
      // for the shortest form the precision used for this decision is 6.
      if (shortest) eprec = 6;
      const exp = d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > d.d.length) prec = d.d.length;
        return fmtE(neg, d, prec - 1, fmt === 'G' ? 'E' : 'e');
      }
      if (prec > d.dp) prec = d.d.length;
      return fmtF(neg, d, Math.max(prec - d.dp, 0));
    }
  }
}
