import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goSample } from '../../lib/gojson.ts';
import { ContainerConfigType, ContainerCreateBody } from '../server/bodies.ts';
import { CREATE_FIELDS, createFieldPaths, isSet, refuseUnsupported } from './fields.ts';

test('every field of the create body is applied, refused, or a documented no-op', () => {
  const paths = createFieldPaths();
  assert.ok(paths.length > 90, 'the whole of Config, HostConfig and NetworkingConfig');
  const missing = paths.filter((p) => !CREATE_FIELDS[p.path]).map((p) => p.path);
  assert.deepEqual(missing, [], 'fields with no policy');
  const stale = Object.keys(CREATE_FIELDS).filter((k) => !paths.some((p) => p.path === k));
  assert.deepEqual(stale, [], 'policies for fields the body does not have');
  assert.equal(Object.keys(ContainerCreateBody.fields).length, Object.keys(ContainerConfigType.fields).length + 2);
});

test('each refused field, set to anything but its zero value, is refused by name; its zero value is not', () => {
  let refused = 0;
  for (const { path, type } of createFieldPaths()) {
    const p = CREATE_FIELDS[path];
    if (!('refused' in p)) continue;
    refused++;
    const [top, field] = path.includes('.') ? path.split('.') : [undefined, path];
    const req = top ? { [top]: { [field]: goSample(type) } } : { [field]: goSample(type) };
    assert.throws(() => refuseUnsupported(req), (e: Error) => e.message.startsWith(`${path} is not supported by Berth yet`), path);
    const zero = top ? { [top]: { [field]: type.k === 'map' ? {} : type.k === 'slice' ? [] : undefined } } : {};
    assert.doesNotThrow(() => refuseUnsupported(zero), path);
  }
  assert.ok(refused >= 8);
});

test('isSet: maps with any key, structs with any field, non-zero scalars', () => {
  const volumes = ContainerConfigType.fields.Volumes;
  assert.equal(isSet({ '/data': {} }, volumes), true, 'docker-py sends Volumes {"/data": {}}');
  assert.equal(isSet({}, volumes), false);
  assert.equal(isSet({ Test: [] }, ContainerConfigType.fields.Healthcheck), false);
  assert.equal(isSet({ Retries: 3 }, ContainerConfigType.fields.Healthcheck), true);
  assert.equal(isSet([0, 0]), true);
  assert.equal(isSet(0), false);
  // Health checks and block I/O limits are applied: nothing is refused.
  assert.doesNotThrow(() => refuseUnsupported({ Healthcheck: { Test: ['NONE'] } }));
  assert.doesNotThrow(() => refuseUnsupported({ Healthcheck: { Test: ['CMD', 'true'] } }));
  assert.doesNotThrow(() => refuseUnsupported({ HostConfig: { BlkioWeight: 300 } }));
});
