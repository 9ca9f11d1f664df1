/**
 * `docker start`: the bundle (spec with the user resolved from the image), the monitor that
 * mounts the root and creates the container, the exit watch, waiting clients, then the start.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failpoint, failpointDelay } from '../../lib/failpoint.ts';
import { log } from '../../lib/log.ts';
import { conflict, EngineError, messageOf, notModified } from '../../errdefs/index.ts';
import { launchShim, ShimClient, ShimStartError } from '../../runtime/shim.ts';
import { withSeccompBpf } from '../../runtime/spec.ts';
import type { Container } from './container.ts';
import { remapped, runtimePath, runtimeRoot, shimDir, sleep, type ContainerDeps } from './deps.ts';
import { watchExit } from './monitor.ts';
import { resolveMountTargets, specMounts } from './mounts.ts';
import { connectNetworks, disconnectNetworks, startDnsRelay } from './network.ts';
import { resolveLinks } from './links.ts';
import { namespaceJoins, shareNetworkFiles, shmFor } from './namespaces.ts';
import { runtimeError } from './runtime-error.ts';
import { containerSpec } from './spec.ts';
import { lookupUser } from './user.ts';
import { containerEvent } from './events.ts';
import { startHealthMonitor } from './health.ts';
import { shimLogOptions } from './logdriver.ts';

export async function startContainer(d: ContainerDeps, ref: string): Promise<void> {
  const c = d.store.get(ref);
  try {
    await d.locks.with(c.id, () => startLocked(d, c));
  } catch (e) {
    // docker removes an --rm container whose start failed: nothing is left behind.
    if (c.rec.HostConfig.AutoRemove && !(e instanceof EngineError && e.kind === 'NotModified')) {
      await d.ops.remove(c.id, { force: true, volumes: c.rec.HostConfig.AutoRemove }).catch((err: unknown) => log.warn('auto-remove after failed start', { id: c.id, error: err }));
    }
    throw e;
  }
}

async function startLocked(d: ContainerDeps, c: Container): Promise<void> {
  if (c.removed) throw conflict(`No such container: ${c.id}`);
  // A start asked for during a restart back-off starts it now (the timer's start is moot).
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
  }
  const s = c.state;
  if (s.Paused) throw conflict('cannot start a paused container, try unpause instead');
  if (s.Running) throw notModified('container already started');
  if (s.Status === 'removing') throw conflict('container is marked for removal and cannot be started');
  const rec = c.rec;
  const dir = shimDir(d, c.id);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const t0 = performance.now();
  try {
    // 1. The OCI bundle: the spec, with the user resolved from the image's files.
    const layerDirs = await d.images.snapshots.layerDirs(c.id);
    const user = await lookupUser(layerDirs, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
    const mount = await d.images.snapshots.mountFor(c.id);
    const joins = namespaceJoins(d, rec);
    // Its network namespace made and joined to its networks before the runtime creates it.
    const links = resolveLinks(d, rec);
    const sandbox = await connectNetworks(d, rec, links.hosts);
    if (sandbox) joins.network = sandbox;
    shareNetworkFiles(d, rec);
    const shm = await shmFor(d, rec);
    const userMounts = await resolveMountTargets(d, c.id, await specMounts(d, rec));
    const spec = containerSpec(rec, user, {
      mounts: userMounts,
      joins,
      ...(remapped(d, rec.HostConfig) ? { idmap: d.rt.idmap! } : {}),
      ...(shm ? { shm: shm.source } : {}),
      rootfs: mount.target,
      linkEnv: links.env,
      ...(c.unrecordedEnv ? { unrecordedEnv: c.unrecordedEnv } : {}),
      cgroupParent: d.rt.cgroupParent,
      seccomp: d.rt.seccomp,
      swapAccounting: d.rt.swapAccounting,
      ...(d.rt.initPath ? { initPath: d.rt.initPath } : {}),
    });
    if (rec.Runtime === 'crun' && spec.linux.seccomp && d.rt.seccompBpf) {
      const bpf = await d.rt.seccompBpf.get(spec.linux.seccomp);
      if (bpf) withSeccompBpf(bpf)(spec);
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
    const t1 = performance.now();
    // 2. The shim mounts the root file system and creates the container.
    const logging = await shimLogOptions(rec);
    await launchShim({
      shimPath: d.rt.shimPath,
      id: c.id,
      bundle: dir,
      runtimePath: runtimePath(d, rec.Runtime),
      runtimeRoot: runtimeRoot(d, rec.Runtime),
      stateDir: dir,
      ...logging,
      tty: rec.Config.Tty,
      stdin: rec.Config.OpenStdin,
      stdinOnce: rec.Config.StdinOnce,
      overlay: mount,
      oomFile: oomFile(d, spec.linux.cgroupsPath ?? ''),
      ...(rec.Runtime === 'crun' ? { roPaths: spec.linux.readonlyPaths ?? [] } : {}),
      ...(shm?.own ? { shm: { path: shm.source, size: rec.HostConfig.ShmSize } } : {}),
      oomScoreAdj: rec.HostConfig.OomScoreAdj,
      // every container with a namespace of its own: a network connected later may need the relay
      ...(sandbox ? { dnsNetns: sandbox } : {}),
    });
    const t2 = performance.now();
    const shim = new ShimClient(dir);
    c.shimDir = dir;
    await startDnsRelay(d, c, true);
    const generation = ++c.generation;
    // 3. Watch for the exit before starting, so no exit can be missed.
    watchExit(d, c, shim, generation);
    // 4. Clients that attached before start get their streams now.
    const waiting = d.pending.get(c.id) ?? [];
    d.pending.delete(c.id);
    await Promise.all(waiting.map((p) => p.connect(shim).catch((e: unknown) => log.warn('attach failed', { id: c.id, error: e }))));
    // 5. Go.
    const t3 = performance.now();
    failpoint('start-before-run');
    const slow = failpointDelay('start-slow');
    if (slow) await sleep(slow);
    const pid = await shim.start();
    failpoint('start-before-record');
    c.setRunning(pid, new Date().toISOString());
    startHealthMonitor(d, c, true);
    await d.store.save(c);
    containerEvent(d, c, 'start');
    log.debug('container started', { id: c.id, specMs: (t1 - t0).toFixed(1), shimCreateMs: (t2 - t1).toFixed(1), startMs: (performance.now() - t3).toFixed(1) });
  } catch (e) {
    c.shimDir = undefined;
    await d.volumes.deactivate(c.id).catch(() => {});
    await disconnectNetworks(d, rec);
    const err = e instanceof ShimStartError ? runtimeError(e, rec.Runtime, rec.Path, rec.HostConfig.Ulimits?.find((u) => u.Name === 'nofile')?.Soft) : e;
    c.setStartFailed(messageOf(err), (err instanceof EngineError ? err.exitCode : undefined) ?? 128);
    await d.store.save(c).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

function oomFile(d: ContainerDeps, cgroupsPath: string): string {
  return d.rt.cgroupVersion === 2
    ? join('/sys/fs/cgroup', cgroupsPath, 'memory.events')
    : join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control');
}
