/** `docker pause`/`unpause` (the runtime's freezer), `rename` and `top`, as moby's daemon/{pause,rename,top_unix}.go. */
import { runCommand } from '../../lib/spawner.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalidParameter, system, wrapError } from '../../errdefs/index.ts';
import { log } from '../../lib/log.ts';
import { runtimeCommand } from '../../runtime/runtime.ts';
import type { Container } from './container.ts';
import { runtimePath, runtimeRoot, type ContainerDeps } from './deps.ts';
import { containerEvent } from './events.ts';

/** The container's cgroup path under each hierarchy (what its spec's cgroupsPath says). */
export function cgroupPath(d: ContainerDeps, c: Container): string {
  return `${c.rec.HostConfig.CgroupParent || d.rt.cgroupParent}/${c.id}`;
}

export async function pauseContainer(d: ContainerDeps, ref: string): Promise<void> {
  const c = d.store.get(ref);
  await d.locks.with(c.id, async () => {
    if (!c.running) throw conflict(`container ${c.id} is not running`);
    if (c.state.Paused) throw conflict(`Container ${c.id} is already paused`);
    if (c.state.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
    try {
      await runtimeCommand(runtimePath(d, c.rec.Runtime), runtimeRoot(d, c.rec.Runtime), ['pause', c.id]);
    } catch (e) {
      throw system(`Cannot pause container ${c.id}: ${(e as Error).message}`);
    }
    c.setPaused(true);
    await d.store.save(c);
    containerEvent(d, c, 'pause');
  });
}

export async function unpauseContainer(d: ContainerDeps, ref: string): Promise<void> {
  const c = d.store.get(ref);
  await d.locks.with(c.id, async () => {
    if (!c.state.Paused) throw conflict(`Container ${c.id} is not paused`);
    await resume(d, c);
    containerEvent(d, c, 'unpause');
  });
}

async function resume(d: ContainerDeps, c: Container): Promise<void> {
  try {
    await runtimeCommand(runtimePath(d, c.rec.Runtime), runtimeRoot(d, c.rec.Runtime), ['resume', c.id]);
  } catch (e) {
    throw system(`Cannot unpause container ${c.id}: ${(e as Error).message}`);
  }
  // A removal under way keeps its status.
  c.rec.State.Paused = false;
  if (c.rec.State.Status === 'paused') c.rec.State.Status = 'running';
  await d.store.save(c);
}

/**
 * A signal that ends a paused container is held by the freezer until it thaws: moby resumes
 * it after sending the stop signal or SIGKILL, and so do we.
 */
export async function thawAfterSignal(d: ContainerDeps, c: Container): Promise<void> {
  if (!c.state.Paused) return;
  await resume(d, c).catch((e: unknown) => log.warn('resuming a paused container to end it', { id: c.id, error: e }));
}

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `docker rename`: the name, the record, and the container's DNS names on its networks. */
export async function renameContainer(d: ContainerDeps, ref: string, newName: string): Promise<void> {
  if (!newName || !ref) throw invalidParameter('Neither old nor new names may be empty');
  // moby's order and words: the container first, then the name, allocated as "/NAME"
  const c = d.store.get(ref);
  const name = newName.replace(/^\//, '');
  await d.locks.with(c.id, async () => {
    const old = c.name;
    if (old === name) throw invalidParameter('Renaming a container with the same name as its current name');
    if (!NAME.test(name)) throw invalidParameter(`Error when allocating new name: Invalid container name (/${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    try {
      d.store.reserveName(name, c.id);
    } catch (e) {
      throw wrapError(e, 'Error when allocating new name');
    }
    c.rec.Name = `/${name}`;
    try {
      for (const ep of Object.values(c.rec.Networks ?? {})) {
        if (ep.DNSNames) ep.DNSNames = ep.DNSNames.map((n) => (n === old ? name : n));
        if (ep.EndpointID) d.networks.renameEndpoint(ep, old, name);
      }
      await d.store.save(c);
    } catch (e) {
      c.rec.Name = `/${old}`;
      d.store.releaseName(name);
      throw e;
    }
    d.store.releaseName(old);
    containerEvent(d, c, 'rename', { oldName: `/${old}` });
  });
}

/** The processes in the container's cgroup (the pids hierarchy on v1, the unified one on v2). */
export async function containerPids(d: ContainerDeps, c: Container): Promise<number[]> {
  const path = cgroupPath(d, c);
  const candidates = d.rt.cgroupVersion === 2
    ? [join('/sys/fs/cgroup', path, 'cgroup.procs')]
    : [join('/sys/fs/cgroup/pids', path, 'cgroup.procs'), join('/sys/fs/cgroup/memory', path, 'cgroup.procs'), join('/sys/fs/cgroup/cpu', path, 'cgroup.procs')];
  for (const f of candidates) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text !== undefined) return text.split('\n').filter(Boolean).map(Number);
  }
  return c.state.Pid ? [c.state.Pid] : [];
}

/**
 * `docker top`: the host's `ps` with the user's options, narrowed to the container's
 * processes by the PID column (moby's parsePSOutput).
 */
export async function topContainer(d: ContainerDeps, ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const c = d.store.get(ref);
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.state.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const pids = new Set(await containerPids(d, c));
  const r0 = await runCommand('ps', args);
  // moby: the first line of what ps said is why it failed ("ps: error: unknown gnu long option")
  if (r0.code !== 0) throw system(`ps: ${r0.stderr.split('\n')[0] || `exit status ${r0.code ?? r0.signal}`}`);
  const out = r0.stdout;
  const r = parsePs(out, pids);
  containerEvent(d, c, 'top');
  return r;
}

export function parsePs(out: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = out.split('\n');
  const titles = (lines[0] ?? '').trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw invalidParameter(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!Number.isInteger(pid)) throw invalidParameter(`Unexpected pid '${fields[pidIndex]}': invalid pid`);
    if (!pids.has(pid)) continue;
    // The last column (the command) keeps its spaces.
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}
