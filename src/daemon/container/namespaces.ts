/**
 * What a container shares with another or with the host: `container:NAME` namespace modes,
 * the shareable /dev/shm, and the network files of the container whose network it joins.
 */
import { chmod, chown, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflict, invalidParameter } from '../../errdefs/index.ts';
import type { ContainerRecord } from './container.ts';
import { remapped, type ContainerDeps } from './deps.ts';
import type { NamespaceKind } from './spec.ts';

/**
 * The namespaces a container shares with another (`--pid/--ipc/--uts/--network
 * container:NAME`): that container must be running, as in docker.
 */
export function namespaceJoins(d: ContainerDeps, rec: ContainerRecord): Partial<Record<NamespaceKind | 'user', string>> {
  const out: Partial<Record<NamespaceKind | 'user', string>> = {};
  const modes: [NamespaceKind, string, string][] = [
    ['pid', rec.HostConfig.PidMode, 'PID'], ['ipc', rec.HostConfig.IpcMode, 'IPC'],
    ['uts', rec.HostConfig.UTSMode, 'UTS'], ['network', rec.HostConfig.NetworkMode, 'network'],
  ];
  for (const [kind, mode, what] of modes) {
    if (!mode.startsWith('container:')) continue;
    const target = d.store.get(mode.slice('container:'.length));
    if (!target.running || !target.state.Pid) throw conflict(`cannot join ${what} of a non running container: ${target.id}`);
    // In another container's namespaces under userns-remap, its user namespace comes too.
    if (remapped(d, rec.HostConfig)) out.user = `/proc/${target.state.Pid}/ns/user`;
    if (kind === 'ipc' && !['shareable', 'host'].includes(target.rec.HostConfig.IpcMode)) {
      throw conflict(`container ${target.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    out[kind] = `/proc/${target.state.Pid}/ns/${kind === 'network' ? 'net' : kind}`;
  }
  return out;
}

/**
 * A `container:NAME` mode must name a container that exists (it must run only at start).
 * Refused as a bad parameter: the docker CLI would take a 404 for a missing image.
 */
export function checkNamespaceDonors(d: ContainerDeps, h: ContainerRecord['HostConfig']): void {
  for (const mode of [h.PidMode, h.IpcMode, h.UTSMode, h.NetworkMode]) {
    if (!mode.startsWith('container:')) continue;
    const name = mode.slice('container:'.length);
    if (!d.store.tryGet(name)) throw invalidParameter(`No such container: ${name}`);
  }
}

/**
 * The host side of /dev/shm: the container's own tmpfs under containers/<id>/mounts/shm when
 * it is shareable (its shim mounts it), or its IPC donor's.
 */
export async function shmFor(d: ContainerDeps, rec: ContainerRecord): Promise<{ source: string; own: boolean } | undefined> {
  const ipc = rec.HostConfig.IpcMode;
  if (ipc === 'shareable') {
    const source = join(d.store.dir(rec.ID), 'mounts', 'shm');
    await mkdir(source, { recursive: true, mode: 0o700 });
    if (remapped(d, rec.HostConfig)) {
      await chown(dirname(source), 0, d.rt.idmap!.root.gid);
      await chmod(dirname(source), 0o710);
    }
    return { source, own: true };
  }
  if (!ipc.startsWith('container:')) return undefined;
  const donor = d.store.get(ipc.slice('container:'.length)).rec;
  return { source: donor.HostConfig.IpcMode === 'host' ? '/dev/shm' : join(d.store.dir(donor.ID), 'mounts', 'shm'), own: false };
}

/**
 * In another container's network namespace, a container uses that container's hostname,
 * hosts and resolv.conf (moby's initializeNetworkingPaths), recorded as it starts.
 */
export function shareNetworkFiles(d: ContainerDeps, rec: ContainerRecord): void {
  if (!rec.HostConfig.NetworkMode.startsWith('container:')) return;
  const nc = d.store.get(rec.HostConfig.NetworkMode.slice('container:'.length)).rec;
  rec.HostnamePath = nc.HostnamePath;
  rec.HostsPath = nc.HostsPath;
  rec.ResolvConfPath = nc.ResolvConfPath;
  rec.Config.Hostname = nc.Config.Hostname;
  rec.Config.Domainname = nc.Config.Domainname;
}
