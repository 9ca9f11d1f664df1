/**
 * Networks (libnetwork's controller, for the bridge, host and null drivers):
 *
 *   <data-root>/network/<id>.json   one record per network, written atomically; the three
 *                                   predefined ones (bridge, host, none) are made at first start
 *                                   and keep their IDs
 *   <data-root>/network/bridges.json  the Linux bridges this daemon has made (a JSON array of
 *                                   names), written before a bridge is made and after it is
 *                                   removed: at start, those no record claims (a create
 *                                   killed before its record was saved, a record set aside, a
 *                                   renamed default bridge) are removed with their rules, and
 *                                   no other daemon's bridges are touched
 *   <exec-root>/netns/<container>   a container's network namespace (its sandbox), a bind-mounted
 *                                   file made before the runtime creates the container
 *
 * A bridge network is a Linux bridge holding its gateway address, with masquerading and
 * forwarding rules (nat.ts). An endpoint is a veth pair from the bridge into a sandbox, its
 * address from the network's pool (ipam.ts). Endpoints exist while their container runs, as in
 * docker; what is in use is rebuilt at start from the running containers' endpoints, and
 * sandboxes and veths no running container owns are removed. A dual-stack network (EnableIPv6)
 * has a second IPAM config, its IPv6 subnet: the bridge holds both gateways, each endpoint an
 * address of each, the container both default routes, and ip6tables the same rules.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, forbidden, invalidParameter, messageOf, notFound } from '../errdefs/index.ts';
import { isSetAside, setAside, writeJsonAtomic } from '../lib/atomic.ts';
import { failpoint } from '../lib/failpoint.ts';
import { log } from '../lib/log.ts';
import { hostRoutes, hostRoutes6, isV6Cidr } from './cidr.ts';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BRIDGE_NAME, ICC, bridgeOptions } from './bridgeopts.ts';
import { AddressPool, macFor } from './ipam.ts';
import { familyOf, formatPrefix, IPV4, IPV6, parsePrefix, prefixContains, prefixOverlaps, type Family, type Prefix } from './family.ts';
import { addEndpoint, addSublink, createNetns, deleteLink, deleteLinkIn, deleteNetns, ensureBridge, makeParentLink, flushAddresses6, linkExists, linksOf, prepareNetnsDir, setDefaultRoute, type SubLinkConfig, type VethConfig } from './netlink.ts';
import { dummyName, isLinkDriver, linkOptions, linkType, vlanOf, type LinkOptions } from './linkdriver.ts';
import { runChecked, runCommand } from '../lib/spawner.ts';
import { addNetworkRules, addNetworkRules6, enableForwarding, ensurePortChains, removeNetworkRules } from './nat.ts';
import { PortMapper, type PortRequest, type PortTarget, type PublishedPort } from './ports.ts';
import { NetworkDns, serveRelay } from './dns.ts';
import type { Socket as NetSocket } from 'node:net';

export interface IpamConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
  /** Addresses the network's other users hold (docker's --aux-address): never handed out. */
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null' | 'macvlan' | 'ipvlan';
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Families whose subnet berthd picked (not shown): no static address there, as in moby. */
  AutoSubnets?: ('IPv4' | 'IPv6')[];
}

/** An endpoint as a container records it (docker's EndpointSettings, plus its veth). */
export interface EndpointRecord {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
  /** The host end of the veth (not shown). */
  HostVeth?: string;
  /** The container end's name, eth0 and on (not shown). */
  IfName?: string;
}

/** What an endpoint is asked to be. */
export interface JoinOptions {
  ip?: string;
  /** A static IPv6 address (--ip6), on a dual-stack network. */
  ip6?: string;
  /** The endpoint's gw-priority (kept in its record; the container picks its gateway by it). */
  gwPriority?: number;
  /** Its driver options as asked (kept), and the interface sysctls they set (`net.ipv4.conf.eth0.x=v`). */
  driverOpts?: Record<string, string>;
  sysctls?: string[];
  /** Link-local addresses added to the interface (moby: IPv4 with a /16, IPv6 with a /64). */
  linkLocal?: string[];
  aliases?: string[];
  mac?: string;
  /** The interface in the container: eth0, eth1, … */
  ifName: string;
  /** Whether the default route goes through this network's gateway. */
  gateway: boolean;
  links?: string[];
  dnsNames?: string[];
  /** The container's --dns servers: where its embedded DNS server forwards other names. */
  dns?: string[];
}

export interface NetworkConfig {
  dataRoot: string;
  execRoot: string;
  /** The default bridge's name (berth0); "none": no default bridge network (dockerd's --bridge none). */
  bridge: string;
  /** The default bridge's gateway address and prefix, when set. */
  bip?: string;
  /** IPv6 on the default bridge (dockerd's --ipv6), with this subnet (--fixed-cidr-v6) or one of the ULA /48's. */
  ipv6?: boolean;
  fixedCidrV6?: string;
  /** Where networks without a subnet take theirs from. */
  pools: { base: string; size: number }[];
  mtu: number;
  iptables: boolean;
  /** What the IPv6 pool is derived from (moby derives a ULA /48 from its host ID); default: the engine ID in <data-root>/engine-id. */
  hostId?: string;
}

export const DEFAULT_POOLS = [
  { base: '172.17.0.0/16', size: 16 }, { base: '172.18.0.0/16', size: 16 }, { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 }, { base: '172.24.0.0/14', size: 16 }, { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
/** Docker's embedded DNS address, in containers on macvlan/ipvlan networks (relayed by their monitor). */
const RELAY_ADDRESS = '127.0.0.11';
const PREFIX = 'vb';

interface Live {
  rec: NetworkRecord;
  /** A macvlan or ipvlan network: its options and the parent link its endpoints are made on. */
  link?: { opts: LinkOptions; parent: string };
  pool?: AddressPool;
  /** A dual-stack network's IPv6 addresses. */
  pool6?: AddressPool;
  bridge?: string;
  dns?: NetworkDns;
  /** Names of the endpoints on it, by endpoint ID (what its DNS server answers). */
  names: Map<string, NamedEndpoint>;
}

/** An endpoint as the network's DNS server knows it. */
interface NamedEndpoint {
  names: string[];
  ip: string;
  /** Its IPv6 address on a dual-stack network. */
  ip6?: string;
  container: string;
  links: Record<string, string>;
  /** The container's --dns servers (where other names are forwarded). */
  upstream: string[];
}

/** The address pool of a network's IPAM config of family `f` (its auxiliary addresses held back). */
function poolOf(f: Family, cfg: IpamConfig, ipamOptions: Record<string, string> | null): AddressPool {
  const subnet = parsePrefix(f, cfg.Subnet);
  const serial = ipamOptions?.['com.docker.network.ipam.serial'] === 'true';
  const pool = new AddressPool(f, subnet, f.parse(cfg.Gateway) ?? subnet.base + 1n, cfg.IPRange ? parsePrefix(f, cfg.IPRange, 'ip-range') : undefined, serial);
  for (const ip of Object.values(cfg.AuxiliaryAddresses ?? {})) pool.hold(ip);
  return pool;
}

/** Where an endpoint's published ports lead. */
const portTarget = (ep: Pick<EndpointRecord, 'IPAddress' | 'GlobalIPv6Address'>): PortTarget => ({ ip4: ep.IPAddress, ...(ep.GlobalIPv6Address ? { ip6: ep.GlobalIPv6Address } : {}) });

function namedEndpoint(container: string, ep: Pick<EndpointRecord, 'IPAddress' | 'GlobalIPv6Address'>, names: string[] | null | undefined, links: string[] | null | undefined, upstream: string[] | undefined): NamedEndpoint {
  return { names: names ?? [], ip: ep.IPAddress, ...(ep.GlobalIPv6Address ? { ip6: ep.GlobalIPv6Address } : {}), container, links: linkMap(links ?? undefined), upstream: upstream ?? [] };
}

/** A network's IPv4 subnet (docker sorts a network's IPAM configs by their subnet's family). */
function v4Config(rec: NetworkRecord): IpamConfig | undefined {
  return rec.IPAM.Config.find((c) => !isV6Cidr(c.Subnet));
}

/** Its IPv6 subnet, on a dual-stack network. */
function v6Config(rec: NetworkRecord): IpamConfig | undefined {
  return rec.EnableIPv6 ? rec.IPAM.Config.find((c) => isV6Cidr(c.Subnet)) : undefined;
}

export class NetworkService {
  private readonly cfg: NetworkConfig;
  private readonly nets = new Map<string, Live>();
  private readonly dir: string;
  readonly netnsDir: string;
  private readonly ports: PortMapper;
  /** Namespaces being removed, by container. */
  private readonly removing = new Map<string, Promise<void>>();

  constructor(cfg: NetworkConfig) {
    this.cfg = cfg;
    this.ports = new PortMapper(cfg.iptables);
    this.dir = join(cfg.dataRoot, 'network');
    this.netnsDir = join(cfg.execRoot, 'netns');
  }

  /** What init() set aside, for `info` warnings. */
  readonly problems: string[] = [];
  /** Bridges this daemon made (bridges.json). */
  private bridges = new Set<string>();

  private get bridgesFile(): string {
    return join(this.dir, 'bridges.json');
  }

  private saveBridges(): Promise<void> {
    return writeJsonAtomic(this.bridgesFile, [...this.bridges].sort(), 0o600);
  }

  private async rememberBridge(name: string): Promise<void> {
    if (this.bridges.has(name)) return;
    this.bridges.add(name);
    await this.saveBridges();
  }

  private async forgetBridge(name: string): Promise<void> {
    if (this.bridges.delete(name)) await this.saveBridges();
  }

  /** The parent link of a macvlan/ipvlan network: the one asked for, or its dummy. */
  private parentOf(rec: NetworkRecord): string {
    return rec.Options.parent || dummyName(rec.Id);
  }

  private bridgeOf(rec: NetworkRecord): string {
    return rec.Options[BRIDGE_NAME] || `br-${rec.Id.slice(0, 12)}`;
  }

  /** At start: bridges this daemon made that no record claims go, with their rules. */
  private async sweepBridges(): Promise<void> {
    try {
      const names = JSON.parse(await readFile(this.bridgesFile, 'utf8')) as unknown;
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error('not a list of bridge names');
      this.bridges = new Set(names as string[]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('unreadable bridges.json: no stale bridge is removed this time', { error: e });
      this.bridges = new Set();
    }
    const claimed = new Set([...this.nets.values()].map((l) => (l.rec.Driver === 'bridge' ? this.bridgeOf(l.rec) : isLinkDriver(l.rec.Driver) ? this.parentOf(l.rec) : '')).filter(Boolean));
    for (const name of [...this.bridges]) {
      if (claimed.has(name)) continue;
      log.info('removing a bridge no network claims', { bridge: name });
      if (this.cfg.iptables) {
        await removeNetworkRules(name).catch(() => {});
        await this.ports.dropBridgeRules(name);
      }
      await deleteLink(name).then(() => this.forgetBridge(name), (e: unknown) => log.warn('removing a stale bridge', { bridge: name, error: e }));
    }
  }

  /** berthd --bridge none: there is no default bridge network. */
  get bridgeDisabled(): boolean {
    return this.cfg.bridge === 'none';
  }

  /** Loads the records, makes the predefined networks, brings bridges and rules up. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.dir)) {
      if (isSetAside(f)) {
        this.problems.push(`WARNING: a network record was set aside as ${join(this.dir, f)} (unreadable); that network is left out until the file is removed`);
        continue;
      }
      if (!f.endsWith('.json') || f === 'bridges.json') continue;
      try {
        const rec = JSON.parse(await readFile(join(this.dir, f), 'utf8')) as NetworkRecord;
        if (typeof rec?.Id !== 'string' || typeof rec.Name !== 'string' || !rec.IPAM) throw new Error('not a network record');
        this.nets.set(rec.Id, { rec, names: new Map() });
      } catch (e) {
        // Set aside, never deleted: its bytes stay for whoever wants to look.
        const file = join(this.dir, f);
        const moved = await setAside(file).catch(() => file);
        this.problems.push(`WARNING: the network record ${file} is unreadable (${messageOf(e)}); it was moved to ${moved} and that network left out`);
        log.warn('unreadable network record set aside', { file: moved, error: e });
      }
    }
    if (!this.byName('none')) await this.save(this.predefined('none', 'null'));
    if (!this.byName('host')) await this.save(this.predefined('host', 'host'));
    let bridge = this.byName('bridge');
    if (this.bridgeDisabled) {
      // No default bridge (moby deletes its record at every start and makes it again unless
      // disabled); its link and rules go with the sweep below, as nothing claims them.
      if (bridge) {
        await rm(join(this.dir, `${bridge.rec.Id}.json`), { force: true });
        this.nets.delete(bridge.rec.Id);
      }
    } else if (!bridge) {
      // --bip names the bridge's address within its subnet
      const bip = this.cfg.bip ? parsePrefix(IPV4, this.cfg.bip, 'bip') : undefined;
      const subnet = bip ?? this.pickSubnet();
      const rec = this.predefined('bridge', 'bridge');
      rec.IPAM.Config = [{ Subnet: formatPrefix(IPV4, subnet), Gateway: IPV4.format(bip ? bip.ip : subnet.base + 1n) }];
      rec.Options = {
        'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        [BRIDGE_NAME]: this.cfg.bridge, 'com.docker.network.driver.mtu': String(this.cfg.mtu),
      };
      await this.save(rec);
      bridge = this.byName('bridge')!;
    } else if (this.cfg.bip) {
      // A changed bip moves the default bridge, as dockerd's does.
      const subnet = parsePrefix(IPV4, this.cfg.bip, 'bip');
      bridge.rec.IPAM.Config = [{ Subnet: formatPrefix(IPV4, subnet), Gateway: IPV4.format(subnet.ip) }];
      bridge.rec.Options[BRIDGE_NAME] = this.cfg.bridge;
      await this.save(bridge.rec);
    }
    if (bridge && !this.bridgeDisabled) await this.defaultBridgeIpv6(bridge);
    await prepareNetnsDir(this.netnsDir);
    if (this.cfg.iptables) {
      await enableForwarding().catch((e: unknown) => log.warn('cannot enable IP forwarding', { error: e }));
      await ensurePortChains();
    }
    await this.sweepBridges();
    for (const live of this.nets.values()) {
      if (live.rec.Driver === 'bridge') await this.up(live);
      else if (isLinkDriver(live.rec.Driver)) {
        // A parent that went away (a renamed interface) leaves the network without endpoints, not berthd down.
        await this.upLink(live).catch((e: unknown) => {
          this.problems.push(`WARNING: network ${live.rec.Name}: ${messageOf(e)}`);
          log.warn('macvlan/ipvlan network not ready', { network: live.rec.Name, error: e });
        });
      }
    }
  }

  /**
   * The default bridge's IPv6, as berthd's settings say at each start (dockerd's --ipv6 and
   * --fixed-cidr-v6): a subnet added, changed or taken away. The addresses of containers left
   * running on the bridge come from its record, so a changed subnet applies to new starts.
   */
  private async defaultBridgeIpv6(bridge: Live): Promise<void> {
    const rec = bridge.rec;
    const had = rec.IPAM.Config.find((c) => isV6Cidr(c.Subnet));
    const want = this.cfg.fixedCidrV6;
    if (this.cfg.ipv6 && had && rec.EnableIPv6 && (!want || formatPrefix(IPV6, parsePrefix(IPV6, want, 'fixed-cidr-v6')) === had.Subnet)) return;
    if (!this.cfg.ipv6 && !had && !rec.EnableIPv6) return;
    // The old subnet's address on the bridge and its ip6tables rules go with it.
    const name = this.bridgeOf(rec);
    if (this.cfg.iptables) await removeNetworkRules(name, { v4: false }).catch(() => {});
    await flushAddresses6(name);
    const others = rec.IPAM.Config.filter((c) => !isV6Cidr(c.Subnet));
    if (!this.cfg.ipv6) {
      rec.IPAM.Config = others;
      rec.EnableIPv6 = false;
      await this.save(rec);
      return;
    }
    rec.IPAM.Config = others;
    rec.EnableIPv6 = false;
    const v6 = this.ipamConfig(IPV6, want ? { Subnet: formatPrefix(IPV6, parsePrefix(IPV6, want, 'fixed-cidr-v6')) } : undefined, () => this.pickSubnet6());
    rec.IPAM.Config = [...others, v6];
    rec.EnableIPv6 = true;
    await this.save(rec);
  }

  private predefined(name: string, driver: NetworkRecord['Driver']): NetworkRecord {
    return {
      Name: name, Id: randomBytes(32).toString('hex'), Created: new Date().toISOString(), Scope: 'local', Driver: driver,
      EnableIPv4: driver === 'bridge', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false,
      Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Options: {}, Labels: {},
    };
  }

  private async save(rec: NetworkRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir, `${rec.Id}.json`), rec, 0o600);
    const live = this.nets.get(rec.Id);
    if (live) live.rec = rec;
    else this.nets.set(rec.Id, { rec, names: new Map() });
  }

  /** The bridge, its address pool and its rules. */
  private async up(live: Live): Promise<void> {
    const cfg = v4Config(live.rec);
    if (!cfg) return;
    live.bridge = this.bridgeOf(live.rec);
    live.pool ??= poolOf(IPV4, cfg, live.rec.IPAM.Options);
    const pool = live.pool;
    const cfg6 = v6Config(live.rec);
    if (cfg6) live.pool6 ??= poolOf(IPV6, cfg6, live.rec.IPAM.Options);
    const gatewayCidr = (p: AddressPool) => `${p.gatewayText}/${p.subnet.bits}`;
    await this.rememberBridge(live.bridge);
    await ensureBridge(live.bridge, gatewayCidr(pool), this.mtuOf(live), live.pool6 && gatewayCidr(live.pool6));
    if (this.cfg.iptables) {
      const o = bridgeOptions(live.rec.Options);
      const rules = { internal: live.rec.Internal, masquerade: o.masquerade, icc: o.icc };
      await addNetworkRules(live.bridge, formatPrefix(IPV4, pool.subnet), rules);
      if (cfg6) await addNetworkRules6(live.bridge, cfg6.Subnet, rules);
    }
    // User-defined networks resolve their containers' names (the default bridge does not, as in docker).
    if (live.rec.Name !== 'bridge' && !live.dns) live.dns = await NetworkDns.listen(pool.gatewayText, (name, from) => this.resolveName(live, name, from), (from) => this.upstreamOf(live, from));
  }

  /**
   * A macvlan/ipvlan network's parent link (made when this daemon makes it: a dummy one, or a
   * VLAN link `IF.VLAN`) and its address pools. No bridge, rules or DNS server.
   */
  private async upLink(live: Live, creating = false): Promise<void> {
    const rec = live.rec;
    const opts = linkOptions(rec.Driver as 'macvlan', rec.Options);
    const parent = this.parentOf(rec);
    if (!(await linkExists(parent))) {
      const vlan = opts.parent ? vlanOf(opts.parent) : undefined;
      if (opts.parent && !vlan) throw invalidParameter(`-o parent interface was not found on the host: ${opts.parent}`);
      if (vlan && !(await linkExists(vlan.base))) throw invalidParameter(`-o parent interface was not found on the host: ${vlan.base}`);
      await this.rememberBridge(parent);
      await makeParentLink(parent, vlan).catch((e: unknown) => {
        const why = vlan && /Unknown device type/i.test(messageOf(e)) ? 'this kernel has no 802.1Q VLAN support (CONFIG_VLAN_8021Q)' : messageOf(e);
        throw invalidParameter(`${vlan ? `failed to create ${parent} vlan link` : `failed to create the dummy parent link ${parent}`}: ${why}`);
      });
    }
    if (opts.driver === 'ipvlan' && creating) await this.probeIpvlan(parent);
    live.link = { opts, parent };
    const cfg = v4Config(rec);
    if (cfg) live.pool ??= poolOf(IPV4, cfg, live.rec.IPAM.Options);
    const cfg6 = v6Config(rec);
    if (cfg6) live.pool6 ??= poolOf(IPV6, cfg6, live.rec.IPAM.Options);
  }

  /** Whether the kernel makes ipvlan links (CONFIG_IPVLAN): asked once, when the network is created. */
  private async probeIpvlan(parent: string): Promise<void> {
    const probe = `bip${randomBytes(5).toString('hex')}`;
    const r = await runCommand('ip', ['link', 'add', 'link', parent, 'name', probe, 'type', 'ipvlan', 'mode', 'l2']);
    if (r.code === 0) {
      await deleteLink(probe).catch(() => {});
      return;
    }
    if (/Unknown device type/i.test(r.stderr)) throw invalidParameter('this kernel has no ipvlan support (CONFIG_IPVLAN): ipvlan networks cannot be made on this host');
    throw invalidParameter(`failed to create an ipvlan link on ${parent}: ${r.stderr.trim()}`);
  }

  /** A macvlan/ipvlan network's parent removed when this daemon made it and no other network uses it. */
  private async downLink(live: Live): Promise<void> {
    const parent = this.parentOf(live.rec);
    if (!this.bridges.has(parent)) return;
    if ([...this.nets.values()].some((l) => l !== live && isLinkDriver(l.rec.Driver) && this.parentOf(l.rec) === parent)) return;
    await deleteLink(parent).then(() => this.forgetBridge(parent), (e: unknown) => log.warn('removing a parent link', { link: parent, error: e }));
  }

  /** The endpoint on `live` whose address is `from` (the container asking its DNS server). */
  private endpointAt(live: Live, from: string): NamedEndpoint | undefined {
    for (const e of live.names.values()) if (e.ip === from) return e;
    return undefined;
  }

  /** The --dns servers of the container at `from` (an address on `live`). */
  private upstreamOf(live: Live, from: string): string[] {
    return this.endpointAt(live, from)?.upstream ?? [];
  }

  /** `name` as the container at `from` (an address on `live`) sees it: on its networks with DNS. */
  private resolveName(live: Live, name: string, from: string): string[] | undefined {
    const me = this.endpointAt(live, from);
    return me ? this.namesFor(me.container, name) : undefined;
  }

  /** The nameserver of a container on networks `refs`: the first one's DNS server that has one. */
  nameserverFor(refs: string[]): string | undefined {
    for (const ref of refs) {
      const live = this.find(ref);
      if (live?.dns) return v4Config(live.rec)?.Gateway;
    }
    // On macvlan/ipvlan networks alone: docker's address, relayed by the container's monitor (relayDns).
    if (refs.some((r) => this.find(r)?.link)) return RELAY_ADDRESS;
    return undefined;
  }

  /** What `host-gateway` stands for in --add-host: the default bridge's gateway addresses (moby's default HostGatewayIPs). */
  hostGatewayIps(): string[] {
    const bridge = this.byName('bridge');
    if (!bridge || this.bridgeDisabled) return [];
    return [v4Config(bridge.rec)?.Gateway, v6Config(bridge.rec)?.Gateway].filter((g): g is string => !!g);
  }

  /** Whether a container on these endpoints' networks needs the DNS relay (a macvlan/ipvlan one among them). */
  needsRelay(endpoints: Pick<EndpointRecord, 'NetworkID'>[]): boolean {
    return endpoints.some((ep) => !!this.nets.get(ep.NetworkID)?.link);
  }

  /**
   * In the container's namespace, 127.0.0.11:53 (UDP) goes to the relay socket's `port`, as
   * docker redirects it to its resolver: the nat table there is Berth's (as it is docker's).
   */
  async redirectDns(netns: string, port: number): Promise<void> {
    const rules = [
      '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
      `-A OUTPUT -d ${RELAY_ADDRESS}/32 -p udp -m udp --dport 53 -j DNAT --to-destination ${RELAY_ADDRESS}:${port}`,
      `-A POSTROUTING -s ${RELAY_ADDRESS}/32 -p udp -m udp --sport ${port} -j SNAT --to-source :53`,
      'COMMIT', '',
    ].join('\n');
    await runChecked('nsenter', [`--net=${netns}`, 'iptables-restore', '-w'], rules);
  }

  /** Answers the queries the container's relay carries: names on its networks, others forwarded. */
  relayDns(containerId: string, sock: NetSocket, upstreams: () => string[]): void {
    serveRelay(sock, (name) => this.namesFor(containerId, name), upstreams);
  }

  /**
   * `name` as a container sees it on its user-defined networks (bridges with DNS,
   * macvlan/ipvlan), whichever server it asked: a link's alias is a name for it alone.
   */
  private namesFor(containerId: string, name: string): string[] {
    const mine = [...this.nets.values()].filter((l) => (l.dns || l.link) && [...l.names.values()].some((e) => e.container === containerId));
    const me = mine.flatMap((l) => [...l.names.values()].filter((e) => e.container === containerId));
    const wanted = me.map((e) => e.links[name]).find((n) => n !== undefined) ?? name;
    const out: string[] = [];
    for (const l of mine) for (const e of l.names.values()) if (e.names.some((n) => n.toLowerCase() === wanted)) out.push(e.ip, ...(e.ip6 ? [e.ip6] : []));
    return out;
  }

  private mtuOf(live: Live): number {
    return bridgeOptions(live.rec.Options).mtu ?? this.cfg.mtu;
  }

  /** A subnet from the pools that no network and no host route overlaps. */
  private pickSubnet(): Prefix {
    const taken: Prefix[] = hostRoutes().map((r) => ({ base: BigInt(r.base), bits: r.bits }));
    for (const l of this.nets.values()) for (const c of l.rec.IPAM.Config) if (!isV6Cidr(c.Subnet)) taken.push(parsePrefix(IPV4, c.Subnet));
    for (const p of this.cfg.pools) {
      const base = parsePrefix(IPV4, p.base, 'pool');
      for (let i = 0n; i < 1n << BigInt(p.size - base.bits); i++) {
        const c: Prefix = { base: base.base + (i << BigInt(32 - p.size)), bits: p.size };
        if (!taken.some((t) => prefixOverlaps(IPV4, t, c))) return c;
      }
    }
    throw invalidParameter('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  byName(name: string): Live | undefined {
    for (const l of this.nets.values()) if (l.rec.Name === name) return l;
    return undefined;
  }

  /** docker's lookup: full ID, then name, then a unique ID prefix. */
  get(ref: string): NetworkRecord {
    const live = this.find(ref);
    if (!live) throw notFound(`network ${ref} not found`);
    return live.rec;
  }

  private find(ref: string): Live | undefined {
    const exact = this.nets.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const matches = [...this.nets.values()].filter((l) => l.rec.Id.startsWith(ref));
    if (matches.length > 1) throw invalidParameter(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    return matches[0];
  }

  list(): NetworkRecord[] {
    return [...this.nets.values()].map((l) => l.rec);
  }

  bridgeName(rec: NetworkRecord): string | undefined {
    return this.nets.get(rec.Id)?.bridge;
  }

  async create(req: {
    Name: string; Driver?: string; Internal?: boolean; Attachable?: boolean; Labels?: Record<string, string>; Options?: Record<string, string>;
    IPAM?: { Driver?: string; Options?: Record<string, string>; Config?: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }[] };
    CheckDuplicate?: boolean; EnableIPv4?: boolean; EnableIPv6?: boolean; Scope?: string; Ingress?: boolean; ConfigOnly?: boolean; ConfigFrom?: { Network?: string };
  }): Promise<{ Id: string; Warning: string }> {
    const name = req.Name;
    if (!name) throw invalidParameter('network name cannot be empty');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidParameter(`invalid network name "${name}", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (['bridge', 'host', 'none'].includes(name) && (this.byName(name) || name === 'bridge')) throw conflict(`${name} is a pre-defined network and cannot be created`);
    if (this.byName(name)) throw conflict(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw conflict(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge' && !isLinkDriver(driver)) throw notFound(`plugin "${driver}" not found`);
    if (req.EnableIPv4 === false) throw invalidParameter('EnableIPv4: networks without IPv4 are not supported by Berth yet');
    if (req.Scope && req.Scope !== 'local') throw invalidParameter(`Scope: a ${driver} network's scope can only be "local" (swarm is not part of Berth)`);
    if (req.Ingress) throw invalidParameter('Ingress: ingress networks belong to swarm mode, which Berth does not have');
    if (req.ConfigOnly || req.ConfigFrom?.Network) throw invalidParameter(`${req.ConfigOnly ? 'ConfigOnly' : 'ConfigFrom'}: configuration-only networks are not supported by Berth yet`);
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw notFound(`plugin "${req.IPAM.Driver}" not found`);
    // Sorted by family, as moby's getIpamConfig sorts them (a config without a subnet counts as IPv4).
    const all = req.IPAM?.Config ?? [];
    const configs = all.filter((c) => !c.Subnet || !isV6Cidr(c.Subnet));
    const configs6 = all.filter((c) => c.Subnet && isV6Cidr(c.Subnet));
    if (configs.length > 1) throw invalidParameter('Berth supports one IPv4 subnet per network');
    if (configs6.length > 1) throw invalidParameter('Berth supports one IPv6 subnet per network');
    if (configs6.length && !req.EnableIPv6) throw invalidParameter(`an IPv6 subnet (${configs6[0]!.Subnet}) needs IPv6 enabled on the network (--ipv6)`);
    const options = { ...(req.Options ?? {}) };
    if (isLinkDriver(driver)) {
      const lo = linkOptions(driver, options);
      // moby: a passthru link takes its parent whole
      const parent = lo.parent;
      for (const l of this.nets.values()) {
        if (!parent || !isLinkDriver(l.rec.Driver) || this.parentOf(l.rec) !== parent) continue;
        if (lo.mode === 'passthru') throw conflict(`cannot use mode passthru, macvlan network ${l.rec.Id} is already using parent interface ${parent}`);
        if (l.rec.Options.macvlan_mode === 'passthru') throw conflict(`macvlan network ${l.rec.Id} is already using parent interface ${parent} in mode passthru`);
      }
    }
    const opts = isLinkDriver(driver) ? bridgeOptions({}, true) : bridgeOptions(options, true);
    if (!opts.icc) {
      if (!this.cfg.iptables) throw invalidParameter(`${ICC}=false needs the firewall, and berthd runs with iptables disabled`);
      // bridged traffic passes iptables only through br_netfilter (docker loads it for icc=false)
      if (!existsSync(BRIDGE_NF)) throw invalidParameter(`${ICC}=false needs the br_netfilter kernel module (modprobe br_netfilter)`);
    }
    const v4 = this.ipamConfig(IPV4, configs[0], () => this.pickSubnet());
    const v6 = req.EnableIPv6 ? this.ipamConfig(IPV6, configs6[0], () => this.pickSubnet6()) : undefined;
    const bridge = options[BRIDGE_NAME];
    if (bridge && [...this.nets.values()].some((l) => l.bridge === bridge)) throw conflict(`bridge name ${bridge} is already in use`);
    const rec = this.predefined(name, driver);
    rec.EnableIPv4 = true;
    rec.Internal = !!req.Internal;
    rec.Attachable = !!req.Attachable;
    rec.Labels = req.Labels ?? {};
    rec.Options = options;
    rec.IPAM.Config = [v4, ...(v6 ? [v6] : [])];
    rec.EnableIPv6 = !!v6;
    const auto = [...(configs[0]?.Subnet ? [] : ['IPv4' as const]), ...(v6 && !configs6[0]?.Subnet ? ['IPv6' as const] : [])];
    if (auto.length) rec.AutoSubnets = auto;
    // The default IPAM driver keeps its options and shows them, using none (as docker's).
    rec.IPAM.Options = req.IPAM?.Options ? { ...req.IPAM.Options } : req.IPAM?.Config?.length ? null : {};
    const live: Live = { rec, names: new Map() };
    try {
      await (isLinkDriver(driver) ? this.upLink(live, true) : this.up(live));
    } catch (e) {
      await this.down(live);
      throw e;
    }
    failpoint('network-create-after-bridge');
    await this.save(rec);
    this.nets.set(rec.Id, live);
    return { Id: rec.Id, Warning: '' };
  }

  /**
   * A network's subnet of family `f`, checked as docker checks it: given (host bits zero, no
   * overlap with another network's), or else `pick`ed; the gateway is the subnet's first
   * address unless given; an ip-range, the gateway and auxiliary addresses must be in it.
   */
  private ipamConfig(f: Family, c: { Subnet?: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> } | undefined, pick: () => Prefix): IpamConfig {
    let subnet: Prefix & { ip?: bigint };
    if (c?.Subnet) {
      subnet = parsePrefix(f, c.Subnet, 'subnet');
      if (subnet.ip !== subnet.base) throw invalidParameter(`invalid subnet ${c.Subnet}: it should be ${formatPrefix(f, subnet)}`);
      if (f === IPV6 && subnet.bits > 126) throw invalidParameter(`invalid subnet ${c.Subnet}: an IPv6 subnet needs room for a gateway and containers (a /126 at most)`);
      for (const l of this.nets.values()) {
        for (const o of l.rec.IPAM.Config) if (familyOf(o.Subnet) === f && prefixOverlaps(f, parsePrefix(f, o.Subnet), subnet)) throw conflict(`invalid pool request: Pool overlaps with other one on this address space`);
      }
    } else {
      if (f === IPV4 && (c?.Gateway || c?.IPRange)) throw invalidParameter('a gateway or an ip-range needs a subnet');
      subnet = pick();
    }
    const inSubnet = (ip: bigint) => prefixContains(f, subnet, ip);
    let gateway = subnet.base + 1n;
    if (c?.Gateway) {
      const g = f.parse(c.Gateway);
      if (g === undefined) throw invalidParameter(`invalid gateway address ${c.Gateway}`);
      if (!inSubnet(g)) throw invalidParameter(`no matching subnet for gateway ${c.Gateway}`);
      gateway = g;
    }
    let range: string | undefined;
    if (c?.IPRange) {
      const r = parsePrefix(f, c.IPRange, 'ip-range');
      if (r.bits < subnet.bits || !prefixOverlaps(f, r, subnet)) throw invalidParameter(`invalid ip-range ${c.IPRange}: it must be within the subnet ${formatPrefix(f, subnet)}`);
      // IPv4's is kept as given, as it always was; IPv6's in its canonical text
      range = f === IPV6 ? formatPrefix(f, r) : c.IPRange;
    }
    const aux: Record<string, string> = {};
    for (const [key, addr] of Object.entries(c?.AuxiliaryAddresses ?? {})) {
      const ip = f.parse(addr);
      if (ip === undefined) throw invalidParameter(`invalid auxiliary address ${key}=${addr}`);
      if (!inSubnet(ip)) throw invalidParameter(`no matching subnet for aux-address ${addr}`);
      if (ip === gateway) throw invalidParameter(`auxiliary address ${key}=${addr} is the gateway's`);
      aux[key] = f.format(ip);
    }
    return { Subnet: formatPrefix(f, subnet), Gateway: f.format(gateway), ...(range ? { IPRange: range } : {}), ...(Object.keys(aux).length ? { AuxiliaryAddresses: aux } : {}) };
  }

  private pickSubnet6(): Prefix {
    const taken: Prefix[] = [...hostRoutes6()];
    for (const l of this.nets.values()) for (const c of l.rec.IPAM.Config) if (isV6Cidr(c.Subnet)) taken.push(parsePrefix(IPV6, c.Subnet));
    let hostId = this.cfg.hostId;
    if (hostId === undefined) {
      try {
        hostId = readFileSync(join(this.cfg.dataRoot, 'engine-id'), 'utf8').trim();
      } catch {
        hostId = '';
      }
    }
    const sha = createHash('sha256').update(hostId).digest();
    const gid = sha.readBigUInt64BE(0) & ((1n << 40n) - 1n);
    const base = (0xfdn << 120n) | (gid << 80n);
    for (let i = 0n; i < 1n << 16n; i++) {
      const c: Prefix = { base: base | (i << 64n), bits: 64 };
      if (!taken.some((t) => prefixOverlaps(IPV6, t, c))) return c;
    }
    throw invalidParameter('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
  }

  private async down(live: Live): Promise<void> {
    if (isLinkDriver(live.rec.Driver)) return this.downLink(live);
    live.dns?.close();
    live.dns = undefined;
    const bridge = live.bridge ?? this.bridgeOf(live.rec);
    if (this.cfg.iptables) await removeNetworkRules(bridge, { v6: live.rec.EnableIPv6 }).catch(() => {});
    await this.ports.dropBridgeRules(bridge).catch(() => {});
    // Forgotten only once gone: one that could not be removed is tried again at the next start.
    await deleteLink(bridge).then(() => this.forgetBridge(bridge), (e: unknown) => log.warn('removing a bridge', { bridge, error: e }));
  }

  /** Removes a user-defined network; `endpoints` are those on it (`name:"C" id:"E"`, moby's words). */
  async remove(ref: string, endpoints: string[]): Promise<void> {
    const live = this.find(ref);
    if (!live) throw notFound(`network ${ref} not found`);
    if (['bridge', 'host', 'none'].includes(live.rec.Name)) throw conflict(`${live.rec.Name} is a pre-defined network and cannot be removed`);
    if (endpoints.length) throw forbidden(`error while removing network: network ${live.rec.Name} has active endpoints (${endpoints.join(', ')})`);
    await this.down(live);
    await rm(join(this.dir, `${live.rec.Id}.json`), { force: true });
    this.nets.delete(live.rec.Id);
  }

  /** The container's network namespace file (made here, before the runtime creates it). */
  sandboxPath(containerId: string): string {
    return join(this.netnsDir, containerId);
  }

  /**
   * The sandbox with its endpoints (`joins`, the first one carrying the default route), made
   * in one pass: one process inside the new namespace, one outside. All or nothing.
   */
  async createSandbox(containerId: string, joins: (JoinOptions & { ref: string })[]): Promise<{ path: string; endpoints: EndpointRecord[] }> {
    const path = this.sandboxPath(containerId);
    await this.settle(containerId);
    await deleteNetns(path);
    const made: { live: Live; ep: EndpointRecord; veth?: VethConfig; sub?: SubLinkConfig; opts: JoinOptions }[] = [];
    try {
      for (const j of joins) made.push({ ...this.allocate(containerId, j.ref, j), opts: j });
      await createNetns(path, made.flatMap((m) => (m.veth ? [m.veth] : [])), made.flatMap((m) => (m.sub ? [m.sub] : [])));
    } catch (e) {
      for (const m of made) this.release(m.ep);
      throw e;
    }
    for (const m of made) m.live.names.set(m.ep.EndpointID, namedEndpoint(containerId, m.ep, m.opts.dnsNames, m.opts.links, m.opts.dns));
    return { path, endpoints: made.map((m) => m.ep) };
  }

  /** Waits for the container's last sandbox to be gone (its removal is not waited for at exit). */
  async settle(containerId: string): Promise<void> {
    await this.removing.get(containerId);
  }

  /**
   * The sandbox and the endpoints in it, gone. Addresses and ports are free at once; the
   * namespace (and the veths with it) goes in the background, so an exit is not held up:
   * settle() waits for it.
   */
  deleteSandbox(containerId: string, endpoints: EndpointRecord[]): void {
    for (const ep of endpoints) this.release(ep);
    const done = deleteNetns(this.sandboxPath(containerId)).catch((e: unknown) => log.warn('removing a network namespace', { id: containerId, error: e })).finally(() => {
      if (this.removing.get(containerId) === done) this.removing.delete(containerId);
    });
    this.removing.set(containerId, done);
  }

  /** An address and a veth's (or a macvlan/ipvlan link's) settings for an endpoint on `ref` (nothing made yet). */
  private allocate(containerId: string, ref: string, opts: JoinOptions): { live: Live; ep: EndpointRecord; veth?: VethConfig; sub?: SubLinkConfig } {
    const live = this.find(ref);
    if (!live) throw notFound(`network ${ref} not found`);
    if (isLinkDriver(live.rec.Driver) && !live.link) throw invalidParameter(`network ${live.rec.Name} is not ready: ${this.problems.find((p) => p.includes(`network ${live.rec.Name}:`)) ?? 'its parent link is missing'}`);
    if (!live.pool || (!live.bridge && !live.link)) throw invalidParameter(`network ${live.rec.Name} takes no endpoints`);
    if (live.link?.opts.driver === 'ipvlan' && opts.mac) throw invalidParameter('ipvlan interfaces do not support custom mac address assignment');
    // moby's validateEndpointIPAddress
    for (const [fam, want] of [['IPv4', opts.ip], ['IPv6', opts.ip6]] as const) {
      if (want && live.rec.AutoSubnets?.includes(fam)) throw invalidParameter('invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets');
    }
    if (opts.ip6 && !live.pool6) throw invalidParameter(`invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets: network ${live.rec.Name} has no IPv6 (created without --ipv6)`);
    const ip = live.pool.allocate(opts.ip);
    let ip6: string | undefined;
    try {
      ip6 = live.pool6?.allocate(opts.ip6);
    } catch (e) {
      live.pool.release(ip);
      throw e;
    }
    const pool6 = live.pool6;
    const gateway6 = pool6 ? pool6.gatewayText : '';
    const endpointId = randomBytes(32).toString('hex');
    const mac = live.link?.opts.driver === 'ipvlan' ? '' : opts.mac || macFor(ip);
    // A gateway to route through: none on an internal network, nor on a macvlan/ipvlan one
    // without a parent of the user's (moby takes that as internal).
    const hasGateway = !live.rec.Internal && (!live.link || !!live.link.opts.parent);
    const routed = opts.gateway && hasGateway;
    const iface = {
      ifName: opts.ifName, cidr: `${ip}/${live.pool.subnet.bits}`, ...(routed ? { gateway: live.pool.gatewayText } : {}),
      ...(ip6 && pool6 ? { cidr6: `${ip6}/${pool6.subnet.bits}`, ...(routed ? { gateway6 } : {}) } : {}),
      ...(opts.linkLocal?.length ? { linkLocal: opts.linkLocal.map((a) => `${a}/${a.includes(':') ? 64 : 16}`) } : {}),
      ...(opts.sysctls?.length ? { sysctls: opts.sysctls } : {}),
    };
    const hostVeth = live.link ? undefined : `${PREFIX}${endpointId.slice(0, 10)}`;
    const ep: EndpointRecord = {
      IPAMConfig: opts.ip || opts.ip6 || opts.linkLocal?.length ? { ...(opts.ip ? { IPv4Address: opts.ip } : {}), ...(opts.ip6 ? { IPv6Address: opts.ip6 } : {}), ...(opts.linkLocal?.length ? { LinkLocalIPs: opts.linkLocal } : {}) } : null, Links: opts.links?.length ? opts.links : null, Aliases: opts.aliases?.length ? opts.aliases : null,
      MacAddress: mac, DriverOpts: opts.driverOpts ?? null, GwPriority: opts.gwPriority ?? 0, NetworkID: live.rec.Id, EndpointID: endpointId, Gateway: hasGateway ? live.pool.gatewayText : '',
      IPAddress: ip, IPPrefixLen: live.pool.subnet.bits,
      IPv6Gateway: ip6 && hasGateway ? gateway6 : '', GlobalIPv6Address: ip6 ?? '', GlobalIPv6PrefixLen: ip6 && pool6 ? pool6.subnet.bits : 0, DNSNames: (live.dns || live.link) && opts.dnsNames?.length ? opts.dnsNames : null,
      ...(hostVeth ? { HostVeth: hostVeth } : {}), IfName: opts.ifName,
    };
    if (live.link) return { live, ep, sub: { ...iface, parent: live.link.parent, type: linkType(live.link.opts), tmpName: `mv${endpointId.slice(0, 10)}`, ...(mac ? { mac } : {}) } };
    return { live, ep, veth: { ...iface, hostName: hostVeth!, bridge: live.bridge!, netns: this.sandboxPath(containerId), mac, mtu: this.mtuOf(live) } };
  }

  /** An endpoint on `ref` added to a running container's sandbox (network connect). */
  async join(containerId: string, ref: string, opts: JoinOptions): Promise<EndpointRecord> {
    const { live, ep, veth, sub } = this.allocate(containerId, ref, opts);
    try {
      if (sub) await addSublink(this.sandboxPath(containerId), sub);
      else await addEndpoint(veth!);
    } catch (e) {
      this.release(ep);
      throw e;
    }
    live.names.set(ep.EndpointID, namedEndpoint(containerId, ep, opts.dnsNames, opts.links, opts.dns));
    return ep;
  }

  /** A running container's default route through `ep`'s network (its gateway left, or was outranked). */
  async routeThrough(containerId: string, ep: EndpointRecord): Promise<void> {
    if (!ep.Gateway || !ep.IfName) return;
    await setDefaultRoute(this.sandboxPath(containerId), ep.Gateway, ep.IfName, ep.IPv6Gateway || undefined);
  }

  /** A running container's endpoint gone (disconnect): its veth (or its link in the namespace) removed, its address given back. */
  async leave(containerId: string, ep: EndpointRecord): Promise<void> {
    if (ep.HostVeth) await deleteLink(ep.HostVeth);
    else if (ep.IfName && this.nets.get(ep.NetworkID)?.link) await deleteLinkIn(this.sandboxPath(containerId), ep.IfName);
    this.release(ep);
  }

  /** `docker rename`: the embedded DNS answers the container's new name, not the old one. */
  renameEndpoint(ep: EndpointRecord, oldName: string, newName: string): void {
    const entry = this.nets.get(ep.NetworkID)?.names.get(ep.EndpointID);
    if (entry) entry.names = entry.names.map((n) => (n === oldName ? newName : n));
  }

  /** Gives an endpoint's address back to its network's pool. */
  release(ep: EndpointRecord): void {
    const live = this.nets.get(ep.NetworkID);
    if (live?.pool && ep.IPAddress) live.pool.release(ep.IPAddress);
    if (live?.pool6 && ep.GlobalIPv6Address) live.pool6.release(ep.GlobalIPv6Address);
    live?.names.delete(ep.EndpointID);
  }

  /** At start: the addresses of running containers' endpoints are taken (`dns`: its --dns servers). */
  reserve(containerId: string, ep: EndpointRecord, dns: string[] = []): void {
    const live = this.nets.get(ep.NetworkID);
    if (live?.pool && ep.IPAddress) live.pool.reserve(ep.IPAddress);
    if (live?.pool6 && ep.GlobalIPv6Address) live.pool6.reserve(ep.GlobalIPv6Address);
    if (live && ep.IPAddress) live.names.set(ep.EndpointID, namedEndpoint(containerId, ep, ep.DNSNames, ep.Links, dns));
  }

  /** Publishes a container's ports on the network its endpoint `ep` is on. */
  async publish(containerId: string, ep: EndpointRecord, reqs: PortRequest[]): Promise<PublishedPort[]> {
    const live = this.nets.get(ep.NetworkID);
    // A macvlan/ipvlan container is reached at its own address: nothing to publish (docker's drivers publish nothing either).
    // an internal network has no way out to publish through (moby publishes nothing there either)
    if (live?.link || live?.rec.Internal) return [];
    if (!live?.bridge) throw invalidParameter('ports can be published only from a bridge network');
    // a port without a host address goes where the network's host_binding_ipv4 says (moby's defHostIP)
    const def = bridgeOptions(live.rec.Options).hostBindingIp;
    const placed = def === '0.0.0.0' ? reqs : reqs.map((r) => (r.hostIp === '' ? { ...r, hostIp: def } : r));
    return this.ports.publish(containerId, live.bridge, portTarget(ep), placed);
  }

  async unpublish(containerId: string): Promise<void> {
    await this.ports.unpublish(containerId);
  }

  /**
   * At start: running containers' ports held and their rules in place again (`published`, by
   * container: its endpoint and ports); rules of containers not running removed.
   */
  async restorePorts(published: { id: string; ep: EndpointRecord; ports: PublishedPort[] }[]): Promise<void> {
    const tagged = await this.ports.tagged();
    for (const live of this.nets.values()) {
      if (!live.bridge) continue;
      const mine = published.filter((p) => p.ep.NetworkID === live.rec.Id);
      const present = tagged.get(live.bridge) ?? new Map();
      await this.ports.sweep(live.bridge, present, new Set(mine.map((p) => p.id.slice(0, 12))));
      for (const p of mine) {
        await this.ports.restore(p.id, live.bridge, portTarget(p.ep), p.ports, present.get(p.id.slice(0, 12)) ?? new Set())
          .catch((e: unknown) => log.warn('restoring published ports', { id: p.id, error: e }));
      }
    }
  }

  /** Stops the DNS servers and port proxies (daemon shutdown). */
  close(): void {
    for (const l of this.nets.values()) l.dns?.close();
    this.ports.close();
  }

  /** At start, after reserve(): sandboxes and veths that no running container owns. */
  async sweep(live: Set<string>, liveVeths: Set<string>): Promise<void> {
    for (const f of await readdir(this.netnsDir).catch(() => [] as string[])) {
      if (!live.has(f)) await deleteNetns(join(this.netnsDir, f));
    }
    // Only veths on our own bridges: another daemon's are not ours to judge.
    for (const l of this.nets.values()) {
      if (!l.bridge) continue;
      for (const v of await linksOf(l.bridge)) if (!liveVeths.has(v) && v.startsWith(PREFIX)) await deleteLink(v).catch(() => {});
    }
  }
}

/** Endpoint links ("name:alias", "name") as alias → name, lower-cased as DNS asks. */
function linkMap(links: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of links ?? []) {
    const [name, alias = name] = l.replace(/^\//, '').split(':');
    out[alias.split('/').pop()!.toLowerCase()] = name.toLowerCase();
  }
  return out;
}
