/**
 * Published ports (libnetwork's portmapper and portallocator). Each binding is served by the
 * kernel: a DNAT rule in BERTH-DNAT (reached from PREROUTING and OUTPUT for local addresses,
 * loopback included, as the bridge routes 127/8 with route_localnet), an ACCEPT in
 * BERTH-FORWARD and a hairpin masquerade, all tagged `berth-port:<bridge>:<container>`. berthd
 * also holds the host port itself (a listening TCP socket, a bound UDP one): that reserves it
 * against other programs, tells "address already in use" at start rather than later, and
 * serves as a userland proxy wherever NAT does not apply (the daemon started with
 * `iptables: false`). docker-proxy proxies every loopback connection in userland; here the
 * kernel does, which is why loopback throughput is the kernel's.
 *
 * A binding without a host address is made on 0.0.0.0 and [::] with the same port, as moby 28
 * makes it when the host has IPv6. IPv6 bindings of a container with an IPv6 address get the
 * same rules in ip6tables; the others (an IPv4-only container, and [::1], which the kernel
 * cannot DNAT) are relayed by berthd's held socket, to the container's IPv6 address or else its
 * IPv4 one (what docker-proxy does for dockerd).
 */
import { createServer, connect, isIPv6, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { conflict, EngineError } from '../errdefs/index.ts';
import { log } from '../lib/log.ts';
import { ensurePortChains6, iptablesRestore, listRules, type Family } from './nat.ts';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** One binding asked for: a container port to a host address and port (0, or a range, to pick). */
export interface PortRequest {
  proto: 'tcp' | 'udp';
  containerPort: number;
  /** '' for every address: 0.0.0.0 and, where the host has IPv6, [::]. */
  hostIp: string;
  hostPortLow: number;
  hostPortHigh: number;
}

/** A binding as made: what `NetworkSettings.Ports` shows. */
export interface PublishedPort {
  proto: 'tcp' | 'udp';
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

interface Held {
  port: PublishedPort;
  close: () => void;
}

/** The container's addresses on the network whose bridge publishes its ports. */
export interface PortTarget {
  ip4: string;
  ip6?: string;
}

const family = (ip: string) => (ip.includes(':') ? 6 : 4);
const unspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';
/** `0.0.0.0:80`, `[::]:80`, as docker writes a host address and port. */
const hostLabel = (ip: string, port: number | string) => (family(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);

let v6Listenable: Promise<boolean> | undefined;

/** Whether the host can listen on IPv6 at all (moby's netutils.IsV6Listenable), asked once. */
function canListenV6(): Promise<boolean> {
  return (v6Listenable ??= new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '::1', port: 0 }, () => s.close(() => resolve(true)));
  }));
}

const TAG = 'berth-port';

export class PortMapper {
  private readonly iptables: boolean;
  /** "proto/port" → the holders of that host port, by host address. */
  private readonly taken = new Map<string, Map<string, string>>();
  private readonly held = new Map<string, Held[]>();
  private readonly rules = new Map<string, { bridge: string; lines: RuleLine[] }>();
  private nextEphemeral = 0;
  private chains6: Promise<void> | undefined;

  constructor(iptables: boolean) {
    this.iptables = iptables;
  }

  /**
   * Publishes `reqs` for the container at `target` on `bridge`; all or nothing. Ports
   * asked for by number are checked against other containers first ("port is already
   * allocated"), then bound.
   */
  async publish(cid: string, bridge: string, target: PortTarget, reqs: PortRequest[]): Promise<PublishedPort[]> {
    const done: Held[] = [];
    try {
      for (const r of reqs) done.push(...(await this.hold(cid, target, r)));
      const lines = this.iptables ? ruleLines(bridge, cid, target, done.map((h) => h.port)) : [];
      if (lines.length) {
        await this.apply(lines, '-A');
        this.rules.set(cid, { bridge, lines });
      }
    } catch (e) {
      for (const h of done) this.free(cid, h);
      throw e;
    }
    this.held.set(cid, done);
    return done.map((h) => h.port);
  }

  /**
   * After a daemon restart: the container's ports held again and its rules made where they
   * are missing (`present`: the families whose rules of the container's survived the restart).
   */
  async restore(cid: string, bridge: string, target: PortTarget, ports: PublishedPort[], present: ReadonlySet<Family>): Promise<void> {
    const done: Held[] = [];
    for (const p of ports) {
      try {
        done.push(...(await this.hold(cid, target, { proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPortLow: p.hostPort, hostPortHigh: p.hostPort })));
      } catch (e) {
        log.warn('cannot hold a published port again', { id: cid, port: p.hostPort, error: e });
      }
    }
    this.held.set(cid, done);
    const lines = this.iptables ? ruleLines(bridge, cid, target, ports) : [];
    if (!lines.length) return;
    this.rules.set(cid, { bridge, lines });
    const missing = lines.filter((l) => !present.has(l.family));
    if (!missing.length) return;
    // what is left of a family that lost its DNAT rule goes first: nothing is doubled
    await removeTagged(`${TAG}:${bridge}:${cid.slice(0, 12)}`, [...new Set(missing.map((l) => l.family))]);
    await this.apply(missing, '-A');
  }

  /**
   * Adds or deletes rules, one iptables-restore per family: all of them or none (IPv4's
   * taken back when IPv6's fail).
   */
  private async apply(lines: RuleLine[], op: '-A' | '-D'): Promise<void> {
    const of = (f: Family) => lines.filter((l) => l.family === f).map((l) => ({ table: l.table, rule: l.rule, op }));
    const v4 = of('iptables');
    const v6 = of('ip6tables');
    if (v6.length && op === '-A') await (this.chains6 ??= ensurePortChains6().catch((e: unknown) => {
      this.chains6 = undefined;
      throw e;
    }));
    if (v4.length) await iptablesRestore(v4);
    if (!v6.length) return;
    try {
      await iptablesRestore(v6, 'ip6tables');
    } catch (e) {
      if (op === '-A' && v4.length) await iptablesRestore(v4.map((r) => ({ ...r, op: '-D' as const }))).catch(() => {});
      throw e;
    }
  }

  /** The container's ports given back and its rules removed (exit, failed start). */
  async unpublish(cid: string): Promise<void> {
    for (const h of this.held.get(cid) ?? []) this.free(cid, h);
    this.held.delete(cid);
    const r = this.rules.get(cid);
    this.rules.delete(cid);
    if (!r) return;
    // Deleting exactly what was added is one process per family; a rule someone removed makes
    // it fail, and then each rule of the container's is found by its tag.
    await this.apply(r.lines, '-D').catch(() => removeTagged(`${TAG}:${r.bridge}:${cid.slice(0, 12)}`));
  }

  /**
   * The containers (short IDs) whose rules are in place now, by bridge, with the families they
   * are in: one listing per family for every bridge (this runs at start).
   */
  async tagged(): Promise<Map<string, Map<string, Set<Family>>>> {
    const out = new Map<string, Map<string, Set<Family>>>();
    if (!this.iptables) return out;
    const re = new RegExp(`${TAG}:([^:\\s"]+):([0-9a-f]{12})`);
    for (const f of ['iptables', 'ip6tables'] as const) {
      for (const line of await listRules('nat', 'BERTH-DNAT', f)) {
        const m = re.exec(line);
        if (!m) continue;
        const byId = out.get(m[1]) ?? new Map<string, Set<Family>>();
        byId.set(m[2], (byId.get(m[2]) ?? new Set<Family>()).add(f));
        out.set(m[1], byId);
      }
    }
    return out;
  }

  /** At start: rules on `bridge` of containers (short IDs) in `present` but not in `keep` removed. */
  async sweep(bridge: string, present: Map<string, Set<Family>>, keep: Set<string>): Promise<void> {
    if (!this.iptables) return;
    for (const short of present.keys()) if (!keep.has(short)) await removeTagged(`${TAG}:${bridge}:${short}`);
  }

  /** A bridge going away: any published-port rule still tagged with it, of any container, goes too. */
  async dropBridgeRules(bridge: string): Promise<void> {
    if (this.iptables) await removeTagged(`${TAG}:${bridge}:`, undefined, true);
  }

  /** Every proxy closed (daemon shutdown); the kernel's rules stay for the running containers. */
  close(): void {
    for (const hs of this.held.values()) for (const h of hs) h.close();
    this.held.clear();
  }

  /**
   * One request held: on each of its host addresses (0.0.0.0 and [::] for none given), with
   * the same host port on all of them, as moby allocates it.
   */
  private async hold(cid: string, target: PortTarget, r: PortRequest): Promise<Held[]> {
    const key = `${r.proto}/`;
    const addrs = r.hostIp !== '' ? [r.hostIp] : (await canListenV6()) ? ['0.0.0.0', '::'] : ['0.0.0.0'];
    if (r.hostPortLow === 0) {
      const [low, high] = ephemeralRange();
      const span = high - low + 1;
      for (let i = 0; i < span; i++) {
        const port = low + ((this.nextEphemeral + i) % span);
        if (addrs.some((a) => this.conflicting(key + port, a))) continue;
        const held = await this.bindAll(cid, target, r, addrs, port).catch(() => undefined);
        if (held) {
          this.nextEphemeral = (port - low + 1) % span;
          return held;
        }
      }
      throw new EngineError('System', `no free host port for ${r.containerPort}/${r.proto}: the range ${low}-${high} is used up`);
    }
    let last: unknown;
    for (let port = r.hostPortLow; port <= r.hostPortHigh; port++) {
      const taken = addrs.find((a) => this.conflicting(key + port, a));
      if (taken !== undefined) {
        last = conflict(`Bind for ${hostLabel(taken, port)} failed: port is already allocated`);
        continue;
      }
      try {
        return await this.bindAll(cid, target, r, addrs, port);
      } catch (e) {
        last = e;
      }
    }
    if (r.hostPortLow !== r.hostPortHigh && last instanceof EngineError && /already allocated/.test(last.message)) {
      throw conflict(`Bind for ${hostLabel(addrs[0], `${r.hostPortLow}-${r.hostPortHigh}`)} failed: port is already allocated`);
    }
    throw last;
  }

  /** Another container holds the port on the same address, or on every address of its family. */
  private conflicting(key: string, hostIp: string): boolean {
    const owners = this.taken.get(key);
    if (!owners) return false;
    for (const owner of owners.keys()) {
      if (family(owner) === family(hostIp) && (owner === hostIp || unspecified(owner) || unspecified(hostIp))) return true;
    }
    return false;
  }

  /** `port` bound on every one of `addrs`, or on none. */
  private async bindAll(cid: string, target: PortTarget, r: PortRequest, addrs: string[], port: number): Promise<Held[]> {
    const held: Held[] = [];
    try {
      for (const a of addrs) held.push(await this.bind(cid, target, { ...r, hostIp: a }, port));
    } catch (e) {
      for (const h of held) this.free(cid, h);
      throw e;
    }
    return held;
  }

  private async bind(cid: string, target: PortTarget, r: PortRequest, port: number): Promise<Held> {
    const published: PublishedPort = { proto: r.proto, containerPort: r.containerPort, hostIp: r.hostIp, hostPort: port };
    const to = family(r.hostIp) === 6 ? (target.ip6 ?? target.ip4) : target.ip4;
    const close = r.proto === 'tcp' ? await tcpProxy(r.hostIp, port, to, r.containerPort) : await udpProxy(r.hostIp, port, to, r.containerPort);
    const key = `${r.proto}/${port}`;
    if (!this.taken.has(key)) this.taken.set(key, new Map());
    this.taken.get(key)!.set(r.hostIp, cid);
    return { port: published, close };
  }

  private free(cid: string, h: Held): void {
    h.close();
    const key = `${h.port.proto}/${h.port.hostPort}`;
    const owners = this.taken.get(key);
    if (owners?.get(h.port.hostIp) === cid) owners.delete(h.port.hostIp);
    if (owners && owners.size === 0) this.taken.delete(key);
  }
}

/** The kernel's ephemeral range, where docker picks ports for -P and -p without a host port. */
function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a > 0 && b >= a) return [a, b];
  } catch {
    // not Linux's /proc: docker's defaults
  }
  return [32768, 60999];
}

function bindError(hostIp: string, port: number, containerIp: string, containerPort: number, proto: string, e: NodeJS.ErrnoException): EngineError {
  const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : e.code === 'EACCES' ? 'permission denied' : e.message;
  return new EngineError('System', `failed to bind host port for ${hostLabel(hostIp, port)}:${containerIp}:${containerPort}/${proto}: ${why}`);
}

/** The host port, listening; a connection that reaches it (no NAT) is relayed to the container. */
function tcpProxy(hostIp: string, port: number, containerIp: string, containerPort: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer({ pauseOnConnect: true }, (client) => {
      const upstream = connect({ host: containerIp, port: containerPort }, () => client.resume());
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    server.once('error', (e: NodeJS.ErrnoException) => reject(bindError(hostIp, port, containerIp, containerPort, 'tcp', e)));
    // [::] with IPV6_V6ONLY, so that it and 0.0.0.0 are two bindings of one port.
    server.listen({ host: hostIp, port, exclusive: true, ipv6Only: hostIp === '::' }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      server.unref();
      resolve(() => server.close());
    });
  });
}

/** The host port, bound; datagrams that reach it (no NAT) are relayed, replies sent back. */
function udpProxy(hostIp: string, port: number, containerIp: string, containerPort: number): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const sock: UdpSocket = createSocket({ type: isIPv6(hostIp) ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: hostIp === '::' });
    const peers = new Map<string, { s: UdpSocket; timer: NodeJS.Timeout }>();
    sock.on('message', (msg, from) => {
      const id = `${from.address}:${from.port}`;
      let peer = peers.get(id);
      if (!peer) {
        const s = createSocket(isIPv6(containerIp) ? 'udp6' : 'udp4');
        s.on('message', (reply) => sock.send(reply, from.port, from.address));
        s.on('error', () => {});
        peer = { s, timer: setTimeout(() => {}, 0) };
        peers.set(id, peer);
      }
      clearTimeout(peer.timer);
      const p = peer;
      // docker-proxy's UDP connection timeout.
      p.timer = setTimeout(() => {
        p.s.close();
        peers.delete(id);
      }, 90_000);
      p.timer.unref();
      p.s.send(msg, containerPort, containerIp);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => reject(bindError(hostIp, port, containerIp, containerPort, 'udp', e)));
    sock.bind({ address: hostIp, port, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      sock.unref();
      resolve(() => {
        for (const p of peers.values()) {
          clearTimeout(p.timer);
          p.s.close();
        }
        sock.close();
      });
    });
  });
}

interface RuleLine {
  family: Family;
  table: 'nat' | 'filter';
  rule: string;
}

/**
 * The rules that serve a container's ports, in iptables-restore's terms: IPv4 bindings to its
 * IPv4 address; IPv6 ones to its IPv6 address when it has one (else berthd relays them), but
 * not [::1]'s, which the kernel cannot DNAT (berthd relays those too).
 */
function ruleLines(bridge: string, cid: string, target: PortTarget, ports: PublishedPort[]): RuleLine[] {
  const tag = `-m comment --comment ${TAG}:${bridge}:${cid.slice(0, 12)}`;
  const out: RuleLine[] = [];
  for (const p of ports) {
    const six = family(p.hostIp) === 6;
    if (six && (!target.ip6 || p.hostIp === '::1')) continue;
    const f: Family = six ? 'ip6tables' : 'iptables';
    const ip = six ? target.ip6! : target.ip4;
    const host = six ? 128 : 32;
    const dst = unspecified(p.hostIp) ? '' : `-d ${p.hostIp}/${host} `;
    const to = six ? `[${ip}]:${p.containerPort}` : `${ip}:${p.containerPort}`;
    out.push({ family: f, table: 'nat', rule: `BERTH-DNAT ${dst}-p ${p.proto} -m ${p.proto} --dport ${p.hostPort} ${tag} -j DNAT --to-destination ${to}` });
    out.push({ family: f, table: 'nat', rule: `BERTH-POSTROUTING -s ${ip}/${host} -d ${ip}/${host} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} ${tag} -j MASQUERADE` });
    out.push({ family: f, table: 'filter', rule: `BERTH-FORWARD -d ${ip}/${host} ! -i ${bridge} -o ${bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} ${tag} -j ACCEPT` });
  }
  return out;
}

/** The rules tagged `tag` (or, with `prefix`, any tag starting so) removed from Berth's port chains. */
async function removeTagged(tag: string, families: readonly Family[] = ['iptables', 'ip6tables'], prefix = false): Promise<void> {
  for (const f of families) {
    const del: { table: 'nat' | 'filter'; rule: string; op: '-D' }[] = [];
    for (const [table, chain] of [['nat', 'BERTH-DNAT'], ['nat', 'BERTH-POSTROUTING'], ['filter', 'BERTH-FORWARD']] as const) {
      for (const line of await listRules(table, chain, f)) {
        if (prefix ? line.includes(tag) : line.includes(`${tag} `) || line.endsWith(tag) || line.includes(`"${tag}"`)) del.push({ table, rule: line.slice(3), op: '-D' });
      }
    }
    if (del.length) await iptablesRestore(del, f).catch((e: unknown) => log.warn('removing port rules', { tag, error: e }));
  }
}
