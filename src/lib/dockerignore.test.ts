import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIgnored, parseDockerignore } from './dockerignore.ts';

test('.dockerignore: wildcards, **, parents, exceptions, comments', () => {
  const p = parseDockerignore('# comment\n*.log\n/build\n**/tmp\nsecret*\n!secret-ok\ndocs/**/*.md\n!docs/keep.md\n');
  const cases: [string, boolean][] = [
    ['a.log', true], ['sub/a.log', false], ['build', true], ['build/x/y', true], ['tmp', true], ['a/b/tmp/c', true],
    ['secret.key', true], ['secret-ok', false], ['docs/a.md', true], ['docs/x/y/a.md', true], ['docs/keep.md', false], ['src/main.ts', false],
  ];
  for (const [path, want] of cases) assert.equal(isIgnored(path, p), want, path);
});
