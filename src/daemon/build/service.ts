/**
 * Builds: the context unpacked under <data-root>/tmp (build-*, removed after each build and
 * at start), the Dockerfile read from it, the classic builder run over the daemon's services,
 * and every container it made removed whatever happened.
 */
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { build, type BuildOutput } from '../../builder/build.ts';
import type { BuildRequest, ContextManifestEntry as ManifestEntry } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { cleanEntryName } from '../../lib/archivepath.ts';
import { log } from '../../lib/log.ts';
import type { ContainerService } from '../container/service.ts';
import type { ImageService } from '../images/service.ts';
import { DaemonBuildBackend } from './backend.ts';
import { SpooledContext } from './context.ts';
import { ContextBodies } from './bodies.ts';
import { resolveInContext } from '../../builder/context.ts';


export class BuildService {
  private readonly images: ImageService;
  private readonly containers: ContainerService;
  private readonly pull: (ref: string, out: (line: string) => void, signal: AbortSignal) => Promise<void>;
  private readonly tmp: string;
  private readonly bodies: ContextBodies;

  constructor(images: ImageService, containers: ContainerService, pull: (ref: string, out: (line: string) => void, signal: AbortSignal) => Promise<void>, tmp: string) {
    this.images = images;
    this.containers = containers;
    this.pull = pull;
    this.tmp = tmp;
    this.bodies = new ContextBodies(tmp);
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
   * (listed in build-*.containers as they are made). The images of steps that completed stay:
   * they are the cache.
   */
  async init(): Promise<void> {
    for (const f of await readdir(this.tmp).catch(() => [] as string[])) {
      if (!f.startsWith('build-')) continue;
      if (f.endsWith('.containers')) {
        const ids = (await readFile(join(this.tmp, f), 'utf8').catch(() => '')).split('\n').filter(Boolean);
        for (const id of ids) await this.containers.remove(id, { force: true, volumes: true }).catch(() => {});
      }
      await rm(join(this.tmp, f), { recursive: true, force: true });
    }
  }

  async build(body: Readable, req: BuildRequest, out: BuildOutput, signal: AbortSignal): Promise<string> {
    const t0 = performance.now();
    const context = await this.receive(body, req.preparedContext);
    log.debug('build context received', { ms: (performance.now() - t0).toFixed(1) });
    const journal = `${context.dir}.containers`;
    const backend = new DaemonBuildBackend(this.images, this.containers, this.pull, signal, (id) => appendFile(journal, `${id}\n`));
    try {
      const name = cleanEntryName(req.dockerfile || 'Dockerfile');
      if (!name) throw invalidParameter(`the Dockerfile (${req.dockerfile}) must be within the build context`);
      const real = resolveInContext(context, name);
      if (real === undefined || real === 'outside' || context.lstat(real)?.type !== 'file') throw invalidParameter(`Cannot locate specified Dockerfile: ${req.dockerfile || 'Dockerfile'}`);
      const text = (await context.read(real)).toString('utf8');
      if (!text.trim()) throw invalidParameter(`the Dockerfile (${req.dockerfile || 'Dockerfile'}) cannot be empty`);
      return await build(backend, text, { ...req, context, signal }, out);
    } finally {
      for (const id of backend.made) await this.containers.remove(id, { force: true, volumes: true }).catch((e: unknown) => log.warn('removing a build container', { id, error: e }));
      await this.bodies.remember(context);
      await context.close();
      await rm(journal, { force: true });
    }
  }
}
