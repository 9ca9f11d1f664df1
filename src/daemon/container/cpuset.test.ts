import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCpuset, parseUintList } from './cpuset.ts';

test('cpu lists parse as moby parses them', () => {
  assert.deepEqual([...(parseUintList('0-2,5') as Set<number>)], [0, 1, 2, 5]);
  assert.deepEqual([...(parseUintList('') as Set<number>)], []);
  assert.equal(parseUintList('2-1'), 'invalid format: 2-1');
  assert.equal(parseUintList('a'), 'invalid format: a');
  assert.equal(parseUintList('1,,2'), 'invalid format: 1,,2');
  assert.equal(parseUintList('9000', 8192), 'value of out range, maximum is 8192');
});

test('cpusets the host does not offer are refused in docker\'s words', () => {
  const host = { cpus: '0-1', mems: '0' };
  checkCpuset('0-1', '0', host);
  checkCpuset('1', '', host);
  assert.throws(() => checkCpuset('7', '', host), /^.*Requested CPUs are not available - requested 7, available: 0-1$/);
  assert.throws(() => checkCpuset('', '1', host), /Requested memory nodes are not available - requested 1, available: 0$/);
  assert.throws(() => checkCpuset('x', '', host), /Invalid value x for cpuset cpus: invalid format: x$/);
  assert.throws(() => checkCpuset('', '0-', host), /Invalid value 0- for cpuset mems: invalid format: 0-$/);
  // Unknown host lists: only the form is checked.
  checkCpuset('5', '3', { cpus: '', mems: '' });
});
