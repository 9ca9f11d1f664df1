/**
 * Reads docker json-file logs (written by berth-shim): one JSON object per line,
 * `{"log":"…","stream":"stdout|stderr","time":"RFC3339Nano"}`, rotated as FILE.1 … FILE.N
 * (FILE.N oldest). Supports tail, since/until, and follow across rotations.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch } from 'node:fs';
import { dirname } from 'node:path';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC3339Nano as written. */
  time: string;
  log: string;
}

export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  /** Entries at or after this time (epoch ns). */
  sinceNs?: bigint;
  /** Entries before this time (epoch ns). */
  untilNs?: bigint;
  /** Last N entries; negative = all. */
  tail: number;
  follow: boolean;
  /** Resolves when following should stop (container exited); the file is drained first. */
  stopped?: Promise<void>;
  signal?: AbortSignal;
}

/** Parses RFC3339(Nano) to epoch nanoseconds without losing the fraction. */
export function timeToNs(t: string): bigint {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return 0n;
  const ms = Date.parse(m[1] + m[3]);
  if (Number.isNaN(ms)) return 0n;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

function parseLine(line: string): LogEntry | undefined {
  if (!line) return undefined;
  try {
    const v = JSON.parse(line) as Partial<LogEntry>;
    if (typeof v.log !== 'string' || typeof v.time !== 'string') return undefined;
    return { log: v.log, stream: v.stream === 'stderr' ? 'stderr' : 'stdout', time: v.time };
  } catch {
    return undefined; // a torn last line of a crashed writer: skip it
  }
}

async function rotatedFiles(path: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 1; ; i++) {
    try {
      await stat(`${path}.${i}`);
      out.unshift(`${path}.${i}`);
    } catch {
      break;
    }
  }
  return out;
}

/** Reads complete lines from a handle starting at `offset`; returns the new offset. */
async function readLines(fh: FileHandle, offset: number, onLine: (line: string) => void): Promise<number> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let carry = '';
  let pos = offset;
  let consumed = offset;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const text = carry + buf.toString('utf8', 0, bytesRead);
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    for (const l of lines) onLine(l);
    consumed = pos - Buffer.byteLength(carry);
  }
  return consumed;
}

export async function* readJsonLog(path: string, opts: ReadLogsOptions): AsyncGenerator<LogEntry> {
  const keep = (e: LogEntry) =>
    ((e.stream === 'stdout' && opts.stdout) || (e.stream === 'stderr' && opts.stderr)) &&
    (opts.sinceNs === undefined || timeToNs(e.time) >= opts.sinceNs) &&
    (opts.untilNs === undefined || timeToNs(e.time) < opts.untilNs);

  // 1. Everything already written.
  let fh: FileHandle | undefined;
  let offset = 0;
  const existing: LogEntry[] = [];
  for (const f of await rotatedFiles(path)) {
    const h = await open(f, 'r').catch(() => undefined);
    if (!h) continue;
    try {
      await readLines(h, 0, (l) => { const e = parseLine(l); if (e) existing.push(e); });
    } finally {
      await h.close();
    }
  }
  fh = await open(path, 'r').catch(() => undefined);
  if (fh) offset = await readLines(fh, 0, (l) => { const e = parseLine(l); if (e) existing.push(e); });
  const start = opts.tail >= 0 ? Math.max(0, existing.length - opts.tail) : 0;
  for (let i = start; i < existing.length; i++) if (keep(existing[i])) yield existing[i];
  if (!opts.follow) {
    await fh?.close();
    return;
  }

  // 2. Follow: wait for growth, switching files when the writer rotates.
  let stopped = false;
  void opts.stopped?.then(() => { stopped = true; wake(); });
  let wake: () => void = () => {};
  const watcher = watch(dirname(path), () => wake());
  watcher.on('error', () => {});
  const onAbort = () => { stopped = true; wake(); };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      const batch: LogEntry[] = [];
      if (!fh) {
        fh = await open(path, 'r').catch(() => undefined);
        offset = 0;
      }
      if (fh) {
        offset = await readLines(fh, offset, (l) => { const e = parseLine(l); if (e) batch.push(e); });
        // Rotated? The handle keeps the old file; once drained, move to the new one.
        const cur = await stat(path).catch(() => undefined);
        const mine = await fh.stat();
        if (cur && cur.ino !== mine.ino) {
          offset = await readLines(fh, offset, (l) => { const e = parseLine(l); if (e) batch.push(e); });
          await fh.close();
          fh = undefined;
          for (const e of batch) if (keep(e)) yield e;
          continue;
        }
      }
      for (const e of batch) if (keep(e)) yield e;
      if (opts.untilNs !== undefined && BigInt(Date.now()) * 1_000_000n >= opts.untilNs) return;
      if (stopped && batch.length === 0) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, stopped ? 10 : 250);
        wake = () => { clearTimeout(t); r(); };
      });
    }
  } finally {
    watcher.close();
    opts.signal?.removeEventListener('abort', onAbort);
    await fh?.close();
  }
}
