import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeOptions } from './bridgeopts.ts';

test('bridge options read as moby reads them', () => {
  assert.deepEqual(bridgeOptions({}), { masquerade: true, icc: true, hostBindingIp: '0.0.0.0' });
  assert.deepEqual(bridgeOptions({ 'com.docker.network.bridge.enable_icc': 'F', 'com.docker.network.driver.mtu': '+1400', 'com.docker.network.bridge.host_binding_ipv4': '::1' }, true),
    { masquerade: true, icc: false, mtu: 1400, hostBindingIp: '::1' });
  // 0 is the default MTU; records carry moby's informational options, refused only at create
  assert.equal(bridgeOptions({ 'com.docker.network.driver.mtu': '0' }).mtu, undefined);
  assert.equal(bridgeOptions({ 'com.docker.network.bridge.default_bridge': 'true' }).icc, true);
  assert.throws(() => bridgeOptions({ 'com.docker.network.bridge.default_bridge': 'true' }, true), /network option com\.docker\.network\.bridge\.default_bridge is not supported by Berth/);
  assert.throws(() => bridgeOptions({ 'com.docker.network.driver.mtu': '40' }), /invalid MTU number: 40/);
  assert.throws(() => bridgeOptions({ 'com.docker.network.driver.mtu': '99999999999999999999' }), /value out of range/);
});
