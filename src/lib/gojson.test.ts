import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGo, encodeGoJson, go, goStringLiteral, parseKeepingNumbers } from './gojson.ts';

const Exec = go.struct('container.ExecOptions', {
  Tty: go.bool,
  DetachKeys: go.string,
  Cmd: go.strslice,
  ConsoleSize: go.array(go.uint, 2),
  Env: go.slice(go.string),
});
const Host = go.struct('container.HostConfig', {
  Memory: go.int64,
  BlkioWeight: go.uint16,
  Labels: go.map(go.string),
  RestartPolicy: go.struct('container.RestartPolicy', { Name: go.string, MaximumRetryCount: go.int }),
  Ulimits: go.slice(go.struct('container.Ulimit', { Name: go.string, Soft: go.int64 })),
  Ratio: go.float64,
  Extra: go.any,
});
const Wrapper = go.struct('container.CreateRequest', { Image: go.string, HostConfig: Host });

test('field names match case-insensitively, as encoding/json does (docker-py sends detachKeys)', () => {
  assert.deepEqual(decodeGo('{"detachKeys":"ctrl-x","TTY":true,"cmd":["sh"]}', Exec), { DetachKeys: 'ctrl-x', Tty: true, Cmd: ['sh'] });
  // The last of two spellings wins, as each key is stored in turn.
  assert.deepEqual(decodeGo('{"Tty":true,"tty":false}', Exec), { Tty: false });
});

test('unknown fields are ignored and null leaves the zero value', () => {
  assert.deepEqual(decodeGo('{"Bogus":1,"Tty":null,"Cmd":null,"Env":["A=1",null]}', Exec), { Env: ['A=1', ''] });
  assert.equal(decodeGo('null', Exec), undefined);
});

test('StrSlice takes a string; a Go array keeps its length', () => {
  assert.deepEqual(decodeGo('{"Cmd":"ls -l","ConsoleSize":[24]}', Exec), { Cmd: ['ls -l'], ConsoleSize: [24, 0] });
  assert.deepEqual(decodeGo('{"ConsoleSize":[24,80,5]}', Exec), { ConsoleSize: [24, 80] });
});

test('a wrong type is refused with Go\'s message naming the field', () => {
  assert.throws(() => decodeGo('{"Tty":"yes"}', Exec), { message: 'json: cannot unmarshal string into Go struct field ExecOptions.Tty of type bool' });
  assert.throws(() => decodeGo('{"HostConfig":{"Memory":"1g"}}', Wrapper), { message: 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64' });
  assert.throws(() => decodeGo('{"HostConfig":{"RestartPolicy":"always"}}', Wrapper), /cannot unmarshal string into Go struct field HostConfig.HostConfig.RestartPolicy of type container.RestartPolicy/);
  assert.throws(() => decodeGo('{"HostConfig":{"Ulimits":[{"Soft":"x"}]}}', Wrapper), /Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64/);
  assert.throws(() => decodeGo('{"HostConfig":{"Labels":{"a":1}}}', Wrapper), /cannot unmarshal number into Go struct field HostConfig.HostConfig.Labels of type string/);
  assert.throws(() => decodeGo('[1]', Exec), { message: 'json: cannot unmarshal array into Go value of type container.ExecOptions' });
  assert.throws(() => decodeGo('{"Tty":', Exec), /invalid JSON/);
});

test('integers must be integers within the field\'s range; beyond 2^53 refused, never rounded', () => {
  assert.throws(() => decodeGo('{"BlkioWeight":70000}', Host), { message: 'json: cannot unmarshal number 70000 into Go struct field HostConfig.BlkioWeight of type uint16' });
  assert.throws(() => decodeGo('{"BlkioWeight":-1}', Host), /number -1 into Go struct field HostConfig.BlkioWeight of type uint16/);
  assert.throws(() => decodeGo('{"Memory":1e100}', Host), /number 1e100 into Go struct field HostConfig.Memory of type int64/);
  assert.throws(() => decodeGo('{"Memory":1.5}', Host), /number 1.5 into Go struct field HostConfig.Memory of type int64/);
  assert.throws(() => decodeGo('{"Memory":9223372036854775808}', Host), /of type int64/);
  // Within int64 but beyond 2^53: refused, never stored rounded (2^63-1 would round past int64).
  assert.throws(() => decodeGo('{"Memory":9223372036854775807}', Host), { message: 'HostConfig.Memory: 9223372036854775807 is beyond what Berth keeps exactly (±9007199254740991); the request was refused' });
  assert.throws(() => decodeGo('{"Memory":-9007199254740992}', Host), /HostConfig.Memory: -9007199254740992 is beyond/);
  assert.deepEqual(decodeGo('{"Memory":9007199254740991,"BlkioWeight":65535}', Host), { Memory: 9007199254740991, BlkioWeight: 65535 });
  assert.deepEqual(decodeGo('{"Ratio":1e3,"Extra":{"n":1.5,"l":[true]}}', Host), { Ratio: 1000, Extra: { n: 1.5, l: [true] } });
});

test('Go\'s encoding: HTML-safe strings, numbers as written, keys in order or sorted', () => {
  assert.equal(goStringLiteral('a<b>&"\\\n\u0001\u2028é'), '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\u0001\\u2028é"');
  const v = parseKeepingNumbers('{ "b": 1.50, "a": [1e3, null, true] }');
  assert.equal(encodeGoJson(v), '{"b":1.50,"a":[1e3,null,true]}');
  assert.equal(encodeGoJson(v, { sortKeys: true }), '{"a":[1e3,null,true],"b":1.50}');
});

test('JSON nested deeper than Go\'s limit is refused with its message, not a stack overflow', () => {
  const deep = '{"Extra":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
  assert.throws(() => decodeGo(deep, Host), { message: "invalid character '[' exceeded max depth" });
  const ok = '{"Extra":' + '['.repeat(999) + ']'.repeat(999) + '}';
  assert.ok(decodeGo(ok, Host));
});
