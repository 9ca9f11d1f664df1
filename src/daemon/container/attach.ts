/** `docker attach` and `resize`: clients joined to a container's streams, before or after its start. */
import { containerEvent } from './events.ts';
import type { Duplex } from 'node:stream';
import { conflict, invalidParameter } from '../../errdefs/index.ts';
import { isShimGone, ShimClient } from '../../runtime/shim.ts';
import type { ContainerDeps, PendingAttach } from './deps.ts';
import { joinStreams } from './streams.ts';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Parsed detach keys; none disables detaching. */
  detachKeys?: number[];
  /** Output without stream headers even without a TTY (websocket clients). */
  raw?: boolean;
}

/**
 * Connects `client` (a hijacked connection) to the container's streams. Before start it
 * waits for the start; the promise settles when the streams end, the client detaches with
 * the detach keys, or goes away.
 */
export async function attachContainer(d: ContainerDeps, ref: string, client: Duplex, opts: AttachOptions): Promise<void> {
  const c = d.store.get(ref);
  if (c.state.Paused) throw conflict(`container ${ref} is paused, unpause the container before attach`);
  if (c.state.Restarting) throw conflict(`container ${ref} is restarting, wait until the container is running`);
  const stdin = opts.stdin && (c.rec.Config.OpenStdin || c.rec.Config.Tty);
  const flags = (stdin ? 'i' : '') + (opts.stdout ? 'o' : '') + (opts.stderr ? 'e' : '');
  if (!flags) throw invalidParameter('at least one stream must be attached');
  containerEvent(d, c, 'attach');
  // Detach keys apply only to a terminal, as in moby's CopyStreams: without one, stdin is
  // data and is copied byte for byte.
  const join = {
    stdin,
    ...(opts.detachKeys && c.rec.Config.Tty ? { detachKeys: opts.detachKeys } : {}),
    ...(opts.raw && !c.rec.Config.Tty ? { stripFrames: true } : {}),
  };
  await new Promise<void>((resolve, reject) => {
    const connect = async (shim: ShimClient) => {
      const s = await shim.attach(flags);
      joinStreams(s, client, join).then(() => resolve(), reject);
    };
    if (c.running && c.shimDir) {
      connect(new ShimClient(c.shimDir)).catch(reject);
      return;
    }
    const list = d.pending.get(c.id) ?? [];
    const entry: PendingAttach = { flags, connect };
    list.push(entry);
    d.pending.set(c.id, list);
    const drop = () => {
      const l = d.pending.get(c.id);
      if (l) d.pending.set(c.id, l.filter((p) => p !== entry));
      resolve();
    };
    client.once('close', drop);
    void c.wait('removed').then(drop);
  });
}

/** Resizes the container's TTY; containers without one ignore it, as docker's do. */
export async function resizeContainer(d: ContainerDeps, ref: string, rows: number, cols: number): Promise<void> {
  const c = d.store.get(ref);
  if (!c.running || !c.shimDir) throw conflict(`Container ${c.id} is not running`);
  if (!c.rec.Config.Tty) return;
  try {
    await new ShimClient(c.shimDir).resize(rows, cols);
  } catch (e) {
    // The process ended as the resize was on its way.
    if (isShimGone(e)) throw conflict(`Container ${c.id} is not running`);
    throw e;
  }
}
