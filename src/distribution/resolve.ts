/**
 * Which endpoints serve a registry domain: mirrors first for docker.io, HTTPS for the rest,
 * and HTTP (after HTTPS without verification) for insecure registries — 127.0.0.0/8, ::1
 * and localhost always, plus daemon.json's `insecure-registries` (hosts or CIDRs).
 */
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidParameter } from '../errdefs/index.ts';
import type { Endpoint } from './client.ts';

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_ENDPOINT = 'https://registry-1.docker.io';
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface RegistrySettings {
  mirrors: string[];
  insecure: string[];
  /** Per-registry CA certificates: <certsDir>/<host[:port]>/ca.crt (docker's certs.d). */
  certsDir?: string;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsStr] = cidr.split('/');
  if (isIP(ip) !== 4 || isIP(net) !== 4) return ip === net;
  const bits = Number(bitsStr);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) === (ipv4ToInt(net) & mask);
}

export function validateSettings(s: RegistrySettings): void {
  for (const m of s.mirrors) {
    let u: URL;
    try {
      u = new URL(m);
    } catch {
      throw invalidParameter(`invalid mirror: "${m}" is not a valid URI`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidParameter(`invalid mirror: unsupported scheme "${u.protocol}" in "${m}"`);
  }
  for (const i of s.insecure) {
    if (/^[a-z]+:\/\//i.test(i)) throw invalidParameter(`insecure registry ${i} should not contain '://'`);
  }
}

/** Whether `host` (host[:port]) may be reached without verified TLS. */
export function isInsecure(host: string, s: RegistrySettings): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  if (name === 'localhost' || name === '::1' || (isIP(name) === 4 && inCidr(name, '127.0.0.0/8'))) return true;
  for (const entry of s.insecure) {
    if (entry === host || entry === name) return true;
    if (entry.includes('/') && isIP(name) && inCidr(name, entry)) return true;
  }
  return false;
}

export function endpointsFor(domain: string, s: RegistrySettings): Endpoint[] {
  if (domain === DOCKER_HUB) {
    return [
      ...s.mirrors.map((m) => {
        const u = new URL(m);
        return { url: `${u.protocol}//${u.host}`, insecureTls: isInsecure(u.host, s), mirror: true };
      }),
      { url: DOCKER_HUB_ENDPOINT, insecureTls: false, mirror: false },
    ];
  }
  if (isInsecure(domain, s)) {
    return [
      { url: `https://${domain}`, insecureTls: true, mirror: false },
      { url: `http://${domain}`, insecureTls: true, mirror: false },
    ];
  }
  const ca = caFor(domain, s);
  return [{ url: `https://${domain}`, insecureTls: false, mirror: false, ...(ca ? { ca } : {}) }];
}

function caFor(domain: string, s: RegistrySettings): Buffer | undefined {
  if (!s.certsDir) return undefined;
  try {
    return readFileSync(join(s.certsDir, domain, 'ca.crt'));
  } catch {
    return undefined;
  }
}

/** The key credentials are stored under in an auth config ("https://index.docker.io/v1/" for Hub). */
export function authKey(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : domain;
}
