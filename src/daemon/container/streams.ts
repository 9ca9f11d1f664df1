/**
 * Joins a client's hijacked connection to a berth-shim attach stream: output flows to the
 * client until the shim ends it; the client's stdin flows to the shim, watched for the
 * detach keys. A client that half-closes ends its stdin (the shim closes the process's stdin
 * under StdinOnce); a client that goes away or detaches leaves the process running.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { EscapeWatcher } from '../../lib/escape.ts';
import { earlyEof } from '../../lib/hijack.ts';
import { Demuxer, frame } from '../../lib/stdcopy.ts';

export interface JoinOptions {
  stdin: boolean;
  detachKeys?: number[];
  /** Remove the stdcopy headers from the shim's output (clients that want raw bytes). */
  stripFrames?: boolean;
  /** Frame the shim's raw (terminal) output as stdout (an exec started with `Tty: false`). */
  frameOutput?: boolean;
  /** Awaited after the shim's output ends and before the client's connection is closed. */
  beforeEnd?: () => Promise<void>;
}

export type JoinResult = 'ended' | 'detached' | 'client-gone';

export function joinStreams(shim: Socket, client: Duplex, opts: JoinOptions): Promise<JoinResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (how: JoinResult) => {
      if (settled) return;
      settled = true;
      if (how === 'ended') {
        const close = () => { if (!client.destroyed) client.end(); };
        (opts.beforeEnd ? opts.beforeEnd().catch(() => {}) : Promise.resolve()).then(close);
      } else if (!client.destroyed) {
        client.end();
      }
      shim.destroy();
      resolve(how);
    };
    const demuxer = opts.stripFrames ? new Demuxer() : undefined;
    shim.on('data', (chunk: Buffer) => {
      let d = chunk;
      if (demuxer) {
        const frames = demuxer.push(chunk);
        if (!frames.length) return;
        d = Buffer.concat(frames.map((f) => f.data));
      } else if (opts.frameOutput) {
        d = frame(1, chunk);
      }
      if (!client.write(d)) {
        shim.pause();
        client.once('drain', () => shim.resume());
      }
    });
    shim.on('end', () => finish('ended'));
    shim.on('close', () => finish('ended'));
    shim.on('error', () => finish('ended'));
    client.on('error', () => finish('client-gone'));
    client.on('close', () => finish('client-gone'));
    if (opts.stdin) {
      const watcher = opts.detachKeys?.length ? new EscapeWatcher(opts.detachKeys) : undefined;
      client.on('data', (d: Buffer) => {
        if (settled) return;
        let data = d;
        if (watcher) {
          const r = watcher.push(d);
          if (r.data.length && !shim.write(r.data)) client.pause();
          if (r.detached) return finish('detached');
          data = Buffer.alloc(0);
        }
        if (data.length && !shim.write(data)) client.pause();
      });
      shim.on('drain', () => client.resume());
      // A client's half-close ends its stdin: tell the shim by half-closing our side too.
      client.on('end', () => { if (!settled) shim.end(); });
      const early = earlyEof(client);
      if (early) {
        if (early.length) shim.write(early);
        shim.end();
      }
    } else {
      client.on('data', () => {});
    }
    shim.resume();
    client.resume();
  });
}
