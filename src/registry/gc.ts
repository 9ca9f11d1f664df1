/**
 * `berth registry gc`: mark and sweep, over every digest algorithm the layout stores.
 *
 * Mark: every manifest revision of every repository (with `deleteUntagged`, only those a tag
 * reaches — directly, through an index, or as a referrer: a manifest whose `subject` is kept
 * is kept, so deleting untagged manifests never strips a kept image of its signatures or
 * SBOMs), its config and layers. Sweep: every other blob, layer links to swept blobs, and
 * upload sessions older than `uploadTtlMs`. Referrers records are rewritten from the kept
 * manifests themselves, which also drops entries a crash left behind.
 *
 * Run it with the server stopped or in read-only mode: an upload that finishes during the
 * sweep may lose its blob before a manifest refers to it.
 */
import { readdir, rm, stat, unlink, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../lib/digest.ts';
import type { RegistryStorage } from './storage/storage.ts';
import type { ReferrerDescriptor } from './storage/referrers.ts';

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

/** What marking needs of one manifest, read leniently: a manifest stored under older rules must still protect its blobs. */
interface ManifestRefs {
  blobs: string[];
  children: string[];
  subject?: string;
}

const list = (dir: string) => readdir(dir).catch(() => [] as string[]);

function digestsOf(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((d: { digest?: unknown } | null) => d?.digest).filter((d): d is string => typeof d === 'string' && isDigest(d));
}

function refsOf(body: Buffer): ManifestRefs {
  let doc: { config?: { digest?: unknown }; layers?: unknown; manifests?: unknown; subject?: { digest?: unknown } };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    return { blobs: [], children: [] };
  }
  const subject = doc?.subject?.digest;
  return {
    blobs: [...digestsOf([doc?.config]), ...digestsOf(doc?.layers)],
    children: digestsOf(doc?.manifests),
    ...(typeof subject === 'string' && isDigest(subject) ? { subject } : {}),
  };
}

export async function collectGarbage(storage: RegistryStorage, opts: GcOptions = {}): Promise<GcResult> {
  const log = opts.log ?? (() => {});
  const p = storage.paths;
  const marked = new Set<string>();
  const result: GcResult = { marked: 0, deletedBlobs: [], freedBytes: 0, deletedManifests: [], deletedUploads: [] };

  for (const repo of await storage.listRepositories()) {
    log(`${repo}`);
    const refs = new Map<string, ManifestRefs>();
    for (const d of await storage.listRevisions(repo)) {
      const m = await storage.getManifest(repo, d).catch(() => undefined);
      if (m) refs.set(d, refsOf(m.body));
    }
    const referrers = new Map<string, string[]>();
    for (const [d, r] of refs) if (r.subject) referrers.set(r.subject, [...(referrers.get(r.subject) ?? []), d]);

    let keep = new Set(refs.keys());
    if (opts.deleteUntagged) {
      keep = new Set();
      const queue: string[] = [];
      for (const t of await storage.listTags(repo)) queue.push(await storage.resolveTag(repo, t).catch(() => ''));
      while (queue.length) {
        const d = queue.pop()!;
        const r = refs.get(d);
        if (!r || keep.has(d)) continue;
        keep.add(d);
        queue.push(...r.children, ...(referrers.get(d) ?? []));
      }
      for (const d of refs.keys()) {
        if (keep.has(d)) continue;
        log(`${repo}: manifest eligible for deletion: ${d}`);
        result.deletedManifests.push(`${repo}@${d}`);
        if (!opts.dryRun) await storage.unlinkManifest(repo, d);
      }
    }
    for (const d of keep) {
      marked.add(d);
      log(`${repo}: marking manifest ${d}`);
      for (const b of refs.get(d)!.blobs) {
        if (marked.has(b)) continue;
        marked.add(b);
        log(`${repo}: marking blob ${b}`);
      }
    }
    if (!opts.dryRun) await rewriteReferrers(storage, repo, keep, refs);
  }
  result.marked = marked.size;

  for (const alg of p.algorithms) {
    for (const h of await list(p.blobsDir(alg))) {
      const d = `${alg}:${h}`;
      if (marked.has(d) || !isDigest(d)) continue;
      const size = (await stat(join(p.blobsDir(alg), h)).catch(() => undefined))?.size ?? 0;
      log(`blob eligible for deletion: ${d}`);
      result.deletedBlobs.push(d);
      result.freedBytes += size;
      if (!opts.dryRun) await unlink(join(p.blobsDir(alg), h)).catch(() => {});
    }
  }
  if (!opts.dryRun) {
    const gone = new Set(result.deletedBlobs);
    for (const repo of await listLinkedRepos(storage)) {
      for (const alg of p.algorithms) {
        const dir = p.layersDir(repo, alg);
        for (const h of await list(dir)) if (gone.has(`${alg}:${h}`)) await unlink(join(dir, h)).catch(() => {});
      }
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

/**
 * Rewrites the repository's referrers records from its kept manifests: every subject that has
 * a record or a kept referrer gets exactly the kept referrers (no record when there are none).
 */
async function rewriteReferrers(storage: RegistryStorage, repo: string, keep: Set<string>, refs: Map<string, ManifestRefs>): Promise<void> {
  const bySubject = new Map<string, ReferrerDescriptor[]>();
  for (const alg of storage.paths.algorithms) {
    for (const f of await list(storage.paths.referrersDir(repo, alg))) {
      const subject = `${alg}:${f.replace(/\.json$/, '')}`;
      if (f.endsWith('.json') && isDigest(subject)) bySubject.set(subject, []);
    }
  }
  for (const d of keep) {
    const subject = refs.get(d)?.subject;
    if (!subject) continue;
    const r = await storage.referrerOf(repo, d).catch(() => undefined);
    if (r) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r.entry]);
  }
  for (const [subject, entries] of bySubject) {
    if (!sameEntries(await storage.referrers.list(repo, subject), entries)) await storage.referrers.replace(repo, subject, entries);
  }
}

function sameEntries(a: ReferrerDescriptor[], b: ReferrerDescriptor[]): boolean {
  const key = (l: ReferrerDescriptor[]) => l.map((d) => JSON.stringify(d)).sort().join('\n');
  return a.length === b.length && key(a) === key(b);
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
