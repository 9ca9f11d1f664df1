import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { isInvalidParameter } from '../errdefs/index.ts';
import { parseSignal, signalName, normalizeSignal, signalMap, SIGKILL, SIGTERM } from './signal.ts';

function throwsMsg(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => isInvalidParameter(e) && (e as Error).message === message);
}

test('parseSignal: names with/without SIG, any case (moby TestParseSignal)', () => {
  for (const [name, num] of signalMap()) {
    assert.equal(parseSignal(name), num, name);
    assert.equal(parseSignal('SIG' + name), num, 'SIG' + name);
    assert.equal(parseSignal(('sig' + name).toLowerCase()), num, name.toLowerCase());
  }
  assert.equal(parseSignal('TERM'), 15);
  assert.equal(parseSignal('sigkill'), 9);
  assert.equal(parseSignal('Kill'), 9);
  assert.equal(parseSignal('SIGRTMIN+3'), 37);
  assert.equal(parseSignal('rtmin'), 34);
  assert.equal(parseSignal('SIGRTMAX-1'), 63);
  assert.equal(parseSignal('SIGRTMAX'), 64);
  assert.equal(parseSignal('SIGCHLD'), 17);
  assert.equal(parseSignal('SIGCLD'), 17);
  assert.equal(parseSignal('SIGSTKFLT'), 16);
  assert.equal(parseSignal('SIGPWR'), 30);
});

test('parseSignal: numbers', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('15'), 15);
  assert.equal(parseSignal('+9'), 9);
  assert.equal(parseSignal('99'), 99); // ParseSignal does not range-check numbers
  assert.equal(parseSignal('-9'), -9);
  throwsMsg(() => parseSignal('0'), 'Invalid signal: 0');
  throwsMsg(() => parseSignal('00'), 'Invalid signal: 00');
});

test('parseSignal: errors', () => {
  for (const bad of ['', 'SIG', 'FOO', 'SIGEMT', 'SIGRTMIN+16', 'RTMAX-15', 'SIG TERM', ' TERM', '9a', '99999999999999999999']) {
    throwsMsg(() => parseSignal(bad), `Invalid signal: ${bad}`);
  }
});

test('table agrees with the host for the classic signals', () => {
  if (process.platform !== 'linux' || !['x64', 'arm64', 'arm', 'ia32'].includes(process.arch)) return;
  const sigs = constants.signals as Record<string, number>;
  for (const [name, num] of signalMap()) {
    const host = sigs['SIG' + name];
    if (host !== undefined) assert.equal(num, host, name);
  }
});

test('signalName / normalizeSignal', () => {
  assert.equal(signalName(SIGTERM), 'SIGTERM');
  assert.equal(signalName(SIGKILL), 'SIGKILL');
  assert.equal(signalName(6), 'SIGABRT');
  assert.equal(signalName(17), 'SIGCHLD');
  assert.equal(signalName(29), 'SIGIO');
  assert.equal(signalName(34), 'SIGRTMIN');
  assert.equal(signalName(37), 'SIGRTMIN+3');
  assert.equal(signalName(49), 'SIGRTMIN+15');
  assert.equal(signalName(50), 'SIGRTMAX-14');
  assert.equal(signalName(64), 'SIGRTMAX');
  assert.equal(signalName(0), undefined);
  assert.equal(signalName(32), undefined);
  assert.equal(signalName(65), undefined);
  for (let n = 1; n <= 64; n++) {
    const name = signalName(n);
    if (name !== undefined) assert.equal(parseSignal(name), n);
  }
  assert.equal(normalizeSignal('term'), 'SIGTERM');
  assert.equal(normalizeSignal('9'), 'SIGKILL');
  assert.equal(normalizeSignal('33'), '33');
  assert.throws(() => normalizeSignal('nope'), isInvalidParameter);
});
