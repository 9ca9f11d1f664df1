/**
 * IPv4 addresses and CIDR prefixes as numbers: parsing with docker's messages, containment,
 * overlap, and the host's routes (a new subnet must not take over one the host uses).
 */
import { readFileSync } from 'node:fs';
import { invalidParameter } from '../errdefs/index.ts';

export interface Cidr {
  /** The network address. */
  base: number;
  bits: number;
}

export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `a.b.c.d/n`; with `strict`, host bits must be zero (docker: "invalid subnet"). */
export function parseCidr(s: string, what = 'subnet'): Cidr & { ip: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  const ip = m ? parseIp(m[1]) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(bits >= 0 && bits <= 32)) throw invalidParameter(`invalid ${what} ${s}: invalid CIDR address: ${s}`);
  return { base: (ip & mask(bits)) >>> 0, bits, ip };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.bits}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.bits)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.bits);
}

/** The host's IPv4 routes (/proc/net/route), as prefixes; the default route left out. */
export function hostRoutes(): Cidr[] {
  let text = '';
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: Cidr[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Little-endian hex on x86 and arm: the bytes come reversed.
    const le = (h: string) => (Buffer.from(h, 'hex').readUInt32LE(0) >>> 0);
    const dest = le(f[1]);
    const m = le(f[7]);
    if (m === 0) continue;
    const bits = Math.clz32(~m >>> 0);
    out.push({ base: (dest & mask(bits)) >>> 0, bits });
  }
  return out;
}

// ---- IPv6: addresses as 128-bit bigints ----

export interface Cidr6 {
  base: bigint;
  bits: number;
}

const ALL6 = (1n << 128n) - 1n;

export function mask6(bits: number): bigint {
  return bits === 0 ? 0n : (ALL6 << BigInt(128 - bits)) & ALL6;
}

/** An IPv6 address (`::`-compressed, an embedded IPv4 tail, no zone); undefined if it is none. */
export function parseIp6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return undefined;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIp(v4[1]);
    if (n === undefined) return undefined;
    text = text.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parts = (h: string) => (h === '' ? [] : h.split(':'));
  const head = parts(halves[0]);
  const tail = halves.length === 2 ? parts(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : head.length !== 8) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** RFC 5952's text: lower case, the longest run of two or more zero groups as `::`. */
export function formatIp6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `addr/n` for IPv6, with docker's message when it is not one. */
export function parseCidr6(s: string, what = 'subnet'): Cidr6 & { ip: bigint } {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(s);
  const ip = m ? parseIp6(m[1]) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(bits >= 0 && bits <= 128)) throw invalidParameter(`invalid ${what} ${s}: invalid CIDR address: ${s}`);
  return { base: ip & mask6(bits), bits, ip };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.base)}/${c.bits}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & mask6(c.bits)) === c.base;
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask6(bits)) === (b.base & mask6(bits));
}

/** Whether a subnet text is IPv6 (what docker's getIpamConfig sorts by). */
export function isV6Cidr(s: string): boolean {
  return s.includes(':');
}

/** The host's IPv6 routes (/proc/net/ipv6_route) as prefixes: the default, link-local and multicast ones left out. */
export function hostRoutes6(): Cidr6[] {
  let text = '';
  try {
    text = readFileSync('/proc/net/ipv6_route', 'utf8');
  } catch {
    return [];
  }
  const out: Cidr6[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const bits = parseInt(f[1], 16);
    const base = BigInt(`0x${f[0]}`);
    if (bits === 0 || bits === 128) continue;
    const c = { base: base & mask6(bits), bits };
    if (overlaps6(c, { base: 0xfe80n << 112n, bits: 10 }) || overlaps6(c, { base: 0xffn << 120n, bits: 8 })) continue;
    out.push(c);
  }
  return out;
}
