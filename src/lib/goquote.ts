/**
 * Go's strconv quoting, shared by everything that must print values as Go does (template
 * %q, strconv error messages, pflag errors): Quote/QuoteRune (with ASCII-only variants),
 * CanBackquote, Unquote and UnquoteChar.
 */

// Made on first use: a Unicode-property pattern costs ~1 ms to build, at every CLI start otherwise.
let printable: RegExp | undefined;

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(c: number): boolean {
  if (c < 0x20 || c === 0x7f) return false;
  if (c < 0x7f) return true;
  if (c >= 0xd800 && c <= 0xdfff) return false;
  return (printable ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u).test(String.fromCodePoint(c));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function appendEscapedRune(c: number, quote: number, asciiOnly: boolean): string {
  if (c === quote || c === 0x5c) return '\\' + String.fromCodePoint(c);
  if (asciiOnly ? c < 0x80 && isPrint(c) : isPrint(c)) return String.fromCodePoint(c);
  switch (c) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (c < 0x20 || c === 0x7f) return '\\x' + hex(c, 2);
  if (c >= 0xd800 && c <= 0xdfff) return '\\ufffd'; // lone surrogate: invalid in Go strings
  if (c < 0x10000) return '\\u' + hex(c, 4);
  return '\\U' + hex(c, 8);
}

/** strconv.Quote (or QuoteToASCII when asciiOnly). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += appendEscapedRune(ch.codePointAt(0) ?? 0, 0x22, asciiOnly);
  return out + '"';
}

/** strconv.QuoteRune (or QuoteRuneToASCII). */
export function quoteRune(c: number, asciiOnly = false): string {
  if (c > 0x10ffff || c < 0 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
  return "'" + appendEscapedRune(c, 0x27, asciiOnly) + "'";
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0xfeff) return false;
    if (c >= 0xd800 && c <= 0xdfff) return false;
    if ((c < 0x20 && c !== 0x09) || c === 0x60 || c === 0x7f) return false;
  }
  return true;
}

export class SyntaxError_ extends Error {
  constructor() {
    super('invalid syntax');
    this.name = 'SyntaxError';
  }
}

function hexVal(c: string): number {
  const n = parseInt(c, 16);
  return Number.isNaN(n) || !/^[0-9a-fA-F]$/.test(c) ? -1 : n;
}

/**
 * strconv.UnquoteChar on s starting at index i. Returns the decoded value, whether it is a
 * single byte (\x or octal escapes) rather than a rune, and the index after it.
 */
export function unquoteChar(s: string, i: number, q: string): { value: number; isByte: boolean; next: number } {
  const c = s[i];
  if (c === undefined) throw new SyntaxError_();
  if (c === q && (q === "'" || q === '"')) throw new SyntaxError_();
  if (c !== '\\') {
    const cp = s.codePointAt(i) ?? 0;
    return { value: cp, isByte: false, next: i + (cp > 0xffff ? 2 : 1) };
  }
  const e = s[i + 1];
  if (e === undefined) throw new SyntaxError_();
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c };
  if (e in simple) return { value: simple[e], isByte: false, next: i + 2 };
  if (e === "'" || e === '"') {
    if (e !== q) throw new SyntaxError_();
    return { value: e.charCodeAt(0), isByte: false, next: i + 2 };
  }
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    let v = 0;
    for (let j = 0; j < n; j++) {
      const d = hexVal(s[i + 2 + j] ?? '');
      if (d < 0) throw new SyntaxError_();
      v = v * 16 + d;
    }
    if (e === 'x') return { value: v, isByte: true, next: i + 2 + n };
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxError_();
    return { value: v, isByte: false, next: i + 2 + n };
  }
  if (e >= '0' && e <= '7') {
    let v = 0;
    for (let j = 0; j < 3; j++) {
      const d = s.charCodeAt(i + 1 + j) - 0x30;
      if (!(d >= 0 && d <= 7)) throw new SyntaxError_();
      v = v * 8 + d;
    }
    if (v > 255) throw new SyntaxError_();
    return { value: v, isByte: true, next: i + 4 };
  }
  throw new SyntaxError_();
}

/** strconv.Unquote for "...", `...` and '...' literals. Throws SyntaxError_ on bad input. */
export function unquote(s: string): string {
  if (s.length < 2) throw new SyntaxError_();
  const q = s[0];
  if (q !== s[s.length - 1]) throw new SyntaxError_();
  const body = s.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new SyntaxError_();
    return body.replaceAll('\r', '');
  }
  if (q !== '"' && q !== "'") throw new SyntaxError_();
  if (body.includes('\n')) throw new SyntaxError_();
  if (!body.includes('\\') && !body.includes(q)) {
    if (q === '"') return body;
    if ([...body].length === 1) return body;
  }
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = 0;
  let count = 0;
  while (i < body.length) {
    const r = unquoteChar(body, i, q);
    i = r.next;
    count++;
    if (r.isByte) bytes.push(r.value);
    else bytes.push(...enc.encode(String.fromCodePoint(r.value)));
    if (q === "'" && count > 1) throw new SyntaxError_();
  }
  if (q === "'" && count !== 1) throw new SyntaxError_();
  return new TextDecoder('utf-8').decode(new Uint8Array(bytes));
}
