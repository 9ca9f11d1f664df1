/**
 * Builds: the context unpacked under <data-root>/tmp (build-*, removed after each build and
 * at start), the Dockerfile read from it, the classic builder run over the daemon's services,
 * and every container it made removed whatever happened.
 */
import { appendFile, lstat, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { build, type BuildOutput } from '../../builder/build.ts';
import type { BuildRequest, ContextManifestEntry as ManifestEntry } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { cleanEntryName } from '../../lib/archivepath.ts';
import { log } from '../../lib/log.ts';
import { dirSize } from '../../lib/dirsize.ts';
import { parseUntil } from '../../lib/filters.ts';
import type { ContainerService } from '../container/service.ts';
import type { ImageService } from '../images/service.ts';
import { DaemonBuildBackend } from './backend.ts';
import { SpooledContext } from './context.ts';
import { ContextBodies } from './bodies.ts';
import { resolveInContext } from '../../builder/context.ts';
import { isIgnored, parseDockerignore } from '../../lib/dockerignore.ts';
import { manifestTuple, tarSize, walkContext, type WalkEntry } from '../../lib/contextwalk.ts';
import { MAX_CONTEXT_MANIFEST } from '../../api/types.ts';
import { messageOf } from '../../errdefs/index.ts';
import { decodeRegistryConfig, resolveAuthConfig, type AuthConfig } from '../../distribution/authconfig.ts';
import { parseNormalizedNamed } from '../../lib/reference.ts';


/** Pulls an image for a build, with the credentials the client gave for its registry. */
export type BuildPull = (ref: string, out: (line: string) => void, signal: AbortSignal, auth: AuthConfig | undefined) => Promise<void>;

export class BuildService {
  private readonly images: ImageService;
  private readonly containers: ContainerService;
  private readonly pull: BuildPull;
  private readonly tmp: string;
  private readonly bodies: ContextBodies;
  /** RUN --mount=type=cache's directories (backend.ts), kept until `builder prune`. */
  readonly cacheMounts: string;
  /** RUN --mount=type=secret's files, for the step that mounts them (backend.ts). */
  private readonly secrets: string;

  constructor(images: ImageService, containers: ContainerService, pull: BuildPull, tmp: string, cacheMounts: string, secrets: string) {
    this.images = images;
    this.containers = containers;
    this.pull = pull;
    this.tmp = tmp;
    this.cacheMounts = cacheMounts;
    this.secrets = secrets;
    this.bodies = new ContextBodies(tmp);
  }

  /**
   * A CLI's context directory walked here (POST /berth/build/context/walk), with the files it
   * carries appended: the manifest it would have sent, and the context's size as a tar.
   * Undefined when this is not the directory the CLI sees (`root`, its
   * "dev:ino"), the walk fails or the context is too large: the CLI then lists it itself, and
   * meets any error there in its own terms.
   */
  async walkContext(path: string, root: string, keep: string[], carried: ManifestEntry[]): Promise<{ entries: ManifestEntry[]; size: number } | undefined> {
    const t0 = performance.now();
    try {
      const st = await lstat(path);
      if (!st.isDirectory() || `${st.dev}:${st.ino}` !== root) return undefined;
      const ignore = await readFile(join(path, '.dockerignore'), 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return '';
        throw e;
      });
      const walked = await walkContext(path, parseDockerignore(ignore), new Set(keep), MAX_CONTEXT_MANIFEST * 0.75);
      if (!walked) return undefined;
      const extra = carried.map(([rel, type, mode, mtimeMs, size, linkname, key]): WalkEntry => ({ rel, abs: '', type, mode, uid: 0, gid: 0, mtimeMs, size, linkname, key }));
      const all = [...walked, ...extra];
      log.debug('build context walked', { path, entries: all.length, ms: (performance.now() - t0).toFixed(1) });
      return { entries: all.map(manifestTuple), size: tarSize(all) };
    } catch (e) {
      log.debug('build context not walked', { path, error: messageOf(e) });
      return undefined;
    }
  }

  /** A context laid out from Berth's manifest: the bodies the daemon does not hold are named in `need`. */
  prepareContext(manifest: ManifestEntry[]): Promise<{ id: string; need: string[] }> {
    return this.bodies.prepare(manifest);
  }

  private async receive(body: Readable, prepared: string | undefined): Promise<SpooledContext> {
    if (!prepared) return SpooledContext.receive(body, this.tmp);
    const ctx = this.bodies.take(prepared);
    await ctx.fillNeeded(body);
    return ctx;
  }

  /**
   * What a build cut short by a daemon crash left: its context and its intermediate containers
   * (listed in build-*.containers as they are made; "-ID" for one kept with rm=false). The
   * images of steps that completed stay: they are the cache.
   */
  async init(): Promise<void> {
    await rm(this.secrets, { recursive: true, force: true });
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) {
      if (!f.startsWith('build-')) continue;
      if (f.endsWith('.containers')) {
        const lines = (await readFile(join(this.tmp, f), 'utf8').catch(() => '')).split('\n').filter(Boolean);
        const kept = new Set(lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1)));
        for (const id of lines.filter((l) => !l.startsWith('-') && !kept.has(l))) await this.containers.remove(id, { force: true, volumes: true }).catch(() => {});
      }
      await rm(join(this.tmp, f), { recursive: true, force: true });
    }
  }

  /**
   * `builder prune`'s share here: the cache mounts, last used before every `until`/`unused-for`
   * (their directory's time, renewed at each use); they carry no labels and have no parent, so
   * a `label` or `parent` filter keeps them all and a `label!` one passes them.
   */
  async pruneCacheMounts(filters: Map<string, string[]>): Promise<{ deleted: string[]; space: number }> {
    const out = { deleted: [] as string[], space: 0 };
    if (filters.has('label') || filters.has('parent')) return out;
    const until = [...(filters.get('until') ?? []), ...(filters.get('unused-for') ?? [])].map(parseUntil);
    const ids = filters.get('id') ?? [];
    for (const name of await readdir(this.cacheMounts).catch(() => [] as string[])) {
      const dir = join(this.cacheMounts, name);
      const st = await stat(dir).catch(() => undefined);
      if (!st || !until.every((u) => st.mtimeMs < u) || (ids.length && !ids.some((p) => name.startsWith(p)))) continue;
      const size = await dirSize(dir).catch(() => 0);
      await rm(dir, { recursive: true, force: true });
      out.deleted.push(name);
      out.space += size;
    }
    return out;
  }

  async build(body: Readable, req: BuildRequest, out: BuildOutput, signal: AbortSignal): Promise<string> {
    const t0 = performance.now();
    const context = await this.receive(body, req.preparedContext);
    log.debug('build context received', { ms: (performance.now() - t0).toFixed(1) });
    const journal = `${context.dir}.containers`;
    // The build's pulls (FROM, COPY --from an image) use the client's credentials for each registry.
    const auths = decodeRegistryConfig(req.registryConfig);
    const pull = (ref: string, out: (line: string) => void, sig: AbortSignal) => this.pull(ref, out, sig, resolveAuthConfig(auths, parseNormalizedNamed(ref).domain));
    const backend = new DaemonBuildBackend(this.images, this.containers, pull, signal, (id) => appendFile(journal, `${id}\n`), { tmp: this.tmp, cacheMounts: this.cacheMounts, secrets: this.secrets });
    try {
      const name = cleanEntryName(req.dockerfile || 'Dockerfile');
      if (!name) throw invalidParameter(`the Dockerfile (${req.dockerfile}) must be within the build context`);
      const real = resolveInContext(context, name);
      if (real === undefined || real === 'outside' || context.lstat(real)?.type !== 'file') throw invalidParameter(`Cannot locate specified Dockerfile: ${req.dockerfile || 'Dockerfile'}`);
      const text = (await context.read(real)).toString('utf8');
      if (!text.trim()) throw invalidParameter(`the Dockerfile (${req.dockerfile || 'Dockerfile'}) cannot be empty`);
      // The Dockerfile and .dockerignore came only to be read: what .dockerignore names of the
      // two leaves the context now (moby's removeDockerfile), so COPY . does not take them.
      if (context.lstat('.dockerignore')?.type === 'file') {
        const patterns = parseDockerignore((await context.read('.dockerignore')).toString('utf8'));
        for (const f of ['.dockerignore', real]) if (isIgnored(f, patterns)) context.forget(f);
      }
      return await build(backend, text, { ...req, context, signal }, out);
    } finally {
      for (const id of backend.made) await this.containers.remove(id, { force: true, volumes: true }).catch((e: unknown) => log.warn('removing a build container', { id, error: e }));
      await this.bodies.remember(context);
      await context.close();
      await rm(journal, { force: true });
    }
  }
}
