import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { kindOf } from '../errdefs/index.ts';
import {
  STDIN,
  STDOUT,
  STDERR,
  SYSTEMERR,
  HEADER_LEN,
  frame,
  frameHeader,
  Demuxer,
  demux,
  demuxTo,
  stdCopy,
  DemuxStream,
  MuxWriter,
  type Frame,
} from './stdcopy.ts';

function chunked(buf: Buffer, sizes: number[] | number): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = typeof sizes === 'number' ? sizes : sizes[i++ % sizes.length];
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

async function collect(chunks: Buffer[], opts = {}): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of demux(Readable.from(chunks), opts)) frames.push(f);
  return frames;
}

function joinByStream(frames: Frame[]): { out: string; err: string } {
  let out = '';
  let err = '';
  for (const f of frames) {
    if (f.stream === STDERR) err += f.data.toString();
    else out += f.data.toString();
  }
  return { out, err };
}

test('frame layout', () => {
  assert.equal(STDIN, 0);
  assert.equal(STDOUT, 1);
  assert.equal(STDERR, 2);
  const f = frame(STDERR, 'hello');
  assert.deepEqual([...f.subarray(0, HEADER_LEN)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.equal(f.subarray(HEADER_LEN).toString(), 'hello');
  assert.deepEqual([...frameHeader(STDOUT, 0x01020304)], [1, 0, 0, 0, 1, 2, 3, 4]);
  assert.deepEqual([...frame(STDOUT, new Uint8Array([9, 8]))], [1, 0, 0, 0, 0, 0, 0, 2, 9, 8]);
  assert.throws(() => frameHeader(STDOUT, -1), RangeError);
});

test('demux: every split point of headers and payloads', async () => {
  const input = Buffer.concat([frame(STDOUT, 'out-1\n'), frame(STDERR, 'err-1\n'), frame(STDOUT, ''), frame(STDOUT, 'out-2')]);
  for (let size = 1; size <= input.length; size++) {
    const frames = await collect(chunked(input, size));
    assert.deepEqual(joinByStream(frames), { out: 'out-1\nout-2', err: 'err-1\n' }, `chunk size ${size}`);
    for (const f of frames) assert.ok(f.data.length > 0);
  }
  // Irregular chunking, including empty chunks.
  const frames = await collect(chunked(input, [3, 0, 1, 7, 2, 11]).concat([Buffer.alloc(0)]));
  assert.deepEqual(joinByStream(frames), { out: 'out-1\nout-2', err: 'err-1\n' });
});

test('demux: random frames and random chunking round-trip', async () => {
  for (let iter = 0; iter < 50; iter++) {
    const expected: Array<{ stream: number; data: Buffer }> = [];
    const parts: Buffer[] = [];
    const n = 1 + Math.floor(Math.random() * 20);
    for (let i = 0; i < n; i++) {
      const stream = Math.random() < 0.5 ? STDOUT : STDERR;
      const data = randomBytes(Math.floor(Math.random() * 300));
      expected.push({ stream, data });
      parts.push(frame(stream, data));
    }
    const all = Buffer.concat(parts);
    const sizes = Array.from({ length: 7 }, () => 1 + Math.floor(Math.random() * 40));
    const frames = await collect(chunked(all, sizes), { wholeFrames: true });
    assert.deepEqual(
      frames.map((f) => ({ stream: f.stream, data: f.data })),
      expected.filter((e) => e.data.length > 0),
    );
  }
});

test('demux: wholeFrames coalesces pieces; default streams them', async () => {
  const input = frame(STDOUT, 'abcdefghij');
  const pieces = await collect(chunked(input, 4));
  assert.ok(pieces.length > 1);
  assert.equal(Buffer.concat(pieces.map((f) => f.data)).toString(), 'abcdefghij');
  const whole = await collect(chunked(input, 4), { wholeFrames: true });
  assert.equal(whole.length, 1);
  assert.equal(whole[0].data.toString(), 'abcdefghij');
});

test('demux: stdin frames go to stdout', async () => {
  const frames = await collect([frame(STDIN, 'in')]);
  assert.equal(frames[0].stream, STDIN);
  const out = new PassThrough();
  const got: Buffer[] = [];
  out.on('data', (c: Buffer) => got.push(c));
  const n = await stdCopy(Readable.from([frame(STDIN, 'in'), frame(STDOUT, 'out')]), out, null);
  assert.deepEqual(n, { stdout: 5, stderr: 0 });
  assert.equal(Buffer.concat(got).toString(), 'inout');
});

test('demux: daemon error frame and bad header', async () => {
  await assert.rejects(
    collect(chunked(Buffer.concat([frame(STDOUT, 'ok'), frame(SYSTEMERR, 'something broke')]), 3)),
    (e: unknown) => kindOf(e) === 'System' && (e as Error).message === 'error from daemon in stream: something broke',
  );
  await assert.rejects(
    collect([Buffer.from([5, 0, 0, 0, 0, 0, 0, 1, 65])]),
    (e: unknown) => (e as Error).message === 'Unrecognized input header: 5',
  );
  // A plain-text (TTY) stream is not multiplexed: 'H' (72) is not a valid stream type.
  await assert.rejects(collect([Buffer.from('Hello world')]), /Unrecognized input header: 72/);
});

test('demux: truncated input is accepted like StdCopy, rejected when strict', async () => {
  const input = Buffer.concat([frame(STDOUT, 'complete'), frame(STDOUT, 'partial').subarray(0, 10)]);
  const frames = await collect([input]);
  assert.equal(Buffer.concat(frames.map((f) => f.data)).toString(), 'completepa');
  await assert.rejects(collect([input], { strict: true }), /unexpected EOF/);
  await assert.rejects(collect([frame(STDOUT, 'x').subarray(0, 3)], { strict: true }), /unexpected EOF/);
  assert.equal((await collect([frame(STDOUT, 'x')], { strict: true })).length, 1);
  const d = new Demuxer();
  d.push(Buffer.from([1, 0, 0]));
  assert.equal(d.midFrame, true);
});

test('demux: large payloads are fast and zero-copy', async () => {
  const big = randomBytes(32 * 1024 * 1024);
  const input = Buffer.concat([frame(STDOUT, big), frame(STDERR, big.subarray(0, 1024 * 1024))]);
  const start = performance.now();
  let outLen = 0;
  let errLen = 0;
  const outParts: Buffer[] = [];
  for await (const f of demux(Readable.from(chunked(input, 65536)))) {
    if (f.stream === STDOUT) {
      outLen += f.data.length;
      outParts.push(f.data);
    } else errLen += f.data.length;
  }
  const ms = performance.now() - start;
  assert.equal(outLen, big.length);
  assert.equal(errLen, 1024 * 1024);
  assert.ok(Buffer.concat(outParts).equals(big));
  assert.ok(ms < 3000, `took ${ms}ms`);
  // Many tiny frames in one chunk.
  const tiny = Buffer.concat(Array.from({ length: 100_000 }, (_, i) => frame(i % 2 ? STDERR : STDOUT, 'x')));
  const t0 = performance.now();
  const d = new Demuxer();
  const frames = d.push(tiny);
  assert.equal(frames.length, 100_000);
  assert.ok(performance.now() - t0 < 2000);
});

test('stdCopy: honours backpressure of slow destinations', async () => {
  const slow = (sink: Buffer[]) =>
    new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        sink.push(chunk);
        setImmediate(cb);
      },
    });
  const outSink: Buffer[] = [];
  const errSink: Buffer[] = [];
  const frames: Buffer[] = [];
  let expectOut = '';
  let expectErr = '';
  for (let i = 0; i < 200; i++) {
    const s = `line ${i} ${'z'.repeat(i % 50)}\n`;
    if (i % 3 === 0) {
      frames.push(frame(STDERR, s));
      expectErr += s;
    } else {
      frames.push(frame(STDOUT, s));
      expectOut += s;
    }
  }
  const stdout = slow(outSink);
  const stderr = slow(errSink);
  const n = await stdCopy(Readable.from(chunked(Buffer.concat(frames), 37)), stdout, stderr);
  assert.deepEqual(n, { stdout: Buffer.byteLength(expectOut), stderr: Buffer.byteLength(expectErr) });
  assert.equal(Buffer.concat(outSink).toString(), expectOut);
  assert.equal(Buffer.concat(errSink).toString(), expectErr);
  assert.equal(stdout.writableEnded, false, 'destinations are not ended');
});

test('demuxTo: rejects on daemon error and on destination error', async () => {
  assert.equal(await demuxTo(Readable.from([frame(STDOUT, 'a')]), new PassThrough(), null), undefined);
  await assert.rejects(
    demuxTo(Readable.from([frame(STDOUT, 'a'), frame(SYSTEMERR, 'nope')]), new PassThrough(), new PassThrough()),
    /error from daemon in stream: nope/,
  );
  const failing = new Writable({
    highWaterMark: 1,
    write(_c, _e, cb) {
      setImmediate(() => cb(new Error('disk full')));
    },
  });
  failing.on('error', () => {});
  await assert.rejects(
    demuxTo(Readable.from([frame(STDOUT, 'aaaa'), frame(STDOUT, 'bbbb'), frame(STDOUT, 'cccc')]), failing, null),
    /disk full|closed/,
  );
});

test('DemuxStream transform and MuxWriter round trip', async () => {
  const wire = new PassThrough();
  const outW = new MuxWriter(wire, STDOUT);
  const errW = new MuxWriter(wire, STDERR);
  const frames: Frame[] = [];
  const sink = new Writable({
    objectMode: true,
    write(f: Frame, _e, cb) {
      frames.push(f);
      cb();
    },
  });
  const done = pipeline(wire, new DemuxStream({ wholeFrames: true }), sink);
  outW.write('hello ');
  errW.write('oops');
  outW.write('');
  outW.write(Buffer.from('world'));
  await new Promise<void>((r) => outW.end(r));
  await new Promise<void>((r) => errW.end(r));
  wire.end();
  await done;
  assert.deepEqual(
    frames.map((f) => [f.stream, f.data.toString()]),
    [
      [STDOUT, 'hello '],
      [STDERR, 'oops'],
      [STDOUT, 'world'],
    ],
  );
  const bad = pipeline(Readable.from([Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])]), new DemuxStream(), new PassThrough({ objectMode: true }));
  await assert.rejects(bad, /Unrecognized input header: 9/);
});
