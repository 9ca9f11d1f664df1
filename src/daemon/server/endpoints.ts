/**
 * `-H` addresses as dockerd takes them: `unix:///path` (mode 0660, group `berth` by default, as
 * docker's socket belongs to the `docker` group) and `tcp://HOST:PORT`, which needs TLS with
 * client certificates unless it is bound to the loopback interface.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { invalidParameter } from '../../errdefs/index.ts';
import type { ListenEndpoint } from './server.ts';

export const DEFAULT_GROUP = 'berth';

export interface TlsFiles {
  /** --tls: serve TLS; --tlsverify: and require client certificates signed by the CA. */
  tls: boolean;
  verify: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

/** A group's ID from /etc/group, or undefined. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3) return Number(f[2]);
  }
  return undefined;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function read(path: string | undefined, what: string): Buffer {
  if (!path) throw invalidParameter(`--tlsverify needs --${what}`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw invalidParameter(`could not read ${what} ${path}: ${(e as Error).message}`);
  }
}

/**
 * `fd://` (every socket systemd passed, as docker.service's `-H fd://`) or `fd://N`: the
 * listening sockets of socket activation (LISTEN_PID, LISTEN_FDS; the first is fd 3).
 */
function activatedSockets(host: string, env: NodeJS.ProcessEnv): ListenEndpoint[] {
  const n = Number(env.LISTEN_FDS ?? 0);
  if (Number(env.LISTEN_PID ?? 0) !== process.pid || !Number.isInteger(n) || n < 1) {
    throw invalidParameter(`no sockets found via socket activation for ${host}: make sure the service was started by systemd (berthd.socket)`);
  }
  const fds = Array.from({ length: n }, (_, i) => 3 + i);
  const want = host.slice('fd://'.length);
  if (!want) return fds.map((fd) => ({ kind: 'fd', fd }));
  if (!/^\d+$/.test(want) || !fds.includes(Number(want))) throw invalidParameter(`invalid host "${host}": systemd passed file descriptors ${fds.join(', ')}`);
  return [{ kind: 'fd', fd: Number(want) }];
}

/**
 * The endpoints of `hosts`, with the warnings to log. Throws for an address that is malformed,
 * unsupported, or a TCP port open to the network without --tlsverify.
 */
export function parseEndpoints(hosts: string[], tls: TlsFiles, group: { name: string; explicit: boolean }, env: NodeJS.ProcessEnv = process.env): { endpoints: ListenEndpoint[]; warnings: string[] } {
  const warnings: string[] = [];
  const endpoints: ListenEndpoint[] = [];
  let gid: number | undefined;
  let gidLooked = false;
  for (const host of hosts) {
    if (host.startsWith('unix://') || host.startsWith('/')) {
      const path = host.startsWith('/') ? host : host.slice('unix://'.length);
      if (!path.startsWith('/')) throw invalidParameter(`invalid host "${host}": the socket path must be absolute`);
      if (!gidLooked) {
        gidLooked = true;
        gid = groupId(group.name);
        if (gid === undefined) {
          if (group.explicit) throw invalidParameter(`group ${group.name} not found (create it, or give another with -G)`);
          warnings.push(`could not change group ${path} to ${group.name}: group ${group.name} not found; the socket is root's only`);
        }
      }
      endpoints.push({ kind: 'unix', path, ...(gid !== undefined ? { gid } : {}) });
      continue;
    }
    if (host.startsWith('fd://')) {
      endpoints.push(...activatedSockets(host, env));
      continue;
    }
    const m = /^tcp:\/\/(\[[^\]]*\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
    if (!m) throw invalidParameter(`invalid host "${host}": use unix:///path or tcp://HOST:PORT`);
    const addr = m[1].replace(/^\[|\]$/g, '') || '0.0.0.0';
    const port = Number(m[2] ?? (tls.tls || tls.verify ? 2376 : 2375));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidParameter(`invalid host "${host}": bad port`);
    if (tls.tls && !tls.verify && !isLoopback(addr)) {
      // Stricter than dockerd, which serves this with a warning: TLS without client certificates
      // lets anyone who reaches the port drive the daemon, i.e. take root on this machine.
      throw invalidParameter(`refusing to listen on ${host} with --tls but without --tlsverify: any client that reaches it would have root on this machine (add --tlsverify and --tlscacert, or bind to 127.0.0.1)`);
    }
    if (tls.verify || tls.tls) {
      endpoints.push({
        kind: 'tcp', host: addr, port,
        tls: { cert: read(tls.cert, 'tlscert'), key: read(tls.key, 'tlskey'), ...(tls.verify ? { ca: read(tls.ca, 'tlscacert') } : {}) },
      });
      if (!tls.verify) warnings.push(`${host} serves TLS without --tlsverify: any local client can use it`);
      continue;
    }
    if (!isLoopback(addr)) {
      throw invalidParameter(`refusing to listen on ${host} without --tlsverify: anyone on the network could take root on this machine (bind to 127.0.0.1, or use --tlsverify)`);
    }
    warnings.push('Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.');
    endpoints.push({ kind: 'tcp', host: addr, port });
  }
  return { endpoints, warnings };
}
