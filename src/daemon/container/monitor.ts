/**
 * A running container's monitor (berth-shim) from berthd's side: the exit it reports, the
 * restart policy that follows, and the clean-up when a monitor is gone or stopped mid-start.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../../lib/log.ts';
import { unmountUnder } from '../../lib/mounts.ts';
import { forceDelete } from '../../runtime/runtime.ts';
import { ShimClient, type ExitInfo } from '../../runtime/shim.ts';
import type { Container } from './container.ts';
import { runtimeRoot, shimDir, sleep, type ContainerDeps } from './deps.ts';
import { disconnectNetworks } from './network.ts';
import { containerEvent } from './events.ts';
import { stopHealthMonitor } from './health.ts';

/** State.Error when a container's monitor died without recording its exit. */
export const MONITOR_DIED = 'the container monitor (berth-shim) died unexpectedly; the container was stopped';

/** An exit for a monitor that died without recording one. */
export function monitorDied(): ExitInfo & { error: string } {
  return { exitCode: 255, exitedAt: new Date().toISOString(), oomKilled: false, error: MONITOR_DIED };
}

/** Waits on the shim for the exit and records it; falls back to exit.json if the shim vanishes. */
export function watchExit(d: ContainerDeps, c: Container, shim: ShimClient, generation: number): void {
  const done = async (exit: ExitInfo | undefined) => {
    if (c.generation !== generation || c.removed) return;
    // No exit recorded: the monitor itself died (killed, say). The container must not live
    // on unsupervised: it is stopped and its root unmounted, and the error says why.
    if (!exit) await reapMonitor(d, c.id, c.rec.Runtime).catch((e: unknown) => log.warn('cleaning up after a dead monitor', { id: c.id, error: e }));
    await d.locks.with(c.id, () => recordExit(d, c, exit ?? monitorDied()));
    if (c.rec.HostConfig.AutoRemove) await d.ops.remove(c.id, { force: true, volumes: c.rec.HostConfig.AutoRemove }).catch((e: unknown) => log.warn('auto-remove failed', { id: c.id, error: e }));
    else if (c.state.Restarting) scheduleRestart(d, c);
  };
  shim.wait().then(done, async () => done(await shim.readExit()));
}

export async function recordExit(d: ContainerDeps, c: Container, exit: ExitInfo & { error?: string }): Promise<void> {
  if (!c.state.Running && c.state.Status !== 'removing') return;
  const dir = c.shimDir;
  c.shimDir = undefined;
  const wasRemoving = c.state.Status === 'removing';
  // Released before anyone waiting for the exit hears of it: `stop` then `run -p` on the
  // same port must find it free.
  await d.volumes.deactivate(c.id).catch((e: unknown) => log.warn('unmounting volumes', { id: c.id, error: e }));
  const afterDie: (() => void)[] = [];
  await disconnectNetworks(d, c.rec, afterDie);
  const startedAt = c.state.StartedAt;
  c.setStopped(exit);
  stopHealthMonitor(c);
  if (exit.oomKilled) containerEvent(d, c, 'oom');
  containerEvent(d, c, 'die', { exitCode: String(exit.exitCode), execDuration: String(Math.max(0, Math.round((Date.parse(exit.exitedAt) - Date.parse(startedAt)) / 1000))) });
  for (const f of afterDie) f();
  // Then its volumes let go of it, as moby's cleanup says after the network.
  for (const p of Object.values(c.rec.MountPoints ?? {})) if (p.Type === 'volume' && p.Name) d.events('volume', 'unmount', p.Name, { container: c.id, driver: p.Driver || 'local' });
  if (wasRemoving) c.rec.State.Status = 'removing';
  else if (restartWanted(c)) c.setRestarting();
  const saved = await d.store.save(c).then(() => true, (e: unknown) => {
    log.warn('saving container state', { id: c.id, error: e });
    return false;
  });
  // The monitor's exit.json is the record of the exit until the container's record holds
  // it: if that could not be written (no space left), it stays for the next start to read.
  if (dir && saved) await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/** docker's restart policies: no, always, unless-stopped, on-failure[:N]. */
export function restartWanted(c: Container): boolean {
  const p = c.rec.HostConfig.RestartPolicy;
  if (c.removed || c.rec.HasBeenManuallyStopped || c.state.Running || c.rec.HostConfig.AutoRemove) return false;
  return p.Name === 'always' || p.Name === 'unless-stopped' ||
    (p.Name === 'on-failure' && c.state.ExitCode !== 0 && (p.MaximumRetryCount <= 0 || c.rec.RestartCount < p.MaximumRetryCount));
}

/**
 * Waits out the back-off, then starts the container again. The container reads
 * `restarting` from its exit until it runs again, as in docker (moby's SetRestarting).
 */
export function scheduleRestart(d: ContainerDeps, c: Container): void {
  // Back off from 100 ms, doubling up to a minute; a container that ran 10 s starts over.
  const ranMs = Date.parse(c.state.FinishedAt) - Date.parse(c.state.StartedAt);
  c.restartDelay = ranMs >= 10_000 ? 100 : Math.min(60_000, Math.max(100, c.restartDelay * 2));
  if (c.restartTimer) clearTimeout(c.restartTimer);
  c.restartTimer = setTimeout(() => {
    c.restartTimer = undefined;
    if (c.removed || c.rec.HasBeenManuallyStopped || !c.state.Restarting || d.shuttingDown) return;
    c.rec.RestartCount++;
    const inFlight = d.ops.start(c.id).catch((e: unknown) => {
      log.warn('restarting container failed', { id: c.id, error: e });
      if (restartWanted(c)) {
        c.setRestarting();
        scheduleRestart(d, c);
      }
    }).finally(() => {
      if (c.restartInFlight === inFlight) c.restartInFlight = undefined;
    });
    c.restartInFlight = inFlight;
  }, c.restartDelay);
  c.restartTimer.unref();
}

/** Cancels a pending policy restart (stop, kill, rm, start). Returns true if one was pending. */
export function cancelRestart(c: Container): boolean {
  if (c.restartTimer) clearTimeout(c.restartTimer);
  c.restartTimer = undefined;
  if (!c.state.Restarting) return false;
  c.rec.State.Restarting = false;
  c.rec.State.Status = 'exited';
  return true;
}

/**
 * Clears what a container's monitor leaves when it is gone, or stopped mid-start: the shim
 * (asked to kill the container, then waited for), else the runtime's state and processes
 * (delete --force), the root filesystem's mount, and the monitor's directory.
 */
export async function reapMonitor(d: ContainerDeps, id: string, runtime: string): Promise<void> {
  const dir = shimDir(d, id);
  const shim = new ShimClient(dir);
  const rt = d.rt.runtimes[runtime];
  const rtRoot = runtimeRoot(d, runtime);
  if (await shim.alive()) {
    const exited = shim.wait().catch(() => undefined);
    // A container never started takes no signal through its monitor: the runtime ends it.
    if (!(await shim.kill(9).then(() => true, () => false)) && rt) await forceDelete(rt, rtRoot, id);
    if ((await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)])) === false) {
      const pid = Number(await readFile(join(dir, 'shim.pid'), 'utf8').catch(() => '0'));
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
  if (rt) await forceDelete(rt, rtRoot, id);
  await unmountUnder(join(d.images.snapshots.dir(id), 'merged'));
  await rm(dir, { recursive: true, force: true });
}

/** Monitors with no container record (a removal cut short): their containers go too. */
export async function reapOrphanMonitors(d: ContainerDeps): Promise<void> {
  const dir = join(d.paths.execRoot, 'c');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const id of names) {
    if (d.store.tryGet(id)) continue;
    // Its record is unreadable, not gone: the container is left running, untouched, for
    // whoever restores the record (then it is picked up again at the next start).
    if (d.store.setAsideIds.has(id)) {
      log.warn('leaving a container whose record was set aside as it is', { id });
      continue;
    }
    log.warn('removing the leftovers of a container with no record', { id });
    for (const rt of Object.keys(d.rt.runtimes)) await reapMonitor(d, id, rt);
  }
}
