/**
 * The server side of RFC 6455, just what `GET /containers/{id}/attach/ws` needs: the
 * handshake, and a Duplex over a socket that reads (unmasked) client messages as bytes and
 * writes binary frames. Fragmented messages are delivered piecewise, as they arrive.
 */
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export interface WsFrame {
  opcode: number;
  payload: Buffer;
}

/** Incremental frame parser; client frames must be masked. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WsFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: WsFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const opcode = this.buf[0] & 0x0f;
      const masked = (this.buf[1] & 0x80) !== 0;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(64 << 20)) throw new Error('websocket frame too large');
        len = Number(big);
        off = 10;
      }
      if (!masked) throw new Error('websocket: client frames must be masked');
      if (this.buf.length < off + 4 + len) break;
      const mask = this.buf.subarray(off, off + 4);
      const payload = Buffer.from(this.buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      out.push({ opcode, payload });
      this.buf = this.buf.subarray(off + 4 + len);
    }
    return out;
  }
}

/** A Duplex speaking WebSocket over `socket`: reads message bytes, writes binary frames. */
export class WebSocketStream extends Duplex {
  private readonly socket: Socket | Duplex;
  private readonly decoder = new FrameDecoder();
  private closeSent = false;

  constructor(socket: Socket | Duplex) {
    super();
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      let frames: WsFrame[];
      try {
        frames = this.decoder.push(d);
      } catch (e) {
        this.destroy(e as Error);
        return;
      }
      for (const f of frames) {
        if (f.opcode === 0x8) {
          this.sendClose();
          this.push(null);
          return;
        }
        if (f.opcode === 0x9) socket.write(encodeFrame(0xa, f.payload));
        else if (f.opcode <= 0x2 && f.payload.length && !this.push(f.payload)) socket.pause();
      }
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (e) => this.destroy(e));
  }

  private sendClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.socket.write(encodeFrame(0x8, Buffer.from([0x03, 0xe8])));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.closeSent) return cb();
    if (this.socket.write(encodeFrame(0x2, chunk))) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.sendClose();
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
