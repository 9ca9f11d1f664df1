import { test } from 'node:test';
import assert from 'node:assert/strict';

import { nodeString } from './ast.ts';
import type { ActionNode, BranchNode, FieldNode, ListNode, NumberNode } from './ast.ts';
import { TemplateError } from './errors.ts';
import { isBuiltin } from './funcs.ts';
import { parse, parseGoNumber } from './parser.ts';

const FUNCS = new Set(['json', 'join', 'upper']);
const hasFunction = (n: string): boolean => FUNCS.has(n) || isBuiltin(n);

function root(text: string): ListNode {
  const r = parse(text, { hasFunction }).templates.get('');
  assert.ok(r);
  return r.root;
}

function parseError(text: string): string {
  try {
    parse(text, { hasFunction });
  } catch (e) {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.phase, 'parse');
    return e.message;
  }
  assert.fail(`expected a parse error for ${text}`);
}

test('round-trips through Node.String like Go', () => {
  const cases: Array<[string, string]> = [
    ['{{.A.B}}', '{{.A.B}}'],
    ['{{ .A | printf "%s" }}', '{{.A | printf "%s"}}'],
    ['{{$x := .A}}{{$x.B}}', '{{$x := .A}}{{$x.B}}'],
    ['{{(.A).B}}', '{{(.A).B}}'],
    ['{{len (index . 1)}}', '{{len (index . 1)}}'],
    ['{{if .A}}a{{else}}b{{end}}', '{{if .A}}a{{else}}b{{end}}'],
    ['{{range $i, $e := .}}{{$e}}{{end}}', '{{range $i, $e := .}}{{$e}}{{end}}'],
    ['{{with .A}}x{{end}}', '{{with .A}}x{{end}}'],
    ['{{template "x" .}}', '{{template "x" .}}'],
    ['{{`raw` 1.5 true nil}}', '{{`raw` 1.5 true nil}}'],
    ['{{/* c */}}', '{{/* c */}}'],
  ];
  for (const [src, want] of cases) assert.equal(nodeString(root(src)), want, src);
});

test('else if chains nest as else { if }', () => {
  const n = root('{{if .A}}a{{else if .B}}b{{else}}c{{end}}').nodes[0] as BranchNode;
  assert.equal(n.type, 'if');
  assert.equal(n.elseList?.nodes.length, 1);
  const inner = n.elseList?.nodes[0] as BranchNode;
  assert.equal(inner.type, 'if');
  assert.equal(nodeString(inner.pipe), '.B');
  assert.equal(nodeString(inner.elseList as ListNode), 'c');
  const w = root('{{with .A}}a{{else with .B}}b{{end}}').nodes[0] as BranchNode;
  assert.equal((w.elseList?.nodes[0] as BranchNode).type, 'with');
});

test('field chains take the position of their second field token', () => {
  const a = root('{{.A.B}}').nodes[0] as ActionNode;
  const f = a.pipe.cmds[0].args[0] as FieldNode;
  assert.deepEqual(f.ident, ['A', 'B']);
  assert.equal(f.pos, 4);
  const g = (root('{{.A.B.C}}').nodes[0] as ActionNode).pipe.cmds[0].args[0] as FieldNode;
  assert.equal(g.pos, 4);
});

test('defines, blocks and templates', () => {
  const r = parse('{{define "a"}}A{{end}}x{{block "b" .}}B{{end}}', { hasFunction });
  assert.deepEqual([...r.templates.keys()].sort(), ['', 'a', 'b']);
  assert.equal(nodeString(r.templates.get('')?.root as ListNode), 'x{{template "b" .}}');
  assert.equal(nodeString(r.templates.get('a')?.root as ListNode), 'A');
  // an empty redefinition is fine; two non-empty ones are not
  parse('{{define "a"}}A{{end}}{{define "a"}} {{end}}', { hasFunction });
  assert.equal(
    parseError('{{define "a"}}A{{end}}{{define "a"}}B{{end}}'),
    'template: :1: template: multiple definition of template "a"',
  );
});

test('variables are scoped to their control structure', () => {
  assert.equal(parseError('{{if 1}}{{$x := 1}}{{end}}{{$x}}'), 'template: :1: undefined variable "$x"');
  assert.equal(parseError('{{with $x := 1}}{{end}}{{$x}}'), 'template: :1: undefined variable "$x"');
  root('{{$x := 1}}{{if 1}}{{$x = 2}}{{end}}{{$x}}');
  // each define starts with only $
  assert.equal(parseError('{{$x := 1}}{{define "a"}}{{$x}}{{end}}'), 'template: :1: undefined variable "$x"');
});

test('parse errors use Go wording', () => {
  const cases: Array<[string, string]> = [
    ['{{foo}}', 'template: :1: function "foo" not defined'],
    ['{{.Foo }', 'template: :1: unexpected "}" in operand'],
    ['{{.Foo}', "template: :1: bad character U+007D '}'"],
    ['{{.Foo', 'template: :1: unclosed action'],
    ['{{.Foo\n\n', 'template: :3: unclosed action started at :1'],
    ['x{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{else}}', 'template: :1: unexpected {{else}}'],
    ['{{if .A}}', 'template: :1: unexpected EOF'],
    ['{{if .A}}{{else}}{{else}}{{end}}', 'template: :1: expected end; found {{else}}'],
    ['{{}}', 'template: :1: missing value for command'],
    ['{{if}}{{end}}', 'template: :1: missing value for if'],
    ['{{range}}{{end}}', 'template: :1: missing value for range'],
    ['{{.A | 3}}', 'template: :1: non executable command in pipeline stage 2'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{continue}}', 'template: :1: {{continue}} outside {{range}}'],
    ['{{range .}}{{break 1}}{{end}}', 'template: :1: unexpected "1" in {{break}}'],
    ['{{template .A}}', 'template: :1: unexpected ".A" in template clause'],
    ['{{template . }}', 'template: :1: unexpected <.> in template clause'],
    ['{{define "a"}}', 'template: :1: unexpected EOF'],
    ['{{define .}}{{end}}', 'template: :1: unexpected <.> in define clause'],
    ['{{"a".B}}', 'template: :1: unexpected . after term "\\"a\\""'],
    ['{{$x, $y := 1}}', 'template: :1: too many declarations in command'],
    ['{{range $x, 1}}{{end}}', 'template: :1: range can only initialize variables'],
    ['{{"\\q"}}', 'template: :1: invalid syntax'],
    ["{{'ab'}}", "template: :1: malformed character constant: 'ab'"],
    ['{{0x}}', 'template: :1: illegal number syntax: "0x"'],
    ['{{99999999999999999999}}', 'template: :1: integer overflow: "99999999999999999999"'],
    ['{{1+2i}}', 'template: :1: complex numbers are not supported: "1+2i"'],
    ['{{/* x */ }}', 'template: :1: comment ends before closing delimiter'],
    ['{{(1}}', 'template: :1: unclosed left paren'],
    ['{{1)}}', 'template: :1: unexpected right paren'],
    ['{{.A : 1}}', 'template: :1: expected :='],
    ['a\nb\n{{.A | nope}}', 'template: :3: function "nope" not defined'],
  ];
  for (const [src, want] of cases) assert.equal(parseError(src), want, src);
});

test('break and continue inside range', () => {
  root('{{range .}}{{if .}}{{break}}{{end}}{{continue}}{{end}}');
  // nested range resets nothing: break in inner body is fine
  root('{{range .}}{{range .}}{{break}}{{end}}{{end}}');
});

test('numbers follow Go syntax', () => {
  const num = (s: string): NumberNode => (root(`{{${s}}}`).nodes[0] as ActionNode).pipe.cmds[0].args[0] as NumberNode;
  assert.equal(num('42').int, 42);
  assert.equal(num('-7').int, -7);
  assert.equal(num('0x1F').int, 31);
  assert.equal(num('0o17').int, 15);
  assert.equal(num('017').int, 15);
  assert.equal(num('0b101').int, 5);
  assert.equal(num('1_000').int, 1000);
  assert.equal(num("'a'").int, 97);
  assert.equal(num("'\\n'").int, 10);
  assert.equal(num('1.5').isFloat, true);
  assert.equal(num('1e3').isFloat, true);
  assert.equal(num('1e3').float, 1000);
  assert.equal(num('0x1p4').float, 16);
  assert.equal(num('0x1e').isFloat, false);
  assert.equal(num('9223372036854775807').int, 9223372036854775807n);
  assert.equal(num('18446744073709551615').uintOnly, true);
  assert.equal(parseGoNumber('1__0'), null);
  assert.equal(parseGoNumber('08'), 'overflow');
});

test('strings unquote Go escapes', () => {
  const str = (s: string): string => {
    const a = root(`{{${s}}}`).nodes[0] as ActionNode;
    const n = a.pipe.cmds[0].args[0];
    assert.equal(n.type, 'string');
    return n.text;
  };
  assert.equal(str('"a\\tb\\n"'), 'a\tb\n');
  assert.equal(str('"\\u00e9\\U0001F600"'), 'é😀');
  assert.equal(str('"\\xc3\\xa9"'), 'é');
  assert.equal(str('"\\101"'), 'A');
  assert.equal(str('"\\""'), '"');
  assert.equal(str('`a\\nb`'), 'a\\nb');
  assert.equal(str('`a\r\nb`'), 'a\nb');
});

test('functions named break/continue turn the keywords into identifiers', () => {
  const r = parse('{{break}}', { hasFunction: (n) => n === 'break' || isBuiltin(n) });
  const a = r.templates.get('')?.root.nodes[0] as ActionNode;
  assert.equal(a.pipe.cmds[0].args[0].type, 'identifier');
});
