/**
 * Volumes on disk, as docker's local driver keeps them:
 *
 *   <data-root>/volumes/<name>/              0701 root
 *   <data-root>/volumes/<name>/_data/        0755 (container root's under userns-remap): the content,
 *                                            bind-mounted into containers
 *   <data-root>/volumes/<name>/volume.json   { Name, Driver, Labels, Options, CreatedAt }, written
 *                                            atomically, after _data
 *   <data-root>/volumes/.rm-<name>-<rand>/   a volume being deleted (renamed first, so a crash
 *                                            mid-delete never leaves half a volume that looks whole)
 *
 * At start: `.rm-*` directories are finished off; a directory whose record is missing (a create
 * cut short) is removed when its _data is empty and adopted otherwise (data is never lost); a
 * record that cannot be read is set aside (`volume.json.corrupt-<time>`), reported, and its
 * volume adopted with default settings.
 */
import { chown, lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setAside, writeJsonAtomic } from '../../lib/atomic.ts';
import { log } from '../../lib/log.ts';

export interface VolumeRecord {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  /** RFC 3339, seconds. */
  CreatedAt: string;
}

export class VolumeStore {
  readonly root: string;
  /** What start-up could not read (for `info` warnings). */
  readonly problems: string[] = [];
  private readonly owner: { uid: number; gid: number } | undefined;

  constructor(dataRoot: string, owner?: { uid: number; gid: number }) {
    this.root = join(dataRoot, 'volumes');
    this.owner = owner;
  }

  dir(name: string): string {
    return join(this.root, name);
  }

  dataPath(name: string): string {
    return join(this.root, name, '_data');
  }

  async load(): Promise<VolumeRecord[]> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    const out: VolumeRecord[] = [];
    for (const name of await readdir(this.root)) {
      const dir = join(this.root, name);
      if (name.startsWith('.rm-')) {
        await rm(dir, { recursive: true, force: true }).catch((e: unknown) => log.warn('removing a volume deleted mid-way', { dir, error: e }));
        continue;
      }
      if (name.startsWith('.') || !(await lstat(dir).then((s) => s.isDirectory(), () => false))) continue;
      const file = join(dir, 'volume.json');
      let text: string | undefined;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        text = undefined;
      }
      if (text !== undefined) {
        const rec = parseRecord(text, name);
        if (rec) {
          out.push(rec);
          continue;
        }
        const moved = await setAside(file).catch(() => file);
        log.warn('unreadable volume record set aside; the volume is kept with default settings', { volume: name, file: moved });
        this.problems.push(`volume ${name}: its record could not be read and was moved to ${moved}; the volume is kept as a plain local volume`);
      } else {
        const entries = await readdir(join(dir, '_data')).catch(() => undefined);
        if (!entries || entries.length === 0) {
          // A create cut short: nothing was ever stored in it.
          await rm(dir, { recursive: true, force: true });
          continue;
        }
        log.warn('volume without a record adopted', { volume: name });
      }
      const st = await lstat(dir);
      const rec: VolumeRecord = { Name: name, Driver: 'local', Labels: null, Options: null, CreatedAt: rfc3339(st.ctime) };
      await this.save(rec).catch((e: unknown) => log.warn('saving an adopted volume record', { volume: name, error: e }));
      out.push(rec);
    }
    return out;
  }

  /** Makes the directories, then the record: a volume exists once its record does. */
  async create(rec: VolumeRecord): Promise<void> {
    const dir = this.dir(rec.Name);
    await mkdir(dir, { mode: 0o701 });
    try {
      await mkdir(join(dir, '_data'), { mode: 0o755 });
      if (this.owner) await chown(join(dir, '_data'), this.owner.uid, this.owner.gid);
      await this.save(rec);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  save(rec: VolumeRecord): Promise<void> {
    return writeJsonAtomic(join(this.dir(rec.Name), 'volume.json'), rec, 0o600);
  }

  /** Renamed away first, then deleted: a crash in between leaves nothing that looks like a volume. */
  async remove(name: string): Promise<void> {
    const doomed = join(this.root, `.rm-${name}-${randomBytes(4).toString('hex')}`);
    await rename(this.dir(name), doomed);
    await rm(doomed, { recursive: true, force: true });
  }
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function parseRecord(text: string, name: string): VolumeRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<VolumeRecord>;
    if (v.Name !== name || typeof v.Driver !== 'string' || typeof v.CreatedAt !== 'string') return undefined;
    const map = (m: unknown): Record<string, string> | null => (m && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, string>) : null);
    return { Name: v.Name, Driver: v.Driver, Labels: map(v.Labels), Options: map(v.Options), CreatedAt: v.CreatedAt };
  } catch {
    return undefined;
  }
}
