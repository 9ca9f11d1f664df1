/**
 * Signal names and numbers for Linux, as moby/sys/signal does: `parseSignal` accepts a number or
 * a name with or without the `SIG` prefix in any case (`TERM`, `sigkill`, `SIGRTMIN+3`).
 */
import { invalidParameter } from '../errdefs/index.ts';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

function buildSignalMap(): ReadonlyMap<string, number> {
  const m = new Map<string, number>([
    ['ABRT', 6],
    ['ALRM', 14],
    ['BUS', 7],
    ['CHLD', 17],
    ['CLD', 17],
    ['CONT', 18],
    ['FPE', 8],
    ['HUP', 1],
    ['ILL', 4],
    ['INT', 2],
    ['IO', 29],
    ['IOT', 6],
    ['KILL', 9],
    ['PIPE', 13],
    ['POLL', 29],
    ['PROF', 27],
    ['PWR', 30],
    ['QUIT', 3],
    ['SEGV', 11],
    ['STKFLT', 16],
    ['STOP', 19],
    ['SYS', 31],
    ['TERM', 15],
    ['TRAP', 5],
    ['TSTP', 20],
    ['TTIN', 21],
    ['TTOU', 22],
    ['URG', 23],
    ['USR1', 10],
    ['USR2', 12],
    ['VTALRM', 26],
    ['WINCH', 28],
    ['XCPU', 24],
    ['XFSZ', 25],
  ]);
  m.set('RTMIN', SIGRTMIN);
  for (let i = 1; i <= 15; i++) m.set(`RTMIN+${i}`, SIGRTMIN + i);
  for (let i = 14; i >= 1; i--) m.set(`RTMAX-${i}`, SIGRTMAX - i);
  m.set('RTMAX', SIGRTMAX);
  return m;
}

let byName: ReadonlyMap<string, number> | undefined;
let byNumber: ReadonlyMap<number, string> | undefined;

/** moby/sys/signal `SignalMap` for Linux: name without `SIG` → number. Made on first use (the CLI's start). */
export function signalMap(): ReadonlyMap<string, number> {
  return (byName ??= buildSignalMap());
}

/** Preferred name (without `SIG`) for each number; aliases CLD, IOT, POLL are not preferred. */
function nameByNumber(): ReadonlyMap<number, string> {
  if (byNumber) return byNumber;
  const aliases = new Set(['CLD', 'IOT', 'POLL']);
  const out = new Map<number, string>();
  for (const [name, num] of signalMap()) if (!aliases.has(name) && !out.has(num)) out.set(num, name);
  return (byNumber = out);
}

export const SIGKILL = 9;
export const SIGTERM = 15;
/** Docker's default stop signal. */
export const DEFAULT_STOP_SIGNAL = 'SIGTERM';

/**
 * moby/sys/signal `ParseSignal`: a decimal number (any value but 0, as Go's strconv.Atoi reads it,
 * sign included) or a name. Throws InvalidParameter `Invalid signal: <raw>`.
 */
export function parseSignal(raw: string): number {
  if (/^[+-]?[0-9]+$/.test(raw)) {
    const n = BigInt(raw);
    if (n >= -(1n << 63n) && n < 1n << 63n) {
      if (n === 0n) throw invalidParameter(`Invalid signal: ${raw}`);
      return Number(n);
    }
    // Out of int range: Atoi fails, fall through to the name lookup (which fails too).
  }
  let name = raw.toUpperCase();
  if (name.startsWith('SIG')) name = name.slice(3);
  const sig = signalMap().get(name);
  if (sig === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return sig;
}

/** `SIGTERM` for 15, `SIGRTMIN+3` for 37; undefined for numbers with no Linux name. */
export function signalName(num: number): string | undefined {
  const name = nameByNumber().get(num);
  return name === undefined ? undefined : 'SIG' + name;
}

/**
 * Normalizes a signal given by name or number to its `SIG…` name, as docker stores StopSignal;
 * numbers without a name are returned as decimal strings.
 */
export function normalizeSignal(raw: string): string {
  const n = parseSignal(raw);
  return signalName(n) ?? String(n);
}
