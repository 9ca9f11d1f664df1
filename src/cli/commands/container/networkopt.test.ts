import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkOpt } from './opts.ts';

test('--network: a plain name, or docker\'s advanced syntax with every key', () => {
  assert.equal(networkOpt('my-net').Target, 'my-net');
  assert.equal(networkOpt('container:web').Target, 'container:web');
  const n = networkOpt('name=back,alias=db,alias=store,ip=10.1.2.3,link-local-ip=169.254.1.1,mac-address=02:42:ac:11:00:02,driver-opt=com.x=1,gw-priority=-5');
  assert.deepEqual(n, {
    Target: 'back', Aliases: ['db', 'store'], IPv4Address: '10.1.2.3', LinkLocalIPs: ['169.254.1.1'], MacAddress: '02:42:ac:11:00:02',
    DriverOpts: { 'com.x': '1' }, GwPriority: -5,
  });
  // docker/cli lowers each field, values too; quoted fields keep their commas.
  assert.equal(networkOpt('NAME=Front').Target, 'front');
  assert.deepEqual(networkOpt('name=a,"alias=x,y"').Aliases, ['x,y']);
});

test('--network: docker/cli\'s errors', () => {
  const bad = (v: string, msg: string) => assert.throws(() => networkOpt(v), (e: Error) => e.message === msg, v);
  bad('alias=x', 'network name/id is not specified');
  bad('name=a,bogus=1', 'invalid field key bogus');
  bad('name=a,ip=nope', 'ParseAddr("nope"): unable to parse IP');
  bad('name=a,gw-priority=high', 'invalid gw-priority (high): invalid syntax');
  bad('name=a,=1', 'invalid field =1');
});
