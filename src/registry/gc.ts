/**
 * `berth registry gc`: mark and sweep. Marks every manifest revision of every repository
 * (with `deleteUntagged`, only those reachable from a tag, directly or through an index),
 * its config and layers; sweeps every other blob, layer links to swept blobs, and upload
 * sessions older than `uploadTtlMs`. Run it with the server stopped or in read-only mode:
 * an upload that finishes during the sweep may lose its blob before a manifest refers to it.
 */
import { readdir, rm, stat, unlink, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryStorage } from './storage/storage.ts';
import { INDEX_TYPES } from './manifest.ts';

export interface GcOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  uploadTtlMs?: number;
  log?: (line: string) => void;
}

export interface GcResult {
  marked: number;
  deletedBlobs: string[];
  freedBytes: number;
  deletedManifests: string[];
  deletedUploads: string[];
}

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

export async function collectGarbage(storage: RegistryStorage, opts: GcOptions = {}): Promise<GcResult> {
  const log = opts.log ?? (() => {});
  const p = storage.paths;
  const marked = new Set<string>();
  const result: GcResult = { marked: 0, deletedBlobs: [], freedBytes: 0, deletedManifests: [], deletedUploads: [] };

  for (const repo of await storage.listRepositories()) {
    log(`${repo}`);
    const revisions = (await list(p.revisionsDir(repo))).map((h) => `sha256:${h}`);
    let keep = new Set(revisions);
    if (opts.deleteUntagged) {
      keep = new Set();
      const queue: string[] = [];
      for (const t of await storage.listTags(repo)) queue.push(await storage.resolveTag(repo, t).catch(() => ''));
      while (queue.length) {
        const d = queue.pop()!;
        if (!d || keep.has(d) || !revisions.includes(d)) continue;
        keep.add(d);
        const m = await storage.getManifest(repo, d).catch(() => undefined);
        if (m && INDEX_TYPES.includes(m.mediaType)) for (const c of (JSON.parse(m.body.toString()) as { manifests?: { digest: string }[] }).manifests ?? []) queue.push(c.digest);
      }
      for (const d of revisions) {
        if (keep.has(d)) continue;
        log(`${repo}: manifest eligible for deletion: ${d}`);
        result.deletedManifests.push(`${repo}@${d}`);
        if (!opts.dryRun) await unlink(p.revision(repo, d)).catch(() => {});
      }
    }
    for (const d of keep) {
      const m = await storage.getManifest(repo, d).catch(() => undefined);
      if (!m) continue;
      marked.add(d);
      log(`${repo}: marking manifest ${d}`);
      if (INDEX_TYPES.includes(m.mediaType)) continue;
      const doc = JSON.parse(m.body.toString()) as { config?: { digest: string }; layers?: { digest: string }[] };
      for (const b of [doc.config, ...(doc.layers ?? [])]) {
        if (b?.digest && !marked.has(b.digest)) {
          marked.add(b.digest);
          log(`${repo}: marking blob ${b.digest}`);
        }
      }
    }
  }
  result.marked = marked.size;

  for (const h of await list(p.blobsDir)) {
    const d = `sha256:${h}`;
    if (marked.has(d) || h.includes('.')) continue;
    const size = (await stat(join(p.blobsDir, h)).catch(() => undefined))?.size ?? 0;
    log(`blob eligible for deletion: ${d}`);
    result.deletedBlobs.push(d);
    result.freedBytes += size;
    if (!opts.dryRun) await unlink(join(p.blobsDir, h)).catch(() => {});
  }
  if (!opts.dryRun) {
    const gone = new Set(result.deletedBlobs);
    for (const repo of await listLinkedRepos(storage)) {
      for (const h of await list(p.layersDir(repo))) if (gone.has(`sha256:${h}`)) await unlink(join(p.layersDir(repo), h)).catch(() => {});
    }
  }

  const ttl = opts.uploadTtlMs ?? 24 * 3600_000;
  for (const u of await list(p.uploadsDir)) {
    const info = await readFile(join(p.upload(u), 'info.json'), 'utf8').then((t) => JSON.parse(t) as { startedAt?: string }, () => ({ startedAt: undefined }));
    const started = info.startedAt ? Date.parse(info.startedAt) : 0;
    if (Date.now() - started < ttl) continue;
    log(`upload eligible for deletion: ${u}`);
    result.deletedUploads.push(u);
    if (!opts.dryRun) await rm(p.upload(u), { recursive: true, force: true });
  }
  return result;
}

/** Repositories with layer links, including those that hold no manifest yet. */
async function listLinkedRepos(storage: RegistryStorage): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      if (e.name === '_layers') out.push(prefix);
      else if (!e.name.startsWith('_')) await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
    }
  };
  await walk(storage.paths.reposDir, '');
  return out;
}
