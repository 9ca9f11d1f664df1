/**
 * Container records on disk and the in-memory indexes rebuilt from them at start.
 *
 * On-disk layout (owned by this file; version 1):
 *
 *   <data-root>/containers/<id>/
 *     config.v2.json     the ContainerRecord (configuration + last known state), atomic writes
 *     <id>-json.log      json-file log, written by berth-shim (rotated as .1, .2, …)
 *     hostname, hosts, resolv.conf   bind-mounted into the container
 *     remove-volumes.json   written by `rm -v` before the record goes: the anonymous volumes
 *                        to remove with it (a directory left with only this is a removal a
 *                        crash cut short: the next start removes those volumes, then it)
 *
 * Names are unique; IDs resolve by full ID, name, or unambiguous ID prefix, as in docker.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '../../lib/log.ts';
import { isSetAside, setAside, writeJsonAtomic } from '../../lib/atomic.ts';
import { conflict, invalidParameter, messageOf, notFound } from '../../errdefs/index.ts';
import { Container, type ContainerRecord } from './container.ts';

export const REMOVE_VOLUMES = 'remove-volumes.json';

export class ContainerStore {
  readonly root: string;
  private readonly byId = new Map<string, Container>();
  private readonly byName = new Map<string, string>();

  constructor(dataRoot: string) {
    this.root = join(dataRoot, 'containers');
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Loads every record; broken ones are logged and kept out (their directories stay for inspection). */
  async load(): Promise<Container[]> {
    await mkdir(this.root, { recursive: true });
    for (const id of await readdir(this.root)) {
      if (!/^[a-f0-9]{64}$/.test(id)) continue;
      try {
        const rec = JSON.parse(await readFile(join(this.dir(id), 'config.v2.json'), 'utf8')) as ContainerRecord;
        if (rec.version !== 1 || rec.ID !== id) throw new Error('unknown record version or mismatched id');
        this.add(new Container(rec));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          const earlier = (await readdir(this.dir(id)).catch(() => [])).find((n) => n.startsWith('config.v2.json.') && isSetAside(n));
          if (earlier) {
            this.setAsideIds.add(id);
            this.problems.push(`WARNING: the record of container ${id} was set aside as ${join(this.dir(id), earlier)} (unreadable); the container is left out until that file is removed`);
            continue;
          }
          // A create that crashed before writing its record, or a removal after it: nothing
          // refers to it. A removal's anonymous volumes are noted for the caller to remove.
          const names = await readFile(join(this.dir(id), REMOVE_VOLUMES), 'utf8').then((t) => JSON.parse(t) as unknown, () => []);
          if (Array.isArray(names)) for (const n of names) if (typeof n === 'string') this.volumesToRemove.push(n);
          await rm(this.dir(id), { recursive: true, force: true });
          continue;
        }
        // Set aside, never deleted: its layer and files stay, and its ID is not reused.
        const file = join(this.dir(id), 'config.v2.json');
        const moved = await setAside(file).catch(() => file);
        this.setAsideIds.add(id);
        this.problems.push(`WARNING: the record of container ${id} is unreadable (${messageOf(e)}); it was moved to ${moved} and the container left out`);
        log.warn('unreadable container record set aside', { id, file: moved, error: e });
      }
    }
    return [...this.byId.values()];
  }

  /** Anonymous volumes of removals (`rm -v`) a crash cut short after the record went. */
  readonly volumesToRemove: string[] = [];
  /** Containers whose records could not be read: their directories and layers are kept. */
  readonly setAsideIds = new Set<string>();
  /** What load() set aside, for `info` warnings. */
  readonly problems: string[] = [];

  all(): Container[] {
    return [...this.byId.values()];
  }

  /** Reserves a name for `id`; throws docker's conflict if it is taken. */
  reserveName(name: string, id: string): void {
    const owner = this.byName.get(name);
    if (owner && owner !== id) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.byName.set(name, id);
  }

  releaseName(name: string): void {
    this.byName.delete(name);
  }

  hasName(name: string): boolean {
    return this.byName.has(name);
  }

  add(c: Container): void {
    this.byId.set(c.id, c);
    this.byName.set(c.name, c.id);
  }

  delete(c: Container): void {
    this.byId.delete(c.id);
    if (this.byName.get(c.name) === c.id) this.byName.delete(c.name);
  }

  async save(c: Container): Promise<void> {
    await writeJsonAtomic(join(this.dir(c.id), 'config.v2.json'), c.rec, 0o600);
  }

  /** `rec` written as the container's record, for a change that must be on disk before it is seen. */
  async saveRecord(c: Container, rec: Container['rec']): Promise<void> {
    await writeJsonAtomic(join(this.dir(c.id), 'config.v2.json'), rec, 0o600);
  }

  /**
   * Resolves what the user typed: full ID, exact name (with or without the slash), then an
   * unambiguous ID prefix. Errors carry docker's wording.
   */
  get(ref: string): Container {
    if (!ref) throw invalidParameter('No container name or ID provided');
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^\//, '');
    const named = this.byName.get(name);
    if (named) {
      const c = this.byId.get(named);
      if (c) return c;
    }
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = [...this.byId.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.byId.get(matches[0])!;
      if (matches.length > 1) throw invalidParameter(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw notFound(`No such container: ${ref}`);
  }

  tryGet(ref: string): Container | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }
}
