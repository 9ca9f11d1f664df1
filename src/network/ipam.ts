/**
 * Address allocation within one network's subnet (docker's default IPAM): the gateway and the
 * network and broadcast addresses are never handed out, addresses go round-robin from the last
 * one given (a freed address is not reused at once), an --ip-range narrows the dynamic ones,
 * and static requests (--ip) must be in the subnet and free. What is in use is rebuilt at
 * start from the endpoints of running containers: nothing is handed out twice.
 */
import { conflict, invalidParameter } from '../errdefs/index.ts';
import { contains, contains6, formatIp, formatIp6, parseIp, parseIp6, size, type Cidr, type Cidr6 } from './cidr.ts';

export class AddressPool {
  private readonly used = new Set<number>();
  private last: number;
  readonly subnet: Cidr;
  readonly gateway: number;
  readonly range: Cidr;

  constructor(subnet: Cidr, gateway: number, range?: Cidr) {
    this.subnet = subnet;
    this.gateway = gateway;
    this.range = range ?? subnet;
    this.last = this.range.base;
  }

  /** A free address: `want` when given (static), else the next after the last one given. */
  allocate(want?: string): string {
    if (want) {
      const ip = parseIp(want);
      if (ip === undefined) throw invalidParameter(`invalid IPv4 address: ${want}`);
      if (!contains(this.subnet, ip)) throw invalidParameter(`no configured subnet or ip-range contain the IP address ${want}`);
      if (this.used.has(ip) || ip === this.gateway) throw conflict(`Address already in use`);
      this.used.add(ip);
      return formatIp(ip);
    }
    const n = size(this.range);
    const broadcast = (this.subnet.base + size(this.subnet) - 1) >>> 0;
    for (let i = 1; i <= n; i++) {
      const ip = (this.range.base + ((this.last - this.range.base + i) % n)) >>> 0;
      if (ip === this.subnet.base || ip === broadcast || ip === this.gateway || this.used.has(ip)) continue;
      this.used.add(ip);
      this.last = ip;
      return formatIp(ip);
    }
    throw invalidParameter('no available IPv4 addresses on this network\'s address pools');
  }

  /** Marks an address taken (an endpoint found at start). */
  reserve(ip: string): void {
    const n = parseIp(ip);
    if (n === undefined) return;
    this.used.add(n);
    if (n > this.last) this.last = n;
  }

  /** Keeps an address out of the pool for good (an auxiliary address): never handed out. */
  hold(ip: string): void {
    const n = parseIp(ip);
    if (n !== undefined) this.used.add(n);
  }

  release(ip: string): void {
    const n = parseIp(ip);
    if (n !== undefined) this.used.delete(n);
  }

  inUse(): number {
    return this.used.size;
  }
}

/**
 * The IPv6 side of a dual-stack network: the same rules over 128-bit addresses (the subnet's
 * first address, its subnet-router anycast, is never handed out; there is no broadcast).
 * Dynamic addresses go up from the range's start, a freed one taken again only once the range
 * has been gone through, as for IPv4.
 */
export class AddressPool6 {
  private readonly used = new Set<bigint>();
  private last: bigint;
  readonly subnet: Cidr6;
  readonly gateway: bigint;
  readonly range: Cidr6;

  constructor(subnet: Cidr6, gateway: bigint, range?: Cidr6) {
    this.subnet = subnet;
    this.gateway = gateway;
    this.range = range ?? subnet;
    this.last = this.range.base;
  }

  allocate(want?: string): string {
    if (want) {
      const ip = parseIp6(want);
      if (ip === undefined) throw invalidParameter(`invalid IPv6 address: ${want}`);
      if (!contains6(this.subnet, ip)) throw invalidParameter(`no configured subnet or ip-range contain the IP address ${want}`);
      if (this.used.has(ip) || ip === this.gateway) throw conflict(`Address already in use`);
      this.used.add(ip);
      return formatIp6(ip);
    }
    const n = 1n << BigInt(128 - this.range.bits);
    // A /64 is never gone through: the used set bounds the search instead.
    const tries = n < BigInt(this.used.size + 3) ? n : BigInt(this.used.size + 3);
    for (let i = 1n; i <= tries; i++) {
      const ip = this.range.base + ((this.last - this.range.base + i) % n);
      if (ip === this.subnet.base || ip === this.gateway || this.used.has(ip)) continue;
      this.used.add(ip);
      this.last = ip;
      return formatIp6(ip);
    }
    throw invalidParameter('no available IPv6 addresses on this network\'s address pools');
  }

  reserve(ip: string): void {
    const n = parseIp6(ip);
    if (n === undefined) return;
    this.used.add(n);
    if (n > this.last) this.last = n;
  }

  hold(ip: string): void {
    const n = parseIp6(ip);
    if (n !== undefined) this.used.add(n);
  }

  release(ip: string): void {
    const n = parseIp6(ip);
    if (n !== undefined) this.used.delete(n);
  }
}

/** docker's MAC for an address: 02:42 then the four bytes of the IP. */
export function macFor(ip: string): string {
  const n = parseIp(ip) ?? 0;
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
