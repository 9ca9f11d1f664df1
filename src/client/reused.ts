/**
 * A response read through one reused buffer (net's `onread`), for large downloads (`cp` out of a
 * container). Read the usual way, every socket read lands in a fresh 64 KiB buffer; on this class
 * of VM the page faults of that fresh memory, and copying out of it while it is cold, cost more
 * than the transfer itself (1 GiB: ~1.5 s of CPU in the CLI against ~0.5 s this way). Each body
 * chunk handed out is a view of the one buffer, valid only until the next chunk is asked for:
 * the socket is paused while a chunk is out and resumed when the consumer asks again.
 */
import type { Socket } from 'node:net';

/** What net.createConnection's `onread` option takes. */
export interface OnRead {
  buffer: Buffer;
  callback: (n: number, buf: Buffer) => boolean;
}

const earlyEof = (what: string) => Object.assign(new Error(`unexpected EOF: the daemon closed the connection ${what}`), { code: 'EARLYEOF' });

/**
 * Decodes a response body pushed in arbitrary pieces into views of those pieces (no copies):
 * chunked transfer encoding, a Content-Length, or everything until the connection closes.
 */
export class BodyDecoder {
  private readonly chunked: boolean;
  /** Bytes of the current chunk (or of the whole body) still to come; -1 = until close. */
  private remaining: number;
  /** A chunk-size line cut by a read. */
  private line = '';
  /** The CRLF after a chunk's data, still to skip. */
  private crlf = 0;
  done = false;

  constructor(headers: Record<string, string>) {
    this.chunked = /chunked/i.test(headers['transfer-encoding'] ?? '');
    const len = headers['content-length'];
    this.remaining = this.chunked ? 0 : len !== undefined ? Number(len) : -1;
    if (!this.chunked && this.remaining === 0) this.done = true;
  }

  /** The body bytes in `b`, as views of it. */
  feed(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < b.length && !this.done) {
      if (!this.chunked) {
        const n = this.remaining < 0 ? b.length - i : Math.min(this.remaining, b.length - i);
        out.push(b.subarray(i, i + n));
        i += n;
        if (this.remaining > 0) {
          this.remaining -= n;
          if (this.remaining === 0) this.done = true;
        }
      } else if (this.remaining > 0) {
        const n = Math.min(this.remaining, b.length - i);
        out.push(b.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.crlf = 2;
      } else if (this.crlf > 0) {
        if (b[i] !== (this.crlf === 2 ? 13 : 10)) throw new Error('malformed chunked encoding from the daemon');
        i++;
        this.crlf--;
      } else {
        const nl = b.indexOf(10, i);
        this.line += b.toString('latin1', i, nl < 0 ? b.length : nl);
        if (this.line.length > 1024) throw new Error('malformed chunked encoding from the daemon');
        if (nl < 0) break;
        i = nl + 1;
        const size = parseInt(this.line.replace(/\r$/, '').split(';')[0], 16);
        this.line = '';
        if (Number.isNaN(size)) throw new Error('malformed chunked encoding from the daemon');
        // The last chunk; trailers, if any, are not read.
        if (size === 0) this.done = true;
        this.remaining = size;
      }
    }
    return out;
  }

  /** The connection ended: the body must be complete. */
  end(): void {
    if (this.remaining < 0 && !this.chunked) this.done = true;
    if (!this.done) throw earlyEof('mid-response');
  }
}

/** The head of a response, once the socket has delivered it. */
export interface Head {
  status: number;
  headers: Record<string, string>;
}

/** Parses a response head from the bytes before the blank line. */
export function parseHead(text: string): Head {
  const lines = text.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
  if (!status) throw new Error(`malformed response from the daemon: ${lines[0]}`);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers };
}

/** The reads of one connection: its head, then its body as views of the reused buffer. */
export class ReusedReads implements AsyncIterable<Buffer> {
  readonly onread: OnRead;
  private sock: Socket | undefined;
  private headBytes: Buffer = Buffer.alloc(0);
  private decoder: BodyDecoder | undefined;
  private queue: Buffer[] = [];
  private error: Error | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private onHead: ((h: Head) => void) | undefined;
  private onHeadError: ((e: Error) => void) | undefined;

  constructor(size = 1 << 20) {
    this.onread = { buffer: Buffer.allocUnsafeSlow(size), callback: (n, buf) => this.read(buf.subarray(0, n)) };
  }

  /** Starts reading `sock` (made with `onread`); resolves with the head. */
  head(sock: Socket): Promise<Head> {
    this.sock = sock;
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.ended());
    return new Promise((resolve, reject) => {
      this.onHead = resolve;
      this.onHeadError = reject;
    });
  }

  /** One read: false pauses the socket while its views are out. */
  private read(b: Buffer): boolean {
    try {
      if (!this.decoder) {
        // The head is small and copied; the body after it is served from `b`.
        this.headBytes = Buffer.concat([this.headBytes, b]);
        const end = this.headBytes.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.headBytes.length > 1 << 20) throw new Error('malformed response from the daemon: head too large');
          return true;
        }
        const head = parseHead(this.headBytes.toString('latin1', 0, end));
        this.decoder = new BodyDecoder(head.headers);
        const rest = this.headBytes.subarray(end + 4);
        this.headBytes = Buffer.alloc(0);
        this.queue = rest.length ? this.decoder.feed(rest) : [];
        this.onHead?.(head);
        this.onHead = undefined;
      } else {
        this.queue = this.decoder.feed(b);
      }
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
    if (this.decoder.done) this.sock?.destroy();
    this.wake?.();
    return this.queue.length === 0;
  }

  private fail(e: Error): void {
    this.error ??= e;
    this.sock?.destroy();
    this.onHeadError?.(e);
    this.onHeadError = undefined;
    this.wake?.();
  }

  private ended(): void {
    this.closed = true;
    if (!this.decoder) this.fail(earlyEof('before answering'));
    else if (!this.error) {
      try {
        this.decoder.end();
      } catch (e) {
        this.error = e as Error;
      }
    }
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const c = this.queue.shift();
        if (c) {
          if (c.length) yield c;
          continue;
        }
        if (this.error) throw this.error;
        if (this.decoder?.done || this.closed) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.sock?.resume();
        });
        this.wake = undefined;
      }
    } finally {
      if (!this.decoder?.done) this.sock?.destroy();
    }
  }
}
