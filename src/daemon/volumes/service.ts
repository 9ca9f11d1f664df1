/**
 * Volumes: named and anonymous, docker's `local` driver only. Which containers use a volume
 * is read from their records (a volume in use is never removed or pruned); creates still in
 * flight hold their volumes too. Volumes with driver options are mounted at their first use by
 * a running container and unmounted when the last one stops.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import type { Volume } from '../../api/types.ts';
import { conflict, EngineError, invalidParameter, notFound } from '../../errdefs/index.ts';
import { dirSize } from '../../lib/dirsize.ts';
import { matchLabel } from '../../lib/filters.ts';
import { log } from '../../lib/log.ts';
import { mountsUnder } from '../../lib/mounts.ts';
import { KeyedMutex } from '../../lib/mutex.ts';
import { mountLocal, needsMount, unmountLocal, validateLocalOptions } from './local.ts';
import { rfc3339, VolumeStore, type VolumeRecord } from './store.ts';
import type { EventSink } from '../events/service.ts';

/** The label docker puts on volumes created without a name (prune's default target). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface VolumeUsers {
  /** IDs of the containers whose records mount the volume. */
  containersUsing(name: string): string[];
}

export interface CreateVolumeOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** moby's local validateName, wrapped as `create <name>: …`. */
export function checkVolumeName(name: string): void {
  if (name.length === 1) throw invalidParameter(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  if (!NAME_RE.test(name)) {
    throw invalidParameter(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

function checkDriver(name: string, driver: string | undefined): void {
  if (driver && driver !== 'local') throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}

export class VolumeService {
  readonly store: VolumeStore;
  private readonly volumes = new Map<string, VolumeRecord>();
  private users: VolumeUsers = { containersUsing: () => [] };
  /** Creates in flight: name → count. */
  private readonly held = new Map<string, number>();
  /** Mounted option volumes → the running containers using them. */
  private readonly active = new Map<string, Set<string>>();
  private readonly locks = new KeyedMutex();
  private pruning = false;

  constructor(store: VolumeStore) {
    this.store = store;
  }

  setUsers(u: VolumeUsers): void {
    this.users = u;
  }

  async init(): Promise<void> {
    for (const rec of await this.store.load()) this.volumes.set(rec.Name, rec);
  }

  /**
   * After the containers are restored: option volumes mounted for containers that no longer
   * run are unmounted (berthd was down when they stopped).
   */
  async settleMounts(running: Map<string, string[]>): Promise<void> {
    for (const [name, ids] of running) if (ids.length) this.active.set(name, new Set(ids));
    for (const target of await mountsUnder(this.store.root)) {
      const m = /\/([^/]+)\/_data$/.exec(target);
      if (m && this.active.has(m[1])) continue;
      log.info('unmounting a volume no running container uses', { target });
      await unmountLocal(target);
    }
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  /** Where volume events go (the daemon's event log). */
  events: EventSink = () => {};

  /** POST /volumes/create: idempotent for an existing name (its settings are kept, as docker's). */
  async create(o: CreateVolumeOptions): Promise<Volume> {
    const anonymous = !o.Name;
    const name = o.Name || randomBytes(32).toString('hex');
    checkDriver(name, o.Driver);
    checkVolumeName(name);
    return this.locks.with(name, async () => {
      const existing = this.volumes.get(name);
      if (existing) return this.view(existing);
      const opts = o.DriverOpts && Object.keys(o.DriverOpts).length ? { ...o.DriverOpts } : null;
      try {
        validateLocalOptions(opts);
      } catch (e) {
        throw new EngineError('InvalidParameter', `create ${name}: ${(e as Error).message}`);
      }
      const labels = { ...(o.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
      const rec: VolumeRecord = { Name: name, Driver: 'local', Labels: Object.keys(labels).length ? labels : null, Options: opts, CreatedAt: rfc3339(new Date()) };
      await this.store.create(rec);
      this.volumes.set(name, rec);
      this.events('volume', 'create', name, { driver: 'local' });
      return this.view(rec);
    });
  }

  /**
   * Keeps a volume from removal while a container that will use it is being created; the
   * returned function lets go (the container's record holds it from then on).
   */
  hold(name: string): () => void {
    this.held.set(name, (this.held.get(name) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.held.get(name) ?? 1) - 1;
      if (n > 0) this.held.set(name, n);
      else this.held.delete(name);
    };
  }

  get(name: string): Volume {
    return this.view(this.mustGet(name));
  }

  /** Host path of the volume's content. */
  path(name: string): string {
    this.mustGet(name);
    return this.store.dataPath(name);
  }

  private mustGet(name: string): VolumeRecord {
    const v = this.volumes.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  private view(v: VolumeRecord): Volume {
    return { CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: this.store.dataPath(v.Name), Name: v.Name, Options: v.Options, Scope: 'local' };
  }

  private inUse(name: string): string[] {
    return this.users.containersUsing(name);
  }

  /** GET /volumes with docker's filters: dangling, name, driver, label. */
  list(filters: Map<string, string[]>): Volume[] {
    for (const k of filters.keys()) if (!['dangling', 'name', 'driver', 'label'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    const dangling = filters.get('dangling');
    let wantDangling: boolean | undefined;
    if (dangling?.length) {
      const v = dangling[0].toLowerCase();
      if (['true', '1'].includes(v)) wantDangling = true;
      else if (['false', '0'].includes(v)) wantDangling = false;
      else throw invalidParameter(`invalid filter 'dangling=[${dangling.join(' ')}]'`);
    }
    const names = filters.get('name') ?? [];
    const drivers = filters.get('driver') ?? [];
    const labels = filters.get('label') ?? [];
    const out: Volume[] = [];
    for (const v of this.volumes.values()) {
      if (wantDangling !== undefined && (this.inUse(v.Name).length === 0) !== wantDangling) continue;
      if (names.length && !names.some((n) => v.Name === n || safeRegExp(n).test(v.Name))) continue;
      if (drivers.length && !drivers.includes(v.Driver)) continue;
      if (labels.length && !labels.every((f) => matchLabel(v.Labels ?? {}, f))) continue;
      out.push(this.view(v));
    }
    return out;
  }

  /** DELETE /volumes/{name}: never while a container uses it, force or not (as docker). */
  async remove(name: string, force: boolean): Promise<void> {
    await this.locks.with(name, async () => {
      const v = this.volumes.get(name);
      if (!v) {
        if (force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      const users = this.inUse(name);
      if (users.length || this.held.has(name)) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.unmountIfActive(name);
      await this.store.remove(name);
      this.volumes.delete(name);
      this.events('volume', 'destroy', name, { driver: 'local' });
    });
  }

  /**
   * POST /volumes/prune: unused local volumes without driver options; only anonymous ones
   * unless `all` (API 1.42+; older clients prune every unused volume, as docker).
   */
  async prune(filters: Map<string, string[]>, apiAll: boolean): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    for (const k of filters.keys()) if (!['label', 'label!', 'all'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    const allF = filters.get('all');
    let all = apiAll;
    if (allF) {
      if (allF.length > 1) throw invalidParameter(`invalid filter 'all=[${allF.join(' ')}]': only one value is expected`);
      const v = allF[0].toLowerCase();
      if (['true', '1', 't'].includes(v)) all = true;
      else if (['false', '0', 'f'].includes(v)) all = false;
      else throw invalidParameter(`invalid filter 'all': strconv.ParseBool: parsing "${allF[0]}": invalid syntax`);
    }
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      const labels = filters.get('label') ?? [];
      const notLabels = filters.get('label!') ?? [];
      const deleted: string[] = [];
      let space = 0;
      for (const v of [...this.volumes.values()]) {
        const l = v.Labels ?? {};
        if (v.Driver !== 'local' || v.Options) continue;
        if (!all && !(ANONYMOUS_LABEL in l)) continue;
        if (labels.length && !labels.every((f) => matchLabel(l, f))) continue;
        if (notLabels.some((f) => matchLabel(l, f))) continue;
        if (this.inUse(v.Name).length || this.held.has(v.Name)) continue;
        const size = await dirSize(this.store.dataPath(v.Name));
        try {
          await this.remove(v.Name, false);
          deleted.push(v.Name);
          space += size;
        } catch (e) {
          log.warn('prune: could not remove volume', { volume: v.Name, error: e });
        }
      }
      return { VolumesDeleted: deleted, SpaceReclaimed: space };
    } finally {
      this.pruning = false;
    }
  }

  /** /system/df: local volumes without options, with size and the containers using them. */
  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const v of this.volumes.values()) {
      if (v.Driver !== 'local' || v.Options) continue;
      const size = await dirSize(this.store.dataPath(v.Name)).catch(() => -1);
      out.push({ ...this.view(v), UsageData: { RefCount: this.inUse(v.Name).length, Size: size } });
    }
    return out;
  }

  /** True when the volume holds nothing (copy-up fills only empty volumes). */
  async isEmpty(name: string): Promise<boolean> {
    return (await readdir(this.store.dataPath(name)).catch(() => [])).length === 0;
  }

  /**
   * The volume's content for a container about to use it: option volumes are mounted at
   * their first user. Returns the host path to bind.
   */
  async activate(name: string, containerId: string): Promise<string> {
    return this.locks.with(name, async () => {
      const v = this.mustGet(name);
      const path = this.store.dataPath(name);
      if (!needsMount(v.Options)) return path;
      const users = this.active.get(name) ?? new Set<string>();
      if (users.size === 0 && !(await mountsUnder(path)).includes(path)) await mountLocal(v.Options, path);
      users.add(containerId);
      this.active.set(name, users);
      return path;
    });
  }

  /** A container stopped: option volumes no running container uses any more are unmounted. */
  async deactivate(containerId: string): Promise<void> {
    for (const [name, users] of this.active) {
      if (!users.delete(containerId) || users.size) continue;
      await this.locks.with(name, () => this.unmountIfActive(name));
    }
  }

  private async unmountIfActive(name: string): Promise<void> {
    const users = this.active.get(name);
    if (users?.size) return;
    this.active.delete(name);
    const path = this.store.dataPath(name);
    if ((await mountsUnder(path)).includes(path)) await unmountLocal(path);
  }
}

/** docker's filters.Args.Match: a name filter is also an (unanchored) regular expression. */
function safeRegExp(s: string): RegExp {
  try {
    return new RegExp(s);
  } catch {
    return /$^/;
  }
}
