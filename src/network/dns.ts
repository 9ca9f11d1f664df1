/**
 * The embedded DNS server of user-defined networks (docker's 127.0.0.11): one UDP socket per
 * network on its gateway address, port 53. It answers A queries for the names of the containers
 * on the asking container's user-defined networks (container name, short ID, network aliases —
 * compose's service names are aliases), so containers on other networks cannot resolve them;
 * a container on several networks may ask any of their servers. It forwards every other query
 * to the host's resolvers, relaying their answer as it is. Containers on such a network get
 * its gateway as their nameserver.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { log } from '../lib/log.ts';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const TTL = 600;

/** The addresses of `name` for the container at `from` (on any of its networks with DNS). */
export type Lookup = (name: string, from: string) => string[];

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

/** An answer to `query` with A records for `ips` (none: an empty answer, or NXDOMAIN). */
export function answer(query: Buffer, q: Question, ips: string[], nxdomain: boolean): Buffer {
  const head = Buffer.from(query.subarray(0, q.end));
  // QR, opcode kept, AA, RD kept, RA; rcode 0 or 3.
  const flags = 0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | (nxdomain ? 3 : 0);
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const records = ips.map((ip) => {
    const r = Buffer.alloc(16);
    r.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    r.writeUInt16BE(TYPE_A, 2);
    r.writeUInt16BE(CLASS_IN, 4);
    r.writeUInt32BE(TTL, 6);
    r.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => r.writeUInt8(Number(o), 12 + i));
    return r;
  });
  return Buffer.concat([head, ...records]);
}

/** The host's nameservers (what containers on the default bridge use too). */
export function hostResolvers(path = '/etc/resolv.conf'): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s && !s.startsWith('127.') && s !== '::1' && !s.includes(':'));
  } catch {
    return [];
  }
}

export class NetworkDns {
  private readonly sock: Socket;
  private readonly lookup: Lookup;
  private readonly upstream: string[];

  private constructor(sock: Socket, lookup: Lookup, upstream: string[]) {
    this.sock = sock;
    this.lookup = lookup;
    this.upstream = upstream;
    sock.on('message', (msg, rinfo) => this.handle(msg, rinfo.address, rinfo.port));
    sock.on('error', (e) => log.warn('embedded DNS server', { error: e }));
  }

  static async listen(address: string, lookup: Lookup, upstream: string[] = hostResolvers()): Promise<NetworkDns> {
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(53, address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new NetworkDns(sock, lookup, upstream);
  }

  private handle(msg: Buffer, address: string, port: number): void {
    const q = parseQuestion(msg);
    if (!q || q.cls !== CLASS_IN) return;
    const name = q.name.replace(/\.$/, '');
    const ips = this.lookup(name, address);
    if (ips.length) {
      // A container's name: its addresses for A, an empty answer for AAAA and the rest.
      this.sock.send(answer(msg, q, q.type === TYPE_A ? ips : [], false), port, address);
      return;
    }
    if (!name.includes('.')) {
      // A single label that is no container here: nothing upstream knows it either.
      this.sock.send(answer(msg, q, [], true), port, address);
      return;
    }
    this.forward(msg, address, port);
  }

  /** Relays the query to the host's first resolver and its answer back (5 s at most). */
  private forward(msg: Buffer, address: string, port: number): void {
    const up = this.upstream[0];
    if (!up) return;
    const s = createSocket('udp4');
    const timer = setTimeout(() => s.close(), 5000);
    s.on('error', () => {
      clearTimeout(timer);
      s.close();
    });
    s.on('message', (reply) => {
      clearTimeout(timer);
      this.sock.send(reply, port, address);
      s.close();
    });
    s.send(msg, 53, up);
  }

  close(): void {
    this.sock.close();
  }
}
