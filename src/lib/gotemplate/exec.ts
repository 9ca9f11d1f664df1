/**
 * Executes parsed templates the way text/template/exec.go does: pipelines, field chains,
 * variables, control structures, template invocation, builtin and user functions, and Go's
 * exec error messages (`template: :1:2: executing "" at <.Foo>: ...`).
 */

import type {
  ArgNode,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from './ast.ts';
import { nodeString } from './ast.ts';
import { errorMessage, TemplateError } from './errors.ts';
import { sprint, sprintf, sprintln } from './fmt.ts';
import type { FuncSignature, GoType, TemplateFunc } from './funcs.ts';
import {
  BUILTIN_SPECS,
  canBeNil,
  checkType,
  eq,
  evalArgs,
  ge,
  gt,
  htmlEscape,
  index,
  isNil,
  jsEscape,
  le,
  length,
  lt,
  ne,
  not,
  signatureOf,
  slice,
  urlQueryEscape,
} from './funcs.ts';
import type { ParseResult } from './parser.ts';
import { quote } from '../goquote.ts';
import { LENIENT, hasStructField, isTrue, kindOf, sortedEntries, typeName } from './values.ts';

/** Maximum depth of nested {{template}} calls (Go uses 100000; a JS stack holds a bit under 1000). */
const MAX_EXEC_DEPTH = 500;

/** Sentinel for "no value piped in" (Go's missingVal). */
const MISSING: unique symbol = Symbol('missing');
type Final = unknown;

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

interface Variable {
  name: string;
  value: unknown;
}

export interface ExecContext {
  parsed: ParseResult;
  funcs: Readonly<Record<string, TemplateFunc>>;
  /** missingkey=error: a missing key in a map (not marked LENIENT) is an error. */
  missingKeyError?: boolean;
}

class State {
  readonly ctx: ExecContext;
  /** Name of the template being executed (for messages). */
  readonly name: string;
  readonly depth: number;
  vars: Variable[];
  node: Node | null = null;
  readonly out: string[];

  constructor(ctx: ExecContext, name: string, depth: number, vars: Variable[], out: string[]) {
    this.ctx = ctx;
    this.name = name;
    this.depth = depth;
    this.vars = vars;
    this.out = out;
  }

  // ---- variables ----

  push(name: string, value: unknown): void {
    this.vars.push({ name, value });
  }

  mark(): number {
    return this.vars.length;
  }

  pop(mark: number): void {
    this.vars.length = mark;
  }

  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  setTopVar(n: number, value: unknown): void {
    this.vars[this.vars.length - n].value = value;
  }

  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) return this.vars[i].value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- errors ----

  at(node: Node): void {
    this.node = node;
  }

  errorf(msg: string): never {
    if (this.node === null) throw new TemplateError(`template: ${this.name}: ${msg}`);
    const { location, context } = errorContext(this.ctx.parsed, this.node);
    throw new TemplateError(`template: ${location}: executing ${quote(this.name)} at <${context}>: ${msg}`);
  }

  // ---- walking ----

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        // Variables declared here persist until the enclosing end; declarations print nothing.
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.out.push(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outer = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const decl = r.pipe.decl;
      const oneIteration = (idx: unknown, elem: unknown): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? idx : elem);
          else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.setTopVar(2, idx);
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      let ran = false;
      try {
        switch (kindOf(val)) {
          case 'slice':
          case 'bytes': {
            const arr = val as ArrayLike<unknown>;
            for (let i = 0; i < arr.length; i++) {
              ran = true;
              oneIteration(i, arr[i]);
            }
            break;
          }
          case 'map':
            for (const [k, v] of sortedEntries(val as object)) {
              ran = true;
              oneIteration(k, v);
            }
            break;
          case 'int': {
            if (decl.length > 1) this.errorf(`can't use ${sprint(val)} to iterate over more than one variable`);
            const n = Number(val);
            for (let i = 0; i < n; i++) {
              ran = true;
              oneIteration(undefined, i);
            }
            break;
          }
          case 'invalid':
          case 'nil':
            break; // a nil map or slice: not an error
          case 'func':
            ran = this.rangeFunc(val as TemplateFunc, decl.length, oneIteration);
            break;
          default:
            this.errorf(`range can't iterate over ${sprint(val)}`);
        }
      } catch (e) {
        if (e !== BREAK) throw e;
        ran = true;
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  /** Range over a JS generator function / iterable-returning function (Go's range-over-func). */
  rangeFunc(fn: TemplateFunc, nvars: number, one: (i: unknown, e: unknown) => void): boolean {
    let result: unknown;
    try {
      result = fn();
    } catch (e) {
      this.errorf(`range can't iterate over ${sprint(fn)}: ${errorMessage(e)}`);
    }
    if (result === null || typeof result !== 'object' || !(Symbol.iterator in result)) {
      this.errorf(`range can't iterate over ${sprint(fn)}`);
    }
    const it = (result as Iterable<unknown>)[Symbol.iterator]();
    let ran = false;
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = it.next();
      } catch (e) {
        this.errorf(`error calling range function: ${errorMessage(e)}`);
      }
      if (step.done) return ran;
      ran = true;
      const item = step.value;
      if (nvars > 1 && Array.isArray(item) && item.length === 2) one(item[0], item[1]);
      else one(undefined, item);
    }
  }

  walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const tmpl = this.ctx.parsed.templates.get(t.name);
    if (tmpl === undefined) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth >= MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    // Variables declared by the pipeline persist.
    const newDot = t.pipe === null ? undefined : this.evalPipeline(dot, t.pipe);
    // No dynamic scoping: template invocations inherit no variables.
    const s = new State(this.ctx, t.name, this.depth + 1, [{ name: '$', value: newDot }], this.out);
    s.walk(newDot, tmpl.root);
  }

  // ---- evaluation ----

  evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.push(v.ident[0], value);
    }
    return value;
  }

  notAFunction(args: readonly ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        // Parenthesized pipeline: its arguments are all inside; final must be absent.
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // falls through (errorf never returns)
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  idealConstant(n: NumberNode): unknown {
    this.at(n);
    if (n.isFloat) return n.float;
    if (n.int !== undefined) return n.int;
    this.errorf(`${n.text} overflows int`);
  }

  evalFieldNode(dot: unknown, field: FieldNode, args: readonly ArgNode[] | null, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  evalChainNode(dot: unknown, chain: ChainNode, args: readonly ArgNode[] | null, final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    // (pipe).Field1.Field2: evaluate the pipeline, then the fields.
    const pipe = this.evalArg(dot, 'any', chain.node, true);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariableNode(dot: unknown, variable: VariableNode, args: readonly ArgNode[] | null, final: Final): unknown {
    this.at(variable);
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      if (args) this.notAFunction(args, final);
      else if (final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(variable)}`);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: Node,
    ident: readonly string[],
    args: readonly ArgNode[] | null,
    final: Final,
  ): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, null, MISSING, receiver);
    // Now if it's a method, it gets the arguments.
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  evalField(
    dot: unknown,
    fieldName: string,
    node: Node,
    args: readonly ArgNode[] | null,
    final: Final,
    receiver: unknown,
  ): unknown {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    switch (kindOf(receiver)) {
      case 'struct': {
        const o = receiver as Record<string, unknown>;
        if (hasStructField(o, fieldName)) {
          let field: unknown;
          try {
            field = o[fieldName]; // may be a getter
          } catch (e) {
            this.errorf(`error calling ${fieldName}: ${errorMessage(e)}`);
          }
          if (typeof field === 'function') {
            // A method: call it with the arguments.
            const method = field as TemplateFunc;
            return this.evalCall(dot, method, o, node, fieldName, args, final);
          }
          if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
          return field;
        }
        break;
      }
      case 'map': {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        const o = receiver as Record<string | symbol, unknown>;
        const found = receiver instanceof Map ? receiver.has(fieldName) : Object.hasOwn(o, fieldName);
        if (!found && this.ctx.missingKeyError && !(receiver instanceof Map ? false : LENIENT in o)) {
          this.errorf(`map has no entry for key ${quote(fieldName)}`);
        }
        if (receiver instanceof Map) return receiver.get(fieldName);
        return found ? o[fieldName] : undefined;
      }
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typeName(receiver)}`);
  }

  evalFunction(
    dot: unknown,
    node: IdentifierNode,
    cmd: Node,
    args: readonly ArgNode[] | null,
    final: Final,
  ): unknown {
    this.at(node);
    const name = node.ident;
    const fn = Object.hasOwn(this.ctx.funcs, name) ? this.ctx.funcs[name] : undefined;
    if (fn !== undefined) return this.evalCall(dot, fn, undefined, cmd, name, args, final);
    if (Object.hasOwn(BUILTIN_SPECS, name)) return this.evalBuiltin(dot, name, cmd, args, final);
    this.errorf(`${quote(name)} is not a defined function`);
  }

  /** Count check with Go's messages; returns the parameter type of each argument position. */
  checkArity(name: string, sig: FuncSignature, nargs: number, numIn: number): (i: number) => GoType {
    const numFixed = sig.params.length;
    if (sig.variadic !== undefined) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${nargs}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    return (i) => (i < numFixed ? sig.params[i] : (sig.variadic ?? 'any'));
  }

  evalCall(
    dot: unknown,
    fn: TemplateFunc,
    thisArg: unknown,
    node: Node,
    name: string,
    args: readonly ArgNode[] | null,
    final: Final,
  ): unknown {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    const sig = signatureOf(fn) ?? { params: [], variadic: 'any' };
    const paramType = this.checkArity(name, sig, argNodes.length, numIn);
    const argv: unknown[] = argNodes.map((a, i) => this.evalArg(dot, paramType(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, paramType(numIn - 1)));
    let result: unknown;
    try {
      result = fn.apply(thisArg, argv);
    } catch (e) {
      this.at(node);
      this.errorf(`error calling ${name}: ${errorMessage(e)}`);
    }
    return result;
  }

  evalBuiltin(dot: unknown, name: string, cmd: Node, args: readonly ArgNode[] | null, final: Final): unknown {
    const argNodes = args ? args.slice(1) : [];
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    const spec = BUILTIN_SPECS[name];
    const paramType = this.checkArity(name, spec, argNodes.length, numIn);
    if (name === 'and' || name === 'or') {
      // Short-circuit: stop at the first false (and) or true (or) argument.
      let v: unknown = undefined;
      for (const a of argNodes) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }
    const argv: unknown[] = argNodes.map((a, i) => this.evalArg(dot, paramType(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, paramType(numIn - 1)));
    try {
      switch (name) {
        case 'not':
          return not(argv[0]);
        case 'len':
          return length(argv[0]);
        case 'index':
          return index(argv[0], ...argv.slice(1));
        case 'slice':
          return slice(argv[0], ...argv.slice(1));
        case 'print':
          return sprint(...argv);
        case 'printf':
          return sprintf(argv[0] as string, ...argv.slice(1));
        case 'println':
          return sprintln(...argv);
        case 'html':
          return htmlEscape(evalArgs(argv));
        case 'js':
          return jsEscape(evalArgs(argv));
        case 'urlquery':
          return urlQueryEscape(evalArgs(argv));
        case 'eq':
          return eq(argv[0], ...argv.slice(1));
        case 'ne':
          return ne(argv[0], argv[1]);
        case 'lt':
          return lt(argv[0], argv[1]);
        case 'le':
          return le(argv[0], argv[1]);
        case 'gt':
          return gt(argv[0], argv[1]);
        case 'ge':
          return ge(argv[0], argv[1]);
        case 'call':
          return callFunc(argNodes.length > 0 ? nodeString(argNodes[0]) : '', argv[0], argv.slice(1));
      }
    } catch (e) {
      this.at(cmd);
      this.errorf(`error calling ${name}: ${errorMessage(e)}`);
    }
    this.errorf(`${quote(name)} is not a defined function`);
  }

  /** Go's validateType: a nil becomes the parameter's zero value when it can be nil. */
  validateType(value: unknown, t: GoType): unknown {
    if (isNil(value)) {
      if (t === 'value') return value;
      if (canBeNil(t)) return null;
      this.errorf(`invalid value; expected ${t}`);
    }
    const err = checkType(value, t);
    if (err !== null) this.errorf(err);
    return value;
  }

  /**
   * Evaluate an argument for a parameter of type t. `keepUndefined` is for chain receivers,
   * which Go evaluates with a nil type (no conversion).
   */
  evalArg(dot: unknown, t: GoType, n: ArgNode, keepUndefined = false): unknown {
    this.at(n);
    const check = (v: unknown): unknown => (keepUndefined ? v : this.validateType(v, t));
    switch (n.type) {
      case 'dot':
        return check(dot);
      case 'nil':
        if (canBeNil(t)) return t === 'value' ? undefined : null;
        this.errorf(`cannot assign nil to ${t}`);
      // falls through (errorf never returns)
      case 'field':
        return check(this.evalFieldNode(dot, n, [n], MISSING));
      case 'variable':
        return check(this.evalVariableNode(dot, n, null, MISSING));
      case 'pipe':
        return check(this.evalPipeline(dot, n));
      case 'identifier':
        return check(this.evalFunction(dot, n, n, null, MISSING));
      case 'chain':
        return check(this.evalChainNode(dot, n, null, MISSING));
    }
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'float64':
        if (n.type === 'number' && (n.int !== undefined || n.isFloat || n.uintOnly)) return n.float;
        this.errorf(`expected float; found ${nodeString(n)}`);
      // falls through
      case 'int':
        if (n.type === 'number' && n.int !== undefined) return n.int;
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // falls through
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      // falls through
      case '[]string':
        this.errorf(`can't handle ${nodeString(n)} for arg of type []string`);
      // falls through
      default:
        switch (n.type) {
          case 'bool':
            return n.value;
          case 'number':
            return this.idealConstant(n);
          case 'string':
            return n.text;
        }
    }
  }

  printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v === undefined) {
      this.out.push('<no value>');
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    this.out.push(sprint(v));
  }
}

/** The builtin `call`: call a function value with arguments. */
function callFunc(name: string, fn: unknown, args: unknown[]): unknown {
  if (isNil(fn)) throw new Error('call of nil');
  if (typeof fn !== 'function') throw new Error(`non-function ${name} of type ${typeName(fn)}`);
  const f = fn as TemplateFunc;
  const sig = signatureOf(f);
  if (sig) {
    const numIn = sig.params.length;
    if (sig.variadic !== undefined) {
      if (args.length < numIn) throw new Error(`wrong number of args for ${name}: got ${args.length} want at least ${numIn}`);
    } else if (args.length !== numIn) {
      throw new Error(`wrong number of args for ${name}: got ${args.length} want ${numIn}`);
    }
    args = args.map((a, i) => {
      const t = i < numIn ? sig.params[i] : (sig.variadic ?? 'any');
      if (isNil(a)) {
        if (!canBeNil(t)) throw new Error(`arg ${i}: value is nil; should be of type ${t}`);
        return t === 'value' ? a : null;
      }
      if (checkType(a, t) !== null) throw new Error(`arg ${i}: value has type ${typeName(a)}; should be ${t}`);
      return a;
    });
  }
  return f(...args);
}

/** Go's Tree.ErrorContext: "name:line:byteCol" and the node's text. */
function errorContext(parsed: ParseResult, n: Node): { location: string; context: string } {
  const text = parsed.text.slice(0, n.pos);
  const nl = text.lastIndexOf('\n');
  const col = Buffer.byteLength(nl === -1 ? text : text.slice(nl + 1), 'utf8');
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
  return { location: `${parsed.parseName}:${line}:${col}`, context: nodeString(n) };
}

/** Execute the named template of a parse result against data. */
export function executeTemplate(ctx: ExecContext, name: string, data: unknown): string {
  const tmpl = ctx.parsed.templates.get(name);
  if (tmpl === undefined) {
    throw new TemplateError(`template: no template ${quote(name)} associated with template ${quote(ctx.parsed.parseName)}`);
  }
  const out: string[] = [];
  const s = new State(ctx, name, 0, [{ name: '$', value: data }], out);
  try {
    s.walk(data, tmpl.root as ListNode);
  } catch (e) {
    if (e === BREAK || e === CONTINUE) throw new TemplateError(`template: ${name}: break or continue outside range`);
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new TemplateError(`template: ${name}: exceeded maximum template depth`);
    }
    throw e;
  }
  return out.join('');
}
