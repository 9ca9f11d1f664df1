/**
 * Address allocation within one network's subnet (docker's default IPAM), for either family:
 * the gateway and the subnet's first address (IPv4's network address, IPv6's subnet-router
 * anycast) and IPv4's broadcast address are never handed out, the lowest free address is
 * given (moby's default IPAM; round-robin from the last one given with the IPAM option
 * com.docker.network.ipam.serial=true, as swarm asks), an --ip-range narrows the dynamic ones, and static requests (--ip, --ip6) must be in the subnet and free. What is in use is
 * rebuilt at start from the endpoints of running containers: nothing is handed out twice.
 */
import { conflict, invalidParameter } from '../errdefs/index.ts';
import { parseIp } from './cidr.ts';
import { prefixContains, prefixSize, type Family, type Prefix } from './family.ts';

export class AddressPool {
  private readonly used = new Set<bigint>();
  private last: bigint;
  readonly family: Family;
  readonly subnet: Prefix;
  readonly gateway: bigint;
  readonly range: Prefix;
  private readonly serial: boolean;

  constructor(family: Family, subnet: Prefix, gateway: bigint, range?: Prefix, serial = false) {
    this.family = family;
    this.subnet = subnet;
    this.gateway = gateway;
    this.range = range ?? subnet;
    this.serial = serial;
    this.last = this.range.base;
  }

  /** The gateway's address as text. */
  get gatewayText(): string {
    return this.family.format(this.gateway);
  }

  /** A free address: `want` when given (static), else the next after the last one given. */
  allocate(want?: string): string {
    const f = this.family;
    if (want) {
      const ip = f.parse(want);
      if (ip === undefined) throw invalidParameter(`invalid ${f.name} address: ${want}`);
      if (!prefixContains(f, this.subnet, ip)) throw invalidParameter(`no configured subnet or ip-range contain the IP address ${want}`);
      if (this.used.has(ip) || ip === this.gateway) throw conflict(`Address already in use`);
      this.used.add(ip);
      return f.format(ip);
    }
    const n = prefixSize(f, this.range);
    const broadcast = f.broadcast ? this.subnet.base + prefixSize(f, this.subnet) - 1n : undefined;
    // Among any used+4 candidates one is free (the used ones, the first address, the gateway
    // and the broadcast address are all that is skipped): a /64 is never walked through.
    const bound = BigInt(this.used.size + 4);
    const tries = n < bound ? n : bound;
    // lowest free: from the range's first address; serial: from the one after the last given
    const from = this.serial ? this.last - this.range.base + 1n : 0n;
    for (let i = 0n; i < tries; i++) {
      const ip = this.range.base + ((from + i) % n);
      if (ip === this.subnet.base || ip === broadcast || ip === this.gateway || this.used.has(ip)) continue;
      this.used.add(ip);
      this.last = ip;
      return f.format(ip);
    }
    throw invalidParameter(`no available ${f.name} addresses on this network's address pools`);
  }

  /** Marks an address taken (an endpoint found at start). */
  reserve(ip: string): void {
    const n = this.family.parse(ip);
    if (n === undefined) return;
    this.used.add(n);
    if (n > this.last) this.last = n;
  }

  /** Keeps an address out of the pool for good (an auxiliary address): never handed out. */
  hold(ip: string): void {
    const n = this.family.parse(ip);
    if (n !== undefined) this.used.add(n);
  }

  release(ip: string): void {
    const n = this.family.parse(ip);
    if (n !== undefined) this.used.delete(n);
  }

  inUse(): number {
    return this.used.size;
  }
}

/** docker's MAC for an address: 02:42 then the four bytes of the IP. */
export function macFor(ip: string): string {
  const n = parseIp(ip) ?? 0;
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
