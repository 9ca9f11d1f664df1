/**
 * The journald log driver against a real systemd-journald: one started by the test in a private
 * mount namespace (its own /run/systemd, /run/log and /var/log/journal, all tmpfs) together
 * with berthd, so nothing reaches the host's journal. Lines are read back with journalctl as a
 * user would, and through `berth logs` / the docker CLI's `logs`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { TestDaemon } from './harness.ts';

const JOURNALD = ['/lib/systemd/systemd-journald', '/usr/lib/systemd/systemd-journald'].find((p) => existsSync(p));
let d: TestDaemon | undefined;
let pidFile = '';

before(async () => {
  if (!JOURNALD) return;
  pidFile = `/tmp/bt-journald-${process.pid}.pid`;
  // berthd's mount namespace: private journal directories and a journald of its own.
  const script = [
    'set -e',
    'mkdir -p /run/systemd /run/log /var/log/journal',
    'mount -t tmpfs tmpfs /run/systemd',
    'mount -t tmpfs tmpfs /run/log',
    'mount -t tmpfs tmpfs /var/log/journal',
    'mkdir -p /run/systemd/journal',
    `${JOURNALD} >/dev/null 2>&1 &`,
    `echo $! > ${pidFile}`,
    'for i in $(seq 1 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done',
    'exec "$@"',
  ].join('\n');
  d = await TestDaemon.start({ wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh'] });
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
  if (pidFile && existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch { /* gone */ }
    spawnSync('rm', ['-f', pidFile]);
  }
});

/** journalctl in berthd's namespace: what the journal holds for a container, as JSON entries. */
function journal(id: string): Record<string, unknown>[] {
  const pid = String(d!.pid);
  const r = spawnSync('nsenter', ['-t', pid, '-m', 'journalctl', '--output=json', '--all', '--no-pager', `CONTAINER_ID_FULL=${id}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('journald: each line an entry with moby\'s fields (ID, name, image, tag, attributes, priority, parts); logs reads the journal back (berth and the docker CLI)', async (t) => {
  if (!d) return t.skip('systemd-journald is not installed');
  const id = (await d.ok(['run', '-d', '--name', 'jd', '--log-driver', 'journald', '--log-opt', 'tag={{.Name}}/{{.ImageName}}', '-l', 'com.team=core', '--log-opt', 'labels=com.team',
    'busybox', 'sh', '-c', 'echo out; echo err >&2; echo; head -c 20000 /dev/zero | tr "\\0" a; echo; printf "end"'])).trim();
  assert.equal(await d.ok(['wait', 'jd']), '0\n');
  let entries: Record<string, unknown>[] = [];
  for (let i = 0; i < 50 && entries.length < 6; i++) {
    entries = journal(id);
    if (entries.length < 6) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(entries.length, 6, JSON.stringify(entries.map((e) => e.MESSAGE)));
  const first = entries[0];
  assert.equal(first.MESSAGE, 'out');
  assert.equal(first.PRIORITY, '6');
  assert.equal(first.CONTAINER_ID, id.slice(0, 12));
  assert.equal(first.CONTAINER_NAME, 'jd');
  assert.equal(first.IMAGE_NAME, 'busybox');
  assert.equal(first.CONTAINER_TAG, 'jd/busybox');
  assert.equal(first.SYSLOG_IDENTIFIER, 'jd/busybox');
  assert.equal(first.COM_TEAM, 'core');
  assert.match(String(first.SYSLOG_TIMESTAMP), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.match(String(first.CONTAINER_LOG_EPOCH), /^[0-9a-f]{64}$/);
  assert.deepEqual(entries.map((e) => Number(e.CONTAINER_LOG_ORDINAL)).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
  const err = entries.find((e) => e.MESSAGE === 'err')!;
  assert.equal(err.PRIORITY, '3');
  // The 20,000-byte line in two parts with one ID; the unended last line a part of its own.
  const parts = entries.filter((e) => e.CONTAINER_PARTIAL_ID);
  assert.equal(parts.length, 3);
  assert.equal(parts[0].CONTAINER_PARTIAL_ID, parts[1].CONTAINER_PARTIAL_ID);
  assert.deepEqual([parts[0].CONTAINER_PARTIAL_ORDINAL, parts[0].CONTAINER_PARTIAL_LAST, parts[0].CONTAINER_PARTIAL_MESSAGE], ['1', 'false', 'true']);
  assert.deepEqual([parts[1].CONTAINER_PARTIAL_ORDINAL, parts[1].CONTAINER_PARTIAL_LAST, parts[1].CONTAINER_PARTIAL_MESSAGE], ['2', 'true', undefined]);
  assert.equal(String(parts[0].MESSAGE).length + String(parts[1].MESSAGE).length, 20000);
  assert.equal(parts[2].MESSAGE, 'end');

  // logs: the journal read back, the cut line whole again, the unended one without a newline.
  const logs = await d.ok(['logs', 'jd']);
  assert.equal(logs, `out\n\n${'a'.repeat(20000)}\nend`);
  const both = await d.berth(['logs', 'jd']);
  assert.equal(both.stderr, 'err\n');
  // --tail counts journal entries: the cut line's two parts are two.
  const dk = await d.docker(['logs', '--tail', '3', 'jd']);
  assert.equal(dk.stdout + dk.stderr, `${'a'.repeat(20000)}\nend`);
  assert.match((await d.ok(['logs', '--details', '--tail', '1', 'jd'])), /^COM_TEAM=core end$/);
  assert.match(await d.ok(['logs', '-t', '--tail', '1', 'jd']), /^\d{4}-\d\d-\d\dT[\d:.]+Z end$/);
  assert.equal(await d.ok(['inspect', '-f', '[{{.LogPath}}]', 'jd']), '[]\n');
  await d.ok(['rm', 'jd']);
});

test('journald: logs -f follows while the container runs and ends when it stops; options are checked', async (t) => {
  if (!d) return t.skip('systemd-journald is not installed');
  await d.ok(['run', '-d', '--name', 'jf', '--log-driver', 'journald', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo tick$i; sleep 0.3; done']);
  const r = await d.berth(['logs', '-f', 'jf'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'tick1\ntick2\ntick3\n');
  await d.ok(['rm', 'jf']);
  const bad = await d.berth(['run', '--rm', '--log-driver', 'journald', '--log-opt', 'max-size=1m', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /unknown log opt 'max-size' for journald log driver/);
});
