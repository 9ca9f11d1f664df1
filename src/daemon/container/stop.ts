/** `docker stop`, `kill` and `restart`. */
import { conflict, EngineError, invalidParameter, notModified, wrapError } from '../../errdefs/index.ts';
import { failpoint } from '../../lib/failpoint.ts';
import { log } from '../../lib/log.ts';
import { parseSignal } from '../../lib/signal.ts';
import { isShimGone, ShimClient } from '../../runtime/shim.ts';
import type { Container } from './container.ts';
import { sleep, type ContainerDeps } from './deps.ts';
import { cancelRestart } from './monitor.ts';
import { thawAfterSignal } from './operate.ts';
import { containerEvent } from './events.ts';

/**
 * `docker stop`. With `byDaemon` (berthd shutting down) the stop is not the user's: the
 * container's restart policy still applies at the next start.
 */
export async function stopContainer(d: ContainerDeps, ref: string, opts: { signal?: string; timeout?: number; byDaemon?: boolean }): Promise<void> {
  const c = d.store.get(ref);
  // A policy restart half done would otherwise finish after the stop and leave it running.
  await c.restartInFlight;
  if (cancelRestart(c)) {
    c.rec.HasBeenManuallyStopped = true;
    await d.store.save(c);
    return;
  }
  if (!c.running) {
    // It may have exited just now, its exit still being recorded: a policy restart must not
    // follow a stop the user asked for.
    if (c.rec.HostConfig.RestartPolicy.Name !== 'no' && c.rec.HostConfig.RestartPolicy.Name !== '' && !c.rec.HasBeenManuallyStopped) {
      c.rec.HasBeenManuallyStopped = true;
      await d.store.save(c);
    }
    throw notModified('container already stopped');
  }
  let sig: number;
  try {
    sig = parseSignal(opts.signal || c.rec.Config.StopSignal || 'SIGTERM');
  } catch (e) {
    // moby's ContainerStop wraps what stopping meets
    throw wrapError(e, `cannot stop container: ${ref}`);
  }
  const timeout = opts.timeout ?? c.rec.Config.StopTimeout ?? 10;
  if (!opts.byDaemon) c.rec.HasBeenManuallyStopped = true;
  const exited = c.wait('not-running');
  containerEvent(d, c, 'kill', { signal: String(sig) });
  await signalContainer(c, sig).catch(() => {});
  await thawAfterSignal(d, c);
  failpoint('stop-after-signal');
  if (timeout >= 0) {
    const graceful = await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (graceful) {
      containerEvent(d, c, 'stop');
      return;
    }
    log.info('container did not stop gracefully; killing it', { id: c.id, timeout });
  }
  containerEvent(d, c, 'kill', { signal: '9' });
  await signalContainer(c, 9).catch(() => {});
  await exited;
  containerEvent(d, c, 'stop');
}


export async function killContainer(d: ContainerDeps, ref: string, signal: string | undefined): Promise<void> {
  // the signal first, as moby checks it before it looks the container up
  const sig = parseSignal(signal || 'SIGKILL');
  if (sig < 1 || sig > 64) throw invalidParameter(`the linux daemon does not support signal ${sig}`);
  const c = d.store.get(ref);
  await c.restartInFlight;
  if (cancelRestart(c)) {
    c.rec.HasBeenManuallyStopped = true;
    return;
  }
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (sig === 9) c.rec.HasBeenManuallyStopped = true;
  const exited = c.wait('not-running');
  await signalContainer(c, sig);
  containerEvent(d, c, 'kill', { signal: String(sig) });
  if (sig === 9 || sig === parseSignal(c.rec.Config.StopSignal || 'SIGTERM')) await thawAfterSignal(d, c);
  if (sig === 9) await Promise.race([exited, sleep(10_000)]);
}

/** A signal to the container's process, through its monitor. */
export async function signalContainer(c: Container, sig: number): Promise<void> {
  const notRunning = () => conflict(`container ${c.id} is not running`);
  if (!c.shimDir) throw notRunning();
  try {
    await new ShimClient(c.shimDir).kill(sig);
  } catch (e) {
    // The process ended as the signal was on its way.
    if (isShimGone(e)) throw notRunning();
    throw e;
  }
}

export async function restartContainer(d: ContainerDeps, ref: string, opts: { signal?: string; timeout?: number }): Promise<void> {
  const c = d.store.get(ref);
  if (c.running) await stopContainer(d, c.id, opts).catch((e: unknown) => { if (!(e instanceof EngineError && e.kind === 'NotModified')) throw e; });
  await d.ops.start(c.id);
  containerEvent(d, c, 'restart');
}
