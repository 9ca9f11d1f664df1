import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterNetworks } from './filters.ts';
import type { NetworkRecord } from './service.ts';

const net = (Name: string, Id: string, Driver: NetworkRecord['Driver'], Labels: Record<string, string> = {}) => ({ Name, Id, Driver, Labels }) as unknown as NetworkRecord;
const all = [net('bridge', 'aa11', 'bridge'), net('host', 'bb22', 'host'), net('none', 'cc33', 'null'), net('app', 'dd44', 'bridge', { team: 'x' }), net('idle', 'ee55', 'bridge')];
const names = (f: Record<string, string[]>) => filterNetworks(all, new Map(Object.entries(f)), (n) => n.Name === 'app').map((n) => n.Name);

test('network ls filters: driver, id prefix, name substring, scope, type, label, dangling', () => {
  assert.deepEqual(names({ driver: ['bridge'] }), ['bridge', 'app', 'idle']);
  assert.deepEqual(names({ driver: ['host', 'null'] }), ['host', 'none']);
  assert.deepEqual(names({ id: ['dd'] }), ['app']);
  assert.deepEqual(names({ name: ['dl'] }), ['idle']);
  // as moby's Args.Match: regular expressions (the usual "does it exist" check is name=^NAME$)
  assert.deepEqual(names({ name: ['^app$'] }), ['app']);
  assert.deepEqual(names({ name: ['^(app|idle)$'] }), ['app', 'idle']);
  assert.deepEqual(names({ name: ['^ap$'] }), []);
  assert.deepEqual(names({ name: ['('] }), [], 'a pattern that does not compile matches nothing');
  assert.deepEqual(names({ scope: ['local'] }), ['bridge', 'host', 'none', 'app', 'idle']);
  assert.deepEqual(names({ scope: ['swarm'] }), []);
  assert.deepEqual(names({ type: ['custom'] }), ['app', 'idle']);
  assert.deepEqual(names({ type: ['builtin'] }), ['bridge', 'host', 'none']);
  assert.deepEqual(names({ label: ['team=x'] }), ['app']);
  assert.deepEqual(names({ dangling: ['true'] }), ['idle'], 'custom and unused');
  assert.deepEqual(names({ dangling: ['0'] }), ['bridge', 'host', 'none', 'app']);
  assert.deepEqual(names({ driver: ['bridge'], type: ['custom'] }), ['app', 'idle'], 'keys combine');
});

test('bad filters are refused with docker\'s messages', () => {
  assert.throws(() => names({ bogus: ['1'] }), /invalid filter 'bogus'/);
  assert.throws(() => names({ type: ['weird'] }), /invalid filter: 'type'='weird'/);
  assert.throws(() => names({ dangling: ['maybe'] }), /invalid value for filter 'dangling'/);
  assert.throws(() => names({ dangling: ['true', 'false'] }), /more than one value/);
});
