import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountFroms, mountKey, parseRunMount } from './runmount.ts';

const parse = (s: string, workdir = '/') => parseRunMount(s, (v) => v.replace('$HOME', '/root'), workdir);

test('RUN --mount values read as BuildKit reads them', () => {
  assert.deepEqual(parse('type=cache,target=$HOME/.cache'), { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'shared', readOnly: false, mode: 0o755, uid: 0, gid: 0 });
  assert.deepEqual(parse('type=cache,id=go,dst=cache,sharing=LOCKED,mode=0700,uid=1000,gid=1000,ro', '/src'), { type: 'cache', target: '/src/cache', id: 'go', sharing: 'locked', readOnly: true, mode: 0o700, uid: 1000, gid: 1000 });
  assert.deepEqual(parse('target=/x'), { type: 'bind', target: '/x', source: '.', readOnly: true });
  assert.deepEqual(parse('type=bind,src=a,from=build,destination=/a,rw=true'), { type: 'bind', target: '/a', source: 'a', from: 'build', readOnly: false });
  assert.deepEqual(parse('type=tmpfs,target=/t,size=64m'), { type: 'tmpfs', target: '/t', size: 64 << 20 });
  assert.equal(mountKey(parse('type=tmpfs,target=/t')), '--mount=type=tmpfs,target=/t');
  assert.deepEqual(mountFroms('type=bind,from=builder,target=/b'), ['builder']);
  assert.deepEqual(parse('type=secret,id=tok'), { type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false, mode: 0o400, uid: 0, gid: 0 });
  assert.deepEqual(parse('type=secret,target=/etc/token,required,mode=0440,gid=10'), { type: 'secret', id: 'token', target: '/etc/token', required: true, mode: 0o440, uid: 0, gid: 10 });
  assert.deepEqual(parse('type=secret,id=tok,env=TOKEN,required=false'), { type: 'secret', id: 'tok', env: 'TOKEN', required: false, mode: 0o400, uid: 0, gid: 0 });
  assert.equal(mountKey(parse('type=secret,id=tok')), '--mount=type=secret,id=tok,target=/run/secrets/tok,mode=400,uid=0,gid=0');
  const bad: [string, RegExp][] = [
    ['type=volume,target=/v', /unsupported mount type "volume"/],
    ['type=cache,target=/c,sharing=odd', /unsupported sharing value "odd"/],
    ['type=bind,target=/b,mode=0700', /mode not allowed for "bind" type mounts/],
    ['type=bind,target=/b,sharing=shared', /invalid cache sharing set for bind mount/],
    ['type=bind,size=1m,target=/b', /unexpected key 'size' for mount type 'bind'/],
    ['type=cache', /mount target is required/],
    ['type=cache,target=/c,whatever', /invalid field 'whatever' must be a key=value pair/],
    ['type=cache,target=/c,mode=999', /failed to parse mode: 999/],
    ['type=cache,target=/c,ro=maybe', /invalid value for ro: strconv\.ParseBool: parsing "maybe": invalid syntax/],
    ['type=ssh', /ssh mounts are not supported by Berth's builder yet/],
    ['type=secret', /secret mount requires an id or a target/],
    ['type=secret,id=x,from=stage', /unexpected key 'from' for mount type 'secret'/],
    ['type=bind,target=/b,required', /invalid field 'required' must be a key=value pair/],
    ['type=cache,target=/c,env=X', /unexpected key 'env' for mount type 'cache'/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parse(spec), re, spec);
});
