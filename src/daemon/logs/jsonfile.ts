/**
 * Reads docker json-file logs (written by berth-shim): one JSON object per line,
 * `{"log":"…","stream":"stdout|stderr","time":"RFC3339Nano"}`, rotated as FILE.1 … FILE.N
 * (FILE.N oldest; FILE.N.gz with compress). Supports tail, since/until, and follow across rotations.
 *
 * Lines are parsed from bytes, not with JSON.parse: the shim writes one fixed shape, and
 * for the usual line (text plus its escaped newline) the payload is a slice of the file.
 * That keeps `logs` of 100,000 lines far under a second and passes bytes that are not
 * valid UTF-8 through unchanged. Anything unusual falls back to JSON.parse.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch } from 'node:fs';
import { dirname } from 'node:path';

/**
 * One log line, as offsets into a shared read buffer (plain numbers: creating a Buffer view
 * per line costs more than parsing it). The payload is `buf[logStart, logEnd)` plus a
 * newline when `nl` is set; `buf[timeStart, timeEnd)` is the RFC3339Nano timestamp.
 */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  buf: Buffer;
  logStart: number;
  logEnd: number;
  nl: boolean;
  timeStart: number;
  timeEnd: number;
  /** The line's attributes as `logs --details` shows them (`k=v,k2=v2`, keys sorted, query-escaped). */
  attrs?: string;
}

export function entryTime(e: LogEntry): string {
  return e.buf.toString('latin1', e.timeStart, e.timeEnd);
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
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

const PREFIX = Buffer.from('{"log":"');
const MID = Buffer.from('","stream":"');
const TIME = Buffer.from('","time":"');
const BACKSLASH = 0x5c;

/** Go's url.QueryEscape: unreserved bytes kept, space as '+', the rest %XX. */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** moby's attrsByteSlice: `k=v` pairs sorted by key, joined by commas. */
export function detailsOf(attrs: unknown): string | undefined {
  if (!attrs || typeof attrs !== 'object') return undefined;
  const pairs = Object.entries(attrs as Record<string, unknown>).filter(([, v]) => typeof v === 'string') as [string, string][];
  if (!pairs.length) return undefined;
  pairs.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return pairs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(',');
}

function slowParse(data: Buffer, start: number, end: number): LogEntry | undefined {
  try {
    const v = JSON.parse(data.toString('utf8', start, end)) as { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
    if (typeof v.log !== 'string' || typeof v.time !== 'string') return undefined;
    const log = Buffer.from(v.log);
    const buf = Buffer.concat([log, Buffer.from(v.time, 'latin1')]);
    const attrs = detailsOf(v.attrs);
    return { buf, logStart: 0, logEnd: log.length, nl: false, timeStart: log.length, timeEnd: buf.length, stream: v.stream === 'stderr' ? 'stderr' : 'stdout', ...(attrs ? { attrs } : {}) };
  } catch {
    return undefined; // a torn last line of a crashed writer: skip it
  }
}

/** Parses the log line `data[start, end)` (without its newline). */
export function parseLine(data: Buffer, start: number, end: number): LogEntry | undefined {
  if (end - start < PREFIX.length + MID.length + TIME.length || data.compare(PREFIX, 0, PREFIX.length, start, start + PREFIX.length) !== 0) {
    return slowParse(data, start, end);
  }
  const mid = data.lastIndexOf(MID, end - MID.length);
  const contentStart = start + PREFIX.length;
  if (mid < contentStart) return slowParse(data, start, end);
  const streamStart = mid + MID.length;
  const timeAt = streamStart + 6;
  if (data.compare(TIME, 0, TIME.length, timeAt, timeAt + TIME.length) !== 0 || data[end - 1] !== 0x7d) return slowParse(data, start, end);
  const stream = data[streamStart + 3] === 0x65 ? 'stderr' : 'stdout'; // std[e]rr vs std[o]ut
  const timeStart = timeAt + TIME.length;
  const timeEnd = end - 2;
  const bs = data.indexOf(BACKSLASH, contentStart);
  if (bs < 0 || bs >= mid) return { stream, buf: data, logStart: contentStart, logEnd: mid, nl: false, timeStart, timeEnd };
  if (bs === mid - 2 && data[mid - 1] === 0x6e) return { stream, buf: data, logStart: contentStart, logEnd: bs, nl: true, timeStart, timeEnd };
  return slowParse(data, start, end);
}

/**
 * The rotated files, oldest first: FILE.N … FILE.1, each as written or gzipped (FILE.N.gz,
 * json-file's compress). While the shim compresses FILE.1 both may exist: FILE.1 is whole then,
 * and read; FILE.1.gz is read once FILE.1 is gone (gzip removes it when it is done).
 */
async function rotatedFiles(path: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const plain = await stat(`${path}.${i}`).then(() => true, () => false);
    if (plain) {
      out.unshift(`${path}.${i}`);
      continue;
    }
    const gz = await stat(`${path}.${i}.gz`).then(() => true, () => false);
    if (!gz) break;
    out.unshift(`${path}.${i}.gz`);
  }
  return out;
}

/** A gzipped rotated file's lines, in one batch (rotated files are bounded by max-size). */
async function readGzipped(file: string, onBatch: (entries: LogEntry[]) => void): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { gunzip } = await import('node:zlib');
  const raw = await readFile(file).catch(() => undefined);
  if (!raw) return;
  const data = await new Promise<Buffer | undefined>((resolve) => gunzip(raw, (e, out) => resolve(e ? undefined : out)));
  if (!data) return; // a file still being written by an interrupted gzip: skipped, as a torn line is
  const { batch } = parseLines(data);
  if (batch.length) onBatch(batch);
}

/** The complete lines of `data`, and where the incomplete rest begins. */
function parseLines(data: Buffer): { batch: LogEntry[]; rest: number } {
  const batch: LogEntry[] = [];
  let start = 0;
  for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
    const e = parseLine(data, start, nl);
    if (e) batch.push(e);
    start = nl + 1;
  }
  return { batch, rest: start };
}

const READ_SIZE = 1 << 20;

/**
 * Reads complete lines from `offset` to the current end in batches; returns the offset
 * after the last complete line.
 */
async function readBatches(fh: FileHandle, offset: number, onBatch: (entries: LogEntry[]) => void): Promise<number> {
  let carry: Buffer = Buffer.alloc(0);
  let pos = offset;
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_SIZE);
    const { bytesRead } = await fh.read(buf, 0, READ_SIZE, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    const { batch, rest } = parseLines(data);
    // Entries reference `data`, so the carry is copied, not sliced.
    carry = Buffer.from(data.subarray(rest));
    if (batch.length) onBatch(batch);
  }
  return pos - carry.length;
}

function inWindow(t: bigint, opts: ReadLogsOptions): boolean {
  return (opts.sinceNs === undefined || t >= opts.sinceNs) && (opts.untilNs === undefined || t < opts.untilNs);
}

/** Yields batches of entries: everything written so far, then (with follow) what comes. */
export async function* readJsonLog(path: string, opts: ReadLogsOptions): AsyncGenerator<LogEntry[]> {
  const filterTime = opts.sinceNs !== undefined || opts.untilNs !== undefined;
  const keep = (e: LogEntry) =>
    ((e.stream === 'stdout' && opts.stdout) || (e.stream === 'stderr' && opts.stderr)) &&
    (!filterTime || inWindow(timeToNs(entryTime(e)), opts));

  // 1. Everything already written. --tail applies to lines before the filters, as in docker.
  const existing: LogEntry[][] = [];
  for (const f of await rotatedFiles(path)) {
    if (f.endsWith('.gz')) {
      await readGzipped(f, (b) => existing.push(b));
      continue;
    }
    const h = await open(f, 'r').catch(() => undefined);
    if (!h) continue;
    try {
      await readBatches(h, 0, (b) => existing.push(b));
    } finally {
      await h.close();
    }
  }
  let fh = await open(path, 'r').catch(() => undefined);
  let offset = 0;
  if (fh) offset = await readBatches(fh, 0, (b) => existing.push(b));
  let all = existing;
  if (opts.tail >= 0) {
    const flat = existing.flat();
    all = [flat.slice(Math.max(0, flat.length - opts.tail))];
  }
  for (const b of all) {
    const kept = b.filter(keep);
    if (kept.length) yield kept;
  }
  if (!opts.follow) {
    await fh?.close();
    return;
  }

  // 2. Follow: wait for growth, switching files when the writer rotates.
  let stopped = false;
  let wake: () => void = () => {};
  void opts.stopped?.then(() => { stopped = true; wake(); });
  const watcher = watch(dirname(path), () => wake());
  watcher.on('error', () => {});
  const onAbort = () => { stopped = true; wake(); };
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      const batches: LogEntry[][] = [];
      if (!fh) {
        fh = await open(path, 'r').catch(() => undefined);
        offset = 0;
      }
      if (fh) {
        offset = await readBatches(fh, offset, (b) => batches.push(b));
        // Rotated? The handle keeps the old file; once drained, move to the new one.
        const cur = await stat(path).catch(() => undefined);
        const mine = await fh.stat();
        if (cur && cur.ino !== mine.ino) {
          offset = await readBatches(fh, offset, (b) => batches.push(b));
          await fh.close();
          fh = undefined;
        }
      }
      let any = false;
      for (const b of batches) {
        const kept = b.filter(keep);
        any ||= b.length > 0;
        if (kept.length) yield kept;
      }
      if (!fh) continue;
      if (opts.untilNs !== undefined && BigInt(Date.now()) * 1_000_000n >= opts.untilNs) return;
      if (stopped && !any) return;
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
