/**
 * What a create request means at the API version it was sent with (moby's postContainersCreate):
 * fields added in later versions are dropped for older clients, and the defaults those clients
 * relied on are filled in. Pure: it changes the decoded body in place.
 */
import { versionAtLeast } from '../../../../api/version.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import type { ContainerCreateInput } from '../../bodies.ts';

export function adaptCreateToVersion(body: ContainerCreateInput, version: string): void {
  const older = (v: string) => !versionAtLeast(version, v);
  // A request without a HostConfig has the empty one (moby), so the defaults below apply to it.
  if (older('1.41')) body.HostConfig ??= {};
  const h = body.HostConfig;
  if (h) {
    // Older clients (API < 1.40) expect the default IPC mode to be shareable, and below 1.41 the
    // default cgroup namespace to be the host's.
    if (older('1.40') && !h.IpcMode) h.IpcMode = 'shareable';
    if (older('1.41') && !h.CgroupnsMode) h.CgroupnsMode = 'host';
    if (older('1.42')) h.ConsoleSize = [0, 0];
    if (older('1.43')) delete h.Annotations;
    for (const m of h.Mounts ?? []) {
      if (!m) continue;
      if (m.BindOptions && older('1.40')) m.BindOptions.NonRecursive = false;
      if (m.BindOptions && older('1.42')) m.BindOptions.CreateMountpoint = false;
      if (m.BindOptions && older('1.44')) {
        m.BindOptions.ReadOnlyNonRecursive = false;
        if (m.BindOptions.ReadOnlyForceRecursive) throw invalidParameter('BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer');
      }
      if (m.VolumeOptions && older('1.45')) m.VolumeOptions.Subpath = '';
    }
  }
  if (body.Healthcheck && older('1.44')) body.Healthcheck.StartInterval = 0;
  if (older('1.44') && Object.keys(body.NetworkingConfig?.EndpointsConfig ?? {}).length > 1) {
    throw invalidParameter('Container cannot be created with multiple network endpoints prior to API version 1.44');
  }
}
