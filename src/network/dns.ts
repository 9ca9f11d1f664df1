/**
 * The embedded DNS server of user-defined networks (docker's 127.0.0.11): one UDP socket per
 * network on its gateway address, port 53. It answers A (and, on dual-stack networks, AAAA)
 * queries for the names of the containers
 * on the asking container's user-defined networks (container name, short ID, network aliases —
 * compose's service names are aliases), so containers on other networks cannot resolve them;
 * a container on several networks may ask any of their servers. It forwards every other query
 * to the asking container's `--dns` servers, or else the host's (loopback ones included: the
 * server runs in the host's namespace, where 127.0.0.53 answers), one after another until one
 * answers, relaying the answer as it is. It answers over TCP as well (what a resolver falls back
 * to for a truncated answer), forwarding over TCP. Containers on such a network get its gateway
 * as their nameserver.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, connect, type Server, type Socket as TcpSocket } from 'node:net';
import { readFileSync } from 'node:fs';
import { log } from '../lib/log.ts';
import { parseIp6 } from './cidr.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const TTL = 600;

/**
 * The addresses of `name` for the container at `from` (on any of its networks with DNS);
 * undefined when `from` is no container of this network (it is refused: a container cannot
 * learn another network's names by asking that network's server, nor use it as a resolver).
 */
export type Lookup = (name: string, from: string) => string[] | undefined;

/** The servers a query from the container at `from` is forwarded to (empty: the host's). */
export type Upstreams = (from: string) => string[];

/** How long one upstream server is given to answer before the next is asked. */
const UPSTREAM_TIMEOUT_MS = 2000;

interface Question {
  name: string;
  type: number;
  cls: number;
  /** Offset just past the question section. */
  end: number;
}

/** The first question of a query, or undefined for anything we do not read. */
export function parseQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  let off = 12;
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(off), cls: msg.readUInt16BE(off + 2), end: off + 4 };
}

/** Response codes (RFC 1035 4.1.1). */
export const NOERROR = 0;
export const NXDOMAIN = 3;
export const REFUSED = 5;

/** An answer to `query` with A records for `ips` and response code `rcode`. */
export function answer(query: Buffer, q: Question, ips: string[], rcode: number): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  // QR, opcode kept, AA, RD kept, RA, rcode.
  const flags = 0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode;
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const records = ips.map((ip) => {
    const v6 = parseIp6(ip);
    const r = Buffer.alloc(v6 === undefined ? 16 : 28);
    r.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    r.writeUInt16BE(v6 === undefined ? TYPE_A : TYPE_AAAA, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(TTL, 6);
    if (v6 === undefined) {
      r.writeUInt16BE(4, 10);
      ip.split('.').forEach((o, i) => r.writeUInt8(Number(o), 12 + i));
    } else {
      r.writeUInt16BE(16, 10);
      for (let i = 0; i < 16; i++) r.writeUInt8(Number((v6 >> BigInt(8 * (15 - i))) & 0xffn), 12 + i);
    }
    return r;
  });
  return Buffer.concat([head, ...records]);
}

/**
 * Nameservers from resolv.conf text, loopback ones included (the embedded server runs in the
 * host's namespace, where they answer; containers' resolv.conf is containerResolvConf's).
 * IPv4 only: the bridge networks are IPv4.
 */
export function nameservers(text: string): string[] {
  return text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => !!s && /^\d+\.\d+\.\d+\.\d+$/.test(s));
}

/** The host's nameservers as the embedded server (in the host's namespace) can use them. */
export function hostResolvers(path = '/etc/resolv.conf'): string[] {
  try {
    return nameservers(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** The host's resolvers, re-read at most every few seconds (resolv.conf changes under DHCP). */
function cachedHostResolvers(): () => string[] {
  let at = 0;
  let servers: string[] = [];
  return () => {
    if (Date.now() - at > 5000) {
      servers = hostResolvers();
      at = Date.now();
    }
    return servers;
  };
}

/** Reads 2-byte length-prefixed DNS messages (RFC 1035 4.2.2) from a TCP stream. */
function onFrames(sock: TcpSocket, each: (msg: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const n = buf.readUInt16BE(0);
      each(buf.subarray(2, 2 + n));
      buf = buf.subarray(2 + n);
    }
  });
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** One query to one upstream over UDP or TCP: its answer, or undefined on timeout or error. */
function ask(server: string, msg: Buffer, tcp: boolean): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), UPSTREAM_TIMEOUT_MS);
    let close: () => void;
    if (tcp) {
      const s = connect(53, server);
      close = () => s.destroy();
      s.on('error', () => finish(undefined));
      s.on('connect', () => s.write(frame(msg)));
      onFrames(s, (reply) => finish(reply));
    } else {
      const s = createSocket('udp4');
      close = () => s.close();
      s.on('error', () => finish(undefined));
      s.on('message', (reply) => finish(reply));
      s.send(msg, 53, server);
    }
  });
}

/**
 * The answer to one query (undefined: none to give): container names from `lookup` (undefined:
 * the asker is refused), other names forwarded to `upstreams`, else the host's resolvers.
 */
export async function respond(msg: Buffer, lookup: (name: string) => string[] | undefined, upstreams: string[], host: () => string[], tcp: boolean): Promise<Buffer | undefined> {
  const q = parseQuestion(msg);
  if (!q || q.cls !== CLASS_IN) return undefined;
  const name = q.name.replace(/\.$/, '');
  const ips = lookup(name);
  if (ips === undefined) return answer(msg, q, [], REFUSED);
  // A container's name: its IPv4 addresses for A, its IPv6 ones (on dual-stack networks) for
  // AAAA, an empty answer for the rest.
  const v6 = (ip: string) => ip.includes(':');
  if (ips.length) return answer(msg, q, q.type === TYPE_A ? ips.filter((ip) => !v6(ip)) : q.type === TYPE_AAAA ? ips.filter(v6) : [], NOERROR);
  // A single label that is no container here: nothing upstream knows it either.
  if (!name.includes('.')) return answer(msg, q, [], NXDOMAIN);
  for (const server of upstreams.length ? upstreams : host()) {
    const reply = await ask(server, msg, tcp);
    if (reply) return reply;
  }
  return undefined;
}

/** The host's resolvers for every relay (re-read every few seconds). */
export const hostResolversCached = cachedHostResolvers();

/**
 * A container's DNS relay (berth-shim's, on macvlan/ipvlan networks): frames of [u16 length,
 * IPv4 address, u16 port, query] in, the same with the answer out.
 */
export function serveRelay(sock: TcpSocket, lookup: (name: string) => string[] | undefined, upstreams: () => string[]): void {
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const n = buf.readUInt16BE(0);
      const peer = Buffer.from(buf.subarray(2, 8));
      const msg = Buffer.from(buf.subarray(8, 2 + n));
      buf = buf.subarray(2 + n);
      void respond(msg, lookup, upstreams(), hostResolversCached, false).then((r) => {
        if (!r || sock.destroyed) return;
        const head = Buffer.alloc(8);
        head.writeUInt16BE(r.length + 6, 0);
        peer.copy(head, 2);
        sock.write(Buffer.concat([head, r]));
      }, (e: unknown) => log.debug('dns relay', { error: e }));
    }
  });
  sock.on('error', () => sock.destroy());
  sock.resume();
}

export class NetworkDns {
  private readonly sock: Socket;
  private readonly tcp: Server;
  private readonly lookup: Lookup;
  private readonly upstreams: Upstreams;
  private readonly host = cachedHostResolvers();

  private constructor(sock: Socket, tcp: Server, lookup: Lookup, upstreams: Upstreams) {
    this.sock = sock;
    this.tcp = tcp;
    this.lookup = lookup;
    this.upstreams = upstreams;
    sock.on('message', (msg, rinfo) => void this.handle(msg, rinfo.address, false).then((r) => r && this.sock.send(r, rinfo.port, rinfo.address)));
    sock.on('error', (e) => log.warn('embedded DNS server', { error: e }));
    tcp.on('connection', (c) => {
      c.on('error', () => c.destroy());
      // A client that never finishes its query is not kept for ever.
      c.setTimeout(10_000, () => c.destroy());
      onFrames(c, (msg) => void this.handle(msg, c.remoteAddress ?? '', true).then((r) => r && !c.destroyed && c.write(frame(r))));
    });
    tcp.on('error', (e) => log.warn('embedded DNS server (tcp)', { error: e }));
  }

  static async listen(address: string, lookup: Lookup, upstreams: Upstreams = () => []): Promise<NetworkDns> {
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(53, address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(53, address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      sock.close();
      throw e;
    }
    return new NetworkDns(sock, tcp, lookup, upstreams);
  }

  /** The answer to one query from `address` (undefined: none to give). */
  private handle(msg: Buffer, address: string, tcp: boolean): Promise<Buffer | undefined> {
    return respond(msg, (name) => this.lookup(name, address), this.upstreams(address), this.host, tcp);
  }

  close(): void {
    this.sock.close();
    this.tcp.close();
  }
}
