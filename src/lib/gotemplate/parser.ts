/**
 * Parser for Go text/template, following text/template/parse/parse.go: one call parses the
 * top-level template plus every {{define}}/{{block}} in it, with Go's error texts
 * (`template: :LINE: msg`).
 */

import type {
  ActionNode,
  ArgNode,
  BranchNode,
  CommandNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  StringNode,
  TemplateNode,
  VariableNode,
} from './ast.ts';
import { isEmptyTree, nodeString } from './ast.ts';
import { TemplateError } from './errors.ts';
import type { Item, ItemType } from './lexer.ts';
import { itemString, lex } from './lexer.ts';
import { quote, SyntaxError_, unquote, unquoteChar } from '../goquote.ts';

export interface ParsedTemplate {
  name: string;
  root: ListNode;
}

export interface ParseResult {
  /** The source text; node positions index into it. */
  text: string;
  /** Name of the top-level template ("" for docker). */
  parseName: string;
  /** Every template defined by the text, the top-level one included. */
  templates: Map<string, ParsedTemplate>;
}

/** Marker nodes returned by itemList for {{end}} and {{else}}; never stored in the tree. */
interface EndMarker { type: 'endMarker'; pos: number }
interface ElseMarker { type: 'elseMarker'; pos: number; line: number }
type ListItem = Node | EndMarker | ElseMarker;

function markerString(n: EndMarker | ElseMarker): string {
  return n.type === 'endMarker' ? '{{end}}' : '{{else}}';
}

class TokenStream {
  readonly items: Item[];
  i = 0;
  /** Index of the furthest item fetched; its line is what Go's errors report. */
  max = 0;

  constructor(items: Item[]) {
    this.items = items;
  }

  next(): Item {
    const idx = Math.min(this.i, this.items.length - 1);
    this.i = idx + 1;
    if (idx > this.max) this.max = idx;
    return this.items[idx];
  }

  backup(n = 1): void {
    this.i -= n;
  }

  peek(): Item {
    const it = this.next();
    this.backup();
    return it;
  }

  errorLine(): number {
    return this.items[Math.min(this.max, this.items.length - 1)].line;
  }
}

interface ParserShared {
  stream: TokenStream;
  parseName: string;
  hasFunction: (name: string) => boolean;
  templates: Map<string, ParsedTemplate>;
}

class TreeParser {
  readonly sh: ParserShared;
  name: string;
  vars: string[] = ['$'];
  rangeDepth = 0;
  actionLine = 0;

  constructor(sh: ParserShared, name: string) {
    this.sh = sh;
    this.name = name;
  }

  // ---- token helpers ----

  next(): Item {
    return this.sh.stream.next();
  }

  backup(n = 1): void {
    this.sh.stream.backup(n);
  }

  peek(): Item {
    return this.sh.stream.peek();
  }

  nextNonSpace(): Item {
    for (;;) {
      const t = this.next();
      if (t.type !== 'space') return t;
    }
  }

  peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(msg: string): never {
    throw new TemplateError(`template: ${this.sh.parseName}:${this.sh.stream.errorLine()}: ${msg}`, 'parse');
  }

  expect(type: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  expectOneOf(a: ItemType, b: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.type !== a && t.type !== b) this.unexpected(t, context);
    return t;
  }

  unexpected(token: Item, context: string): never {
    if (token.type === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.sh.parseName}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${token.val}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  unquoteOrFail(s: string): string {
    try {
      return unquote(s);
    } catch (e) {
      if (e instanceof SyntaxError_) this.errorf(e.message);
      throw e;
    }
  }

  // ---- grammar ----

  /** Top level: like itemList but also handles {{define}}; runs to EOF. */
  parse(): ListNode {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const save = this.sh.stream.i;
        this.next();
        if (this.nextNonSpace().type === 'define') {
          const sub = new TreeParser(this.sh, 'definition');
          sub.parseDefinition();
          continue;
        }
        this.sh.stream.i = save;
      }
      const n = this.textOrAction();
      if (n.type === 'endMarker' || n.type === 'elseMarker') this.errorf(`unexpected ${markerString(n)}`);
      root.nodes.push(n);
    }
    return root;
  }

  add(root: ListNode): void {
    const existing = this.sh.templates.get(this.name);
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.sh.templates.set(this.name, { name: this.name, root });
      return;
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${quote(this.name)}`);
  }

  parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf('string', 'rawString', context);
    this.name = this.unquoteOrFail(name.val);
    this.expect('rightDelim', context);
    const [root, end] = this.itemList();
    if (end.type !== 'endMarker') this.errorf(`unexpected ${listItemString(end)} in ${context}`);
    this.add(root);
  }

  itemList(): [ListNode, EndMarker | ElseMarker] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'endMarker' || n.type === 'elseMarker') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  textOrAction(): ListItem {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'text':
        return { type: 'text', pos: token.pos, text: token.val };
      case 'leftDelim': {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case 'comment':
        return { type: 'comment', pos: token.pos, text: token.val };
      default:
        this.unexpected(token, 'input');
    }
  }

  action(): ListItem {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'block':
        return this.blockControl();
      case 'break':
        return this.breakControl(token, 'break');
      case 'continue':
        return this.breakControl(token, 'continue');
      case 'else':
        return this.elseControl();
      case 'end':
        return this.endControl();
      case 'if':
        return this.ifControl();
      case 'range':
        return this.branchControl('range');
      case 'template':
        return this.templateControl();
      case 'with':
        return this.branchControl('with');
    }
    this.backup();
    const t = this.peek();
    // Do not pop variables; they persist until "end".
    const node: ActionNode = { type: 'action', pos: t.pos, line: t.line, pipe: this.pipeline('command', 'rightDelim') };
    return node;
  }

  breakControl(kw: Item, which: 'break' | 'continue'): Node {
    const token = this.nextNonSpace();
    if (token.type !== 'rightDelim') this.unexpected(token, `{{${which}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${which}}} outside {{range}}`);
    return { type: which, pos: kw.pos, line: kw.line };
  }

  pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: token.pos, line: token.line, isAssign: false, decl: [], cmds: [] };
    // Are there declarations or assignments?
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') break;
      const before = this.sh.stream.i;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign';
        this.nextNonSpace();
        pipe.decl.push(newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().type;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls; // second variable
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else {
        this.sh.stream.i = before;
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      switch (t.type) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case 'bool':
        case 'charConstant':
        case 'complex':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0].type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  parseControl(context: 'if' | 'range' | 'with'): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      let list: ListNode;
      let next: EndMarker | ElseMarker;
      try {
        [list, next] = this.itemList();
      } finally {
        if (context === 'range') this.rangeDepth--;
      }
      let elseList: ListNode | null = null;
      if (next.type === 'elseMarker') {
        // "{{else if ...}}" and "{{else with ...}}" are "{{else}}{{if ...}}...{{end}}{{end}}"
        // with the final {{end}} shared.
        if (context === 'if' && this.peek().type === 'if') {
          this.next();
          elseList = { type: 'list', pos: next.pos, nodes: [this.ifControl()] };
        } else if (context === 'with' && this.peek().type === 'with') {
          this.next();
          elseList = { type: 'list', pos: next.pos, nodes: [this.branchControl('with')] };
        } else {
          let end: EndMarker | ElseMarker;
          [elseList, end] = this.itemList();
          if (end.type !== 'endMarker') this.errorf(`expected end; found ${markerString(end)}`);
        }
      }
      return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  ifControl(): BranchNode {
    return this.parseControl('if');
  }

  branchControl(context: 'range' | 'with'): BranchNode {
    return this.parseControl(context);
  }

  endControl(): EndMarker {
    return { type: 'endMarker', pos: this.expect('rightDelim', 'end').pos };
  }

  elseControl(): ElseMarker {
    const peek = this.peekNonSpace();
    // "{{else if ...}}" / "{{else with ...}}": leave the keyword pending.
    if (peek.type === 'if' || peek.type === 'with') return { type: 'elseMarker', pos: peek.pos, line: peek.line };
    const token = this.expect('rightDelim', 'else');
    return { type: 'elseMarker', pos: token.pos, line: token.line };
  }

  blockControl(): TemplateNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, 'rightDelim');
    const block = new TreeParser(this.sh, name);
    const [root, end] = block.itemList();
    if (end.type !== 'endMarker') this.errorf(`unexpected ${markerString(end)} in ${context}`);
    block.add(root);
    return { type: 'template', pos: token.pos, line: token.line, name, pipe };
  }

  templateControl(): TemplateNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup();
      // Do not pop variables; they persist until "end".
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: token.pos, line: token.line, name, pipe };
  }

  parseTemplateName(token: Item, context: string): string {
    if (token.type === 'string' || token.type === 'rawString') return this.unquoteOrFail(token.val);
    this.unexpected(token, context);
  }

  command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace(); // skip leading spaces
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      if (token.type === 'space') continue;
      if (token.type === 'rightDelim' || token.type === 'rightParen') this.backup();
      else if (token.type === 'pipe') {
        // nothing to do; the pipeline continues
      } else this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  operand(): ArgNode | null {
    const node = this.term();
    if (node === null) return null;
    if (this.peek().type !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === 'field') fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return { type: 'field', pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { type: 'variable', pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
      // falls through (errorf never returns)
      default:
        return { type: 'chain', pos, node, field: fields };
    }
  }

  term(): ArgNode | null {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'identifier':
        if (!this.sh.hasFunction(token.val)) this.errorf(`function ${quote(token.val)} not defined`);
        return { type: 'identifier', pos: token.pos, ident: token.val };
      case 'dot':
        return { type: 'dot', pos: token.pos };
      case 'nil':
        return { type: 'nil', pos: token.pos };
      case 'variable':
        return this.useVar(token.pos, token.val);
      case 'field':
        return { type: 'field', pos: token.pos, ident: token.val.slice(1).split('.') };
      case 'bool':
        return { type: 'bool', pos: token.pos, value: token.val === 'true' };
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.newNumber(token);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString': {
        const node: StringNode = { type: 'string', pos: token.pos, quoted: token.val, text: this.unquoteOrFail(token.val) };
        return node;
      }
    }
    this.backup();
    return null;
  }

  useVar(pos: number, name: string): VariableNode {
    const v = newVariable(pos, name);
    if (!this.vars.includes(v.ident[0])) this.errorf(`undefined variable ${quote(v.ident[0])}`);
    return v;
  }

  newNumber(token: Item): NumberNode {
    const text = token.val;
    const node: NumberNode = { type: 'number', pos: token.pos, text, int: undefined, uintOnly: false, float: 0, isFloat: false };
    if (token.type === 'charConstant') {
      let r: { value: number; next: number };
      try {
        r = unquoteChar(text, 1, "'");
      } catch (e) {
        if (e instanceof SyntaxError_) this.errorf(e.message);
        throw e;
      }
      if (text.slice(r.next) !== "'") this.errorf(`malformed character constant: ${text}`);
      node.int = r.value;
      node.float = r.value;
      return node;
    }
    if (token.type === 'complex' || text.endsWith('i')) this.errorf(`complex numbers are not supported: ${quote(text)}`);
    const parsed = parseGoNumber(text);
    if (parsed === 'overflow') this.errorf(`integer overflow: ${quote(text)}`);
    if (parsed === null) this.errorf(`illegal number syntax: ${quote(text)}`);
    Object.assign(node, parsed);
    return node;
  }
}

function listItemString(n: ListItem): string {
  return n.type === 'endMarker' || n.type === 'elseMarker' ? markerString(n) : nodeString(n);
}

function newVariable(pos: number, ident: string): VariableNode {
  return { type: 'variable', pos, ident: ident.split('.') };
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** Integer literal per Go syntax (strconv.ParseInt base 0), or null. */
function parseGoInt(text: string): bigint | null {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let prefix = '';
  let digits = s;
  let re = /^[0-9]+$/;
  const p = s.slice(0, 2).toLowerCase();
  if (p === '0x') [prefix, digits, re] = ['0x', s.slice(2), /^[0-9a-fA-F]+$/];
  else if (p === '0o') [prefix, digits, re] = ['0o', s.slice(2), /^[0-7]+$/];
  else if (p === '0b') [prefix, digits, re] = ['0b', s.slice(2), /^[01]+$/];
  else if (s.length > 1 && s[0] === '0') [prefix, digits, re] = ['0o', s.slice(1), /^[0-7]+$/];
  // underscores: only between digits, or right after a base prefix
  if (digits.includes('_')) {
    if (digits.endsWith('_') || digits.includes('__') || (prefix === '' && digits.startsWith('_'))) return null;
    digits = digits.replaceAll('_', '');
  }
  if (!re.test(digits)) return null;
  const v = BigInt(prefix + digits);
  return neg ? -v : v;
}

/** Float literal per Go syntax (decimal or hex mantissa), or null. */
function parseGoFloat(text: string): number | null {
  if (/__|_$|^[+-]?_|_\.|\._|_[eEpP]|[eEpP][+-]?_/.test(text)) return null;
  const s = text.replaceAll('_', '');
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
  if (m && (m[2] + m[3]).length > 0) {
    const mant = parseInt((m[2] + m[3]) || '0', 16);
    const v = mant * 2 ** (Number(m[4]) - 4 * m[3].length);
    return m[1] === '-' ? -v : v;
  }
  return null;
}

type ParsedNumber = Pick<NumberNode, 'int' | 'uintOnly' | 'float' | 'isFloat'>;

export function parseGoNumber(text: string): ParsedNumber | 'overflow' | null {
  const i = parseGoInt(text);
  if (i !== null) {
    if (i >= INT64_MIN && i <= INT64_MAX) {
      const asNum = Number(i);
      return { int: Number.isSafeInteger(asNum) ? asNum : i, uintOnly: false, float: asNum, isFloat: false };
    }
    if (i >= 0n && i <= UINT64_MAX) return { int: undefined, uintOnly: true, float: Number(i), isFloat: false };
  }
  const f = parseGoFloat(text);
  if (f === null) return null;
  if (!/[.eEpP]/.test(text)) return 'overflow';
  const isHexInt = /^[+-]?0[xX]/.test(text) && !/[pP]/.test(text);
  let int: number | bigint | undefined;
  if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) int = Number.isSafeInteger(f) ? f : BigInt(f);
  return { int, uintOnly: false, float: f, isFloat: !isHexInt };
}

export interface ParseOptions {
  /** Names of functions available to the template (builtins are added by the caller). */
  hasFunction: (name: string) => boolean;
  parseName?: string;
}

export function parse(text: string, opts: ParseOptions): ParseResult {
  const parseName = opts.parseName ?? '';
  const { items } = lex(text, { breakOK: !opts.hasFunction('break'), continueOK: !opts.hasFunction('continue') });
  const templates = new Map<string, ParsedTemplate>();
  const sh: ParserShared = { stream: new TokenStream(items), parseName, hasFunction: opts.hasFunction, templates };
  const top = new TreeParser(sh, parseName);
  const root = top.parse();
  top.add(root);
  return { text, parseName, templates };
}
