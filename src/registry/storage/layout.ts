/**
 * The registry root's layout version (`layout.json`, see paths.ts) and the migrations that
 * bring an older root up to date at start.
 *
 * Version 1 (no `layout.json`): sha256 only, no referrers records. Version 2 adds
 * `blobs/sha512`-style algorithm directories (nothing to move: version 1 paths are version 2
 * paths) and the referrers index, which the migration builds by reading every manifest once
 * and recording the subject of those that have one — so manifests pushed before the index
 * existed are listed too (the spec's "Enabling the Referrers API"). `layout.json` is written
 * last: an interrupted migration runs again, and adding an entry twice changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../../lib/atomic.ts';
import { LAYOUT_VERSION, type RegistryPaths } from './paths.ts';
import type { ReferrerDescriptor, ReferrersIndex } from './referrers.ts';

/** What a migration needs of the storage (declared here so the storage can call in without a cycle). */
export interface LayoutStorage {
  readonly paths: RegistryPaths;
  readonly referrers: ReferrersIndex;
  listRepositories(): Promise<string[]>;
  listRevisions(name: string): Promise<string[]>;
  referrerOf(name: string, digest: string): Promise<{ subject: string; entry: ReferrerDescriptor } | undefined>;
}

export async function layoutVersion(storage: LayoutStorage): Promise<number> {
  let text: string;
  try {
    text = await readFile(storage.paths.layoutFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 1;
    throw e;
  }
  const v = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${storage.paths.layoutFile}: invalid layout version ${JSON.stringify(v)}`);
  return v;
}

/** Migrates the root to LAYOUT_VERSION; refuses a root written by a newer Berth. */
export async function migrateLayout(storage: LayoutStorage): Promise<void> {
  const v = await layoutVersion(storage);
  if (v > LAYOUT_VERSION) throw new Error(`registry root ${storage.paths.root} has layout version ${v}; this Berth knows versions up to ${LAYOUT_VERSION}`);
  if (v === LAYOUT_VERSION) return;
  await indexReferrers(storage);
  await writeJsonAtomic(storage.paths.layoutFile, { version: LAYOUT_VERSION });
}

/** 1 → 2: a referrers record entry for every stored manifest with a subject. */
async function indexReferrers(storage: LayoutStorage): Promise<void> {
  for (const repo of await storage.listRepositories()) {
    for (const d of await storage.listRevisions(repo)) {
      const r = await storage.referrerOf(repo, d).catch(() => undefined);
      if (r) await storage.referrers.add(repo, r.subject, r.entry);
    }
  }
}
