/**
 * HEALTHCHECK: a probe run as an exec every interval while the container runs, its verdict
 * (starting → healthy/unhealthy) and its last results in State.Health, a `health_status`
 * event on each change — moby's daemon/health.go, rule for rule.
 */
import type { HealthConfig, HealthState } from '../../api/types.ts';
import { log } from '../../lib/log.ts';
import type { Container } from './container.ts';
import type { ContainerDeps } from './deps.ts';
import { containerEvent } from './events.ts';

const SECOND = 1e9;
const DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, startPeriod: 0, startInterval: 5 * SECOND, retries: 3 };
/** moby's maxLogEntries and maxOutputLen. */
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

/** The probe's command, or undefined when there is no health check (none, or NONE). */
export function probeCommand(h: HealthConfig | undefined, shell: string[] | undefined): string[] | undefined {
  const t = h?.Test;
  if (!t?.length) return undefined;
  if (t[0] === 'NONE') return undefined;
  if (t[0] === 'CMD') return t.length > 1 ? t.slice(1) : undefined;
  if (t[0] === 'CMD-SHELL') return t.length > 1 ? [...(shell?.length ? shell : ['/bin/sh', '-c']), t.slice(1).join(' ')] : undefined;
  // An old image's bare command runs through the shell, as moby's does.
  return [...(shell?.length ? shell : ['/bin/sh', '-c']), t.join(' ')];
}

/** Go's time.Duration String() for the timeout message ("30s", "1.5s", "500ms"). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toFixed(6)}ms`;
  const totalS = ns / 1e9;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const sec = +(totalS % 60).toFixed(9);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}

const orDefault = (v: number | undefined, d: number) => (v && v > 0 ? v : d);

/** At start: the verdict starts over and the monitor runs. */
export function startHealthMonitor(d: ContainerDeps, c: Container, fresh: boolean): void {
  stopHealthMonitor(c);
  const cmd = probeCommand(c.rec.Config.Healthcheck, c.rec.Config.Shell ?? undefined);
  if (!cmd) {
    delete c.rec.State.Health;
    return;
  }
  if (fresh || !c.rec.State.Health) c.rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: c.rec.State.Health?.Log ?? [] };
  const generation = c.generation;
  const schedule = () => {
    const h = c.rec.Config.Healthcheck ?? {};
    const inStart = c.rec.State.Health?.Status === 'starting' && orDefault(h.StartPeriod, DEFAULTS.startPeriod) > 0;
    const ns = inStart ? orDefault(h.StartInterval, DEFAULTS.startInterval) : orDefault(h.Interval, DEFAULTS.interval);
    c.healthTimer = setTimeout(() => void runProbe(d, c, cmd, generation).finally(() => {
      if (c.healthTimer && c.generation === generation && c.running) schedule();
    }), ns / 1e6);
    c.healthTimer.unref();
  };
  schedule();
}

/** At exit: no more probes, and docker reports the stopped container unhealthy. */
export function stopHealthMonitor(c: Container): void {
  if (c.healthTimer) clearTimeout(c.healthTimer);
  c.healthTimer = undefined;
  if (c.rec.State.Health && !c.running) c.rec.State.Health.Status = 'unhealthy';
}

async function runProbe(d: ContainerDeps, c: Container, cmd: string[], generation: number): Promise<void> {
  if (!c.running || c.state.Paused || c.generation !== generation || !d.ops.probe || d.shuttingDown) return;
  const h = c.rec.Config.Healthcheck ?? {};
  const timeout = orDefault(h.Timeout, DEFAULTS.timeout);
  const start = new Date();
  let r: { exitCode: number; output: string; timedOut: boolean };
  try {
    r = await d.ops.probe(c.id, cmd, timeout / 1e6, MAX_OUTPUT);
  } catch (e) {
    r = { exitCode: -1, output: (e as Error).message, timedOut: false };
  }
  if (!c.running || c.generation !== generation || !c.rec.State.Health) return;
  const end = new Date();
  const output = r.timedOut ? `Health check exceeded timeout (${goDuration(timeout)})` : r.output;
  const before = c.rec.State.Health.Status;
  // The new state is written first and shown after: a client that read "healthy" finds it
  // again after a crash of berthd.
  const health = structuredClone(c.rec.State.Health);
  applyResult(health, { exitCode: r.exitCode, start, startedAt: Date.parse(c.state.StartedAt) }, h);
  health.Log = [...health.Log, { Start: start.toISOString(), End: end.toISOString(), ExitCode: r.exitCode, Output: output }].slice(-MAX_LOG);
  await d.store.saveRecord(c, { ...c.rec, State: { ...c.rec.State, Health: health } }).catch((e: unknown) => log.warn('saving health state', { id: c.id, error: e }));
  if (!c.running || c.generation !== generation || !c.rec.State.Health) return;
  c.rec.State.Health = health;
  if (health.Status !== before) containerEvent(d, c, `health_status: ${health.Status}`);
}

/** moby's handleProbeResult: success resets; failures in the start period do not count. */
export function applyResult(health: HealthState, r: { exitCode: number; start: Date; startedAt: number }, h: HealthConfig): void {
  if (r.exitCode === 0) {
    health.FailingStreak = 0;
    health.Status = 'healthy';
    return;
  }
  if (health.Status === 'starting' && r.start.getTime() - r.startedAt < orDefault(h.StartPeriod, DEFAULTS.startPeriod) / 1e6) return;
  health.FailingStreak++;
  if (health.FailingStreak >= orDefault(h.Retries, DEFAULTS.retries)) health.Status = 'unhealthy';
}
