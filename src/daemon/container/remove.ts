/** `docker rm`: a running container only with force; the record goes first, so a crash mid-way resurrects nothing. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, system } from '../../errdefs/index.ts';
import { failpoint } from '../../lib/failpoint.ts';
import { log } from '../../lib/log.ts';
import { shimDir, sleep, type ContainerDeps } from './deps.ts';
import { cancelRestart } from './monitor.ts';
import { anonymousVolumes, removeAnonymousVolumes } from './mounts.ts';
import { REMOVE_VOLUMES } from './store.ts';
import { writeJsonAtomic } from '../../lib/atomic.ts';
import { signalContainer } from './stop.ts';
import { thawAfterSignal } from './operate.ts';
import { containerEvent } from './events.ts';

export async function removeContainer(d: ContainerDeps, ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
  const c = d.store.get(ref);
  if (c.state.Restarting && !opts.force) {
    throw conflict(`cannot remove container "${ref}": container is restarting: stop the container before removing or force remove`);
  }
  // A start half done (a policy restart's, or a user's, which holds the container's lock) would
  // otherwise run the container once its record is gone, its processes and cgroup left to no
  // one: it finishes first, and the container is then killed below.
  await c.restartInFlight;
  await d.locks.with(c.id, async () => {});
  cancelRestart(c);
  if (c.running && !opts.force) {
    if (c.state.Paused) throw conflict(`cannot remove container "${ref}": container is paused and must be unpaused first`);
    throw conflict(`cannot remove container "${ref}": container is ${c.state.Status}: stop the container before removing or force remove`);
  }
  if (c.state.Status === 'removing') throw conflict(`removal of container ${ref} is already in progress`);
  const exited = c.wait('not-running');
  c.setRemoving();
  if (c.running) {
    // moby's forced removal kills first, with its event.
    containerEvent(d, c, 'kill', { signal: '9' });
    await signalContainer(c, 9).catch(() => {});
    await thawAfterSignal(d, c);
    await Promise.race([exited, sleep(15_000)]);
    if (c.running) {
      c.rec.State.Status = 'running';
      throw system(`cannot remove container "${ref}": could not kill running container ${c.id}, cannot remove`);
    }
  }
  let volumesError: unknown;
  await d.locks.with(c.id, async () => {
    // The anonymous volumes to remove with it are noted first: a crash after the record goes
    // leaves the note, and the next start removes them (they are nobody's once the record is).
    const anonymous = opts.volumes ? anonymousVolumes(c.rec) : [];
    if (anonymous.length) await writeJsonAtomic(join(d.store.dir(c.id), REMOVE_VOLUMES), anonymous, 0o600);
    // Remove the record first: a crash mid-removal must not resurrect a half-deleted container.
    await rm(join(d.store.dir(c.id), 'config.v2.json'), { force: true });
    failpoint('rm-after-record');
    d.store.delete(c);
    // Its network namespace, removed in the background at exit, is gone before rm answers.
    await d.networks.settle(c.id);
    await d.images.snapshots.remove(c.id).catch((e: unknown) => log.warn('removing container layer', { id: c.id, error: e }));
    failpoint('rm-after-layer');
    if (anonymous.length) volumesError = await removeAnonymousVolumes(d.volumes, anonymous).then(() => undefined, (e: unknown) => e);
    await rm(d.store.dir(c.id), { recursive: true, force: true });
    await rm(shimDir(d, c.id), { recursive: true, force: true });
    d.pending.delete(c.id);
    c.setRemoved();
    containerEvent(d, c, 'destroy');
    for (const fn of d.removedListeners) fn(c.id);
  });
  if (volumesError) throw volumesError;
}
