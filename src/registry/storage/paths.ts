/**
 * On-disk layout of `berth registry` under its root directory (`--root`), layout version 2.
 *
 * ```
 * <root>/
 *   layout.json                                   {"version": 2}; absent in version 1 roots
 *   blobs/<alg>/<hex>                             every blob and manifest, once, named by its digest
 *                                                 (<alg> is sha256 or sha512: content pushed as
 *                                                 sha512:<hex> is hashed, stored and served as such);
 *                                                 written only by rename of a verified file, so a
 *                                                 name that exists always has complete content
 *   repositories/<name>/                          <name> may span several directories (a/b/c)
 *     _layers/<alg>/<hex>                         empty file: the blob is part of this repository
 *                                                 (GET/HEAD/mount only see linked blobs)
 *     _manifests/revisions/<alg>/<hex>            the manifest belongs to this repository; the file
 *                                                 holds its media type
 *     _manifests/tags/<tag>                       the digest the tag points at (atomic replace)
 *     _referrers/<alg>/<hex>.json                 the referrers of the manifest <alg>:<hex> (which
 *                                                 need not exist): {"version": 1, "subject",
 *                                                 "manifests": [descriptor…]}, one descriptor (the
 *                                                 referrers API's entry: mediaType, digest, size,
 *                                                 artifactType, annotations) per manifest of this
 *                                                 repository whose `subject` is that digest
 *   uploads/<uuid>/data                           bytes received so far for one upload session
 *   uploads/<uuid>/info.json                      {"repo", "startedAt"}
 * ```
 *
 * Repository names are validated by `names.ts` before they become paths: their components
 * never start with `_` or `.`, so they cannot collide with `_layers`/`_manifests`/`_referrers`
 * or escape the root; digests are validated too (`checkDigest`), and `split` below refuses
 * anything else, so `<alg>/<hex>` is always two plain path components. Uploads live beside
 * `blobs/` on the same filesystem so finishing one is a rename.
 *
 * A referrers record is an index, rebuilt from the manifests when missing or unreadable: a
 * PUT adds the entry before it links the revision and a DELETE removes it after unlinking, so
 * a crash can leave an extra entry (filtered out on read: its revision is gone) but never
 * lose one. Version 1 roots (sha256 only, no referrers records) are migrated at start by
 * indexing the subject of every stored manifest, then `layout.json` is written.
 *
 * `berth registry gc` deletes blobs no manifest or layer link of any repository references
 * (mark: every revision, its config, layers and child manifests, and the referrers of kept
 * manifests; sweep: everything else) and upload sessions older than a day.
 */
import { join } from 'node:path';
import { ALGORITHMS, isDigest, type DigestAlgorithm } from '../../lib/digest.ts';

export const LAYOUT_VERSION = 2;

export class RegistryPaths {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Every algorithm the layout has directories for. */
  get algorithms(): readonly DigestAlgorithm[] {
    return ALGORITHMS;
  }

  get layoutFile(): string {
    return join(this.root, 'layout.json');
  }

  blobsDir(alg: DigestAlgorithm): string {
    return join(this.root, 'blobs', alg);
  }

  blob(digest: string): string {
    const [alg, hex] = split(digest);
    return join(this.blobsDir(alg), hex);
  }

  get reposDir(): string {
    return join(this.root, 'repositories');
  }

  repo(name: string): string {
    return join(this.reposDir, ...name.split('/'));
  }

  layerLink(name: string, digest: string): string {
    const [alg, hex] = split(digest);
    return join(this.layersDir(name, alg), hex);
  }

  layersDir(name: string, alg: DigestAlgorithm): string {
    return join(this.repo(name), '_layers', alg);
  }

  revision(name: string, digest: string): string {
    const [alg, hex] = split(digest);
    return join(this.revisionsDir(name, alg), hex);
  }

  revisionsDir(name: string, alg: DigestAlgorithm): string {
    return join(this.repo(name), '_manifests', 'revisions', alg);
  }

  tagsDir(name: string): string {
    return join(this.repo(name), '_manifests', 'tags');
  }

  tag(name: string, tag: string): string {
    return join(this.tagsDir(name), tag);
  }

  referrersDir(name: string, alg: DigestAlgorithm): string {
    return join(this.repo(name), '_referrers', alg);
  }

  /** The referrers record of `subject` in repository `name`. */
  referrers(name: string, subject: string): string {
    const [alg, hex] = split(subject);
    return join(this.referrersDir(name, alg), `${hex}.json`);
  }

  get uploadsDir(): string {
    return join(this.root, 'uploads');
  }

  upload(uuid: string): string {
    return join(this.uploadsDir, uuid);
  }
}

/**
 * `<alg>:<hex>` as two path components. Callers validate digests first; this refuses anything
 * else anyway, because a digest that reaches a path unvalidated could name any file.
 */
function split(digest: string): [DigestAlgorithm, string] {
  if (!isDigest(digest)) throw new Error(`internal error: unvalidated digest ${JSON.stringify(digest)} used as a path`);
  const i = digest.indexOf(':');
  return [digest.slice(0, i) as DigestAlgorithm, digest.slice(i + 1)];
}
