/**
 * The daemon's own resource limits and capabilities, read from /proc: containers inherit
 * the daemon's limits unless --ulimit asks otherwise, and a limit above the daemon's hard
 * limit can only be granted with CAP_SYS_RESOURCE, which root may lack (as on this machine).
 */
import { readFileSync } from 'node:fs';

export interface Rlimit { soft: number; hard: number }

const NAMES: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc',
  'Max open files': 'nofile', 'Max locked memory': 'memlock', 'Max address space': 'as',
  'Max file locks': 'locks', 'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice', 'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

export const ULIMIT_NAMES = Object.values(NAMES);

export function parseLimits(text: string): Map<string, Rlimit> {
  const out = new Map<string, Rlimit>();
  const num = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  for (const line of text.split('\n').slice(1)) {
    for (const [label, name] of Object.entries(NAMES)) {
      if (!line.startsWith(label + ' ')) continue;
      const fields = line.slice(label.length).trim().split(/\s+/);
      out.set(name, { soft: num(fields[0]), hard: num(fields[1]) });
    }
  }
  return out;
}

let cached: Map<string, Rlimit> | undefined;

export function daemonLimits(): Map<string, Rlimit> {
  cached ??= parseLimits(readFileSync('/proc/self/limits', 'utf8'));
  return cached;
}

/** Whether this process holds CAP_SYS_RESOURCE (bit 24) in its effective set. */
export function hasSysResource(): boolean {
  const m = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? (BigInt('0x' + m[1]) & (1n << 24n)) !== 0n : false;
}
