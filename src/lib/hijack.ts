/**
 * A hijacked connection whose client half-closed before its streams were joined (a client
 * that sends its request, body and FIN together, like `docker exec -i … </dev/null`): an idle
 * socket emits 'end' even while paused, so by the time the container's streams are connected
 * the event is gone. The server marks such sockets, with any bytes that followed the
 * request, and the stream joiner treats them as "stdin already closed".
 */
import type { Duplex } from 'node:stream';

const EARLY_EOF = Symbol.for('berth.hijack.earlyEof');

export function markEarlyEof(socket: Duplex, rest: Buffer): void {
  (socket as unknown as Record<symbol, Buffer>)[EARLY_EOF] = rest;
}

/** The bytes sent before an early half-close, or undefined if the client has not half-closed. */
export function earlyEof(socket: Duplex): Buffer | undefined {
  return (socket as unknown as Record<symbol, Buffer | undefined>)[EARLY_EOF];
}
