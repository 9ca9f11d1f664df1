/**
 * A streaming tar reader: entries one at a time from any byte stream, bodies either whole (small
 * files) or as the source's own chunks, uncopied (large ones). An entry's unread body is skipped
 * when the next entry is asked for. After the end marker the rest of the stream is read too, so
 * a caller hashing the stream (a layer's DiffID) sees every byte.
 */
import { Readable } from 'node:stream';
import { chunksOf } from '../chunks.ts';
import { BLOCK, TarFormatError, decodeBlock, decodePax, finishHeader, isZeroBlock, type TarHeader } from './header.ts';

export interface TarEntry {
  header: TarHeader;
  /** The whole body in one buffer. */
  read(): Promise<Buffer>;
  /** The body in chunks, as they arrive. */
  chunks(): AsyncGenerator<Buffer>;
}

export interface ReadOptions {
  /** Sees every chunk of the source, in order (for hashing and counting). */
  onData?: (chunk: Buffer) => void;
  /**
   * The source's chunks are valid only until the next is asked for (one reused buffer): what
   * the reader keeps across reads is copied, and each body chunk it hands out is valid only
   * until the next is asked for.
   */
  transient?: boolean;
}

const EMPTY: Buffer = Buffer.alloc(0);
/** Bodies of extended headers and GNU long names past this are refused, not buffered. */
const MAX_META = 1 << 20;

class Source {
  private buf: Buffer = EMPTY;
  private ended = false;
  private readonly it: AsyncIterator<Buffer | string>;
  private readonly onData?: (c: Buffer) => void;
  private readonly transient: boolean;
  constructor(it: AsyncIterator<Buffer | string>, onData?: (c: Buffer) => void, transient = false) {
    this.it = it;
    this.onData = onData;
    this.transient = transient;
  }

  /** Reads the next non-empty chunk into an empty buffer; false at the end of the stream. */
  private async next(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (c.length === 0) continue;
      this.onData?.(c);
      this.buf = c;
      return true;
    }
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async take(n: number): Promise<Buffer> {
    if (this.buf.length >= n) {
      const out = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      return this.transient ? Buffer.from(out) : out;
    }
    const parts = [this.transient ? Buffer.from(this.buf) : this.buf];
    let have = this.buf.length;
    this.buf = EMPTY;
    while (have < n && (await this.next())) {
      const c = this.buf.subarray(0, n - have);
      parts.push(this.transient ? Buffer.from(c) : c);
      have += c.length;
      this.buf = this.buf.subarray(c.length);
    }
    return Buffer.concat(parts, have);
  }

  /** Up to n bytes as they are buffered, at least one unless the stream ended. */
  async some(n: number): Promise<Buffer> {
    if (this.buf.length === 0 && !(await this.next())) return EMPTY;
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.some(left);
      if (c.length === 0) break;
      left -= c.length;
    }
    return n - left;
  }

  async drain(): Promise<void> {
    this.buf = EMPTY;
    while (await this.next()) this.buf = EMPTY;
  }
}

const truncated = () => new TarFormatError('unexpected end of archive');

export async function* readTar(src: AsyncIterable<Buffer | string>, opts: ReadOptions = {}): AsyncGenerator<TarEntry> {
  // A Node stream is read chunk by chunk, uncopied (chunks.ts); any other iterable as it is.
  const own = src instanceof Readable ? chunksOf(src) : undefined;
  try {
    yield* entries(new Source(own ?? src[Symbol.asyncIterator](), opts.onData, opts.transient));
  } finally {
    own?.release();
  }
}

async function* entries(s: Source): AsyncGenerator<TarEntry> {
  let global = new Map<string, Buffer>();
  for (;;) {
    const first = await s.take(BLOCK);
    if (first.length === 0) return; // a stream that just stops: docker accepts it
    if (first.length < BLOCK) throw truncated();
    if (isZeroBlock(first)) {
      await s.drain();
      return;
    }
    let raw = decodeBlock(first);
    const pax = new Map(global);
    let longName: string | undefined;
    let longLink: string | undefined;
    // Meta entries describe the entry that follows them.
    while (raw.typeflag === 'x' || raw.typeflag === 'g' || raw.typeflag === 'L' || raw.typeflag === 'K') {
      if (raw.size > MAX_META) throw new TarFormatError(`tar extended header of ${raw.size} bytes is too large`);
      const body = await s.take(raw.size);
      if (body.length < raw.size) throw truncated();
      if ((await s.skip(pad(raw.size))) < pad(raw.size)) throw truncated();
      if (raw.typeflag === 'x') for (const [k, v] of decodePax(body)) pax.set(k, v);
      else if (raw.typeflag === 'g') {
        global = new Map([...global, ...decodePax(body)]);
        for (const [k, v] of global) pax.set(k, v);
      } else {
        const nul = body.indexOf(0);
        const text = body.toString('utf8', 0, nul < 0 ? body.length : nul);
        if (raw.typeflag === 'L') longName = text;
        else longLink = text;
      }
      const next = await s.take(BLOCK);
      if (next.length < BLOCK || isZeroBlock(next)) throw truncated();
      raw = decodeBlock(next);
    }
    if (longName !== undefined && !pax.has('path')) raw.name = longName;
    if (longLink !== undefined && !pax.has('linkpath')) raw.linkname = longLink;
    const header = finishHeader(raw, pax);
    // Links, directories and devices carry no body whatever their size field says.
    const size = header.type === 'file' || header.type === 'contiguous-file' || header.type === 'other' ? header.size : 0;
    header.size = size;
    let left = size;
    let consumed = false;
    const chunks = async function* (): AsyncGenerator<Buffer> {
      if (consumed) throw new Error('tar entry body already read');
      consumed = true;
      while (left > 0) {
        const c = await s.some(left);
        if (c.length === 0) throw truncated();
        left -= c.length;
        yield c;
      }
    };
    const entry: TarEntry = {
      header,
      async read() {
        if (consumed) throw new Error('tar entry body already read');
        consumed = true;
        const b = await s.take(left);
        if (b.length < left) throw truncated();
        left = 0;
        return b;
      },
      chunks,
    };
    yield entry;
    if (left > 0 && (await s.skip(left)) < left) throw truncated();
    left = 0;
    consumed = true;
    const p = pad(size);
    if (p) {
      const got = await s.skip(p);
      // Go's reader takes a stream that ends right after the last body (no padding, no end
      // marker) as a clean end; umoci writes such layers.
      if (got === 0) return;
      if (got < p) throw truncated();
    }
  }
}

function pad(size: number): number {
  const r = size % BLOCK;
  return r ? BLOCK - r : 0;
}
