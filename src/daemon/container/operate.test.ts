import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePs } from './operate.ts';
import { netDev } from './stats.ts';
import { applyResult, goDuration, probeCommand } from './health.ts';
import type { HealthState } from '../../api/types.ts';

test('parsePs: the PID column picks the container\'s rows; the command keeps its spaces', () => {
  const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 12:00 ? 00:00:00 sleep 100 extra\nroot 11 1 0 12:00 ? 00:00:00 other\n';
  const r = parsePs(out, new Set([10]));
  assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(r.Processes, [['root', '10', '1', '0', '12:00', '?', '00:00:00', 'sleep 100 extra']]);
  assert.throws(() => parsePs('USER COMMAND\nroot x\n', new Set()), /Couldn't find PID field/);
});

test('netDev: interfaces other than lo, docker\'s counters', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    1296      12    0    1    0     0          0         0      426       5    0    2    0     0       0          0
`;
  assert.deepEqual(netDev(text), { eth0: { rx_bytes: 1296, rx_packets: 12, rx_errors: 0, rx_dropped: 1, tx_bytes: 426, tx_packets: 5, tx_errors: 0, tx_dropped: 2 } });
});

test('health: probe commands, Go durations, and moby\'s verdict rules', () => {
  assert.deepEqual(probeCommand({ Test: ['CMD', 'curl', '-f', 'x'] }, undefined), ['curl', '-f', 'x']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }, undefined), ['/bin/sh', '-c', 'exit 1']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }, ['/bin/bash', '-e', '-c']), ['/bin/bash', '-e', '-c', 'exit 1']);
  assert.equal(probeCommand({ Test: ['NONE'] }, undefined), undefined);
  assert.equal(probeCommand(undefined, undefined), undefined);
  assert.equal(goDuration(30e9), '30s');
  assert.equal(goDuration(300e6), '300ms');
  assert.equal(goDuration(1.5e9), '1.5s');
  assert.equal(goDuration(90e9), '1m30s');
  const h: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  const t0 = Date.now();
  // Failures inside the start period do not count.
  applyResult(h, { exitCode: 1, start: new Date(t0 + 1000), startedAt: t0 }, { StartPeriod: 5e9, Retries: 2 });
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 0]);
  applyResult(h, { exitCode: 1, start: new Date(t0 + 6000), startedAt: t0 }, { StartPeriod: 5e9, Retries: 2 });
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
  applyResult(h, { exitCode: 1, start: new Date(t0 + 7000), startedAt: t0 }, { StartPeriod: 5e9, Retries: 2 });
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  applyResult(h, { exitCode: 0, start: new Date(t0 + 8000), startedAt: t0 }, {});
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  // Default retries: 3.
  for (let i = 0; i < 2; i++) applyResult(h, { exitCode: 1, start: new Date(), startedAt: t0 }, {});
  assert.equal(h.Status, 'healthy');
  applyResult(h, { exitCode: 1, start: new Date(), startedAt: t0 }, {});
  assert.equal(h.Status, 'unhealthy');
});
