import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  dockerFuncs,
  dockerHeaderFuncs,
  dockerPreFormat,
  expandEscapes,
  isTableFormat,
  tableFormatBody,
  title,
} from './docker.ts';
import { parseDockerTemplate, parseTemplate, TemplateError } from './index.ts';

const run = (text: string, data: unknown = null): string => parseDockerTemplate(text).execute(data);

test('json: compact Go encoding without HTML escaping', () => {
  assert.equal(run('{{json .}}', { Env: ['A=<b>&c'], N: 1, Nil: null }), '{"Env":["A=<b>&c"],"N":1,"Nil":null}');
  assert.equal(run('{{json .Missing}}', {}), 'null');
  assert.equal(run('{{json "x"}}'), '"x"');
  assert.equal(run('{{json .}}', NaN), '');
});

test('split, join', () => {
  assert.equal(run('{{split "a,b,c" ","}}'), '[a b c]');
  assert.equal(run('{{split "abc" ""}}'), '[a b c]');
  assert.equal(run('{{split "" ","}}'), '[]');
  assert.equal(run('{{index (split "k=v" "=") 1}}'), 'v');
  assert.equal(run('{{join . ", "}}', ['a', 'b']), 'a, b');
  assert.equal(run('{{join .X ","}}', {}), '');
  assert.equal(run('{{join (split "a b" " ") "+"}}'), 'a+b');
  assert.throws(() => run('{{join . ","}}', [1, 2]), {
    message: 'template: :1:7: executing "" at <.>: wrong type for value; expected []string; got []interface {}',
  });
});

test('title, lower, upper', () => {
  assert.equal(run('{{title "hello wORLD-foo_bar 1st"}}'), 'Hello WORLD-Foo_bar 1st');
  assert.equal(title("it's é-été"), "It'S É-Été");
  assert.equal(run('{{lower "ÀBC"}} {{upper "àbc"}} {{upper "straße"}}'), 'àbc ÀBC STRAßE');
});

test('pad and truncate', () => {
  assert.equal(run('[{{pad "x" 2 1}}][{{pad "" 2 1}}]'), '[  x ][]');
  assert.equal(run('{{truncate "abcdef" 3}}|{{truncate "ab" 3}}|{{truncate "abc" 3}}'), 'abc|ab|abc');
  assert.equal(run('{{truncate "héllo" 2}}'), 'hé');
  assert.throws(() => run('{{pad "x" -1 0}}'), {
    message: 'template: :1:2: executing "" at <pad "x" -1 0>: error calling pad: strings: negative Repeat count',
  });
  assert.throws(() => run('{{truncate "x" "y"}}'), (e: unknown) => e instanceof TemplateError);
});

test('argument checking matches Go func signatures', () => {
  assert.throws(() => run('{{upper}}'), { message: 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0' });
  assert.throws(() => run('{{pad "x" 1}}'), { message: 'template: :1:2: executing "" at <pad>: wrong number of args for pad: want 3 got 2' });
  assert.throws(() => run('{{pad "x" 1 "2"}}'), { message: 'template: :1:12: executing "" at <"2">: expected integer; found "2"' });
  assert.equal(run('{{"abc" | upper}}'), 'ABC');
  assert.equal(run('{{3 | pad "x" 1}}'), ' x   ');
});

test('header functions leave column titles intact', () => {
  const t = parseDockerTemplate('{{.ID}}\t{{upper .Name}}\t{{json .Labels}}\t{{pad .Size 1 1}}\t{{truncate .Cmd 3}}');
  assert.equal(
    t.execute({ ID: 'CONTAINER ID', Name: 'NAMES', Labels: 'LABELS', Size: 'SIZE', Cmd: 'COMMAND' }, { funcs: dockerHeaderFuncs }),
    'CONTAINER ID\tNAMES\tLABELS\t SIZE \tCOMMAND',
  );
  assert.equal(
    t.execute({ ID: 'abc', Name: 'web', Labels: { a: 'b' }, Size: '1B', Cmd: 'nginx' }),
    'abc\tWEB\t{"a":"b"}\t 1B \tngi',
  );
});

test('table format helpers', () => {
  assert.equal(isTableFormat('table {{.ID}}'), true);
  assert.equal(isTableFormat('table'), true);
  assert.equal(isTableFormat('{{.ID}}'), false);
  assert.equal(tableFormatBody('table {{.ID}}\\t{{.Repository}}'), '{{.ID}}\\t{{.Repository}}');
  assert.equal(tableFormatBody('table\t{{.ID}}'), '{{.ID}}');
  assert.equal(tableFormatBody('table  {{.ID}}'), ' {{.ID}}');
  assert.equal(tableFormatBody('table'), '');
  assert.equal(tableFormatBody('{{.ID}}'), '{{.ID}}');
  assert.equal(expandEscapes('{{.ID}}\\t{{.Name}}\\n'), '{{.ID}}\t{{.Name}}\n');
  assert.equal(expandEscapes('a\\\\tb'), 'a\\\tb');
  assert.equal(expandEscapes('\\r stays'), '\\r stays');
  const body = expandEscapes(tableFormatBody('table {{.ID}}\\t{{.Repository}}'));
  assert.equal(parseTemplate(body).execute({ ID: '1', Repository: 'r' }), '1\tr');
});

test('dockerPreFormat reproduces the CLI preprocessing', () => {
  assert.deepEqual(dockerPreFormat('table {{.ID}}\\t{{.Image}}  '), { table: true, format: '{{.ID}}\t{{.Image}}' });
  assert.deepEqual(dockerPreFormat('  {{.ID}}\\n'), { table: false, format: '{{.ID}}\n' });
  assert.deepEqual(dockerPreFormat('json'), { table: false, format: '{{json .}}' });
  assert.deepEqual(dockerPreFormat('table'), { table: true, format: '' });
  assert.deepEqual(dockerPreFormat('\t{{.ID}}'), { table: false, format: '\t{{.ID}}' });
});

test('dockerFuncs is a plain record of functions', () => {
  assert.deepEqual(Object.keys(dockerFuncs).sort(), ['join', 'json', 'lower', 'pad', 'split', 'title', 'truncate', 'upper']);
  assert.equal(dockerFuncs.upper('abc'), 'ABC');
  assert.equal(dockerFuncs.json({ a: [1] }), '{"a":[1]}');
});
