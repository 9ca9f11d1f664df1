/**
 * One layer of a pull, as a self-contained job: download the blob, write it into the content
 * store's ingest area while hashing it, and unpack it from the same stream into a staging
 * directory. Everything it needs comes in the job (URL, headers, paths), so it runs the same
 * on the event loop or in a worker thread (layerworker.ts), where a pull's hashing,
 * decompression and file writes use the other cores. The caller commits the results.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { EngineError, invalidParameter, notFound, system } from '../../errdefs/index.ts';
import { DigestTap, digestAlgorithm } from '../../lib/digest.ts';
import { FileSink } from '../../lib/filesink.ts';
import { decompressStream } from '../../lib/decompress.ts';
import { send, readBody } from '../../distribution/http.ts';
import { errorForStatus } from '../../distribution/client.ts';
import { applyTar } from '../../store/layer/apply.ts';
import { spawnFsOps } from '../../store/layer/fsops.ts';
import { packTree } from '../../store/layer/pack.ts';
import { ProgressTap } from './progress.ts';

/** Unpack a blob already in the content store (verifying it on the way), no download. */
export interface LocalLayerJob {
  file: string;
  digest: string;
  diffDir: string;
}

/** Make a layer from a directory (a container's upper dir): tar it, store the tar, unpack it. */
export interface PackLayerJob {
  pack: string;
  exclude: string[];
  ingestPath: string;
  diffDir: string;
}

export interface PackLayerResult extends LayerJobResult {
  digest: string;
  size: number;
}

export interface LayerJob {
  url: string;
  headers: Record<string, string>;
  insecureTls: boolean;
  ca?: Uint8Array;
  timeoutMs: number;
  digest: string;
  size: number;
  /** Where the compressed blob goes (the content store's ingest area). */
  ingestPath: string;
  /** The staging layer's diff directory. */
  diffDir: string;
}

/**
 * A blob whose bytes the caller feeds in (an archive member during `load`), unpacked into a
 * staging directory in case it is a layer; the caller stores the blob itself, from the same
 * chunks, on its own thread. Whether the blob is a layer is only known once the archive's
 * manifest has been read, so an unpack failure is a result (no diffId), not an error.
 */
export interface FeedLayerJob {
  feed: true;
  diffDir: string;
  /**
   * When set, the worker also stores the blob there (hashing it): best for an uncompressed
   * member, whose one hash is also its diff ID. Otherwise the caller stores it, and the
   * worker's thread is left for decompressing and unpacking.
   */
  ingestPath?: string;
}

export interface FeedLayerResult {
  /** Whether it unpacked as a layer. */
  layer: boolean;
  /** Its diff ID; for an uncompressed layer it is the blob's own digest, which the caller has. */
  diffId?: string;
  sameAsBlob?: boolean;
  unpackedSize?: number;
  /** In store mode: the blob's digest and size. */
  digest?: string;
  size?: number;
}

export interface LayerJobResult {
  diffId: string;
  /** Unpacked size, as docker's du counts it. */
  unpackedSize: number;
}

/** A failure that says which HTTP status caused it (401 means: authenticate again). */
export class JobHttpError extends EngineError {
  readonly status: number;
  constructor(e: EngineError, status: number) {
    super(e.kind, e.message);
    this.status = status;
  }
}

/** Marks the error a tee gives the other reader when one stops: the first reader's is the cause. */
const SECONDARY = Symbol('berth.teeSecondary');

/** The cause among two settled results: a real error before one a tee passed on. */
function firstCause(a: PromiseSettledResult<unknown>, b: PromiseSettledResult<unknown>): unknown {
  const errs = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  return errs.find((e) => !(typeof e === 'object' && e !== null && SECONDARY in e)) ?? errs[0];
}

/**
 * One stream read twice (blob file and unpacker). An error in it reaches both; a reader that
 * fails (no space left, say) stops the other and the source at once, so nothing waits on a
 * stream no one reads any more (a stalled transfer, an open file).
 */
function tee(src: Readable, opts: { secondOptional?: boolean } = {}): [PassThrough, PassThrough] {
  const a = new PassThrough({ highWaterMark: 1 << 20 });
  const b = new PassThrough({ highWaterMark: 1 << 20 });
  src.on('error', (e) => {
    a.destroy(e);
    b.destroy(e);
  });
  const stopAll = (from: PassThrough, other: PassThrough) => from.on('close', () => {
    if (from.readableEnded) return;
    const e = from.errored ?? Object.assign(new Error('a reader of the layer stream went away'), { [SECONDARY]: true });
    other.destroy(e);
    src.destroy(e);
  });
  stopAll(a, b);
  // An optional second reader (an unpacker trying a blob that may not be a layer) that stops
  // early only leaves; the first goes on.
  if (opts.secondOptional) b.on('close', () => { if (!b.readableEnded) src.unpipe(b); });
  else stopAll(b, a);
  src.pipe(a);
  src.pipe(b);
  return [a, b];
}

export async function runLayerJob(job: LayerJob | LocalLayerJob | PackLayerJob, onBytes: (current: number) => void, signal?: AbortSignal): Promise<LayerJobResult> {
  if ('file' in job) return runLocal(job, onBytes);
  if ('pack' in job) return runPack(job);
  const res = await send(job.url, {
    headers: job.headers,
    timeoutMs: job.timeoutMs,
    insecureTls: job.insecureTls,
    ...(job.ca ? { ca: Buffer.from(job.ca) } : {}),
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 200) {
    const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    throw new JobHttpError(errorForStatus(res.status, body, `blob ${job.digest}`), res.status);
  }
  const len = res.headers['content-length'];
  if (len !== undefined && Number(len) !== job.size) {
    res.body.destroy();
    throw invalidParameter(`blob ${job.digest}: the registry sent ${len} bytes, the manifest says ${job.size}`);
  }
  const counter = new ProgressTap(onBytes);
  res.body.on('error', (e) => counter.destroy(e));
  res.body.pipe(counter);
  // An unpacker that fails lets the download finish, so a damaged blob is named as one
  // (digest mismatch) rather than by whatever its bytes did to the tar reader.
  const [toStore, toUnpack] = tee(counter, { secondOptional: true });
  const tap = new DigestTap(digestAlgorithm(job.digest));
  const stored = pipeline(toStore, tap, new FileSink(job.ingestPath, { mode: 0o644, sync: true }));
  const unpacked = decompressStream(toUnpack).then((d) => applyTar(d.stream, job.diffDir, spawnFsOps));
  const [s1, s2] = await Promise.allSettled([stored, unpacked]);
  try {
    // The blob's own failure first (a cut transfer, no space), then what it says about the
    // data (a damaged blob is why its tar did not read), then the unpacker's.
    if (s1.status === 'rejected') throw firstCause(s1, s2);
    if (tap.size !== job.size) throw invalidParameter(`size mismatch for ${job.digest}: expected ${job.size} bytes, got ${tap.size}`);
    if (tap.digest() !== job.digest) throw invalidParameter(`digest mismatch: expected ${job.digest}, got ${tap.digest()}`);
    if (s2.status === 'rejected') throw s2.reason;
  } catch (e) {
    await rm(job.ingestPath, { force: true });
    throw e;
  }
  return { diffId: s2.value.diffId, unpackedSize: s2.value.size };
}

export async function runFeed(job: FeedLayerJob, input: Readable): Promise<FeedLayerResult> {
  if (job.ingestPath !== undefined) return runFeedStore({ ...job, ingestPath: job.ingestPath }, input);
  try {
    const d = await decompressStream(input);
    // An uncompressed layer's diff ID is its blob digest, which the caller computes anyway.
    const r = await applyTar(d.stream, job.diffDir, spawnFsOps, { hash: d.compression !== 'none' });
    return d.compression === 'none' ? { layer: true, sameAsBlob: true, unpackedSize: r.size } : { layer: true, diffId: r.diffId, unpackedSize: r.size };
  } catch (e) {
    // A full disk or an I/O error is the load's failure, at once; it is no sign of a member
    // that is not a layer (taking it for one hid ENOSPC and stalled the load).
    if (isSystemError(e)) throw e;
    // Not a layer (or not one we can read): drain what is still coming.
    await drainAll(input);
    return { layer: false };
  }
}

/** An error from a system call (ENOSPC, EIO, EDQUOT…), as opposed to data that is not a layer. */
function isSystemError(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException | undefined;
  return !!err && typeof err.syscall === 'string' && typeof err.code === 'string';
}

/**
 * Reads `input` to its end, discarding it. Into a sink of its own rather than resume(): the
 * pipe into the failed unpacker is torn down later, and that unpipe pauses the stream again
 * (which stopped the acknowledgements the sender waits for: the load stalled at 0% CPU).
 */
async function drainAll(input: Readable): Promise<void> {
  if (input.readableEnded || input.destroyed) return;
  input.unpipe();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  await new Promise<void>((resolve) => {
    input.once('end', resolve);
    input.once('close', resolve);
    input.pipe(sink);
  });
}

/** Store mode: the worker also hashes and writes the blob (used for uncompressed members). */
async function runFeedStore(job: FeedLayerJob & { ingestPath: string }, input: Readable): Promise<FeedLayerResult> {
  // One hash for the blob; an uncompressed layer's diff ID is that same hash, so the unpacker
  // does not hash it again (docker's archives carry uncompressed layers).
  const tap = new DigestTap();
  input.on('error', (e) => tap.destroy(e));
  input.pipe(tap);
  const [toStore, toUnpack] = tee(tap, { secondOptional: true });
  const stored = pipeline(toStore, new FileSink(job.ingestPath, { mode: 0o644, sync: true }));
  const unpacked = decompressStream(toUnpack)
    .then(async (d) => {
      const r = await applyTar(d.stream, job.diffDir, spawnFsOps, { hash: d.compression !== 'none' });
      return { ...r, sameAsBlob: d.compression === 'none' };
    })
    .catch((e: unknown) => {
      // A full disk stops the store too, and is the error reported.
      if (isSystemError(e)) {
        tap.destroy(e as Error);
        throw e;
      }
      // Not a layer (or not one we can read): the blob is still stored; keep the tee flowing.
      tap.unpipe(toUnpack);
      toUnpack.resume();
      return undefined;
    });
  unpacked.catch(() => {});
  try {
    await stored;
  } catch (e) {
    await rm(job.ingestPath, { force: true });
    const cause = await unpacked.then(() => undefined, (u: unknown) => u);
    throw cause ?? e;
  }
  const u = await unpacked;
  const digest = tap.digest();
  return { layer: !!u, digest, size: tap.size, ...(u ? { diffId: u.sameAsBlob ? digest : u.diffId, unpackedSize: u.size } : {}) };
}

async function runLocal(job: LocalLayerJob, onBytes: (current: number) => void): Promise<LayerJobResult> {
  const src = createReadStream(job.file, { highWaterMark: 1 << 20 });
  const counter = new ProgressTap(onBytes);
  const tap = new DigestTap(digestAlgorithm(job.digest));
  src.on('error', (e) => tap.destroy(notFound(`content ${job.digest}: not found`, e)));
  counter.on('error', (e) => tap.destroy(e));
  src.pipe(counter).pipe(tap);
  // An unpacker that stops early (no space left) closes the blob file too.
  tap.on('close', () => {
    if (!tap.readableEnded) src.destroy();
  });
  const r = await applyTar((await decompressStream(tap)).stream, job.diffDir, spawnFsOps);
  if (tap.digest() !== job.digest) throw system(`content ${job.digest}: digest mismatch on disk (corrupted blob)`);
  return { diffId: r.diffId, unpackedSize: r.size };
}

/** One pass: the tar goes to the blob file (hashed) and to the unpacker at once. */
async function runPack(job: PackLayerJob): Promise<PackLayerResult> {
  const tarStream = packTree(job.pack, { whiteouts: true, exclude: new Set(job.exclude) });
  const [toStore, toUnpack] = tee(tarStream);
  const tap = new DigestTap();
  const [s1, s2] = await Promise.allSettled([
    pipeline(toStore, tap, new FileSink(job.ingestPath, { mode: 0o644, sync: true })),
    applyTar(toUnpack, job.diffDir, spawnFsOps),
  ]);
  if (s1.status === 'rejected' || s2.status === 'rejected') {
    // Stop the walk too: it would wait on its output for ever, holding the file it was
    // reading open (a deleted container's space would never come back).
    tarStream.destroy();
    await rm(job.ingestPath, { force: true });
    throw firstCause(s1, s2);
  }
  return { digest: tap.digest(), size: tap.size, diffId: s2.value.diffId, unpackedSize: s2.value.size };
}
