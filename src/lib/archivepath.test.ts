import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEntryName } from './archivepath.ts';

test('cleanEntryName: clean names pass as they are; empty, "." and ".." segments are resolved; climbing out is undefined', () => {
  const cases: [string, string | undefined][] = [
    ['a', 'a'], ['a/b/c.txt', 'a/b/c.txt'], ['.hidden/..x/x..', '.hidden/..x/x..'], ['a.b/c', 'a.b/c'],
    ['', ''], ['.', ''], ['./', ''], ['/', ''], ['a/', 'a'], ['/a', 'a'], ['a//b', 'a/b'], ['./a/./b/', 'a/b'],
    ['a/../b', 'b'], ['a/b/..', 'a'], ['..', undefined], ['../a', undefined], ['a/../../b', undefined], ['/../etc', undefined],
  ];
  for (const [name, want] of cases) assert.equal(cleanEntryName(name), want, name);
});
