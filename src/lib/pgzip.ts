/**
 * Gzip on every core, as pigz does: the input is cut into pieces, each deflated on its own in
 * zlib's thread pool — raw deflate ending in a full flush, so the pieces join into one deflate
 * stream — and the last one closes it; CRC-32 and length make the trailer. The output is one
 * ordinary gzip member that any gunzip reads, with Go's header (what docker pushes). A piece
 * that a quick sample shows will not compress (already compressed data, media, random bytes)
 * is stored instead of deflated: a push of such a layer should not pay for deflate.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { availableParallelism } from 'node:os';
import { constants, crc32, deflateRaw, deflateRawSync, type ZlibOptions } from 'node:zlib';

const PIECE = 1 << 20;
const SAMPLE = 32 << 10;
/** A sample that shrinks by less than this is taken for incompressible data. */
const WORTH = 0.97;
/** Go's compress/gzip header: no name, no mtime, OS unknown. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff]);

function deflatePiece(piece: Buffer, level: number, last: boolean): Promise<Buffer[]> {
  if (level === 0) return Promise.resolve(storedBlocks(piece, last));
  const opts: ZlibOptions = { level, finishFlush: last ? constants.Z_FINISH : constants.Z_FULL_FLUSH, chunkSize: 64 << 10 };
  return new Promise((resolve, reject) => deflateRaw(piece, opts, (e, out) => (e ? reject(e) : resolve([out]))));
}

/**
 * A piece as deflate's stored blocks (RFC 1951 3.2.4), written here rather than by zlib at
 * level 0, which copies every byte twice: a 5-byte header per 64 KiB and the data itself,
 * uncopied. Pieces start on a byte boundary (the one before ended in a full flush), so each
 * header is whole bytes: BFINAL/BTYPE=00 padded, LEN, NLEN.
 */
export function storedBlocks(piece: Buffer, last: boolean): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  do {
    const len = Math.min(0xffff, piece.length - off);
    const final = last && off + len === piece.length;
    const head = Buffer.alloc(5);
    head[0] = final ? 1 : 0;
    head.writeUInt16LE(len, 1);
    head.writeUInt16LE(~len & 0xffff, 3);
    out.push(head, piece.subarray(off, off + len));
    off += len;
  } while (off < piece.length);
  return out;
}

/** The level a piece gets: `level`, or 0 (stored) when a sample of it does not compress. */
export function levelFor(piece: Buffer, level: number): number {
  if (level === 0 || piece.length < 4096) return level;
  const sample = piece.subarray(0, Math.min(SAMPLE, piece.length));
  return deflateRawSync(sample, { level: 1 }).length > sample.length * WORTH ? 0 : level;
}

export interface ParallelGzipOptions {
  level?: number;
  pieceBytes?: number;
  /** Pieces deflated at once (default: the CPUs). */
  parallel?: number;
}

export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly pieceBytes: number;
  private readonly parallel: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly inFlight: Promise<Buffer[]>[] = [];
  private crc = 0;
  private size = 0;
  private started = false;

  constructor(opts: ParallelGzipOptions = {}) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 });
    this.level = opts.level ?? constants.Z_BEST_SPEED;
    this.pieceBytes = opts.pieceBytes ?? PIECE;
    this.parallel = Math.max(1, opts.parallel ?? availableParallelism());
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(HEADER);
  }

  /** Queues a piece; resolves once no more than `parallel` are in flight (its own output pushed in order). */
  private async queue(piece: Buffer, last: boolean): Promise<void> {
    this.crc = crc32(piece, this.crc);
    this.size += piece.length;
    this.inFlight.push(deflatePiece(piece, levelFor(piece, this.level), last));
    while (this.inFlight.length > this.parallel) for (const b of await this.inFlight.shift()!) this.push(b);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.start();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.pieceBytes) return cb();
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const pieces: Buffer[] = [];
    let off = 0;
    for (; all.length - off >= this.pieceBytes; off += this.pieceBytes) pieces.push(all.subarray(off, off + this.pieceBytes));
    this.pending = off < all.length ? [all.subarray(off)] : [];
    this.pendingBytes = all.length - off;
    (async () => {
      for (const p of pieces) await this.queue(p, false);
    })().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.start();
    (async () => {
      // The last piece (possibly empty) closes the deflate stream.
      await this.queue(Buffer.concat(this.pending, this.pendingBytes), true);
      this.pending = [];
      while (this.inFlight.length) for (const b of await this.inFlight.shift()!) this.push(b);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size % 2 ** 32, 4);
      this.push(trailer);
    })().then(() => cb(), cb);
  }
}
