import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOutput } from './buildoutput.ts';

test('--output values as buildx reads them', () => {
  assert.deepEqual(parseOutput('out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutput('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutput('type=local,dest=/tmp/x'), { type: 'local', dest: '/tmp/x' });
  assert.deepEqual(parseOutput('type=tar,dest=a.tar'), { type: 'tar', dest: 'a.tar' });
  assert.deepEqual(parseOutput('type=tar'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutput('type=docker'), { type: 'image', names: [] });
  assert.deepEqual(parseOutput('type=image,"name=a:1,b:2"'), { type: 'image', names: ['a:1', 'b:2'] });
  assert.throws(() => parseOutput('dest=x'), /type is required for output/);
  assert.throws(() => parseOutput('type=local'), /dest is required for local exporter/);
  assert.throws(() => parseOutput('type=oci,dest=x'), /--output type "oci" is not supported/);
  assert.throws(() => parseOutput('type=image,push=true'), /--output attribute "push" is not supported/);
  assert.throws(() => parseOutput('type=local,dest=x,name=a'), /applies to image outputs only/);
  assert.throws(() => parseOutput('type="local'), /invalid --output/);
});
