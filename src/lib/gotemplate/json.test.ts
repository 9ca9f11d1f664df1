import { test } from 'node:test';
import assert from 'node:assert/strict';

import { encodeString, JSONEncodeError, marshal } from './json.ts';

test('marshals like Go encoding/json, compact', () => {
  assert.equal(marshal({ a: 1, b: 'x', c: [true, null], d: {} }), '{"a":1,"b":"x","c":[true,null],"d":{}}');
  assert.equal(marshal(null), 'null');
  assert.equal(marshal(undefined), 'null');
  assert.equal(marshal([undefined, () => 1]), '[null,null]');
  assert.equal(marshal({ a: undefined, f: () => 1, b: 2 }), '{"b":2}');
  assert.equal(marshal('s'), '"s"');
  assert.equal(marshal(12345678901234567890n), '12345678901234567890');
  assert.equal(marshal([1.5, 1e21, 1e-7, 0.000001, 100, -0]), '[1.5,1e+21,1e-7,0.000001,100,-0]');
});

test('objects keep insertion order; Maps are sorted like Go maps', () => {
  assert.equal(marshal({ z: 1, a: 2 }), '{"z":1,"a":2}');
  assert.equal(marshal(new Map<unknown, unknown>([['z', 1], ['a', 2], [3, 'x']])), '{"3":"x","a":2,"z":1}');
});

test('strings escape like Go with SetEscapeHTML(false)', () => {
  assert.equal(marshal('<a>&"\\\n\r\t\b\f\u0001\u2028\u2029é😀'), '"<a>&\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u2028\\u2029é😀"');
  assert.equal(encodeString('<>&', true), '"\\u003c\\u003e\\u0026"');
  assert.equal(marshal('\ud800x'), '"\\ufffdx"');
});

test('bytes, dates, toJSON, sets', () => {
  assert.equal(marshal(new Uint8Array([104, 105])), '"aGk="');
  assert.equal(marshal(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 500))), '"2024-01-02T03:04:05.5Z"');
  assert.equal(marshal(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '"2024-01-02T03:04:05Z"');
  assert.equal(marshal({ toJSON: () => ({ x: 1 }) }), '{"x":1}');
  assert.equal(marshal(new Set([1, 2])), '[1,2]');
});

test('refuses what Go refuses', () => {
  assert.throws(() => marshal(NaN), JSONEncodeError);
  assert.throws(() => marshal({ x: Infinity }), { message: 'json: unsupported value: +Inf' });
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => marshal(cyc), { message: 'json: unsupported value: encountered a cycle' });
  // shared (non-cyclic) references are fine
  const shared = { a: 1 };
  assert.equal(marshal([shared, shared]), '[{"a":1},{"a":1}]');
});
