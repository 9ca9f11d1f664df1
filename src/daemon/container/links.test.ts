import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkEnv, parseLink } from './links.ts';

test('link environment as moby writes it: default port, ranges of three or more, name, child env', () => {
  const env = linkEnv('/app/db', '10.0.0.2', ['5432/tcp', '8000/tcp', '8001/tcp', '8002/tcp', '53/udp'], ['PATH=/bin', 'HOME=/root', 'USER=pg', 'BARE']);
  assert.equal(env[0], 'DB_PORT=udp://10.0.0.2:53', 'the lowest port is the default');
  const range = ['DB_PORT_8000_TCP_START=tcp://10.0.0.2:8000', 'DB_PORT_8000_TCP_ADDR=10.0.0.2', 'DB_PORT_8000_TCP_PROTO=tcp',
    'DB_PORT_8000_TCP_PORT_START=8000', 'DB_PORT_8000_TCP_END=tcp://10.0.0.2:8002', 'DB_PORT_8000_TCP_PORT_END=8002'];
  assert.deepEqual(env.slice(1, 7), range);
  assert.deepEqual(env.slice(-2), ['DB_NAME=/app/db', 'DB_ENV_USER=pg']);
  assert.equal(env.length, 1 + 6 + 5 * 4 + 2);
  assert.ok(env.includes('DB_PORT_5432_TCP=tcp://10.0.0.2:5432'));
  assert.ok(env.includes('DB_PORT_53_UDP_PROTO=udp'));
  assert.deepEqual(linkEnv('/web/my-cache', '10.0.0.3', [], []), ['MY_CACHE_NAME=/web/my-cache']);
});

test('--link forms', () => {
  assert.deepEqual(parseLink('db'), ['db', 'db']);
  assert.deepEqual(parseLink('db:database'), ['db', 'database']);
  assert.deepEqual(parseLink('/db:/app/database'), ['db', 'database']);
  assert.throws(() => parseLink('a:b:c'), /bad format for links: a:b:c/);
  assert.throws(() => parseLink(':x'), /bad format for links/);
});
