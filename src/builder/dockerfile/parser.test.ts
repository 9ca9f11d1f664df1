import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseKeyValues } from './parser.ts';
import { processWord, processWords } from './lexer.ts';

test('instructions, comments, continuations, flags and forms', () => {
  const df = parseDockerfile([
    '# syntax=docker/dockerfile:1',
    '# escape=\\',
    'FROM busybox AS base',
    '# a comment',
    'run echo one \\',
    '  # comment inside',
    '  && echo two',
    'COPY --from=base --chown=1:2 a b /dst/',
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT [not json',
    '',
  ].join('\n'));
  assert.deepEqual(df.instructions.map((i) => [i.cmd, i.line]), [['from', 3], ['run', 5], ['copy', 8], ['cmd', 9], ['entrypoint', 10]]);
  assert.equal(df.instructions[1].args, 'echo one   && echo two');
  assert.deepEqual([...df.instructions[2].flags], [['from', 'base'], ['chown', '1:2']]);
  assert.equal(df.instructions[2].args, 'a b /dst/');
  assert.deepEqual(df.instructions[3].json, ['sh', '-c', 'echo hi']);
  assert.equal(df.instructions[4].json, undefined, 'not JSON: the shell form');
});

test('the escape directive, heredocs, and errors with line numbers', () => {
  const df = parseDockerfile('# escape=`\nFROM scratch\nRUN echo a `\n  b\nRUN <<EOF\necho x\necho y\nEOF\nCOPY <<-"END" /f\n\thello $X\n\tEND\n');
  assert.equal(df.escape, '`');
  assert.equal(df.instructions[1].args, 'echo a   b');
  assert.deepEqual(df.instructions[2].heredocs, [{ name: 'EOF', content: 'echo x\necho y\n', expand: true }]);
  assert.deepEqual(df.instructions[3].heredocs, [{ name: 'END', content: 'hello $X\n', expand: false }]);
  assert.throws(() => parseDockerfile('FROM busybox\n\nRUNN x\n'), /: Dockerfile parse error line 3: unknown instruction: RUNN$/);
  assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho\n'), /line 2: unterminated heredoc EOF/);
  assert.throws(() => parseDockerfile('SHELL sh -c'), /SHELL requires the arguments to be in JSON form/);
});

test('ENV and LABEL pairs, the legacy form', () => {
  assert.deepEqual(parseKeyValues('A=1 B="two words" C=3', 'env', 1), [['A', '1'], ['B', '"two words"'], ['C', '3']]);
  assert.deepEqual(parseKeyValues('PATH /usr/bin:/bin  x', 'env', 1), [['PATH', '/usr/bin:/bin  x']]);
  assert.throws(() => parseKeyValues('A=1 B', 'env', 4), /line 4: Syntax error - can't find = in "B"/);
});

test('variable substitution as docker applies it', () => {
  const env = new Map([['A', 'x'], ['E', ''], ['P', '/usr']]);
  assert.equal(processWord('$A-${A}-${A:-d}-${U:-d}-${E:-d}-${E-d}', env), 'x-x-x-d-d-');
  assert.equal(processWord('${A:+set}${U:+set}|${E+e}', env), 'set|e');
  assert.equal(processWord('\\$A "$A" \'$A\'', env), '$A x $A');
  assert.equal(processWord('${P}/bin', env), '/usr/bin');
  assert.deepEqual(processWords('80/tcp  "8 0" $A', env), ['80/tcp', '8 0', 'x']);
  assert.throws(() => processWord('${U:?needs a value}', env), /U: needs a value/);
  assert.throws(() => processWord('"open', env), /matching double-quote/);
});

test('heredocs are shell words: not inside quotes, arithmetic or exec form; names as buildkit reads them', () => {
  const df = parseDockerfile([
    'FROM busybox',
    'RUN echo "<<EOF" && echo $((1<<3))',
    'RUN ["sh", "-c", "cat <<EOF"]',
    'RUN cat <<EOF-1 >/a && cat <<-"END.txt" >/b',
    'one',
    'EOF-1',
    '\ttwo $X',
    'END.txt',
    'RUN echo after',
  ].join('\n'));
  assert.deepEqual(df.instructions.map((i) => i.cmd), ['from', 'run', 'run', 'run', 'run']);
  assert.deepEqual(df.instructions[1].heredocs, []);
  assert.deepEqual(df.instructions[2].heredocs, []);
  assert.deepEqual(df.instructions[2].json, ['sh', '-c', 'cat <<EOF']);
  assert.deepEqual(df.instructions[3].heredocs, [
    { name: 'EOF-1', content: 'one\n', expand: true },
    { name: 'END.txt', content: 'two $X\n', expand: false },
  ]);
  assert.equal(df.instructions[4].args, 'echo after');
});

test('BuildKit\'s trimming and substitution in variables (Dockerfile 1.7)', () => {
  const env = new Map([['F', 'archive.tar.gz'], ['P', '/usr/local/bin/tool'], ['V', 'v1.2.3']]);
  assert.equal(processWord('${F%.*}', env), 'archive.tar');
  assert.equal(processWord('${F%%.*}', env), 'archive');
  assert.equal(processWord('${P#*/}', env), 'usr/local/bin/tool');
  assert.equal(processWord('${P##*/}', env), 'tool');
  assert.equal(processWord('${V#v}', env), '1.2.3');
  assert.equal(processWord('${V/./-}', env), 'v1-2.3');
  assert.equal(processWord('${V//./-}', env), 'v1-2-3');
  assert.equal(processWord('${V//[0-9]/N}', env), 'vN.N.N');
  assert.equal(processWord('${V/.}', env), 'v12.3');
  assert.equal(processWord('${U%x}-${F%nomatch}', env), '-archive.tar.gz');
});
