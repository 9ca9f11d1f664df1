/**
 * Fault injection for the crash tests: with BERTH_FAILPOINT=name[,name…] in its environment,
 * berthd kills itself (SIGKILL, as a crash would) the moment it reaches a named step. Unset,
 * a failpoint costs one Set lookup.
 */
const armed = new Set((process.env.BERTH_FAILPOINT ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export function failpoint(name: string): void {
  if (armed.size && armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
