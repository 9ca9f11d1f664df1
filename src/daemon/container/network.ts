/**
 * A container on its networks: at start, a sandbox (network namespace) made before the
 * runtime creates the container, an endpoint on each network it is on, and its hosts file
 * naming its address; at exit (or a failed start), the endpoints released and the sandbox
 * gone, as docker releases addresses of stopped containers. `--network host|none|container:`
 * need none of it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { invalidParameter } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import type { EndpointRecord } from '../../network/service.ts';
import type { ContainerRecord } from './container.ts';
import type { ContainerDeps } from './deps.ts';
import { portRequests } from './ports.ts';

/** True for modes with networks of their own (bridge and user-defined). */
export function ownsNetworks(rec: ContainerRecord): boolean {
  const m = rec.HostConfig.NetworkMode;
  return m !== 'host' && m !== 'none' && !m.startsWith('container:');
}

/** The networks a container is on, by name, with what was asked for each (at create). */
export function requestedNetworks(d: ContainerDeps, rec: ContainerRecord): Record<string, EndpointRecord> {
  // A record made before networks existed is on its NetworkMode's network.
  rec.Networks ??= planNetworks(d, rec.HostConfig.NetworkMode, undefined, undefined);
  return rec.Networks;
}

/** Makes the sandbox and joins every network; returns the namespace path for the spec. */
export async function connectNetworks(d: ContainerDeps, rec: ContainerRecord): Promise<string | undefined> {
  if (!ownsNetworks(rec)) return undefined;
  const path = await d.networks.createSandbox(rec.ID);
  const joined: EndpointRecord[] = [];
  try {
    let i = 0;
    for (const [name, asked] of Object.entries(requestedNetworks(d, rec))) {
      const ep = await d.networks.join(rec.ID, asked.NetworkID || name, {
        ifIndex: i++,
        ...(asked.IPAMConfig?.IPv4Address ? { ip: asked.IPAMConfig.IPv4Address } : {}),
        ...(asked.Aliases ? { aliases: asked.Aliases } : {}),
        ...(asked.MacAddress ? { mac: asked.MacAddress } : {}),
        ...(asked.Links ? { links: asked.Links } : {}),
        dnsNames: [rec.Name.slice(1), rec.ID.slice(0, 12), ...(asked.Aliases ?? [])],
      });
      joined.push(ep);
      rec.Networks![name] = { ...ep, IPAMConfig: asked.IPAMConfig };
    }
    await writeOwnAddress(rec);
    // Ports are published from the first network's endpoint, as docker does.
    const reqs = portRequests(rec);
    rec.PublishedPorts = reqs.length ? await d.networks.publish(rec.ID, joined[0], reqs) : [];
    rec.SandboxKey = path;
  } catch (e) {
    await d.networks.unpublish(rec.ID).catch(() => {});
    await d.networks.deleteSandbox(rec.ID, joined).catch(() => {});
    clearEndpoints(rec);
    throw e;
  }
  return path;
}

/** Releases the endpoints and removes the sandbox (exit, failed start, removal). */
export async function disconnectNetworks(d: ContainerDeps, rec: ContainerRecord): Promise<void> {
  if (!ownsNetworks(rec)) return;
  const eps = Object.values(rec.Networks ?? {}).filter((e) => e.EndpointID);
  await d.networks.unpublish(rec.ID).catch((e: unknown) => log.warn('removing published ports', { id: rec.ID, error: e }));
  await d.networks.deleteSandbox(rec.ID, eps).catch((e: unknown) => log.warn('removing a network sandbox', { id: rec.ID, error: e }));
  clearEndpoints(rec);
}

/** What a stopped container shows: the networks it is on, no address (docker). */
export function clearEndpoints(rec: ContainerRecord): void {
  delete rec.SandboxKey;
  delete rec.PublishedPorts;
  for (const [name, ep] of Object.entries(rec.Networks ?? {})) {
    rec.Networks![name] = { ...ep, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: ep.IPAMConfig ? ep.MacAddress : '', DNSNames: null, HostVeth: undefined };
  }
}

/** /etc/hosts names the container by its address on its first network, as docker writes it. */
async function writeOwnAddress(rec: ContainerRecord): Promise<void> {
  const first = Object.values(rec.Networks ?? {})[0];
  if (!first?.IPAddress) return;
  const text = await readFile(rec.HostsPath, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const lines = text.split('\n').filter((l) => !/^127\.0\.1\.1\t/.test(l) && !l.startsWith(`${first.IPAddress}\t`));
  const host = rec.Config.Hostname;
  const fqdn = rec.Config.Domainname ? `${host}.${rec.Config.Domainname}` : host;
  const self = `${first.IPAddress}\t${fqdn === host ? host : `${fqdn} ${host}`}`;
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  await writeFile(rec.HostsPath, [...lines, self, ''].join('\n'));
}

/** An endpoint as create records it: what was asked, no address yet. */
function template(networkId: string, asked?: EndpointAsk): EndpointRecord {
  return {
    IPAMConfig: asked?.IPAMConfig?.IPv4Address ? { IPv4Address: asked.IPAMConfig.IPv4Address } : null,
    Links: asked?.Links?.length ? asked.Links : null,
    Aliases: asked?.Aliases?.length ? asked.Aliases : null,
    MacAddress: asked?.MacAddress ?? '', DriverOpts: null, GwPriority: 0, NetworkID: networkId, EndpointID: '', Gateway: '',
    IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

export interface EndpointAsk {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/**
 * The networks a new container will be on (HostConfig.NetworkMode, then NetworkingConfig's
 * endpoints), checked now: every network must exist and every setting be one Berth applies.
 * Refused with a bad parameter, not docker's 404 (which the docker CLI takes for a missing image).
 */
export function planNetworks(d: ContainerDeps, mode: string, endpoints: Record<string, EndpointAsk | null | undefined> | undefined, macAddress: string | undefined): Record<string, EndpointRecord> {
  const out: Record<string, EndpointRecord> = {};
  if (mode.startsWith('container:')) {
    if (Object.keys(endpoints ?? {}).length) throw invalidParameter('conflicting options: container type network can\'t be used with other networks');
    return out;
  }
  // The docker CLI keys its endpoint by the mode it was given: "default" is the bridge.
  const lookup = (name: string) => {
    try {
      return d.networks.get(name === 'default' ? 'bridge' : name);
    } catch {
      throw invalidParameter(`network ${name} not found`);
    }
  };
  const primary = lookup(mode);
  const entries = Object.entries(endpoints ?? {});
  const userDefined = (n: { Name: string }) => !['bridge', 'host', 'none'].includes(n.Name);
  if ((primary.Name === 'host' || primary.Name === 'none') && entries.some(([n]) => lookup(n).Id !== primary.Id)) {
    throw invalidParameter(`container cannot be disconnected from host network or connected to host network`);
  }
  const all: [string, EndpointAsk | undefined][] = [[primary.Name, undefined], ...entries.map(([n, s]) => [n, s ?? undefined] as [string, EndpointAsk | undefined])];
  for (const [name, asked] of all) {
    const net = lookup(name);
    const prev = out[net.Name];
    const ask = asked ?? undefined;
    if (ask?.IPAMConfig?.IPv6Address || ask?.IPAMConfig?.LinkLocalIPs?.length) throw invalidParameter('IPv6 and link-local addresses are not supported by Berth yet');
    if (ask?.DriverOpts && Object.keys(ask.DriverOpts).length) throw invalidParameter('endpoint driver options are not supported by Berth');
    if (ask?.IPAMConfig?.IPv4Address && !userDefined(net)) throw invalidParameter('user specified IP address is supported on user defined networks only');
    if (ask?.Aliases?.length && !userDefined(net)) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
    if (ask?.Links?.length) throw invalidParameter('links are not supported by Berth yet');
    if (ask?.MacAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(ask.MacAddress)) throw invalidParameter(`${ask.MacAddress} is not a valid mac address`);
    if (net.Driver !== 'bridge' && ask && (ask.IPAMConfig?.IPv4Address || ask.Aliases?.length || ask.MacAddress)) throw invalidParameter(`network ${net.Name} takes no endpoint settings`);
    out[net.Name] = prev && !ask ? prev : template(net.Id, ask);
  }
  // --mac-address (the container-wide field, API < 1.44) goes to the primary network.
  if (macAddress) {
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(macAddress)) throw invalidParameter(`${macAddress} is not a valid mac address`);
    if (primary.Driver !== 'bridge') throw invalidParameter('conflicting options: mac-address and the network mode');
    out[primary.Name].MacAddress ||= macAddress;
  }
  return out;
}
