/**
 * `-p`/`--publish` and `--expose` as the docker CLI parses them (go-connections' nat
 * ParsePortSpec): `[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]`, with ranges on either side.
 */
import { isIP } from 'node:net';

export type PortBindings = Record<string, { HostIp: string; HostPort: string }[]>;

function portRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (lo > 65535 || hi > 65535 || hi < lo) return undefined;
  return [lo, hi];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]];
  if (n === 2) return ['', parts[0], parts[1]];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], parts[n - 1]];
}

/** Adds one -p value's bindings (and exposed ports) to `bindings` and `exposed`; throws docker's message. */
export function parsePublish(raw: string, bindings: PortBindings, exposed: Record<string, Record<string, never>>): void {
  let [ip, hostPort, containerPort] = splitParts(raw);
  let proto = 'tcp';
  const slash = containerPort.indexOf('/');
  if (slash >= 0) {
    proto = containerPort.slice(slash + 1);
    containerPort = containerPort.slice(0, slash);
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && !isIP(ip)) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  const c = portRange(containerPort);
  if (!c) throw new Error(`invalid containerPort: ${containerPort}`);
  let h: [number, number] = [0, 0];
  if (hostPort !== '') {
    const r = portRange(hostPort);
    if (!r) throw new Error(`invalid hostPort: ${hostPort}`);
    h = r;
    // A host range goes with one container port (any of it) or a container range as long.
    if (c[1] - c[0] !== h[1] - h[0] && c[0] !== c[1]) throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const p = proto.toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new Error(`invalid proto: ${proto}`);
  for (let i = 0; i <= c[1] - c[0]; i++) {
    let hp = hostPort === '' ? '' : String(h[0] + i);
    if (c[0] === c[1] && h[0] !== h[1]) hp = `${h[0]}-${h[1]}`;
    const key = `${c[0] + i}/${p}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: ip, HostPort: hp });
  }
}

/** One --expose value: a port or a range, with an optional protocol. */
export function parseExpose(raw: string, exposed: Record<string, Record<string, never>>): void {
  const [port, proto = 'tcp'] = raw.split('/');
  const r = portRange(port);
  if (!r) throw new Error(`invalid range format for --expose: ${raw}`);
  for (let p = r[0]; p <= r[1]; p++) exposed[`${p}/${proto.toLowerCase()}`] = {};
}

/**
 * docker's DisplayablePorts: consecutive ports published on the same numbers folded into
 * ranges ("0.0.0.0:8000-8001->8000-8001/tcp"), exposed-only ports as "80/tcp", the rest as
 * "0.0.0.0:32768->80/tcp" after them, in docker's order.
 */
export function displayPorts(input: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[]): string {
  const ports = [...input].sort((a, b) => (a.PrivatePort - b.PrivatePort) || ((a.IP ?? '') < (b.IP ?? '') ? -1 : (a.IP ?? '') > (b.IP ?? '') ? 1 : 0)
    || ((a.PublicPort ?? 0) - (b.PublicPort ?? 0)) || (a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0));
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const mappings: string[] = [];
  for (const p of ports) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        mappings.push(`${host}:${p.PublicPort ?? 0}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
      order.push(key);
      continue;
    }
    if (p.PrivatePort === g.last + 1) {
      g.last = p.PrivatePort;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
  }
  for (const key of order) {
    const g = groups.get(key)!;
    result.push(formGroup(key, g.first, g.last));
  }
  return [...result, ...mappings].join(', ');
}

function formGroup(key: string, first: number, last: number): string {
  const parts = key.split('/');
  const ip = parts.length > 1 ? parts[0] : '';
  const type = parts.length > 1 ? parts[1] : parts[0];
  let group = first === last ? `${first}` : `${first}-${last}`;
  if (ip) group = `${ip}:${group}->${group}`;
  return `${group}/${type}`;
}
