/**
 * Lexer for Go text/template syntax, following text/template/parse/lex.go: the same item
 * kinds, trim markers, comment rules and error texts. Lexing stops at the first error, which
 * is returned as a final 'error' item (the parser reports it when it gets there).
 */

import { isPrint, quote } from '../goquote.ts';

export type ItemType =
  | 'error'
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'comment'
  | 'complex'
  | 'assign'
  | 'declare'
  | 'eof'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  // keywords
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

export interface Item {
  type: ItemType;
  val: string;
  /** Offset (UTF-16 index) of the item in the input. */
  pos: number;
  /** 1-based line of the start of the item. */
  line: number;
}

const KEYWORDS: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['.', 'dot'],
  ['block', 'block'],
  ['break', 'break'],
  ['continue', 'continue'],
  ['define', 'define'],
  ['else', 'else'],
  ['end', 'end'],
  ['if', 'if'],
  ['range', 'range'],
  ['nil', 'nil'],
  ['template', 'template'],
  ['with', 'with'],
]);

const KEYWORD_TYPES: ReadonlySet<ItemType> = new Set(KEYWORDS.values());

const LEFT_DELIM = '{{';
const RIGHT_DELIM = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const TRIM_MARKER_LEN = 2; // the '-' plus the space before or after it
const EOF = -1;

/** Go's item.String(), used in "unexpected ..." parse errors. */
export function itemString(i: Item): string {
  if (i.type === 'eof') return 'EOF';
  if (i.type === 'error') return i.val;
  if (KEYWORD_TYPES.has(i.type)) return `<${i.val}>`;
  const runes = [...i.val];
  if (runes.length > 10) return `${quote(runes.slice(0, 10).join(''))}...`;
  return quote(i.val);
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

const ALNUM = /^[\p{L}\p{Nd}_]$/u;
export function isAlphaNumeric(c: number): boolean {
  if (c < 0) return false;
  if (c < 0x80) {
    return c === 0x5f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  }
  return ALNUM.test(String.fromCodePoint(c));
}

/** Go's %#U: U+0041 'A'. */
export function formatRune(c: number): string {
  const hex = 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(c) ? `${hex} '${String.fromCodePoint(c)}'` : hex;
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s.charCodeAt(at) === 0x2d /* - */ && isSpace(s.charCodeAt(at + 1));
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s.charCodeAt(at)) && s.charCodeAt(at + 1) === 0x2d;
}

function rightTrimLength(s: string): number {
  let n = s.length;
  while (n > 0 && isSpace(s.charCodeAt(n - 1))) n--;
  return s.length - n;
}

function leftTrimLength(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i - from;
}

export interface LexOptions {
  /** Whether `break` is a keyword (false when a function named break exists). */
  breakOK: boolean;
  continueOK: boolean;
}

type StateFn = (() => StateFn) | null;

class Lexer {
  readonly input: string;
  readonly opts: LexOptions;
  readonly items: Item[] = [];
  private readonly newlines: number[] = [];
  pos = 0;
  start = 0;
  parenDepth = 0;

  constructor(input: string, opts: LexOptions) {
    this.input = input;
    this.opts = opts;
    for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', i + 1)) this.newlines.push(i);
  }

  /** 1-based line number of offset pos. */
  lineAt(pos: number): number {
    let lo = 0;
    let hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.newlines[mid] < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.pos = this.input.length + 1; // remember we hit EOF so backup is a no-op
      return EOF;
    }
    const c = this.input.codePointAt(this.pos) ?? EOF;
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  backup(): void {
    if (this.pos > this.input.length) {
      this.pos = this.input.length;
      return;
    }
    if (this.pos <= 0) return;
    const lo = this.input.charCodeAt(this.pos - 1);
    this.pos -= lo >= 0xdc00 && lo <= 0xdfff && this.pos >= 2 ? 2 : 1;
  }

  peek(): number {
    const save = this.pos;
    const c = this.next();
    this.pos = save;
    return c;
  }

  thisItem(type: ItemType): Item {
    const end = Math.min(this.pos, this.input.length);
    return { type, val: this.input.slice(this.start, end), pos: this.start, line: this.lineAt(this.start) };
  }

  emit(type: ItemType): StateFn {
    this.items.push(this.thisItem(type));
    this.start = Math.min(this.pos, this.input.length);
    return this.lexInsideAction;
  }

  ignore(): void {
    this.start = this.pos;
  }

  errorf(msg: string): StateFn {
    this.items.push({ type: 'error', val: msg, pos: this.start, line: this.lineAt(this.start) });
    return null;
  }

  accept(valid: string): boolean {
    const c = this.next();
    if (c !== EOF && valid.includes(String.fromCodePoint(c))) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const c = this.next();
      if (c === EOF || !valid.includes(String.fromCodePoint(c))) break;
    }
    this.backup();
  }

  atRightDelim(): [delim: boolean, trimSpaces: boolean] {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(RIGHT_DELIM, this.pos + TRIM_MARKER_LEN)) {
      return [true, true];
    }
    if (this.input.startsWith(RIGHT_DELIM, this.pos)) return [true, false];
    return [false, false];
  }

  atTerminator(): boolean {
    const c = this.peek();
    if (isSpace(c)) return true;
    switch (c) {
      case EOF:
      case 0x2e: // .
      case 0x2c: // ,
      case 0x7c: // |
      case 0x3a: // :
      case 0x29: // )
      case 0x28: // (
        return true;
    }
    return this.input.startsWith(RIGHT_DELIM, this.pos);
  }

  run(): Item[] {
    let state: StateFn = this.lexText;
    while (state !== null) state = state();
    return this.items;
  }

  lexText = (): StateFn => {
    const x = this.input.indexOf(LEFT_DELIM, this.pos);
    if (x >= 0) {
      if (x > this.pos) {
        let trimLength = 0;
        if (hasLeftTrimMarker(this.input, x + LEFT_DELIM.length)) {
          trimLength = rightTrimLength(this.input.slice(this.pos, x));
        }
        this.pos = x;
        const item = this.thisItem('text');
        item.val = item.val.slice(0, item.val.length - trimLength);
        if (item.val.length > 0) this.items.push(item);
        this.ignore();
      }
      return this.lexLeftDelim;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) this.items.push(this.thisItem('text'));
    this.start = this.pos;
    this.items.push(this.thisItem('eof'));
    return null;
  };

  lexLeftDelim = (): StateFn => {
    this.pos += LEFT_DELIM.length;
    const trimSpace = hasLeftTrimMarker(this.input, this.pos);
    const afterMarker = trimSpace ? TRIM_MARKER_LEN : 0;
    if (this.input.startsWith(LEFT_COMMENT, this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      return this.lexComment;
    }
    const item = this.thisItem('leftDelim');
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    this.items.push(item);
    return this.lexInsideAction;
  };

  lexComment = (): StateFn => {
    this.pos += LEFT_COMMENT.length;
    const x = this.input.indexOf(RIGHT_COMMENT, this.pos);
    if (x < 0) return this.errorf('unclosed comment');
    this.pos = x + RIGHT_COMMENT.length;
    const [delim, trimSpace] = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    const item = this.thisItem('comment');
    if (trimSpace) this.pos += TRIM_MARKER_LEN;
    this.pos += RIGHT_DELIM.length;
    if (trimSpace) this.pos += leftTrimLength(this.input, this.pos);
    this.ignore();
    this.items.push(item);
    return this.lexText;
  };

  lexRightDelim = (): StateFn => {
    const [, trimSpace] = this.atRightDelim();
    if (trimSpace) {
      this.pos += TRIM_MARKER_LEN;
      this.ignore();
    }
    this.pos += RIGHT_DELIM.length;
    this.emit('rightDelim');
    if (trimSpace) {
      this.pos += leftTrimLength(this.input, this.pos);
      this.ignore();
    }
    return this.lexText;
  };

  lexInsideAction = (): StateFn => {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return this.lexRightDelim;
      return this.errorf('unclosed left paren');
    }
    const c = this.next();
    if (c === EOF) return this.errorf('unclosed action');
    if (isSpace(c)) {
      this.backup(); // put the space back in case we have " -}}"
      return this.lexSpace;
    }
    switch (c) {
      case 0x3d: // =
        return this.emit('assign');
      case 0x3a: // :
        if (this.next() !== 0x3d) return this.errorf('expected :=');
        return this.emit('declare');
      case 0x7c: // |
        return this.emit('pipe');
      case 0x22: // "
        return this.lexQuote;
      case 0x60: // `
        return this.lexRawQuote;
      case 0x24: // $
        return this.lexVariable;
      case 0x27: // '
        return this.lexChar;
      case 0x28: // (
        this.parenDepth++;
        return this.emit('leftParen');
      case 0x29: // )
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf('unexpected right paren');
        return this.emit('rightParen');
    }
    if (c === 0x2e /* . */) {
      // special look-ahead for ".field" so we don't break backup()
      const n = this.input.charCodeAt(this.pos);
      if (!(n >= 0x30 && n <= 0x39)) return this.lexField;
      this.backup();
      return this.lexNumber; // '.' can start a number
    }
    if (c === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.backup();
      return this.lexNumber;
    }
    if (isAlphaNumeric(c)) {
      this.backup();
      return this.lexIdentifier;
    }
    if (c < 0x80 && isPrint(c)) return this.emit('char');
    return this.errorf(`unrecognized character in action: ${formatRune(c)}`);
  };

  lexSpace = (): StateFn => {
    let numSpaces = 0;
    while (isSpace(this.peek())) {
      this.next();
      numSpaces++;
    }
    // A trim-marked closing delimiter has a minus after a space; we know there is a space.
    if (
      hasRightTrimMarker(this.input, this.pos - 1) &&
      this.input.startsWith(RIGHT_DELIM, this.pos - 1 + TRIM_MARKER_LEN)
    ) {
      this.backup(); // before the space
      if (numSpaces === 1) return this.lexRightDelim; // on the delim, so go right to that
    }
    return this.emit('space');
  };

  lexIdentifier = (): StateFn => {
    for (;;) {
      const c = this.next();
      if (isAlphaNumeric(c)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${formatRune(c)}`);
      const kw = KEYWORDS.get(word);
      if (kw !== undefined) {
        if ((kw === 'break' && !this.opts.breakOK) || (kw === 'continue' && !this.opts.continueOK)) {
          return this.emit('identifier');
        }
        return this.emit(kw);
      }
      if (word === 'true' || word === 'false') return this.emit('bool');
      return this.emit('identifier');
    }
  };

  lexField = (): StateFn => this.lexFieldOrVariable('field');

  lexVariable = (): StateFn => this.lexFieldOrVariable('variable');

  lexFieldOrVariable(type: 'field' | 'variable'): StateFn {
    if (this.atTerminator()) {
      // nothing interesting follows: "." or "$"
      return this.emit(type === 'variable' ? 'variable' : 'dot');
    }
    let c: number;
    for (;;) {
      c = this.next();
      if (!isAlphaNumeric(c)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${formatRune(c)}`);
    return this.emit(type);
  }

  lexChar = (): StateFn => {
    for (;;) {
      let c = this.next();
      if (c === 0x5c /* \ */) {
        c = this.next();
        if (c !== EOF && c !== 0x0a) continue;
      }
      if (c === EOF || c === 0x0a) return this.errorf('unterminated character constant');
      if (c === 0x27) break;
    }
    return this.emit('charConstant');
  };

  lexQuote = (): StateFn => {
    for (;;) {
      let c = this.next();
      if (c === 0x5c) {
        c = this.next();
        if (c !== EOF && c !== 0x0a) continue;
      }
      if (c === EOF || c === 0x0a) return this.errorf('unterminated quoted string');
      if (c === 0x22) break;
    }
    return this.emit('string');
  };

  lexRawQuote = (): StateFn => {
    for (;;) {
      const c = this.next();
      if (c === EOF) return this.errorf('unterminated raw quoted string');
      if (c === 0x60) break;
    }
    return this.emit('rawString');
  };

  lexNumber = (): StateFn => {
    if (!this.scanNumber()) return this.errorf(`bad number syntax: ${quote(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) {
      // complex: 1+2i, no spaces, must end in 'i'
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') {
        return this.errorf(`bad number syntax: ${quote(this.input.slice(this.start, this.pos))}`);
      }
      return this.emit('complex');
    }
    return this.emit('number');
  };

  scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      // note: leading 0 does not mean octal in floats
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i'); // imaginary
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }
}

/** Tokenise a whole template; the last item is 'eof' or 'error'. */
export function lex(input: string, opts: LexOptions): { items: Item[]; lineAt: (pos: number) => number } {
  const l = new Lexer(input, opts);
  const items = l.run();
  return { items, lineAt: (pos) => l.lineAt(pos) };
}
