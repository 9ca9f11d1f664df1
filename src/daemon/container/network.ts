/**
 * A container on its networks: at start, a sandbox (network namespace) made before the
 * runtime creates the container, an endpoint on each network it is on, and its hosts file
 * naming its address; at exit (or a failed start), the endpoints released and the sandbox
 * gone, as docker releases addresses of stopped containers. `--network host|none|container:`
 * need none of it.
 */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { HostConfig } from '../../api/types.ts';
import { forbidden, invalidParameter } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import type { EndpointRecord, NetworkRecord } from '../../network/service.ts';
import type { Container, ContainerRecord } from './container.ts';
import type { ContainerDeps } from './deps.ts';
import { portRequests } from './ports.ts';
import { parseLink } from './links.ts';
import { ShimClient } from '../../runtime/shim.ts';

/**
 * True for modes with networks of their own (bridge and user-defined), unless the container's
 * networking is disabled (Config.NetworkDisabled: as moby, no network is allocated and the
 * container has a namespace of its own with only loopback).
 */
export function ownsNetworks(rec: ContainerRecord): boolean {
  const m = rec.HostConfig.NetworkMode;
  return m !== 'host' && m !== 'none' && !m.startsWith('container:') && !rec.Config.NetworkDisabled;
}

/** The networks a container is on, by name, with what was asked for each (at create). */
export function requestedNetworks(d: ContainerDeps, rec: ContainerRecord): Record<string, EndpointRecord> {
  // A record made before networks existed is on its NetworkMode's network.
  rec.Networks ??= planNetworks(d, rec.HostConfig.NetworkMode, undefined, undefined);
  // Made while there was a default bridge, started without one (berthd --bridge none): off it.
  if (d.networks.bridgeDisabled && rec.Networks.bridge) delete rec.Networks.bridge;
  return rec.Networks;
}

/** Makes the sandbox and joins every network; returns the namespace path for the spec. */
export async function connectNetworks(d: ContainerDeps, rec: ContainerRecord, linkHosts: string[]): Promise<string | undefined> {
  if (!ownsNetworks(rec)) {
    joinBuiltinNetwork(d, rec);
    return undefined;
  }
  const t0 = performance.now();
  const asks = Object.entries(requestedNetworks(d, rec));
  const gw = gatewayNetwork(d, asks);
  const ifNames = interfaceNames(asks.map(([, a]) => a as EndpointAsk));
  const { path, endpoints } = await d.networks.createSandbox(rec.ID, asks.map(([name, asked], i) => ({
    ref: asked.NetworkID || name,
    ifName: ifNames[i], gateway: name === gw, gwPriority: asked.GwPriority ?? 0,
    ...(asked.DriverOpts ? { driverOpts: asked.DriverOpts, sysctls: sysctlsOf(asked as EndpointAsk, ifNames[i]) } : {}),
    ...(asked.IPAMConfig?.IPv4Address ? { ip: asked.IPAMConfig.IPv4Address } : {}),
    ...(asked.IPAMConfig?.IPv6Address ? { ip6: asked.IPAMConfig.IPv6Address } : {}),
    ...(asked.IPAMConfig?.LinkLocalIPs?.length ? { linkLocal: asked.IPAMConfig.LinkLocalIPs } : {}),
    ...(asked.Aliases ? { aliases: asked.Aliases } : {}),
    ...(asked.MacAddress ? { mac: asked.MacAddress } : {}),
    ...(asked.Links ? { links: asked.Links } : {}),
    dnsNames: dnsNames(rec, asked.Aliases),
    dns: rec.HostConfig.Dns ?? [],
  })));
  const t1 = performance.now();
  const joined = endpoints;
  try {
    asks.forEach(([name, asked], i) => {
      rec.Networks![name] = { ...endpoints[i], IPAMConfig: asked.IPAMConfig };
    });
    const first = Object.values(rec.Networks ?? {})[0];
    await writeFile(rec.HostsPath, await hostsFile(rec, first?.IPAddress || undefined, linkHosts, first?.GlobalIPv6Address || undefined, d.networks.hostGatewayIps()));
    await refreshResolvConf(d, rec);
    // Ports are published from the first network's endpoint, as docker does.
    const reqs = portRequests(rec);
    rec.PublishedPorts = reqs.length ? await d.networks.publish(rec.ID, joined[0], reqs) : [];
    rec.SandboxKey = path;
    for (const ep of joined) netEvent(d, 'connect', ep.NetworkID, rec.ID);
    log.debug('networks connected', { id: rec.ID, sandboxMs: (t1 - t0).toFixed(1), totalMs: (performance.now() - t0).toFixed(1) });
  } catch (e) {
    await d.networks.unpublish(rec.ID).catch(() => {});
    d.networks.deleteSandbox(rec.ID, joined);
    clearEndpoints(rec);
    throw e;
  }
  return path;
}

/**
 * A container on a macvlan/ipvlan network has its DNS queries relayed by its monitor (berthd's
 * servers listen on bridges such a container cannot reach): the relay taken over, and, when
 * `redirect`, 127.0.0.11:53 sent to it in the container's namespace (once per monitor: a
 * restarted berthd only takes the relay again). A failure leaves the container without
 * name resolution of its networks, said in the log, not unstarted.
 */
export async function startDnsRelay(d: ContainerDeps, c: Container, redirect: boolean): Promise<void> {
  const rec = c.rec;
  if (!c.shimDir || !rec.SandboxKey || !d.networks.needsRelay(Object.values(rec.Networks ?? {}).filter((ep) => ep.EndpointID))) return;
  if (c.dnsRelay && !c.dnsRelay.destroyed) return;
  try {
    const { socket, port } = await new ShimClient(c.shimDir).dnsRelay();
    if (redirect) await d.networks.redirectDns(rec.SandboxKey, port);
    d.networks.relayDns(rec.ID, socket, () => rec.HostConfig.Dns ?? []);
    c.dnsRelay = socket;
  } catch (e) {
    log.warn('no DNS relay for a container on a macvlan/ipvlan network', { id: c.id, error: e });
  }
}

/** docker's network connect/disconnect events: the network's ID, its name and type, and the container. */
function netEvent(d: ContainerDeps, action: 'connect' | 'disconnect', networkId: string, container: string): void {
  let net: NetworkRecord | undefined;
  try {
    net = d.networks.get(networkId);
  } catch {
    return;
  }
  d.events('network', action, net.Id, { container, name: net.Name, type: net.Driver });
}

/**
 * The none and host networks: nothing to make, but moby gives the container an endpoint on
 * them while it runs, with network connect and disconnect events, as on any other network.
 */
function builtinEndpoint(rec: ContainerRecord): EndpointRecord | undefined {
  const m = rec.HostConfig.NetworkMode;
  return (m === 'none' || m === 'host') && !rec.Config.NetworkDisabled ? rec.Networks?.[m] : undefined;
}

function joinBuiltinNetwork(d: ContainerDeps, rec: ContainerRecord): void {
  const ep = builtinEndpoint(rec);
  if (!ep?.NetworkID) return;
  ep.EndpointID = randomBytes(32).toString('hex');
  netEvent(d, 'connect', ep.NetworkID, rec.ID);
}

/** Leaves the none or host network now; the returned function says so. */
function leaveBuiltinNetwork(d: ContainerDeps, rec: ContainerRecord): () => void {
  const ep = builtinEndpoint(rec);
  if (!ep?.EndpointID) return () => {};
  ep.EndpointID = '';
  return () => netEvent(d, 'disconnect', ep.NetworkID, rec.ID);
}

/** Releases the endpoints and removes the sandbox (exit, failed start, removal). */
export async function disconnectNetworks(d: ContainerDeps, rec: ContainerRecord, events: (() => void)[] | undefined = undefined): Promise<void> {
  // At an exit the disconnect events follow the die event, as moby's come from its cleanup.
  const announce = (f: () => void) => (events ? events.push(f) : f());
  if (!ownsNetworks(rec)) {
    const ep = builtinEndpoint(rec);
    if (ep?.EndpointID) announce(leaveBuiltinNetwork(d, rec));
    return;
  }
  const eps = Object.values(rec.Networks ?? {}).filter((e) => e.EndpointID);
  const t0 = performance.now();
  await d.networks.unpublish(rec.ID).catch((e: unknown) => log.warn('removing published ports', { id: rec.ID, error: e }));
  d.networks.deleteSandbox(rec.ID, eps);
  const gone = eps.map((ep) => ep.NetworkID);
  announce(() => {
    for (const id of gone) netEvent(d, 'disconnect', id, rec.ID);
  });
  clearEndpoints(rec);
  log.debug('networks disconnected', { id: rec.ID, ms: (performance.now() - t0).toFixed(1) });
}

/** What a stopped container shows: the networks it is on, no address (docker). */
export function clearEndpoints(rec: ContainerRecord): void {
  delete rec.SandboxKey;
  delete rec.PublishedPorts;
  for (const [name, ep] of Object.entries(rec.Networks ?? {})) {
    rec.Networks![name] = { ...ep, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: ep.IPAMConfig ? ep.MacAddress : '', DNSNames: null, HostVeth: undefined, IfName: undefined };
  }
}

/**
 * /etc/hosts as docker writes it: the standard entries (the host's own file on its network),
 * --add-host entries, legacy links, and the container's own name on its first address
 * (none without an address: --network none). Written whole at create and at each start.
 */
export async function hostsFile(rec: ContainerRecord, ownIp: string | undefined, links: string[], ownIp6: string | undefined, hostGateway: string[]): Promise<string> {
  const host = rec.Config.Hostname;
  const fqdn = rec.Config.Domainname ? `${host}.${rec.Config.Domainname}` : host;
  const extra = (rec.HostConfig.ExtraHosts ?? []).flatMap((e) => {
    const i = e.indexOf(':');
    const ip = e.slice(i + 1);
    // moby: host-gateway is the daemon's host gateway address(es), the default bridge's
    if (ip === 'host-gateway') {
      if (!hostGateway.length) throw invalidParameter('unable to derive the IP value for host-gateway');
      return hostGateway.map((g) => `${g}\t${e.slice(0, i)}`);
    }
    return [`${ip}\t${e.slice(0, i)}`];
  });
  // In the host's network namespace the container sees the host's own hosts file (docker).
  const base = rec.HostConfig.NetworkMode === 'host'
    ? [(await readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n')).replace(/\n$/, '')]
    : [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::\tip6-localnet',
        'ff00::\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
      ];
  const names = fqdn === host ? host : `${fqdn} ${host}`;
  // no line of its own without an address (--network none), as moby writes it
  const self = rec.HostConfig.NetworkMode === 'host' || !ownIp ? [] : [`${ownIp}\t${names}`, ...(ownIp6 ? [`${ownIp6}\t${names}`] : [])];
  return [...base, ...extra, ...links, ...self, ''].join('\n');
}

/**
 * The network that gives a container its default route, as moby 28 chooses it (libnetwork's
 * Endpoint.Less): the highest gw-priority, then a network with a gateway (not internal), then
 * the network's name; none when the best has no gateway.
 */
function gatewayNetwork(d: ContainerDeps, entries: [string, EndpointRecord][]): string | undefined {
  const internal = (ep: EndpointRecord, name: string) => {
    try {
      return d.networks.get(ep.NetworkID || name).Internal;
    } catch {
      return true;
    }
  };
  const ranked = entries.map(([name, ep]) => ({ name, prio: ep.GwPriority ?? 0, internal: internal(ep, name) }))
    .sort((a, b) => b.prio - a.prio || Number(a.internal) - Number(b.internal) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return ranked[0] && !ranked[0].internal ? ranked[0].name : undefined;
}

/** An endpoint as create records it: what was asked, no address yet. */
function template(networkId: string, asked?: EndpointAsk): EndpointRecord {
  return {
    IPAMConfig: ipamConfig(asked?.IPAMConfig),
    Links: asked?.Links?.length ? asked.Links : null,
    Aliases: asked?.Aliases?.length ? asked.Aliases : null,
    MacAddress: asked?.MacAddress ?? '', DriverOpts: asked?.DriverOpts && Object.keys(asked.DriverOpts).length ? asked.DriverOpts : null, GwPriority: asked?.GwPriority ?? 0, NetworkID: networkId, EndpointID: '', Gateway: '',
    IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

/**
 * The names an endpoint answers to in the embedded DNS (moby 28's buildEndpointDNSNames): the
 * container's name, its aliases, its short ID and its hostname, each once.
 */
function dnsNames(rec: ContainerRecord, aliases: string[] | null | undefined): string[] {
  return [...new Set([rec.Name.slice(1), ...(aliases ?? []), rec.ID.slice(0, 12), ...(rec.Config.Hostname ? [rec.Config.Hostname] : [])].filter(Boolean))];
}

/** The addresses asked for, as inspect shows them (moby's omitempty fields). */
function ipamConfig(c: EndpointAsk['IPAMConfig']): EndpointRecord['IPAMConfig'] {
  if (!c?.IPv4Address && !c?.IPv6Address && !c?.LinkLocalIPs?.length) return null;
  return { ...(c.IPv4Address ? { IPv4Address: c.IPv4Address } : {}), ...(c.IPv6Address ? { IPv6Address: c.IPv6Address } : {}), ...(c.LinkLocalIPs?.length ? { LinkLocalIPs: c.LinkLocalIPs } : {}) };
}

export interface EndpointAsk {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  GwPriority?: number;
  Links?: string[] | null;
  Aliases?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** The endpoint driver options the bridge driver takes (moby's netlabel): the interface's name and its sysctls. */
const EP_IFNAME = 'com.docker.network.endpoint.ifname';
const EP_SYSCTLS = 'com.docker.network.endpoint.sysctls';

/** moby's checks of the per-interface sysctls, and a Linux interface name for ifname. */
function checkDriverOpts(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (k !== EP_IFNAME && k !== EP_SYSCTLS) throw invalidParameter(`endpoint driver option ${k} is not supported by Berth (${EP_IFNAME} and ${EP_SYSCTLS} are)`);
  }
  const ifname = opts[EP_IFNAME];
  if (ifname !== undefined && (!/^[^\s/:]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..' || ifname === 'lo')) throw invalidParameter(`invalid endpoint settings:\ninvalid interface name ${JSON.stringify(ifname)}`);
  const errs: string[] = [];
  for (const sysctl of (opts[EP_SYSCTLS] ?? '').split(',').filter((x) => opts[EP_SYSCTLS] !== undefined)) {
    const sc = sysctl.split('.');
    const parts = sc.length > 5 ? [...sc.slice(0, 4), sc.slice(4).join('.')] : sc;
    if (parts.length !== 5 || !['ipv4', 'ipv6', 'mpls'].includes(parts[1]) || (parts[3] !== 'IFNAME' && parts[3] !== 'ifname')) {
      errs.push(`unrecognised network interface sysctl '${sysctl}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);
    }
  }
  if (errs.length) throw invalidParameter(`invalid endpoint settings:\n${errs.join('\n')}`);
}

/** The interface names of a container's endpoints, in order: an ifname option's, else the next free ethN. */
export function interfaceNames(asks: EndpointAsk[], used: Iterable<string> = []): string[] {
  const taken = new Set(used);
  const own = asks.map((a) => a.DriverOpts?.[EP_IFNAME]);
  for (const n of own) {
    if (!n) continue;
    if (taken.has(n)) throw invalidParameter(`invalid endpoint settings:\ninterface name ${n} is used by another endpoint`);
    taken.add(n);
  }
  let i = 0;
  return own.map((n) => {
    if (n) return n;
    while (taken.has(`eth${i}`)) i++;
    taken.add(`eth${i}`);
    return `eth${i}`;
  });
}

/** The per-interface sysctls of an endpoint, IFNAME replaced by its interface. */
function sysctlsOf(ask: EndpointAsk, ifName: string): string[] {
  const v = ask.DriverOpts?.[EP_SYSCTLS];
  if (!v) return [];
  return v.split(',').map((s) => {
    const p = s.split('.');
    p[3] = ifName;
    return p.join('.');
  });
}

/** The endpoint settings Berth applies on `net`; anything else refused. */
function checkEndpoint(net: NetworkRecord, ask: EndpointAsk | undefined): void {
  const userDefined = !['bridge', 'host', 'none'].includes(net.Name);
  const v6 = ask?.IPAMConfig?.IPv6Address;
  if (v6 && (!isIP(v6) || isIP(v6) !== 6)) throw invalidParameter(`invalid IPv6 address: ${v6}`);
  // moby takes any address here (added to the interface with a /16 or /64), the unspecified ones aside.
  for (const a of ask?.IPAMConfig?.LinkLocalIPs ?? []) {
    if (!isIP(a) || a === '0.0.0.0' || /^[0:]+$/.test(a)) throw invalidParameter(`invalid link-local IP address: ${a}`);
  }
  if (ask?.DriverOpts && Object.keys(ask.DriverOpts).length) checkDriverOpts(ask.DriverOpts);
  if ((ask?.IPAMConfig?.IPv4Address || v6) && !userDefined) throw invalidParameter('user specified IP address is supported on user defined networks only');
  if (v6 && !net.EnableIPv6) throw invalidParameter(`invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets: network ${net.Name} has no IPv6 (created without --ipv6)`);
  if (ask?.Aliases?.length && !userDefined) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
  if (ask?.Links?.length && !userDefined) throw invalidParameter('links are only supported for user-defined networks');
  for (const l of ask?.Links ?? []) parseLink(l);
  if (ask?.MacAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(ask.MacAddress)) throw invalidParameter(`${ask.MacAddress} is not a valid mac address`);
  if ((net.Driver === 'host' || net.Driver === 'null') && ask && (ask.IPAMConfig?.IPv4Address || ask.Aliases?.length || ask.MacAddress)) throw invalidParameter(`network ${net.Name} takes no endpoint settings`);
  if (net.Driver === 'ipvlan' && ask?.MacAddress) throw invalidParameter('ipvlan interfaces do not support custom mac address assignment');
}

/**
 * The networks a new container will be on (HostConfig.NetworkMode, then NetworkingConfig's
 * endpoints; none when `disabledFor` says its networking is disabled), checked now: every network must exist and every setting be one Berth applies.
 * Refused with a bad parameter, not docker's 404 (which the docker CLI takes for a missing image).
 */
export function planNetworks(d: ContainerDeps, mode: string, endpoints: Record<string, EndpointAsk | null | undefined> | undefined, macAddress: string | undefined, disabledFor?: Pick<HostConfig, 'PortBindings' | 'PublishAllPorts'>, ports?: Pick<HostConfig, 'PortBindings' | 'PublishAllPorts'>): Record<string, EndpointRecord> {
  const out: Record<string, EndpointRecord> = {};
  if (mode.startsWith('container:')) {
    if (Object.keys(endpoints ?? {}).length) throw invalidParameter('conflicting options: container type network can\'t be used with other networks');
    return out;
  }
  if (d.networks.bridgeDisabled && (mode === 'bridge' || mode === 'default')) {
    // berthd --bridge none: there is no default bridge, and a container left on it has its own
    // namespace with loopback only (moby's NetworkDisabled); what would need the bridge is refused.
    if (Object.values(ports?.PortBindings ?? {}).some((b) => b?.length) || ports?.PublishAllPorts) throw invalidParameter('the default bridge is disabled (berthd --bridge none): ports cannot be published without --network');
    const asks = (ep: EndpointAsk | null | undefined) => !!ep && !!(ep.IPAMConfig?.IPv4Address || ep.IPAMConfig?.IPv6Address || ep.IPAMConfig?.LinkLocalIPs?.length ||
      ep.Aliases?.length || ep.Links?.length || ep.MacAddress || Object.keys(ep.DriverOpts ?? {}).length || ep.GwPriority);
    if (macAddress || Object.values(endpoints ?? {}).some(asks)) {
      throw invalidParameter('the default bridge is disabled (berthd --bridge none): endpoint settings need a --network');
    }
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
  if ((primary.Name === 'host' || primary.Name === 'none') && entries.some(([n]) => lookup(n).Id !== primary.Id)) {
    throw invalidParameter(`container cannot be disconnected from host network or connected to host network`);
  }
  const all: [string, EndpointAsk | undefined][] = [[primary.Name, undefined], ...entries.map(([n, s]) => [n, s ?? undefined] as [string, EndpointAsk | undefined])];
  for (const [name, asked] of all) {
    const net = lookup(name);
    const prev = out[net.Name];
    const ask = asked ?? undefined;
    checkEndpoint(net, ask);
    out[net.Name] = prev && !ask ? prev : template(net.Id, ask);
  }
  // --mac-address (the container-wide field, API < 1.44) goes to the primary network.
  if (macAddress) {
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(macAddress)) throw invalidParameter(`${macAddress} is not a valid mac address`);
    if (primary.Driver !== 'bridge' && primary.Driver !== 'macvlan') throw invalidParameter(primary.Driver === 'ipvlan' ? 'ipvlan interfaces do not support custom mac address assignment' : 'conflicting options: mac-address and the network mode');
    out[primary.Name].MacAddress ||= macAddress;
  }
  if (disabledFor) {
    // Config.NetworkDisabled: no network is allocated (moby), so nothing can be published or addressed.
    if (Object.values(disabledFor.PortBindings ?? {}).some((b) => b?.length) || disabledFor.PublishAllPorts) throw invalidParameter('conflicting options: published ports need networking, and NetworkDisabled is set');
    if (Object.values(out).some((ep) => ep.IPAMConfig?.IPv4Address || ep.MacAddress || ep.Aliases?.length)) throw invalidParameter('conflicting options: endpoint settings need networking, and NetworkDisabled is set');
    return {};
  }
  return out;
}

/**
 * `network connect`: a running container joins now (a new ethN, names in the network's DNS),
 * a stopped one at its next start. Refused where its network mode owns no networks.
 */
export async function connectContainer(d: ContainerDeps, c: Container, ref: string, ask: EndpointAsk): Promise<void> {
  await d.locks.with(c.id, async () => {
    const rec = c.rec;
    const net = d.networks.get(ref);
    const mode = rec.HostConfig.NetworkMode;
    if (net.Name === 'host' || mode === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
    if (net.Name === 'none' || mode === 'none') throw invalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (mode.startsWith('container:')) throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
    if (rec.Config.NetworkDisabled) throw invalidParameter(`container ${c.name} has networking disabled (NetworkDisabled): it cannot be connected to a network`);
    checkEndpoint(net, ask);
    const nets = requestedNetworks(d, rec);
    if (Object.values(nets).some((ep) => ep.NetworkID === net.Id)) {
      // a stopped container already on it: nothing to do (moby's "avoid duplicate config")
      if (!c.state.Running) return;
      throw forbidden(`endpoint with name ${c.name} already exists in network ${net.Name}`);
    }
    const asked = template(net.Id, ask);
    if (!c.state.Running || !rec.SandboxKey) {
      nets[net.Name] = asked;
      await d.store.save(c);
      return;
    }
    const [ifName] = interfaceNames([asked as EndpointAsk], Object.values(nets).map((ep) => ep.IfName ?? '').filter(Boolean));
    const live = Object.entries(nets).filter(([, ep]) => ep.EndpointID);
    // The new network takes the default route if it outranks the one that has it.
    const gw = gatewayNetwork(d, [...live, [net.Name, asked]]);
    const ep = await d.networks.join(rec.ID, net.Id, {
      ifName, gateway: gw === net.Name, gwPriority: asked.GwPriority,
      ...(asked.DriverOpts ? { driverOpts: asked.DriverOpts, sysctls: sysctlsOf(asked as EndpointAsk, ifName) } : {}),
      ...(asked.IPAMConfig?.IPv4Address ? { ip: asked.IPAMConfig.IPv4Address } : {}),
      ...(asked.IPAMConfig?.IPv6Address ? { ip6: asked.IPAMConfig.IPv6Address } : {}),
      ...(asked.IPAMConfig?.LinkLocalIPs?.length ? { linkLocal: asked.IPAMConfig.LinkLocalIPs } : {}),
      ...(asked.Aliases ? { aliases: asked.Aliases } : {}),
      ...(asked.MacAddress ? { mac: asked.MacAddress } : {}),
      dnsNames: dnsNames(rec, asked.Aliases),
      dns: rec.HostConfig.Dns ?? [],
    });
    nets[net.Name] = { ...ep, IPAMConfig: asked.IPAMConfig };
    try {
      await startDnsRelay(d, c, true);
      await refreshResolvConf(d, rec);
      await d.store.save(c);
      netEvent(d, 'connect', net.Id, rec.ID);
    } catch (e) {
      await d.networks.leave(rec.ID, ep).catch(() => {});
      delete nets[net.Name];
      throw e;
    }
  });
}

/** `network disconnect`: the endpoint gone now if it runs; the network off its list either way. */
export async function disconnectContainer(d: ContainerDeps, c: Container, ref: string, force: boolean): Promise<void> {
  await d.locks.with(c.id, async () => {
    const rec = c.rec;
    let net: NetworkRecord | undefined;
    try {
      net = d.networks.get(ref);
    } catch (e) {
      // --force takes a network that no longer exists off the container's list.
      if (!force) throw e;
    }
    const mode = rec.HostConfig.NetworkMode;
    if (net?.Name === 'host' || mode === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
    const nets = requestedNetworks(d, rec);
    const name = Object.keys(nets).find((n) => (net ? nets[n].NetworkID === net.Id : n === ref || nets[n].NetworkID.startsWith(ref)));
    if (!name) {
      throw forbidden(c.state.Running ? `container ${c.id} is not connected to network ${net?.Name ?? ref}` : `container ${c.id} is not connected to the network ${net?.Name ?? ref}`);
    }
    const ep = nets[name];
    if (ep.EndpointID) {
      // Ports are published from the first network's endpoint: they go with it.
      if (ep === Object.values(nets).find((e) => e.EndpointID) && rec.PublishedPorts?.length) {
        await d.networks.unpublish(rec.ID);
        rec.PublishedPorts = [];
      }
      const live = () => Object.entries(nets).filter(([, e]) => e.EndpointID);
      const hadRoute = gatewayNetwork(d, live()) === name;
      await d.networks.leave(rec.ID, ep);
      netEvent(d, 'disconnect', ep.NetworkID, rec.ID);
      if (hadRoute) {
        // The next network in moby's order gets the default route.
        const next = gatewayNetwork(d, live().filter(([n]) => n !== name));
        if (next) await d.networks.routeThrough(rec.ID, nets[next]).catch((e: unknown) => log.warn('moving the default route', { id: rec.ID, error: e }));
      }
    }
    delete nets[name];
    if (c.state.Running) await refreshResolvConf(d, rec);
    await d.store.save(c);
  });
}

/**
 * The container's resolv.conf: the host's, with the embedded DNS server when it is on a
 * user-defined network, then --dns, --dns-search and --dns-option applied.
 */
export async function resolvConf(d: ContainerDeps, rec: ContainerRecord): Promise<string> {
  let host: string;
  try {
    host = await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    host = '';
  }
  const embedded = d.networks.nameserverFor(Object.values(rec.Networks ?? {}).map((ep) => ep.NetworkID).filter(Boolean));
  return containerResolvConf(host, { ...(embedded ? { embedded } : {}), dns: rec.HostConfig.Dns ?? [], search: rec.HostConfig.DnsSearch ?? [], options: rec.HostConfig.DnsOptions ?? [] });
}

/** Docker's fallback when the host names only loopback resolvers (moby libnetwork/resolvconf). */
const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/**
 * resolv.conf for a container, from the host's text, as docker writes it:
 * - on a user-defined network, the network's DNS server is the only nameserver (its `--dns`
 *   servers are where that server forwards, as docker's 127.0.0.11 does), with `ndots:0`;
 * - otherwise `--dns` replaces the host's nameservers; the host's loopback ones (127.0.0.53 of
 *   systemd-resolved) cannot answer inside the container and are dropped, and when none is
 *   left docker's defaults are used;
 * - `--dns-search` and `--dns-option` replace the host's search and options lines.
 */
export function containerResolvConf(host: string, c: { embedded?: string; dns: string[]; search: string[]; options: string[] }): string {
  const isServer = (l: string) => /^\s*nameserver\s/.test(l);
  let lines = host.split('\n').filter((l) => l !== '');
  if (c.embedded) {
    lines = [...lines.filter((l) => !isServer(l)), `nameserver ${c.embedded}`, ...(c.options.length ? [] : ['options ndots:0'])];
  } else if (c.dns.length) {
    lines = [...lines.filter((l) => !isServer(l)), ...c.dns.map((s) => `nameserver ${s}`)];
  } else {
    const usable = lines.filter((l) => !(isServer(l) && /^\s*nameserver\s+(127\.|::1\b)/.test(l)));
    lines = usable.some(isServer) || !lines.some(isServer) ? usable : [...usable, ...DEFAULT_NAMESERVERS.map((s) => `nameserver ${s}`)];
  }
  if (c.search.length) lines = [...lines.filter((l) => !/^\s*(search|domain)\s/.test(l)), `search ${c.search.join(' ')}`];
  if (c.options.length) lines = [...lines.filter((l) => !/^\s*options\s/.test(l)), `options ${c.options.join(' ')}`];
  return lines.join('\n') + '\n';
}

/**
 * Rewrites resolv.conf when the networks changed which nameserver it should name (a network
 * connected or disconnected, at start or while running); left alone otherwise, so what a user
 * wrote into it survives.
 */
export async function refreshResolvConf(d: ContainerDeps, rec: ContainerRecord): Promise<void> {
  if (!ownsNetworks(rec)) return;
  const want = await resolvConf(d, rec);
  const have = await readFile(rec.ResolvConfPath, 'utf8').catch(() => undefined);
  if (have === undefined) return;
  const servers = (t: string) => t.split('\n').filter((l) => /^\s*nameserver\s/.test(l)).join('\n');
  if (servers(have) !== servers(want)) await writeFile(rec.ResolvConfPath, want);
}
