/**
 * User-namespace ID mappings (`userns-remap`): container IDs to host IDs in ranges, as moby's
 * idtools.IdentityMapping. With remapping on, every file of every layer is stored shifted
 * (unpacking maps each entry's owner to the host, packing maps it back), so container root is
 * an unprivileged user on the host.
 *
 * The mapping of the process is set once at daemon start (and in each layer worker from its
 * workerData); layer code reads it with `layerIdMapping()` unless given one.
 */
import { invalidParameter } from '../errdefs/index.ts';

export interface IdRange {
  containerId: number;
  hostId: number;
  size: number;
}

/** The plain form, for workerData and logs. */
export interface IdMapSpec {
  uids: IdRange[];
  gids: IdRange[];
}

function toHostId(ranges: IdRange[], id: number): number | undefined {
  for (const r of ranges) if (id >= r.containerId && id < r.containerId + r.size) return r.hostId + (id - r.containerId);
  return undefined;
}

function toContainerId(ranges: IdRange[], id: number): number | undefined {
  for (const r of ranges) if (id >= r.hostId && id < r.hostId + r.size) return r.containerId + (id - r.hostId);
  return undefined;
}

export class IdMapping {
  readonly spec: IdMapSpec;

  constructor(spec: IdMapSpec) {
    this.spec = spec;
  }

  /** The host IDs of container root: what owns every directory the daemon makes for a container. */
  get root(): { uid: number; gid: number } {
    return this.toHost(0, 0);
  }

  /** A container owner on the host; moby's error when it falls outside the ranges. */
  toHost(uid: number, gid: number): { uid: number; gid: number } {
    const u = toHostId(this.spec.uids, uid);
    if (u === undefined) throw invalidParameter(`container ID ${uid} cannot be mapped to a host ID`);
    const g = toHostId(this.spec.gids, gid);
    if (g === undefined) throw invalidParameter(`container ID ${gid} cannot be mapped to a host ID`);
    return { uid: u, gid: g };
  }

  /** A host owner as the container sees it (for commit, export and diff). */
  toContainer(uid: number, gid: number): { uid: number; gid: number } {
    const u = toContainerId(this.spec.uids, uid);
    if (u === undefined) throw invalidParameter(`host ID ${uid} cannot be mapped to a container ID`);
    const g = toContainerId(this.spec.gids, gid);
    if (g === undefined) throw invalidParameter(`host ID ${gid} cannot be mapped to a container ID`);
    return { uid: u, gid: g };
  }

  /** The OCI spec's linux.uidMappings / gidMappings. */
  ociMappings(): { uidMappings: { containerID: number; hostID: number; size: number }[]; gidMappings: { containerID: number; hostID: number; size: number }[] } {
    const oci = (rs: IdRange[]) => rs.map((r) => ({ containerID: r.containerId, hostID: r.hostId, size: r.size }));
    return { uidMappings: oci(this.spec.uids), gidMappings: oci(this.spec.gids) };
  }
}

/**
 * Ranges for `name` (or its uid) from /etc/subuid-style text ("user:start:count" lines), stacked
 * as moby stacks them: each range continues the container IDs where the previous one ended.
 */
export function subordinateRanges(text: string, name: string, uid: number | undefined): IdRange[] {
  const out: IdRange[] = [];
  let next = 0;
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || start === undefined || count === undefined) continue;
    if (who !== name && (uid === undefined || who !== String(uid))) continue;
    const s = Number(start);
    const c = Number(count);
    if (!Number.isInteger(s) || !Number.isInteger(c) || c <= 0) continue;
    out.push({ containerId: next, hostId: s, size: c });
    next += c;
  }
  return out;
}

let processMapping: IdMapping | undefined;

/** Sets the mapping layers are stored with (once, at daemon start and in each worker). */
export function setLayerIdMapping(m: IdMapping | undefined): void {
  processMapping = m;
}

/** The mapping layers are stored with; undefined when IDs are not remapped. */
export function layerIdMapping(): IdMapping | undefined {
  return processMapping;
}
