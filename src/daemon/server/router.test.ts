import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './router.ts';

test('routes match methods and patterns, with greedy image names', async () => {
  const r = new Router();
  const h = (name: string) => async () => { void name; };
  const inspect = h('inspect');
  const tag = h('tag');
  r.add([
    { method: 'GET', path: '/images/{name*}/json', handler: inspect },
    { method: 'POST', path: '/images/{name*}/tag', handler: tag },
    { method: 'POST', path: '/containers/{id}/start', handler: h('start') },
  ]);
  const m = r.match('GET', '/images/localhost:5000/team/app:1.0/json');
  assert.ok('handler' in m && m.handler === inspect);
  assert.deepEqual('params' in m ? m.params : undefined, { name: 'localhost:5000/team/app:1.0' });
  const t = r.match('POST', '/images/busybox/tag');
  assert.ok('handler' in t && t.handler === tag);
  assert.deepEqual(r.match('GET', '/containers/abc/start'), { methodMismatch: true });
  assert.deepEqual(r.match('GET', '/nope'), { methodMismatch: false });
  const head = r.match('HEAD', '/images/x/json');
  assert.ok('handler' in head, 'HEAD is served by GET routes');
});
