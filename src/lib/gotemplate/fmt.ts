/**
 * Go's fmt package for JS values: Sprint, Sprintln and Sprintf with the verbs, flags, widths,
 * precisions, argument indexes and error forms (`%!d(string=x)`, `%!s(MISSING)`,
 * `%!(EXTRA int=1)`) of Go's implementation. Values are seen through values.ts: integral
 * numbers are ints, other numbers float64, arrays slices, Maps/plain objects maps (printed
 * `map[k:v]` with sorted keys), struct-likes `{a b}`.
 */

import { formatFloat } from './ftoa.ts';
import { goTimeString } from './gotime.ts';
import { canBackquote, isPrint, quote, quoteRune } from '../goquote.ts';
import { kindOf, sortedEntries, structFields, typeName } from './values.ts';

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  widPresent: boolean;
  wid: number;
  precPresent: boolean;
  prec: number;
}

function clearFlags(): Flags {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    plusV: false,
    sharpV: false,
    widPresent: false,
    wid: 0,
    precPresent: false,
    prec: 0,
  };
}

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const TWO64 = 1n << 64n;

// ---------------------------------------------------------------------------------------
// The printer

class Printer {
  buf = '';
  f: Flags = clearFlags();
  arg: unknown = undefined;
  erroring = false;
  reordered = false;
  readonly visiting = new Set<object>();
  goodArgNum = true;

  writePadding(n: number): void {
    if (n <= 0) return;
    this.buf += (this.f.zero ? '0' : ' ').repeat(n);
  }

  /** Append s padded to the width (counted in runes). */
  pad(s: string): void {
    if (!this.f.widPresent || this.f.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.f.wid - runeCount(s);
    if (!this.f.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  truncate(s: string): string {
    if (this.f.precPresent) {
      const runes = [...s];
      if (runes.length > this.f.prec) return runes.slice(0, this.f.prec).join('');
    }
    return s;
  }

  badVerb(verb: string): void {
    this.erroring = true;
    this.buf += '%!' + verb + '(';
    if (this.arg !== null && this.arg !== undefined) {
      this.buf += typeName(this.arg) + '=';
      this.printArg(this.arg, 'v');
    } else {
      this.buf += '<nil>';
    }
    this.buf += ')';
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.pad(v ? 'true' : 'false');
    else this.badVerb(verb);
  }

  fmtInteger(v: bigint, verb: string): void {
    switch (verb) {
      case 'v':
      case 'd':
        return this.fmtIntegerBase(v, 10, verb, false);
      case 'b':
        return this.fmtIntegerBase(v, 2, verb, false);
      case 'o':
      case 'O':
        return this.fmtIntegerBase(v, 8, verb, false);
      case 'x':
        return this.fmtIntegerBase(v, 16, verb, false);
      case 'X':
        return this.fmtIntegerBase(v, 16, verb, true);
      case 'c':
        return this.pad(String.fromCodePoint(validRune(v)));
      case 'q':
        return this.pad(quoteRune(validRune(v), this.f.plus));
      case 'U':
        return this.fmtUnicode(v);
      default:
        return this.badVerb(verb);
    }
  }

  fmtIntegerBase(v: bigint, base: number, verb: string, upper: boolean): void {
    const negative = v < 0n;
    const u = negative ? -v : v;
    const f = this.f;
    let prec = 0;
    if (f.precPresent) {
      prec = f.prec;
      // precision 0 and value 0 means "print nothing" but padding
      if (prec === 0 && u === 0n) {
        const oldZero = f.zero;
        f.zero = false;
        this.writePadding(f.wid);
        f.zero = oldZero;
        return;
      }
    } else if (f.zero && !f.minus && f.widPresent) {
      prec = f.wid;
      if (negative || f.plus || f.space) prec--; // leave room for the sign
    }
    let digits = u.toString(base);
    if (upper) digits = digits.toUpperCase();
    if (digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits;
    if (f.sharp) {
      if (base === 2) digits = '0b' + digits;
      else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
      else if (base === 16) digits = (upper ? '0X' : '0x') + digits;
    }
    if (verb === 'O') digits = '0o' + digits;
    if (negative) digits = '-' + digits;
    else if (f.plus) digits = '+' + digits;
    else if (f.space) digits = ' ' + digits;
    const oldZero = f.zero;
    f.zero = false;
    this.pad(digits);
    f.zero = oldZero;
  }

  fmtUnicode(v: bigint): void {
    const u = v < 0n ? v + TWO64 : v;
    let prec = 4;
    if (this.f.precPresent && this.f.prec > 4) prec = this.f.prec;
    let s = 'U+' + u.toString(16).toUpperCase().padStart(prec, '0');
    if (this.f.sharp && u <= 0x10ffffn && isPrint(Number(u))) s += ` '${String.fromCodePoint(Number(u))}'`;
    const oldZero = this.f.zero;
    this.f.zero = false;
    this.pad(s);
    this.f.zero = oldZero;
  }

  fmtFloat(v: number, verb: string): void {
    let fmtVerb: string;
    let prec: number;
    switch (verb) {
      case 'v':
        fmtVerb = 'g';
        prec = -1;
        break;
      case 'g':
      case 'G':
        fmtVerb = verb;
        prec = -1;
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
        fmtVerb = verb === 'F' ? 'f' : verb;
        prec = 6;
        break;
      default:
        return this.badVerb(verb);
    }
    if (this.f.precPresent) prec = this.f.prec;
    let num = formatFloat(v, fmtVerb, prec);
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    const f = this.f;
    if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
    // Infinities and NaN don't look like numbers, so aren't padded with zeros.
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = f.zero;
      f.zero = false;
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1);
      this.pad(num);
      f.zero = oldZero;
      return;
    }
    if (f.plus || num[0] !== '+') {
      // zero padding goes after the sign
      if (f.zero && !f.minus && f.widPresent && f.wid > num.length) {
        this.buf += num[0];
        this.writePadding(f.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  fmtString(s: string, verb: string): void {
    // The 0 flag is ignored for strings and byte slices (Go 1.23+).
    const oldZero = this.f.zero;
    this.f.zero = false;
    try {
      this.fmtStringVerb(s, verb);
    } finally {
      this.f.zero = oldZero;
    }
  }

  fmtStringVerb(s: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.f.sharpV) this.fmtQ(s);
        else this.pad(this.truncate(s));
        return;
      case 's':
        return this.pad(this.truncate(s));
      case 'x':
      case 'X':
        return this.fmtSbx(new TextEncoder().encode(s), verb === 'X');
      case 'q':
        return this.fmtQ(s);
      default:
        return this.badVerb(verb);
    }
  }

  fmtQ(s: string): void {
    s = this.truncate(s);
    if (this.f.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(quote(s, this.f.plus));
  }

  fmtSbx(b: Uint8Array, upper: boolean): void {
    const f = this.f;
    let length = b.length;
    if (f.precPresent && f.prec < length) length = f.prec;
    let width = 2 * length;
    if (width > 0) {
      if (f.space) {
        if (f.sharp) width *= 2;
        width += length - 1;
      } else if (f.sharp) width += 2;
    } else {
      if (f.widPresent) this.writePadding(f.wid);
      return;
    }
    if (f.widPresent && f.wid > width && !f.minus) this.writePadding(f.wid - width);
    const prefix = upper ? '0X' : '0x';
    let out = f.sharp ? prefix : '';
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) {
        out += ' ';
        if (f.sharp) out += prefix;
      }
      const h = b[i].toString(16).padStart(2, '0');
      out += upper ? h.toUpperCase() : h;
    }
    this.buf += out;
    if (f.widPresent && f.wid > width && f.minus) this.writePadding(f.wid - width);
  }

  /** Error and Stringer-like values print through their string form for string verbs. */
  handleMethods(v: unknown, verb: string): boolean {
    if (this.erroring || this.f.sharpV) return false;
    if (verb !== 'v' && verb !== 's' && verb !== 'x' && verb !== 'X' && verb !== 'q') return false;
    if (typeof v !== 'object' || v === null) return false;
    let s: string | undefined;
    if (v instanceof Date) s = goTimeString(v);
    else if (v instanceof Error) s = v.message;
    else if (kindOf(v) === 'struct') {
      const ts = (v as { toString?: unknown }).toString;
      if (typeof ts === 'function' && ts !== Object.prototype.toString) {
        try {
          s = String(ts.call(v));
        } catch (e) {
          // Go's fmt catches panics in String methods the same way.
          this.buf += `%!${verb}(PANIC=String method: ${e instanceof Error ? e.message : String(e)})`;
          return true;
        }
      }
    }
    if (s === undefined) return false;
    this.fmtString(s, verb);
    return true;
  }

  printArg(arg: unknown, verb: string): void {
    this.arg = arg;
    if (arg === null || arg === undefined) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb);
      return;
    }
    if (verb === 'T') {
      this.pad(this.truncate(typeName(arg)));
      return;
    }
    this.printValue(arg, verb, 0);
  }

  printValue(v: unknown, verb: string, depth: number): void {
    if (depth > 0) {
      if (v === null || v === undefined) {
        this.buf += this.f.sharpV ? 'interface {}(nil)' : '<nil>';
        return;
      }
      this.arg = v;
    }
    if (this.handleMethods(v, verb)) return;
    switch (kindOf(v)) {
      case 'bool':
        return this.fmtBool(v as boolean, verb);
      case 'int':
        // JS can't tell 2.0 from 2: let float verbs format integral numbers as floats.
        if ('eEfFgG'.includes(verb)) return this.fmtFloat(Number(v), verb);
        return this.fmtInteger(BigInt(v as number | bigint), verb);
      case 'float':
        return this.fmtFloat(v as number, verb);
      case 'string':
        return this.fmtString(typeof v === 'symbol' ? v.toString() : (v as string), verb);
      case 'bytes':
        return this.printBytes(v as Uint8Array, verb, depth);
      case 'slice':
      case 'map':
      case 'struct':
        return this.printComposite(v as object, verb, depth);
      case 'func':
        if (verb === 'v' || verb === 'p') this.pad('0x0');
        else this.badVerb(verb);
        return;
      default:
        this.pad('<nil>');
    }
  }

  printBytes(b: Uint8Array, verb: string, depth: number): void {
    switch (verb) {
      case 's':
      case 'q':
        return this.fmtString(new TextDecoder().decode(b), verb);
      case 'x':
      case 'X': {
        const oldZero = this.f.zero;
        this.f.zero = false;
        this.fmtSbx(b, verb === 'X');
        this.f.zero = oldZero;
        return;
      }
    }
    if (this.f.sharpV) {
      this.buf += '[]byte{';
      b.forEach((x, i) => {
        if (i > 0) this.buf += ', ';
        this.buf += '0x' + x.toString(16);
      });
      this.buf += '}';
      return;
    }
    this.printList([...b], verb, depth);
  }

  /** Slices, maps and structs; a value containing itself prints as <cycle> where it recurs. */
  printComposite(v: object, verb: string, depth: number): void {
    if (this.visiting.has(v)) {
      this.buf += '<cycle>';
      return;
    }
    this.visiting.add(v);
    try {
      if (Array.isArray(v)) this.printList(v, verb, depth);
      else if (kindOf(v) === 'map') this.printMap(v, verb, depth);
      else this.printStruct(v, verb, depth);
    } finally {
      this.visiting.delete(v);
    }
  }

  printList(list: readonly unknown[], verb: string, depth: number): void {
    if (this.f.sharpV) {
      this.buf += typeName(list) + '{';
      list.forEach((e, i) => {
        if (i > 0) this.buf += ', ';
        this.printValue(e, verb, depth + 1);
      });
      this.buf += '}';
      return;
    }
    this.buf += '[';
    list.forEach((e, i) => {
      if (i > 0) this.buf += ' ';
      this.printValue(e, verb, depth + 1);
    });
    this.buf += ']';
  }

  printMap(m: object, verb: string, depth: number): void {
    this.buf += this.f.sharpV ? typeName(m) + '{' : 'map[';
    sortedEntries(m).forEach(([k, val], i) => {
      if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
      this.printValue(k, verb, depth + 1);
      this.buf += ':';
      this.printValue(val, verb, depth + 1);
    });
    this.buf += this.f.sharpV ? '}' : ']';
  }

  printStruct(o: object, verb: string, depth: number): void {
    if (this.f.sharpV) this.buf += typeName(o);
    this.buf += '{';
    structFields(o).forEach((name, i) => {
      if (i > 0) this.buf += this.f.sharpV ? ', ' : ' ';
      if (this.f.plusV || this.f.sharpV) this.buf += name + ':';
      this.printValue((o as Record<string, unknown>)[name], verb, depth + 1);
    });
    this.buf += '}';
  }

  // ---- Printf ----

  argNumber(argNum: number, format: string, i: number, numArgs: number): [number, number, boolean] {
    if (format.length <= i || format[i] !== '[') return [argNum, i, false];
    this.reordered = true;
    const [index, wid, ok] = parseArgNumber(format.slice(i));
    if (ok && index >= 0 && index < numArgs) return [index, i + wid, true];
    this.goodArgNum = false;
    return [argNum, i + wid, ok];
  }

  doPrintf(format: string, a: readonly unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    this.reordered = false;
    let i = 0;
    while (i < end) {
      this.goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++; // skip %
      this.f = clearFlags();
      const f = this.f;
      flags: for (; i < end; i++) {
        switch (format[i]) {
          case '#':
            f.sharp = true;
            break;
          case '0':
            f.zero = !f.minus; // only allow zero padding to the left
            break;
          case '+':
            f.plus = true;
            break;
          case '-':
            f.minus = true;
            f.zero = false; // do not pad with zeros to the right
            break;
          case ' ':
            f.space = true;
            break;
          default:
            break flags;
        }
      }
      // explicit argument index?
      [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
      // width
      if (i < end && format[i] === '*') {
        i++;
        [f.wid, f.widPresent, argNum] = intFromArg(a, argNum);
        if (!f.widPresent) this.buf += '%!(BADWIDTH)';
        if (f.wid < 0) {
          f.wid = -f.wid;
          f.minus = true;
          f.zero = false;
        }
        afterIndex = false;
      } else {
        [f.wid, f.widPresent, i] = parsenum(format, i, end);
        if (afterIndex && f.widPresent) this.goodArgNum = false; // "%[3]2d"
      }
      // precision
      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) this.goodArgNum = false; // "%[3].2d"
        [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
        if (i < end && format[i] === '*') {
          i++;
          [f.prec, f.precPresent, argNum] = intFromArg(a, argNum);
          if (f.prec < 0) {
            f.prec = 0;
            f.precPresent = false;
          }
          if (!f.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [f.prec, f.precPresent, i] = parsenum(format, i, end);
          if (!f.precPresent) {
            f.prec = 0;
            f.precPresent = true;
          }
        }
      }
      if (!afterIndex) [argNum, i, afterIndex] = this.argNumber(argNum, format, i, a.length);
      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }
      const cp = format.codePointAt(i) ?? 0;
      const verb = String.fromCodePoint(cp);
      i += verb.length;
      if (verb === '%') {
        this.buf += '%'; // percent does not absorb operands and ignores width and precision
      } else if (!this.goodArgNum) {
        this.buf += `%!${verb}(BADINDEX)`;
      } else if (argNum >= a.length) {
        this.buf += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v') {
          f.sharpV = f.sharp;
          f.sharp = false;
          f.plusV = f.plus;
          f.plus = false;
        }
        this.printArg(a[argNum], verb);
        argNum++;
      }
    }
    if (!this.reordered && argNum < a.length) {
      this.f = clearFlags();
      this.buf += '%!(EXTRA ';
      a.slice(argNum).forEach((arg, j) => {
        if (j > 0) this.buf += ', ';
        if (arg === null || arg === undefined) this.buf += '<nil>';
        else {
          this.buf += typeName(arg) + '=';
          this.printArg(arg, 'v');
        }
      });
      this.buf += ')';
    }
  }
}

function validRune(v: bigint): number {
  if (v < 0n || v > 0x10ffffn) return 0xfffd;
  const n = Number(v);
  return n >= 0xd800 && n <= 0xdfff ? 0xfffd : n;
}

function tooLarge(x: number): boolean {
  return x > 1e6 || x < -1e6;
}

function parsenum(s: string, start: number, end: number): [number, boolean, number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
    if (tooLarge(num)) return [0, false, end];
    num = num * 10 + (s.charCodeAt(i) - 0x30);
    isnum = true;
  }
  return [num, isnum, i];
}

function parseArgNumber(format: string): [number, number, boolean] {
  if (format.length < 3) return [0, 1, false];
  for (let i = 1; i < format.length; i++) {
    if (format[i] === ']') {
      const [width, ok, newi] = parsenum(format, 1, i);
      if (!ok || newi !== i) return [0, i + 1, false];
      return [width - 1, i + 1, true];
    }
  }
  return [0, 1, false];
}

function intFromArg(a: readonly unknown[], argNum: number): [number, boolean, number] {
  if (argNum >= a.length) return [0, false, argNum];
  const v = a[argNum];
  let num = 0;
  let isInt = false;
  if (typeof v === 'number' && Number.isInteger(v)) {
    num = v;
    isInt = true;
  } else if (typeof v === 'bigint' && v >= -(1n << 63n) && v < 1n << 63n) {
    num = Number(v);
    isInt = true;
  }
  if (tooLarge(num)) {
    num = 0;
    isInt = false;
  }
  return [num, isInt, argNum + 1];
}

/** fmt.Sprint: operands formatted with %v, spaces between operands when neither is a string. */
export function sprint(...args: unknown[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) p.buf += ' ';
    p.printArg(arg, 'v');
    prevString = isString;
  });
  return p.buf;
}

/** fmt.Sprintln: operands formatted with %v, always space-separated, newline appended. */
export function sprintln(...args: unknown[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.buf += ' ';
    p.printArg(arg, 'v');
  });
  return p.buf + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, ...args: unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.buf;
}
