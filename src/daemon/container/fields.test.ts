import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GoType } from '../../lib/gojson.ts';
import { ContainerConfigType, ContainerCreateBody, HostConfigType, NetworkingConfigType } from '../server/bodies.ts';
import { CREATE_FIELDS, isSet, refuseUnsupported } from './fields.ts';

/** Every field of the create body, by wire path. */
export function createFieldPaths(): { path: string; type: GoType }[] {
  const out: { path: string; type: GoType }[] = [];
  for (const [k, t] of Object.entries(ContainerConfigType.fields)) out.push({ path: k, type: t });
  for (const [k, t] of Object.entries(HostConfigType.fields)) out.push({ path: `HostConfig.${k}`, type: t });
  for (const [k, t] of Object.entries(NetworkingConfigType.fields)) out.push({ path: `NetworkingConfig.${k}`, type: t });
  return out;
}

/** A value of a Go type that is not its zero value. */
export function sampleOf(t: GoType): unknown {
  switch (t.k) {
    case 'string': return 'x';
    case 'bool': return true;
    case 'int': return 1;
    case 'float': return 1.5;
    case 'any': return 1;
    case 'strslice': return ['x'];
    case 'slice': return [sampleOf(t.elem)];
    case 'array': return Array.from({ length: t.len }, () => sampleOf(t.elem));
    case 'map': return { k: sampleOf(t.elem) };
    case 'struct': {
      const [first] = Object.entries(t.fields);
      return first ? { [first[0]]: sampleOf(first[1]) } : {};
    }
  }
}

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
    const req = top ? { [top]: { [field]: sampleOf(type) } } : { [field]: sampleOf(type) };
    assert.throws(() => refuseUnsupported(req), (e: Error) => e.message.startsWith(`${path} is not supported by Berth yet`), path);
    const zero = top ? { [top]: { [field]: type.k === 'map' ? {} : type.k === 'slice' ? [] : undefined } } : {};
    assert.doesNotThrow(() => refuseUnsupported(zero), path);
  }
  assert.ok(refused >= 20);
});

test('isSet: maps with any key, structs with any field, non-zero scalars', () => {
  const volumes = ContainerConfigType.fields.Volumes;
  assert.equal(isSet({ '/data': {} }, volumes), true, 'docker-py sends Volumes {"/data": {}}');
  assert.equal(isSet({}, volumes), false);
  assert.equal(isSet({ Test: [] }, ContainerConfigType.fields.Healthcheck), false);
  assert.equal(isSet({ Retries: 3 }, ContainerConfigType.fields.Healthcheck), true);
  assert.equal(isSet([0, 0]), true);
  assert.equal(isSet(0), false);
  // A health check of NONE only disables the image's: nothing is refused.
  assert.doesNotThrow(() => refuseUnsupported({ Healthcheck: { Test: ['NONE'] } }));
  assert.throws(() => refuseUnsupported({ Healthcheck: { Test: ['CMD', 'true'] } }), /Healthcheck is not supported/);
});
