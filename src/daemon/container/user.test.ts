import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser } from './user.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nweb:x:1000:1000::/srv:/bin/sh\n';
const group = 'root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\nweb:x:1000:\nstaff:x:50:web\n';

test('--user resolves names and numbers against the image files', () => {
  assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
  assert.deepEqual(resolveUser('web', passwd, group), { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: '/srv' });
  assert.deepEqual(resolveUser('nobody:staff', passwd, group), { uid: 65534, gid: 50, additionalGids: [50], home: '/home' });
  assert.deepEqual(resolveUser('4242:4343', passwd, group), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
  // moby's order: the primary group, memberships, then --group-add.
  assert.deepEqual(resolveUser('web', passwd, group, ['wheel', '77']).additionalGids, [1000, 50, 10, 77]);
  assert.throws(() => resolveUser('ghost', passwd, group), /unable to find user ghost/);
  assert.throws(() => resolveUser('web:ghosts', passwd, group), /unable to find group ghosts/);
  assert.equal(resolveUser('1000', undefined, undefined).uid, 1000);
});
