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
