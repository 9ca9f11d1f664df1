import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventMessage } from '../../api/types.ts';
import { compileFilter, encodeEvent, EventsService } from './service.ts';

const ev = (type: EventMessage['Type'], action: string, id: string, attributes: Record<string, string> = {}): EventMessage => ({
  Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: 0, timeNano: 0,
});

test('filters: event (with or without the ": detail"), type, container by name or ID prefix, image by name or tag, label', () => {
  const die = ev('container', 'die', 'abc123', { name: 'web', image: 'busybox:latest', team: 'blue' });
  const health = ev('container', 'health_status: healthy', 'abc123', { name: 'web', image: 'busybox' });
  const f = (o: Record<string, string[]>) => compileFilter(new Map(Object.entries(o)));
  assert.equal(f({ event: ['die'] })(die), true);
  assert.equal(f({ event: ['start'] })(die), false);
  assert.equal(f({ event: ['health_status'] })(health), true);
  assert.equal(f({ type: ['container'] })(die), true);
  assert.equal(f({ type: ['image'] })(die), false);
  assert.equal(f({ container: ['web'] })(die), true);
  assert.equal(f({ container: ['abc'] })(die), true);
  assert.equal(f({ container: ['db'] })(die), false);
  assert.equal(f({ image: ['busybox'] })(die), true);
  assert.equal(f({ image: ['alpine'] })(die), false);
  assert.equal(f({ label: ['team=blue'] })(die), true);
  assert.equal(f({ label: ['team=red'] })(die), false);
  assert.equal(f({ label: ['team'] })(die), true);
  assert.equal(f({ event: ['die', 'start'], type: ['container'] })(die), true);
  assert.throws(() => f({ bogus: ['1'] }), /invalid filter 'bogus'/);
  assert.throws(() => f({ type: ['nope'] }), /invalid filter 'type=nope'/);
});

test('since/until replay the stored events; times are exact and strictly increasing on the wire', async () => {
  const s = new EventsService();
  for (let i = 0; i < 300; i++) s.log('volume', 'create', `v${i}`, { driver: 'local' });
  const ctl = new AbortController();
  const got: EventMessage[] = [];
  for await (const m of s.subscribe({ sinceNs: 0n, untilNs: BigInt(Date.now()) * 1_000_000n + 1_000_000n, filters: new Map() }, ctl.signal)) got.push(m);
  assert.equal(got.length, 256, 'the last 256 are kept');
  assert.equal(got[0].Actor.ID, 'v44');
  const nanos = got.map((m) => BigInt(/"timeNano":(\d+)/.exec(encodeEvent(m))![1]));
  for (let i = 1; i < nanos.length; i++) assert.ok(nanos[i] > nanos[i - 1]);
  assert.equal(JSON.parse(encodeEvent(got[0])).status, undefined, 'volume events carry no legacy status');
});

test('a live subscriber gets new events until it goes away', async () => {
  const s = new EventsService();
  const ctl = new AbortController();
  const it = s.subscribe({ filters: new Map([['type', ['container']]]) }, ctl.signal);
  const first = it.next();
  s.log('image', 'tag', 'sha256:x', {});
  s.log('container', 'start', 'c1', { name: 'a', image: 'busybox' });
  const m = (await first).value as EventMessage;
  assert.equal(m.Action, 'start');
  assert.equal(m.status, 'start');
  assert.equal(m.from, 'busybox');
  assert.equal(s.listeners, 1);
  ctl.abort();
  assert.equal((await it.next()).done, true);
  assert.equal(s.listeners, 0);
});
