/**
 * IPv4 and IPv6 behind one interface, addresses as bigints: what the address pool and the
 * checks of a network's IPAM configuration need, written once for both families (cidr.ts keeps
 * the number-based IPv4 helpers the netlink and routing code use).
 */
import { invalidParameter } from '../errdefs/index.ts';
import { formatIp, formatIp6, parseIp, parseIp6 } from './cidr.ts';

/** A prefix of either family: its network address and length. */
export interface Prefix {
  base: bigint;
  bits: number;
}

export interface Family {
  readonly name: 'IPv4' | 'IPv6';
  /** Address length in bits. */
  readonly width: 32 | 128;
  /** IPv4 subnets end with a broadcast address, never handed out. */
  readonly broadcast: boolean;
  parse(s: string): bigint | undefined;
  format(n: bigint): string;
}

export const IPV4: Family = {
  name: 'IPv4',
  width: 32,
  broadcast: true,
  parse: (s) => {
    const n = parseIp(s);
    return n === undefined ? undefined : BigInt(n);
  },
  format: (n) => formatIp(Number(n)),
};

export const IPV6: Family = { name: 'IPv6', width: 128, broadcast: false, parse: parseIp6, format: formatIp6 };

/** The family of an address or prefix text (what docker's getIpamConfig sorts by). */
export function familyOf(text: string): Family {
  return text.includes(':') ? IPV6 : IPV4;
}

export function maskOf(f: Family, bits: number): bigint {
  const all = (1n << BigInt(f.width)) - 1n;
  return bits === 0 ? 0n : (all >> BigInt(f.width - bits)) << BigInt(f.width - bits);
}

/** `addr/n` of family `f`, with docker's message when it is not one. */
export function parsePrefix(f: Family, s: string, what = 'subnet'): Prefix & { ip: bigint } {
  const slash = s.lastIndexOf('/');
  const ip = slash > 0 ? f.parse(s.slice(0, slash)) : undefined;
  const len = s.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || !(bits >= 0 && bits <= f.width)) throw invalidParameter(`invalid ${what} ${s}: invalid CIDR address: ${s}`);
  return { base: ip & maskOf(f, bits), bits, ip };
}

export function formatPrefix(f: Family, p: Prefix): string {
  return `${f.format(p.base)}/${p.bits}`;
}

export function prefixContains(f: Family, p: Prefix, ip: bigint): boolean {
  return (ip & maskOf(f, p.bits)) === p.base;
}

export function prefixOverlaps(f: Family, a: Prefix, b: Prefix): boolean {
  const m = maskOf(f, Math.min(a.bits, b.bits));
  return (a.base & m) === (b.base & m);
}

/** How many addresses the prefix holds. */
export function prefixSize(f: Family, p: Prefix): bigint {
  return 1n << BigInt(f.width - p.bits);
}
