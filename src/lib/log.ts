/**
 * The daemon's own log: logrus-style lines (`time="…" level=info msg="…"`) like dockerd, so
 * people who grep dockerd logs can grep ours. Levels follow dockerd's --log-level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

let threshold: number = ORDER.info;
let sink: (line: string) => void = (line) => process.stderr.write(line);

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  let line = `time=${quote(new Date().toISOString())} level=${level} msg=${quote(msg)}`;
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
      line += ` ${k}=${/^[\w./:-]+$/.test(s) ? s : quote(s)}`;
    }
  }
  sink(line + '\n');
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};
