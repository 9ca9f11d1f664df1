import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerResolvConf } from './network.ts';

const HOST = 'domain corp\nsearch corp.example\nnameserver 10.0.0.2\nnameserver 127.0.0.53\noptions edns0\n';
const none = { dns: [], search: [], options: [] };

test('the default bridge: the host\'s file without its loopback resolvers', () => {
  assert.equal(containerResolvConf(HOST, none), 'domain corp\nsearch corp.example\nnameserver 10.0.0.2\noptions edns0\n');
});

test('only loopback resolvers on the host: docker\'s defaults instead', () => {
  assert.equal(containerResolvConf('nameserver 127.0.0.53\noptions edns0 trust-ad\n', none), 'options edns0 trust-ad\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
});

test('--dns replaces the nameservers; --dns-search and --dns-option their lines', () => {
  assert.equal(containerResolvConf(HOST, { dns: ['10.9.9.9'], search: ['a.test', 'b.test'], options: ['ndots:2'] }), 'nameserver 10.9.9.9\nsearch a.test b.test\noptions ndots:2\n');
});

test('a user-defined network: its DNS server only, even with --dns (it forwards to those)', () => {
  assert.equal(containerResolvConf(HOST, { ...none, embedded: '172.20.0.1', dns: ['10.9.9.9'] }), 'domain corp\nsearch corp.example\noptions edns0\nnameserver 172.20.0.1\noptions ndots:0\n');
  assert.equal(containerResolvConf(HOST, { embedded: '172.20.0.1', dns: [], search: [], options: ['timeout:1'] }), 'domain corp\nsearch corp.example\nnameserver 172.20.0.1\noptions timeout:1\n');
});
