/**
 * berthd's start: every saved container reconciled with its monitor. Live ones are re-adopted,
 * exits that happened meanwhile recorded, starts and removals a crash cut short finished or
 * rolled back, and restart policies carried on.
 */
import { chmod, chown } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { log } from '../../lib/log.ts';
import { clearEndpoints, startDnsRelay } from './network.ts';
import { removeAnonymousVolumes } from './mounts.ts';
import { ShimClient } from '../../runtime/shim.ts';
import type { Container } from './container.ts';
import { shimDir, type ContainerDeps } from './deps.ts';
import { startHealthMonitor } from './health.ts';
import { monitorDied, reapMonitor, reapOrphanMonitors, recordExit, scheduleRestart, watchExit } from './monitor.ts';

export async function restoreContainers(d: ContainerDeps): Promise<void> {
  const containers = await d.store.load();
  if (d.rt.idmap) {
    // containers/ is on the way to every container's bind-mounted files (moby: 0710 root:<gid>).
    await chown(d.store.root, 0, d.rt.idmap.root.gid);
    await chmod(d.store.root, 0o710);
  }
  // Addresses of running containers are taken before anything can start and ask for one.
  for (const c of containers) {
    if (!c.state.Running) continue;
    for (const ep of Object.values(c.rec.Networks ?? {})) if (ep.EndpointID) d.networks.reserve(c.id, ep, c.rec.HostConfig.Dns ?? []);
  }
  await Promise.all(containers.map((c) => restoreOne(d, c).catch((e: unknown) => log.warn('restoring container', { id: c.id, error: e }))));
  await reapOrphanMonitors(d);
  if (d.store.volumesToRemove.length) await removeAnonymousVolumes(d.volumes, d.store.volumesToRemove).catch((e: unknown) => log.warn('removing the volumes of an interrupted rm -v', { error: e }));
  // Sandboxes and veths that no running container owns (a start or exit cut short).
  const running = containers.filter((c) => c.state.Running);
  for (const c of containers) if (!c.state.Running && Object.values(c.rec.Networks ?? {}).some((ep) => ep.EndpointID)) {
    clearEndpoints(c.rec);
    await d.store.save(c).catch(() => {});
  }
  await d.networks.restorePorts(running.filter((c) => c.rec.PublishedPorts?.length).map((c) => ({ id: c.id, ep: Object.values(c.rec.Networks ?? {})[0], ports: c.rec.PublishedPorts! })))
    .catch((e: unknown) => log.warn('restoring published ports', { error: e }));
  await d.networks.sweep(new Set(running.map((c) => c.id)), new Set(running.flatMap((c) => Object.values(c.rec.Networks ?? {}).map((ep) => ep.HostVeth ?? ''))))
    .catch((e: unknown) => log.warn('removing stale network sandboxes', { error: e }));
}

async function restoreOne(d: ContainerDeps, c: Container): Promise<void> {
  if (c.state.Status === 'removing') {
    c.rec.State.Status = 'exited';
    c.rec.State.Running = false;
    await reapMonitor(d, c.id, c.rec.Runtime);
    await d.ops.remove(c.id, { force: true, volumes: c.rec.HostConfig.AutoRemove });
    return;
  }
  if (!c.state.Running) {
    // A start cut short by a crash (the record was never marked running): roll it back,
    // whatever the monitor got to — the client never heard that it succeeded.
    if (existsSync(shimDir(d, c.id))) await reapMonitor(d, c.id, c.rec.Runtime);
    // Its restart back-off was under way when berthd stopped: carry it on.
    if (c.state.Restarting) scheduleRestart(d, c);
    return;
  }
  const shim = new ShimClient(shimDir(d, c.id));
  if (await shim.alive()) {
    c.shimDir = shimDir(d, c.id);
    watchExit(d, c, shim, ++c.generation);
    // The health check carries on where it was.
    startHealthMonitor(d, c, false);
    // Its DNS relay is taken again (the redirect in its namespace stayed).
    await startDnsRelay(d, c, false);
    return;
  }
  const exit = await shim.readExit();
  if (!exit) await reapMonitor(d, c.id, c.rec.Runtime);
  // It ended while berthd was away: its monitor's directory goes with the recorded exit.
  c.shimDir = shimDir(d, c.id);
  await recordExit(d, c, exit ?? monitorDied());
  await d.store.save(c);
  if (c.rec.HostConfig.AutoRemove) await d.ops.remove(c.id, { force: true, volumes: c.rec.HostConfig.AutoRemove });
  else if (c.state.Restarting) scheduleRestart(d, c);
}
