import type { Readable } from 'node:stream';
import type { Platform } from '../../../../lib/platform.ts';
import type { ImageInspect, ImageSummary, ImageHistoryItem, ManifestListPushRequest, ManifestListPushResult, PushCompression, RegistryManifest } from '../../../../api/types.ts';

export type DeleteRecord = { Untagged: string } | { Deleted: string };

/** What the image routes need from the daemon. */
export interface ImageBackend {
  /** `sharedSize`: each image's SharedSize and Containers, as `docker system df -v` asks. */
  list(opts: { all: boolean; filters: Map<string, string[]>; sharedSize: boolean }): ImageSummary[];
  /** `manifests=1`: each listed image's platform manifest (one per image in Berth's store; none when it has no stored manifest). */
  manifestSummaries(list: ImageSummary[]): Promise<void>;
  inspect(name: string): Promise<ImageInspect>;
  history(name: string): ImageHistoryItem[];
  /** POST /images/prune. */
  prune(filters: Map<string, string[]>): Promise<{ ImagesDeleted: DeleteRecord[] | null; SpaceReclaimed: number }>;
  /** `docker save`: the archive of `names`, streamed. */
  save(names: string[], platform?: Platform): Promise<Readable>;
  /** `docker load`: reports each "Loaded image: …" line. */
  /** onProgress, when given, receives docker's "Loading layer" progress messages. */
  load(src: Readable, onMessage: (line: string) => void, onProgress?: (m: Record<string, unknown>) => void, platform?: Platform): Promise<void>;
  remove(name: string, opts: { force: boolean; prune: boolean }): Promise<DeleteRecord[]>;
  tag(name: string, repo: string, tag: string | undefined): Promise<void>;
  importImage(src: Readable, opts: { repo?: string; tag?: string; message?: string; changes: string[]; source: string; platform?: string }): Promise<string>;
  /** `auth` is the raw X-Registry-Auth header. */
  pull(opts: { image: string; tag?: string; platform?: string; auth?: string }, progress: (msg: Record<string, unknown>) => void, signal: AbortSignal): Promise<void>;
  /** No tag: every tag of the repository (docker push --all-tags). */
  push(opts: { name: string; tag?: string; auth?: string; compression: PushCompression }, progress: (msg: Record<string, unknown>) => void, signal: AbortSignal): Promise<void>;
  /** POST /auth: checks credentials against the registry. */
  /** `body`: the AuthConfig JSON as sent (decoded as dockerd decodes it). */
  login(body: string): Promise<{ Status: string; IdentityToken: string }>;
  search(opts: { term: string; limit: number; auth?: string }): Promise<{ name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean }[]>;
  /** GET /distribution/{name}/json: the registry's descriptor and platforms for a reference. */
  distribution(name: string, auth: string | undefined): Promise<{ Descriptor: { mediaType: string; digest: string; size: number }; Platforms: unknown[] | null }>;
  /** Berth's own, for `berth manifest`: a manifest as the registry holds it; `insecure` is `--insecure`. */
  registryManifest(name: string, auth: string | undefined, insecure: boolean): Promise<RegistryManifest>;
  /** Berth's own, for `berth manifest push`. */
  pushManifestList(name: string, req: ManifestListPushRequest, auth: string | undefined, insecure: boolean): Promise<ManifestListPushResult>;
}
