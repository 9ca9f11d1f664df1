/**
 * Crash-safe file writes: a record is either its old content or its new content, never torn.
 *
 * Write a temp file in the same directory, fsync it, rename it over the target, then fsync the
 * directory so the rename itself is durable. Readers never see a partial file.
 */
import { open, rename, unlink, mkdir, rm } from 'node:fs/promises';
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempName(target);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dirname(target));
}

/** Synchronous variant for shutdown paths where the event loop may not run again. */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempName(target);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, target);
  const dfd = openSync(dirname(target), 'r');
  try { fsyncSync(dfd); } finally { closeSync(dfd); }
}

export async function writeJsonAtomic(target: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
}

/**
 * A directory built under a temporary name and renamed into place only when complete, so a
 * crash mid-way leaves a `.staging-*` directory that start-up removes, never a half-made record.
 */
export class StagingDir {
  readonly path: string;
  private readonly target: string;
  private done = false;

  private constructor(target: string) {
    this.target = target;
    this.path = join(dirname(target), `.staging-${basename(target)}-${randomBytes(4).toString('hex')}`);
  }

  static async create(target: string): Promise<StagingDir> {
    const s = new StagingDir(target);
    await mkdir(s.path, { recursive: true });
    return s;
  }

  async commit(): Promise<void> {
    await rename(this.path, this.target);
    this.done = true;
    await fsyncDir(dirname(this.target));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.done) await rm(this.path, { recursive: true, force: true });
  }
}

/**
 * Moves an unreadable record out of the way (`<path>.corrupt-<time>`), keeping its bytes for
 * whoever wants to look; returns the new name. State that cannot be read is never deleted.
 */
export async function setAside(path: string): Promise<string> {
  const to = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, to);
  return to;
}

/**
 * Whether `name` is a record setAside() moved out of the way at an earlier start: loaders keep
 * treating it as unreadable state (reported, its data kept) until someone removes it, so a second
 * restart does not take the missing record for a create that never finished.
 */
export function isSetAside(name: string): boolean {
  return /\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(name);
}

