/**
 * `ssh://[user@]host[:port][/socket]` as docker's CLI reads it (its connhelper/ssh package),
 * and the ssh command line for one connection. Kept apart from the dialer (sshdial.ts), which
 * is loaded only when a command talks to an ssh host.
 */
import { EngineError } from '../errdefs/index.ts';

export interface SshSpec {
  user?: string;
  host: string;
  port?: string;
  path?: string;
}

/** docker's ssh.ParseURL, with its messages. */
export function parseSshUrl(url: string): SshSpec {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EngineError('InvalidParameter', `Failed to initialize: ssh host connection is not valid: invalid SSH URL: ${url}`);
  }
  const bad = (why: string) => new EngineError('InvalidParameter', `Failed to initialize: ssh host connection is not valid: invalid SSH URL: ${why}`);
  if (u.protocol !== 'ssh:') throw bad(`incorrect scheme: ${u.protocol.replace(/:$/, '')}`);
  if (u.password) throw bad('plain-text password is not supported');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw bad('hostname is empty');
  if (u.search) throw bad(`query parameters are not allowed: ${JSON.stringify(u.search.slice(1))}`);
  if (u.hash) throw bad(`fragments are not allowed: ${JSON.stringify(u.hash.slice(1))}`);
  return {
    host,
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.port ? { port: u.port } : {}),
    ...(u.pathname && u.pathname !== '/' ? { path: decodeURIComponent(u.pathname) } : {}),
  };
}

/** The ssh command line for one connection. */
export function sshArgs(sp: SshSpec): string[] {
  return [
    '-o', 'ConnectTimeout=30', '-T',
    ...(sp.user ? ['-l', sp.user] : []), ...(sp.port ? ['-p', sp.port] : []),
    '--', sp.host, 'berth', ...(sp.path ? ['--host', `unix://${sp.path}`] : []), 'system', 'dial-stdio',
  ];
}
