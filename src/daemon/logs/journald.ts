/**
 * Reads a journald-logged container's lines back (moby's journald reader), through
 * `journalctl --output=json` matching the container's CONTAINER_ID_FULL: MESSAGE (a string, or
 * its bytes as a list of numbers when journalctl would not print it), PRIORITY 6 (stdout) or 3
 * (stderr), the entry's realtime stamp as its time, and the fields the driver does not set
 * itself as `logs --details` attributes. A part of a cut line gets no newline, as in moby.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { system } from '../../errdefs/index.ts';
import { detailsOf, type LogEntry, type ReadLogsOptions } from './jsonfile.ts';

/** Fields the driver (or journald) sets: not attributes (moby's wellKnownFields). */
const WELL_KNOWN = new Set(['MESSAGE', 'MESSAGE_ID', 'PRIORITY', 'CODE_FILE', 'CODE_LINE', 'CODE_FUNC', 'ERRNO', 'SYSLOG_FACILITY', 'SYSLOG_IDENTIFIER',
  'SYSLOG_PID', 'SYSLOG_TIMESTAMP', 'CONTAINER_NAME', 'CONTAINER_ID', 'CONTAINER_ID_FULL', 'CONTAINER_TAG', 'IMAGE_NAME', 'CONTAINER_PARTIAL_ID',
  'CONTAINER_PARTIAL_ORDINAL', 'CONTAINER_PARTIAL_LAST', 'CONTAINER_PARTIAL_MESSAGE', 'CONTAINER_LOG_EPOCH', 'CONTAINER_LOG_ORDINAL']);

/** journalctl's JSON value: a string, bytes as numbers, or (a field given several times) a list. */
function bytesOf(v: unknown): Buffer | undefined {
  if (typeof v === 'string') return Buffer.from(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return Buffer.from(v as number[]);
  if (Array.isArray(v) && v.length) return bytesOf(v[v.length - 1]);
  return undefined;
}

/** RFC3339Nano (UTC) of a realtime stamp in microseconds. */
function rfc3339(us: bigint): string {
  const sec = us / 1_000_000n;
  const frac = (us % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

function toEntry(line: string): LogEntry | undefined {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const msg = bytesOf(d.MESSAGE);
  if (!msg) return undefined;
  const pri = Number(d.PRIORITY);
  const stream = pri === 3 ? 'stderr' : 'stdout';
  const nl = d.CONTAINER_PARTIAL_MESSAGE !== 'true';
  const time = Buffer.from(rfc3339(BigInt(String(d.__REALTIME_TIMESTAMP ?? '0'))), 'latin1');
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) {
    if (k.startsWith('_') || WELL_KNOWN.has(k)) continue;
    const b = bytesOf(v);
    if (b) extra[k] = b.toString();
  }
  const attrs = detailsOf(extra);
  return { stream, buf: Buffer.concat([msg, time]), logStart: 0, logEnd: msg.length, nl, timeStart: msg.length, timeEnd: msg.length + time.length, ...(attrs ? { attrs } : {}) };
}

/** journalctl's --since/--until: "@SECONDS.FRACTION" from epoch nanoseconds. */
function at(ns: bigint): string {
  return `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6)}`;
}

export async function* readJournal(containerId: string, opts: ReadLogsOptions): AsyncGenerator<LogEntry[]> {
  const args = ['--output=json', '--all', '--no-pager', '--quiet', `CONTAINER_ID_FULL=${containerId}`];
  // journalctl --follow alone shows the last ten: "all" unless a tail was asked for.
  args.push(`--lines=${opts.tail >= 0 ? opts.tail : 'all'}`);
  if (opts.sinceNs !== undefined) args.push(`--since=${at(opts.sinceNs)}`);
  if (opts.untilNs !== undefined) args.push(`--until=${at(opts.untilNs)}`);
  if (opts.follow) args.push('--follow');
  if (opts.tail === 0 && !opts.follow) return;
  const p = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<void>((r) => p.once('close', () => r()));
  let failed: Error | undefined;
  let stderr = '';
  p.on('error', (e) => (failed = e));
  p.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  // Following ends once the container has stopped and the journal has been quiet a moment
  // (moby waits for the logger's last ordinal; the shim's last lines reach journald at once).
  let idle: NodeJS.Timeout | undefined;
  let stopped = false;
  const quiet = () => {
    clearTimeout(idle);
    if (stopped) idle = setTimeout(() => p.kill(), 300);
  };
  void opts.stopped?.then(() => { stopped = true; quiet(); });
  const onAbort = () => p.kill();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const rl = createInterface({ input: p.stdout, crlfDelay: Infinity });
    let batch: LogEntry[] = [];
    for await (const line of rl) {
      const e = toEntry(line);
      if (e && ((e.stream === 'stdout' && opts.stdout) || (e.stream === 'stderr' && opts.stderr))) batch.push(e);
      if (batch.length >= 256 || (opts.follow && batch.length)) {
        yield batch;
        batch = [];
      }
      if (opts.follow) quiet();
    }
    if (batch.length) yield batch;
    await done;
    if (failed) throw system(`error reading the journal: journalctl: ${failed.message}`);
    if (p.exitCode && !stopped && !opts.signal?.aborted) throw system(`error reading the journal: journalctl: ${stderr.trim() || `exit status ${p.exitCode}`}`);
  } finally {
    clearTimeout(idle);
    opts.signal?.removeEventListener('abort', onAbort);
    p.kill();
    await done;
  }
}
