import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilities } from './spec.ts';
import { DEFAULT_CAPS, GRANTABLE_CAPS } from '../../runtime/spec.ts';

test('--cap-add/--cap-drop with and without CAP_, and ALL', () => {
  assert.deepEqual(capabilities(null, null), DEFAULT_CAPS);
  const c = capabilities(['sys_admin'], ['CAP_NET_RAW', 'mknod']);
  assert.ok(c.includes('CAP_SYS_ADMIN') && !c.includes('CAP_NET_RAW') && !c.includes('CAP_MKNOD'));
  assert.deepEqual(capabilities(['ALL'], null), GRANTABLE_CAPS);
  assert.deepEqual(capabilities(['chown'], ['ALL']), ['CAP_CHOWN']);
  assert.throws(() => capabilities(['CAP_FLY'], null), /: invalid CapAdd: unknown capability: "CAP_FLY"$/);
  assert.throws(() => capabilities(null, ['fly']), /: invalid CapDrop: unknown capability: "CAP_FLY"$/);
});
