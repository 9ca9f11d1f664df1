/**
 * A Readable's chunks one by one, as they were pushed. A Readable's own async iterator calls
 * read(), which joins everything buffered into one new buffer (Buffer.concat): for bulk data
 * (a GiB through `cp`, a layer through load) that is a copy of nearly every byte, a fifth of
 * the CLI's CPU in `cp` out. This takes 'data' events instead, pausing the stream while a few
 * chunks wait, so nothing is copied and memory stays bounded.
 */
import type { Readable } from 'node:stream';

const QUEUED = 8;

function ignore(): void {}

export interface ChunkIterator extends AsyncIterableIterator<Buffer> {
  /**
   * Stops listening, leaving the stream paused for whoever reads it next, with what was queued
   * put back (a stream that has ended already has nothing more for anyone).
   */
  release(): void;
}

export function chunksOf(r: Readable): ChunkIterator {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (c: Buffer | string) => {
    queue.push(typeof c === 'string' ? Buffer.from(c) : c);
    if (queue.length >= QUEUED) r.pause();
    poke();
  };
  const onEnd = () => {
    ended = true;
    poke();
  };
  const onError = (e: Error) => {
    failure = e;
    poke();
  };
  // A stream destroyed without an error ends here as cut off, not as a clean end.
  const onClose = () => {
    if (!ended && !failure) failure = Object.assign(new Error('the stream closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    poke();
  };
  r.on('data', onData);
  r.once('end', onEnd);
  r.once('error', onError);
  r.once('close', onClose);
  const detach = () => {
    r.off('data', onData);
    r.off('end', onEnd);
    r.off('close', onClose);
    // An error after we stopped listening (a tee destroying the stream it feeds with the other
    // reader's error) must not go unheard: with no listener left it would crash the process
    // (a layer worker died that way on a full disk). A later reader adds its own.
    r.off('error', onError);
    r.on('error', ignore);
  };
  const it: ChunkIterator = {
    release() {
      detach();
      if (ended || r.destroyed) return;
      r.pause();
      // What was taken but not consumed goes back, in order, for the next reader.
      for (const c of queue.splice(0).reverse()) r.unshift(c);
    },
    async next(): Promise<IteratorResult<Buffer>> {
      for (;;) {
        const c = queue.shift();
        if (c) {
          if (queue.length < QUEUED / 2 && r.isPaused() && !ended) r.resume();
          return { value: c, done: false };
        }
        if (failure) {
          detach();
          throw failure;
        }
        if (ended) {
          detach();
          return { value: undefined, done: true };
        }
        r.resume();
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return(): Promise<IteratorResult<Buffer>> {
      // The consumer stopped early: the stream goes, as with a Readable's own iterator.
      detach();
      r.destroy();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
