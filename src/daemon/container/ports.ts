/**
 * A container's published ports: HostConfig.PortBindings (and PublishAllPorts over its exposed
 * ports) checked at create as moby checks them, turned into requests for the network's port
 * mapper at start, and shown as docker shows them (NetworkSettings.Ports, the list's Ports).
 */
import { isIP } from 'node:net';
import { invalidParameter } from '../../errdefs/index.ts';
import type { PortRequest, PublishedPort } from '../../network/ports.ts';
import type { HostConfig } from '../../api/types.ts';
import type { NetworkRecord } from '../../network/service.ts';
import type { ContainerRecord } from './container.ts';

type Bindings = HostConfig['PortBindings'];

/** "80/tcp" → [80, 'tcp']; a bad port or protocol is refused as moby does. */
export function splitPortKey(key: string): [number, string] {
  const [port, proto = 'tcp'] = key.split('/');
  const n = /^\d+$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) throw invalidParameter(`invalid port specification: "${port}"`);
  if (proto !== 'tcp' && proto !== 'udp') {
    if (proto === 'sctp') throw invalidParameter('sctp ports are not supported by Berth yet');
    throw invalidParameter(`invalid proto: ${proto}`);
  }
  return [n, proto];
}

/** A host port: empty (pick one), a number, or a range "8000-8010". */
function hostPortRange(s: string): [number, number] {
  if (s === '') return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!(lo >= 0 && lo <= 65535 && hi >= lo && hi <= 65535)) throw invalidParameter(`invalid port specification: "${s}"`);
  return [lo, hi];
}

/** Checks the bindings at create; returns a warning where docker gives one. */
export function checkPortBindings(h: { PortBindings: Bindings; PublishAllPorts: boolean; NetworkMode: string }, first?: Pick<NetworkRecord, 'Driver' | 'Internal' | 'Name'>): string | undefined {
  const any = Object.keys(h.PortBindings ?? {}).length > 0 || h.PublishAllPorts;
  for (const [key, list] of Object.entries(h.PortBindings ?? {})) {
    splitPortKey(key);
    for (const b of list ?? []) {
      hostPortRange(b.HostPort ?? '');
      const ip = b.HostIp ?? '';
      if (ip !== '' && !isIP(ip)) throw invalidParameter(`invalid host IP address: ${ip}`);
    }
  }
  if (!any) return undefined;
  if (h.NetworkMode.startsWith('container:')) throw invalidParameter('conflicting options: port publishing and the container type network mode');
  if (h.NetworkMode === 'host') return 'Published ports are discarded when using host network mode';
  // moby takes them and publishes nothing; said here, as for host
  if (h.NetworkMode === 'none') return 'Published ports are discarded when using the none network mode';
  // A macvlan/ipvlan endpoint has its own address, an internal network no way out: nothing to publish.
  if (first?.Driver === 'macvlan' || first?.Driver === 'ipvlan') return `Published ports are discarded when using a ${first.Driver} network: the container is reached at its own address`;
  if (first?.Internal) return `Published ports are discarded on the internal network ${first.Name}`;
  return undefined;
}

/** What the port mapper is asked for at start. */
export function portRequests(rec: ContainerRecord): PortRequest[] {
  const out: PortRequest[] = [];
  const bindings = rec.HostConfig.PortBindings ?? {};
  for (const [key, list] of Object.entries(bindings)) {
    const [containerPort, proto] = splitPortKey(key);
    for (const b of list?.length ? list : [{ HostIp: '', HostPort: '' }]) {
      const [lo, hi] = hostPortRange(b.HostPort ?? '');
      out.push({ proto: proto as 'tcp' | 'udp', containerPort, hostIp: b.HostIp ?? '', hostPortLow: lo, hostPortHigh: hi });
    }
  }
  if (rec.HostConfig.PublishAllPorts) {
    for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
      if (key in bindings) continue;
      const [containerPort, proto] = splitPortKey(key);
      out.push({ proto: proto as 'tcp' | 'udp', containerPort, hostIp: '', hostPortLow: 0, hostPortHigh: 0 });
    }
  }
  return out;
}

/** NetworkSettings.Ports: every exposed port, with its bindings while running (else null). */
export function portMap(rec: ContainerRecord, published: PublishedPort[] | undefined): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  if (!published) return out;
  for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) out[key] = null;
  for (const p of published) (out[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return out;
}

/** The list's Ports: published ones, then exposed ones without a binding. */
export function portList(rec: ContainerRecord, published: PublishedPort[] | undefined): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  // A container that is not running lists no ports, as in docker.
  if (!published) return out;
  const seen = new Set<string>();
  for (const p of published) {
    out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto });
    seen.add(`${p.containerPort}/${p.proto}`);
  }
  for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
    if (seen.has(key)) continue;
    const [port, proto = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}
