/**
 * On-disk layout of `berth registry` under its root directory (`--root`).
 *
 * ```
 * <root>/
 *   blobs/sha256/<hex>                            every blob and manifest, once, named by its digest;
 *                                                 written only by rename of a verified file, so a
 *                                                 name that exists always has complete content
 *   repositories/<name>/                          <name> may span several directories (a/b/c)
 *     _layers/sha256/<hex>                        empty file: the blob is part of this repository
 *                                                 (GET/HEAD/mount only see linked blobs)
 *     _manifests/revisions/sha256/<hex>           the manifest belongs to this repository; the file
 *                                                 holds its media type
 *     _manifests/tags/<tag>                       the digest the tag points at (atomic replace)
 *   uploads/<uuid>/data                           bytes received so far for one upload session
 *   uploads/<uuid>/info.json                      {"repo", "startedAt"}
 * ```
 *
 * Repository names are validated by `names.ts` before they become paths: their components
 * never start with `_` or `.`, so they cannot collide with `_layers`/`_manifests` or escape
 * the root. Uploads live beside `blobs/` on the same filesystem so finishing one is a rename.
 * `berth registry gc` deletes blobs no manifest or layer link of any repository references
 * (mark: every revision, its config, layers and child manifests; sweep: everything else) and
 * upload sessions older than a day.
 */
import { join } from 'node:path';

export class RegistryPaths {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  blob(digest: string): string {
    return join(this.blobsDir, hex(digest));
  }

  get reposDir(): string {
    return join(this.root, 'repositories');
  }

  repo(name: string): string {
    return join(this.reposDir, ...name.split('/'));
  }

  layerLink(name: string, digest: string): string {
    return join(this.repo(name), '_layers', 'sha256', hex(digest));
  }

  layersDir(name: string): string {
    return join(this.repo(name), '_layers', 'sha256');
  }

  revision(name: string, digest: string): string {
    return join(this.revisionsDir(name), hex(digest));
  }

  revisionsDir(name: string): string {
    return join(this.repo(name), '_manifests', 'revisions', 'sha256');
  }

  tagsDir(name: string): string {
    return join(this.repo(name), '_manifests', 'tags');
  }

  tag(name: string, tag: string): string {
    return join(this.tagsDir(name), tag);
  }

  get uploadsDir(): string {
    return join(this.root, 'uploads');
  }

  upload(uuid: string): string {
    return join(this.uploadsDir, uuid);
  }
}

function hex(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}
