import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdMapping, subordinateRanges } from './idmap.ts';

test('subordinate ranges stack by name or uid, as moby reads /etc/subuid', () => {
  const text = 'alice:100000:65536\nberthremap:200000:1000\n1001:300000:10\nberthremap:500000:5\nbad:x:1\n';
  assert.deepEqual(subordinateRanges(text, 'berthremap', 1001), [
    { containerId: 0, hostId: 200000, size: 1000 },
    { containerId: 1000, hostId: 300000, size: 10 },
    { containerId: 1010, hostId: 500000, size: 5 },
  ]);
  assert.deepEqual(subordinateRanges(text, 'nobody', undefined), []);
});

test('IDs map to the host and back; outside the ranges is moby\'s error', () => {
  const m = new IdMapping({ uids: [{ containerId: 0, hostId: 100000, size: 65536 }], gids: [{ containerId: 0, hostId: 200000, size: 10 }, { containerId: 10, hostId: 300000, size: 10 }] });
  assert.deepEqual(m.root, { uid: 100000, gid: 200000 });
  assert.deepEqual(m.toHost(1000, 12), { uid: 101000, gid: 300002 });
  assert.deepEqual(m.toContainer(101000, 300002), { uid: 1000, gid: 12 });
  assert.throws(() => m.toHost(70000, 0), { message: 'container ID 70000 cannot be mapped to a host ID' });
  assert.throws(() => m.toContainer(0, 0), { message: 'host ID 0 cannot be mapped to a container ID' });
  assert.deepEqual(m.ociMappings().uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
});
