import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatRune, itemString, lex } from './lexer.ts';
import type { Item } from './lexer.ts';

const opts = { breakOK: true, continueOK: true };

function items(input: string, o = opts): Array<[string, string]> {
  return lex(input, o).items.map((i) => [i.type, i.val]);
}

test('lexes text and a simple action', () => {
  assert.deepEqual(items('hello {{.Name}}!'), [
    ['text', 'hello '],
    ['leftDelim', '{{'],
    ['field', '.Name'],
    ['rightDelim', '}}'],
    ['text', '!'],
    ['eof', ''],
  ]);
});

test('field chains, pipes, strings, variables and spaces', () => {
  assert.deepEqual(items('{{.A.B | printf "%s" $x}}'), [
    ['leftDelim', '{{'],
    ['field', '.A'],
    ['field', '.B'],
    ['space', ' '],
    ['pipe', '|'],
    ['space', ' '],
    ['identifier', 'printf'],
    ['space', ' '],
    ['string', '"%s"'],
    ['space', ' '],
    ['variable', '$x'],
    ['rightDelim', '}}'],
    ['eof', ''],
  ]);
});

test('declarations, assignment, parens, dot, $ and literals', () => {
  assert.deepEqual(items('{{$x := (len .) | eq 3}}{{$x = $}}'), [
    ['leftDelim', '{{'],
    ['variable', '$x'],
    ['space', ' '],
    ['declare', ':='],
    ['space', ' '],
    ['leftParen', '('],
    ['identifier', 'len'],
    ['space', ' '],
    ['dot', '.'],
    ['rightParen', ')'],
    ['space', ' '],
    ['pipe', '|'],
    ['space', ' '],
    ['identifier', 'eq'],
    ['space', ' '],
    ['number', '3'],
    ['rightDelim', '}}'],
    ['leftDelim', '{{'],
    ['variable', '$x'],
    ['space', ' '],
    ['assign', '='],
    ['space', ' '],
    ['variable', '$'],
    ['rightDelim', '}}'],
    ['eof', ''],
  ]);
});

test('numbers, chars, raw strings, bools, nil and keywords', () => {
  assert.deepEqual(
    items("{{1 -2 3.5 .5 0x1F 1e3 'a' `r` true nil}}").filter(([t]) => t !== 'space'),
    [
      ['leftDelim', '{{'],
      ['number', '1'],
      ['number', '-2'],
      ['number', '3.5'],
      ['number', '.5'],
      ['number', '0x1F'],
      ['number', '1e3'],
      ['charConstant', "'a'"],
      ['rawString', '`r`'],
      ['bool', 'true'],
      ['nil', 'nil'],
      ['rightDelim', '}}'],
      ['eof', ''],
    ],
  );
  const kws = items('{{if}}{{else}}{{end}}{{range}}{{with}}{{define}}{{template}}{{block}}{{break}}{{continue}}')
    .map(([t]) => t)
    .filter((t) => t !== 'leftDelim' && t !== 'rightDelim' && t !== 'eof');
  assert.deepEqual(kws, ['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
});

test('break and continue are identifiers when functions of those names exist', () => {
  const t = items('{{break}}{{continue}}', { breakOK: false, continueOK: false }).map(([t]) => t);
  assert.deepEqual(t, ['leftDelim', 'identifier', 'rightDelim', 'leftDelim', 'identifier', 'rightDelim', 'eof']);
});

test('trim markers remove surrounding whitespace', () => {
  assert.deepEqual(items('a \n\t {{- .X -}} \n b'), [
    ['text', 'a'],
    ['leftDelim', '{{'],
    ['field', '.X'],
    ['rightDelim', '}}'],
    ['text', 'b'],
    ['eof', ''],
  ]);
  // a minus not followed by a space is a number sign
  assert.deepEqual(items('{{-3}}'), [
    ['leftDelim', '{{'],
    ['number', '-3'],
    ['rightDelim', '}}'],
    ['eof', ''],
  ]);
  // trimmed text that becomes empty is not emitted
  assert.deepEqual(items('  {{- 1}}'), [
    ['leftDelim', '{{'],
    ['number', '1'],
    ['rightDelim', '}}'],
    ['eof', ''],
  ]);
  // " -}}" after several spaces
  assert.deepEqual(items('{{1   -}}  x'), [
    ['leftDelim', '{{'],
    ['number', '1'],
    ['space', '  '],
    ['rightDelim', '}}'],
    ['text', 'x'],
    ['eof', ''],
  ]);
});

test('comments, with and without trim markers', () => {
  assert.deepEqual(items('a{{/* hi */}}b'), [
    ['text', 'a'],
    ['comment', '/* hi */'],
    ['text', 'b'],
    ['eof', ''],
  ]);
  assert.deepEqual(items('a  {{- /* hi */ -}}  b'), [
    ['text', 'a'],
    ['comment', '/* hi */'],
    ['text', 'b'],
    ['eof', ''],
  ]);
});

test('lexer errors use Go wording', () => {
  const last = (s: string): Item => {
    const all = lex(s, opts).items;
    return all[all.length - 1];
  };
  assert.equal(last('{{/* x').val, 'unclosed comment');
  assert.equal(last('{{/* x */ }}').val, 'comment ends before closing delimiter');
  assert.equal(last('{{"abc}}').val, 'unterminated quoted string');
  assert.equal(last('{{`abc}}').val, 'unterminated raw quoted string');
  assert.equal(last("{{'a}}").val, 'unterminated character constant');
  assert.equal(last('{{.Foo}').val, "bad character U+007D '}'");
  assert.equal(last('{{.Foo').val, 'unclosed action');
  assert.equal(last('{{(.Foo}}').val, 'unclosed left paren');
  assert.equal(last('{{.Foo)}}').val, 'unexpected right paren');
  assert.equal(last('{{3a}}').val, 'bad number syntax: "3a"');
  assert.equal(last('{{a := 1}}').type, 'eof');
  assert.equal(last('{{$a : 1}}').val, 'expected :=');
  assert.equal(last('{{ € }}').val, "unrecognized character in action: U+20AC '€'");
  assert.equal(last('{{.Foo}').type, 'error');
});

test('items carry positions and lines', () => {
  const all = lex('a\nb {{.X}}\n{{.Y}}', opts).items;
  const x = all.find((i) => i.val === '.X');
  const y = all.find((i) => i.val === '.Y');
  assert.deepEqual([x?.pos, x?.line], [6, 2]);
  assert.deepEqual([y?.pos, y?.line], [13, 3]);
});

test('non-ASCII identifiers and fields', () => {
  assert.deepEqual(items('{{.Größe}}')[1], ['field', '.Größe']);
});

test('itemString matches Go item.String', () => {
  const mk = (type: Item['type'], val: string): Item => ({ type, val, pos: 0, line: 1 });
  assert.equal(itemString(mk('eof', '')), 'EOF');
  assert.equal(itemString(mk('char', '}')), '"}"');
  assert.equal(itemString(mk('if', 'if')), '<if>');
  assert.equal(itemString(mk('dot', '.')), '<.>');
  assert.equal(itemString(mk('string', '"a long string value"')), '"\\"a long st"...');
  assert.equal(formatRune(0x41), "U+0041 'A'");
  assert.equal(formatRune(0x01), 'U+0001');
});
