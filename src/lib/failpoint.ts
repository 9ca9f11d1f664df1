/**
 * Fault injection for the crash tests: with BERTH_FAILPOINT=name[,name…] in its environment,
 * berthd kills itself (SIGKILL, as a crash would) the moment it reaches a named step; an entry
 * `name=delay:MS` instead slows the named stage by MS per chunk, for races that need one side
 * slower than a fast machine makes it. Unset, a failpoint costs one Map lookup.
 */
const armed = new Map(
  (process.env.BERTH_FAILPOINT ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [name, action = 'kill'] = s.split('=', 2) as [string, string?];
    return [name, action] as const;
  }),
);

export function failpoint(name: string): void {
  if (armed.size && armed.get(name) === 'kill') process.kill(process.pid, 'SIGKILL');
}

/** Milliseconds the named stage waits per chunk (0 unless armed with `name=delay:MS`). */
export function failpointDelay(name: string): number {
  const a = armed.size ? armed.get(name) : undefined;
  const m = a ? /^delay:(\d+)$/.exec(a) : null;
  return m ? Number(m[1]) : 0;
}
