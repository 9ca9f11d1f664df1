/**
 * Parse-tree nodes (text/template/parse/node.go) and their String() forms, which appear in
 * exec error messages (`executing "" at <.Foo.Bar>: ...`).
 */

import { quote } from '../goquote.ts';

export interface TextNode { type: 'text'; pos: number; text: string }
export interface CommentNode { type: 'comment'; pos: number; text: string }
export interface ActionNode { type: 'action'; pos: number; line: number; pipe: PipeNode }
export interface BreakNode { type: 'break'; pos: number; line: number }
export interface ContinueNode { type: 'continue'; pos: number; line: number }
export interface ListNode { type: 'list'; pos: number; nodes: Node[] }
export interface PipeNode {
  type: 'pipe';
  pos: number;
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode { type: 'command'; pos: number; args: ArgNode[] }
export interface IdentifierNode { type: 'identifier'; pos: number; ident: string }
export interface VariableNode { type: 'variable'; pos: number; ident: string[] }
export interface DotNode { type: 'dot'; pos: number }
export interface NilNode { type: 'nil'; pos: number }
export interface FieldNode { type: 'field'; pos: number; ident: string[] }
export interface ChainNode { type: 'chain'; pos: number; node: ArgNode; field: string[] }
export interface BoolNode { type: 'bool'; pos: number; value: boolean }
export interface NumberNode {
  type: 'number';
  pos: number;
  text: string;
  /** The integer value when the constant is integral (int64 range), else undefined. */
  int: number | bigint | undefined;
  /** True when the value only fits an unsigned 64-bit integer. */
  uintOnly: boolean;
  float: number;
  /** Go's idealConstant would make this a float64 (has . e p, not hex int or rune). */
  isFloat: boolean;
}
export interface StringNode { type: 'string'; pos: number; quoted: string; text: string }
export interface BranchNode {
  type: 'if' | 'range' | 'with';
  pos: number;
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface TemplateNode { type: 'template'; pos: number; line: number; name: string; pipe: PipeNode | null }

/** Operands that can appear as command arguments. */
export type ArgNode =
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | FieldNode
  | ChainNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

export type Node =
  | TextNode
  | CommentNode
  | ActionNode
  | BreakNode
  | ContinueNode
  | ListNode
  | CommandNode
  | BranchNode
  | TemplateNode
  | ArgNode;

/** Go's Node.String(). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'text':
      return n.text;
    case 'comment':
      return `{{${n.text}}}`;
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) {
        s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      }
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map((id) => '.' + id).join('');
    case 'chain': {
      const base = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return base + n.field.map((f) => '.' + f).join('');
    }
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'if':
    case 'range':
    case 'with': {
      let s = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += `{{else}}${nodeString(n.elseList)}`;
      return s + '{{end}}';
    }
    case 'template':
      return `{{template ${quote(n.name)}${n.pipe ? ' ' + nodeString(n.pipe) : ''}}}`;
  }
}

/** parse.IsEmptyTree: nothing but whitespace text and comments. */
export function isEmptyTree(n: Node | null): boolean {
  if (n === null) return true;
  switch (n.type) {
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim() === '';
    case 'comment':
      return true;
    default:
      return false;
  }
}
