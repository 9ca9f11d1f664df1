import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidParameter } from '../errdefs/index.ts';
import { ADJECTIVES, SURNAMES, generateName, isValidContainerName, validContainerName } from './names.ts';

test('word lists: sizes, lowercase ascii, unique', () => {
  assert.ok(ADJECTIVES.length >= 90, `adjectives: ${ADJECTIVES.length}`);
  assert.ok(SURNAMES.length >= 200, `surnames: ${SURNAMES.length}`);
  for (const list of [ADJECTIVES, SURNAMES]) {
    for (const w of list) assert.match(w, /^[a-z]+$/);
    assert.equal(new Set(list).size, list.length, 'duplicates');
  }
  assert.ok(ADJECTIVES.includes('boring'));
  assert.ok(SURNAMES.includes('wozniak'));
  assert.ok(Object.isFrozen(ADJECTIVES) && Object.isFrozen(SURNAMES));
});

test('generateName: shape, validity, and retry digit', () => {
  for (let i = 0; i < 2000; i++) {
    const name = generateName(0);
    const m = /^([a-z]+)_([a-z]+)$/.exec(name);
    assert.ok(m, name);
    assert.ok(ADJECTIVES.includes(m[1]) && SURNAMES.includes(m[2]), name);
    assert.notEqual(name, 'boring_wozniak');
    assert.ok(isValidContainerName(name));
  }
  const digits = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const name = generateName(1);
    const m = /^[a-z]+_[a-z]+([0-9])$/.exec(name);
    assert.ok(m, name);
    digits.add(m[1]);
  }
  assert.ok(digits.size > 5, 'retry digit should vary');
  assert.match(generateName(3), /^[a-z]+_[a-z]+[0-9]$/);
});

test('container name validation (moby TestValidContainerNames)', () => {
  const invalid = ['x', '/x', '', '/', 'home/user', '?', '-name', '_name', '.name', 'na me', 'nämé', 'name!', 'a/b', '//ab'];
  const valid = ['word', 'word_word', 'ab', '/ab', 'a.b', 'a-b', 'a_b', '0ab', 'ABC', 'hello.world-2_x', 'name.'];
  for (const n of invalid) assert.equal(isValidContainerName(n), false, n);
  for (const n of valid) assert.equal(isValidContainerName(n), true, n);
  assert.equal(validContainerName('web'), '/web');
  assert.equal(validContainerName('/web'), '/web');
  assert.throws(
    () => validContainerName('/x'),
    (e: unknown) =>
      isInvalidParameter(e) && (e as Error).message === 'Invalid container name (/x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
  );
  assert.throws(
    () => validContainerName('bad name'),
    (e: unknown) =>
      isInvalidParameter(e) && (e as Error).message === 'Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
  );
});
