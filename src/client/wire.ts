/**
 * A small HTTP/1.1 client over the daemon's socket (see dial.ts), made for the CLI's start-up time: loading
 * node:http and its first request cost ~25 ms here (the module itself, and net.isIPv6's
 * regex compiled for the default host), more than the rest of a `berth ps`. It speaks just
 * what the Engine API needs: one request per connection, Content-Length, chunked and
 * close-delimited bodies, chunked uploads, and `Upgrade: tcp` hijacks.
 */
import type { Socket } from 'node:net';
import type { Dialer } from './dial.ts';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { BodyDecoder, parseHead, ReusedReads, type Head } from './reused.ts';

export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  stream?: Readable;
  /** The stream's exact length when known (a file): sent as Content-Length, not chunked. */
  streamLength?: number;
  /**
   * A body written by a producer straight into the connection, chunked (no stream between, so
   * the producer may reuse a buffer once its write's callback has run).
   */
  produce?: (dest: Writable) => Promise<void>;
  signal?: AbortSignal;
  /**
   * Read the response through one reused buffer (see reused.ts): its body is then best read
   * from `chunks`, whose every chunk is valid only until the next is asked for.
   */
  reuseReads?: boolean;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** The body; for a 101 answer, nothing (use `socket`). */
  body: Readable;
  /**
   * The body again, for requests made with `reuseReads`: chunks valid only until the next is
   * asked for. Read `body` or `chunks`, not both.
   */
  chunks: AsyncIterable<Buffer>;
  socket: Socket;
}

/** A chunked transfer-encoded body as a stream; the decoding is BodyDecoder's (reused.ts). */
class Dechunker extends Transform {
  private readonly decoder = new BodyDecoder({ 'transfer-encoding': 'chunked' });
  private ended = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      for (const part of this.decoder.feed(chunk)) this.push(part);
      if (this.decoder.done && !this.ended) {
        this.ended = true;
        this.push(null);
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  /** A chunked body that stops before its last chunk was cut off: an error, never an end. */
  override _flush(cb: TransformCallback): void {
    try {
      this.decoder.end();
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

function writeChunked(src: Readable, sock: Socket): void {
  src.on('data', (d: Buffer | string) => {
    const b = typeof d === 'string' ? Buffer.from(d) : d;
    if (b.length === 0) return;
    // One writev for the chunk's size line, data and CRLF, not three small writes.
    sock.cork();
    sock.write(`${b.length.toString(16)}\r\n`);
    sock.write(b);
    const ok = sock.write('\r\n');
    sock.uncork();
    if (!ok) {
      src.pause();
      sock.once('drain', () => src.resume());
    }
  });
  src.on('end', () => sock.write('0\r\n\r\n'));
  src.on('error', (e) => sock.destroy(e));
}

/** A producer's chunked body: a write's callback runs once the socket has written it. */
class ChunkedBody extends Writable {
  private readonly sock: Socket;
  constructor(sock: Socket) {
    super({ highWaterMark: 1 << 20 });
    this.sock = sock;
    sock.once('close', () => this.destroy());
  }

  override _write(b: Buffer, _e: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (b.length === 0) return cb();
    // One writev for the chunk's size line, data and CRLF.
    this.sock.cork();
    this.sock.write(`${b.length.toString(16)}\r\n`);
    this.sock.write(b);
    this.sock.write('\r\n', (e) => cb(e));
    this.sock.uncork();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.sock.write('0\r\n\r\n', (e) => cb(e));
  }
}

function writeProduced(produce: (dest: Writable) => Promise<void>, sock: Socket): void {
  const body = new ChunkedBody(sock);
  body.on('error', () => {}); // the socket's own error (or close) is what the request reports
  produce(body).then(() => body.end(), (e: unknown) => sock.destroy(e instanceof Error ? e : new Error(String(e))));
}

/** A body of known length goes as it is; the stream must supply exactly that many bytes. */
function writeSized(src: Readable, sock: Socket): void {
  src.on('error', (e) => sock.destroy(e));
  src.pipe(sock, { end: false });
}

export async function wireRequest(dial: Dialer, req: WireRequest): Promise<WireResponse> {
  const reader = req.reuseReads ? new ReusedReads() : undefined;
  // A body that fails before it is sent (a file it cannot read) fails the request, whenever
  // that happens: before the connection is up nothing else listens to it.
  req.stream?.on('error', () => {});
  const { socket: sock, ready, reused } = await dial(reader?.onread);
  if (req.stream?.errored) {
    sock.destroy();
    throw req.stream.errored;
  }
  if (reader && reused) return reusedRequest(sock, ready, req, reader);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(e);
    };
    req.stream?.once('error', fail);
    const onAbort = () => fail(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
    if (req.signal) {
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener('abort', onAbort, { once: true });
    }
    sock.once('error', fail);
    if (ready === 'connected') writeRequest(sock, req);
    else sock.once(ready, () => writeRequest(sock, req));
    // A connection that ends before the response's headers is a failure, never a silent success.
    const early = () => fail(Object.assign(new Error('unexpected EOF: the daemon closed the connection before answering'), { code: 'EARLYEOF' }));
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.pause();
      const rest = buf.subarray(end + 4);
      let head: Head;
      try {
        head = parseHead(buf.toString('latin1', 0, end));
      } catch (e) {
        return fail(e as Error);
      }
      const { status, headers: hdrs } = head;
      settled = true;
      sock.off('error', fail);
      sock.off('end', early);
      sock.off('close', early);
      if (rest.length) sock.unshift(rest);
      if (status === 101) {
        req.signal?.removeEventListener('abort', onAbort);
        const none = Readable.from([]);
        resolve({ status, headers: hdrs, body: none, chunks: none, socket: sock });
        return;
      }
      const body = bodyOf(sock, status, req.method, hdrs);
      resolve({ status, headers: hdrs, body, chunks: body, socket: sock });
    };
    sock.on('data', onData);
    sock.once('end', early);
    sock.once('close', early);
  });
}

function writeRequest(sock: Socket, req: WireRequest): void {
  let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: api\r\nUser-Agent: Berth-Client\r\n`;
  const headers: Record<string, string> = { ...req.headers };
  if (req.body) headers['Content-Length'] = String(req.body.length);
  else if (req.stream && req.streamLength !== undefined) headers['Content-Length'] = String(req.streamLength);
  else if (req.stream || req.produce) headers['Transfer-Encoding'] = 'chunked';
  if (!headers.Connection) headers.Connection = 'close';
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  sock.write(head + '\r\n');
  if (req.body) sock.write(req.body);
  if (req.stream) (req.streamLength !== undefined ? writeSized : writeChunked)(req.stream, sock);
  else if (req.produce) writeProduced(req.produce, sock);
}

/** A request whose response is read through one reused buffer (see reused.ts). */
async function reusedRequest(sock: Socket, ready: string, req: WireRequest, reader: ReusedReads): Promise<WireResponse> {
  const onAbort = () => sock.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
  if (req.signal?.aborted) onAbort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  sock.once(ready, () => writeRequest(sock, req));
  const head = reader.head(sock);
  // Flowing, so that the end of the connection is seen (reads go to onread, never to 'data').
  sock.resume();
  const { status, headers } = await head;
  if (req.method === 'HEAD' || status === 204 || status === 304) {
    sock.destroy();
    const none = Readable.from([]);
    return { status, headers, body: none, chunks: none, socket: sock };
  }
  // The body as a stream (error messages): each chunk copied out of the reused buffer.
  const copied = async function* () {
    for await (const c of reader) yield Buffer.from(c);
  };
  return { status, headers, body: Readable.from(copied(), { objectMode: false }), chunks: reader, socket: sock };
}

function bodyOf(sock: Socket, status: number, method: string, h: Record<string, string>): Readable {
  if (method === 'HEAD' || status === 204 || status === 304) {
    sock.destroy();
    return Readable.from([]);
  }
  if (/chunked/i.test(h['transfer-encoding'] ?? '')) {
    const d = new Dechunker();
    sock.on('error', (e) => d.destroy(e));
    d.on('end', () => sock.destroy());
    d.on('close', () => sock.destroy());
    return sock.pipe(d);
  }
  const len = h['content-length'];
  if (len !== undefined) {
    let left = Number(len);
    const out = new Readable({ read() { sock.resume(); } });
    if (left === 0) {
      out.push(null);
      sock.destroy();
      return out;
    }
    sock.on('data', (d: Buffer) => {
      const part = d.subarray(0, left);
      left -= part.length;
      if (!out.push(part)) sock.pause();
      if (left <= 0) {
        out.push(null);
        sock.destroy();
      }
    });
    sock.on('error', (e) => out.destroy(e));
    sock.on('close', () => { if (left > 0) out.destroy(Object.assign(new Error('unexpected EOF: the daemon closed the connection mid-response'), { code: 'EARLYEOF' })); });
    return out;
  }
  sock.on('close', () => sock.destroyed || sock.destroy());
  return sock;
}
