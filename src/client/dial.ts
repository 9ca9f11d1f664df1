/**
 * How the CLI reaches the daemon: a Unix socket (`unix:///run/berth/berth.sock`), or TCP
 * (`tcp://HOST:PORT`), with TLS when asked (--tls, --tlsverify, as docker's CLI: the client
 * certificate and the CA from the cert path), or ssh (`ssh://user@host`, sshdial.ts).
 * node:tls is loaded only for a TLS connection.
 */
import { createConnection, type Socket } from 'node:net';
import type { OnRead } from './reused.ts';
import { parseSshUrl } from './sshurl.ts';

export interface ClientTls {
  /** Check the daemon's certificate against `ca` (--tlsverify); else accept any. */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Opens a connection; `ready` is the event after which requests may be written (`connected`:
 * at once). Given `onread`, a plain connection reads through it (`reused`); a TLS or ssh one
 * ignores it.
 */
export type Dialer = (onread?: OnRead) => Promise<{ socket: Socket; ready: 'connect' | 'secureConnect' | 'connected'; reused?: boolean }>;

export function dialer(host: string, tls?: ClientTls): Dialer {
  if (host.startsWith('ssh://')) {
    // Checked now (docker's "Failed to initialize"); the dialer, with child_process, loaded on first use.
    const sp = parseSshUrl(host);
    return async () => (await import('./sshdial.ts')).sshDialer(sp)();
  }
  if (host.startsWith('unix://') || host.startsWith('/')) {
    const path = host.startsWith('/') ? host : host.slice('unix://'.length);
    return async (onread) => ({ socket: createConnection({ path, ...(onread ? { onread } : {}) }), ready: 'connect', reused: !!onread });
  }
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (!m) throw new Error(`unsupported host "${host}": use unix:///path, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT][/SOCKET]`);
  const addr = m[1].replace(/^\[|\]$/g, '');
  const port = Number(m[2] ?? (tls ? 2376 : 2375));
  if (!tls) return async (onread) => ({ socket: createConnection({ host: addr, port, ...(onread ? { onread } : {}) }), ready: 'connect', reused: !!onread });
  return async () => {
    const { connect } = await import('node:tls');
    const socket = connect({
      host: addr, port, servername: /^[\d.:]+$/.test(addr) ? undefined : addr,
      rejectUnauthorized: tls.verify,
      ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}),
    });
    return { socket, ready: 'secureConnect' };
  };
}
