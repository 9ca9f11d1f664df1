import { PUSH_COMPRESSIONS, type ImageInspect, type ManifestListPushRequest, type PushCompression } from '../../../../api/types.ts';
import { decodeGo, go } from '../../../../lib/gojson.ts';
import { versionAtLeast } from '../../../../api/version.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import { boolValue, boolValueOrDefault, jsonStream, noContent, parseFilters, readBody, writeJson, type Ctx } from '../../httputils.ts';
import type { Route } from '../../router.ts';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageBackend } from './backend.ts';
import { confirmPlatform, platformQuery } from '../../../../lib/platform.ts';

/** A tar archive as the response body; a failure after the first byte cuts the connection. */
async function sendArchive(ctx: Ctx, archive: Readable): Promise<void> {
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(archive, res);
  } catch {
    res.destroy();
  }
}

/** The `platform` of inspect and history (API 1.49+): the image's own, or docker's NotFound. */
function confirmImagePlatform(img: ImageInspect, name: string, values: string[]): void {
  confirmPlatform(name, { os: img.Os, architecture: img.Architecture, ...(img.Variant ? { variant: img.Variant } : {}) }, platformQuery(values));
}

/** `manifests` on image inspect (API 1.48+) asks for an index's manifests, which Berth's single-platform images do not keep. */
/**
 * An image's Config as moby 28 answers it: the OCI image config's fields (docker's
 * DockerOCIImageConfig; what else a commit stored, such as Hostname, is not shown), over
 * moby's legacyConfigFields — all of container.Config's (null, "" or false) for API 1.49 and
 * lower, the eight without omitempty from 1.50 — with its keys sorted as Go writes a map.
 * docker-py reads attrs['Config']['Env'].
 */
const OCI_CONFIG_KEYS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'];
const LEGACY_CONFIG_CURRENT: Record<string, unknown> = { Cmd: null, Entrypoint: null, Env: null, Labels: null, OnBuild: null, User: '', Volumes: null, WorkingDir: '' };
const LEGACY_CONFIG_1_49: Record<string, unknown> = {
  ...LEGACY_CONFIG_CURRENT, AttachStderr: false, AttachStdin: false, AttachStdout: false, Domainname: '', Hostname: '', Image: '', OpenStdin: false, StdinOnce: false, Tty: false,
};

function withLegacyConfig(config: object, version: string): Record<string, unknown> {
  // Its fields are omitempty, as Go's encoder reads that: no false, "", null or empty list or map.
  const empty = (v: unknown) => v === undefined || v === null || v === false || v === '' || v === 0 || (typeof v === 'object' && Object.keys(v as object).length === 0);
  const own = Object.entries(config).filter(([k, v]) => OCI_CONFIG_KEYS.includes(k) && !empty(v));
  const merged: Record<string, unknown> = { ...(versionAtLeast(version, '1.50') ? LEGACY_CONFIG_CURRENT : LEGACY_CONFIG_1_49), ...Object.fromEntries(own) };
  return Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
}

function refuseManifests(q: URLSearchParams): void {
  if (boolValue(q, 'manifests')) throw invalidParameter('manifests=1 (an image\'s per-platform manifests) is not supported by Berth: each image holds one platform');
}


/** A manifest list and its manifests: a few KiB each; this bounds a list of hundreds. */
const MAX_MANIFEST_PUSH = 64 << 20;

const ManifestListPushBody = go.struct('berth.ManifestListPush', {
  MediaType: go.string,
  Raw: go.string,
  Manifests: go.slice(go.struct('berth.ManifestSource', { Ref: go.string, MediaType: go.string, Raw: go.string })),
});

function decodeManifestListPush(text: string): ManifestListPushRequest {
  const v = decodeGo(text, ManifestListPushBody);
  if (!v?.Raw || !v.MediaType) throw invalidParameter('a manifest list push needs the list: MediaType and Raw');
  const manifests = (v.Manifests ?? []).map((m, i) => {
    if (!m.Ref || !m.Raw || !m.MediaType) throw invalidParameter(`Manifests[${i}] needs Ref, MediaType and Raw`);
    return { Ref: m.Ref, MediaType: m.MediaType, Raw: m.Raw };
  });
  if (!manifests.length) throw invalidParameter('a manifest list needs at least one manifest');
  return { MediaType: v.MediaType, Raw: v.Raw, Manifests: manifests };
}

export function imageRoutes(b: ImageBackend): Route[] {
  return [
    {
      method: 'GET', path: '/images/json',
      handler: async (ctx) => {
        const list = b.list({ all: boolValue(ctx.query, 'all'), filters: parseFilters(ctx.query), sharedSize: boolValue(ctx.query, 'shared-size') });
        // manifests (API 1.47+; ignored below, as by moby): each image's platform manifest.
        if (versionAtLeast(ctx.version, '1.47') && boolValue(ctx.query, 'manifests')) await b.manifestSummaries(list);
        // Below 1.44 each summary also carries VirtualSize (moby's version gate).
        if (!versionAtLeast(ctx.version, '1.44')) for (const i of list) i.VirtualSize = i.Size;
        // Below 1.43 (moby's useNone): a dangling image is <none>:<none> and <none>@<none>, and an
        // empty list is null (Go's nil slice), not [].
        if (!versionAtLeast(ctx.version, '1.43')) {
          for (const i of list as { RepoTags: string[] | null; RepoDigests: string[] | null }[]) {
            if (!i.RepoTags?.length && !i.RepoDigests?.length) {
              i.RepoTags = ['<none>:<none>'];
              i.RepoDigests = ['<none>@<none>'];
            } else {
              if (!i.RepoTags?.length) i.RepoTags = null;
              if (!i.RepoDigests?.length) i.RepoDigests = null;
            }
          }
        }
        writeJson(ctx, 200, list);
      },
    },
    {
      method: 'GET', path: '/images/{name*}/json',
      handler: async (ctx) => {
        refuseManifests(ctx.query);
        const img = await b.inspect(ctx.params.name);
        confirmImagePlatform(img, ctx.params.name, ctx.query.getAll('platform'));
        // moby's version gates: Container and ContainerConfig below 1.45, VirtualSize below 1.44.
        if (versionAtLeast(ctx.version, '1.45')) {
          delete img.Container;
          delete img.ContainerConfig;
        }
        if (!versionAtLeast(ctx.version, '1.44')) img.VirtualSize = img.Size;
        writeJson(ctx, 200, { ...img, Config: withLegacyConfig(img.Config, ctx.version) });
      },
    },
    { method: 'POST', path: '/images/prune', handler: async (ctx) => writeJson(ctx, 200, await b.prune(parseFilters(ctx.query))) },
    { method: 'GET', path: '/images/get', handler: async (ctx) => sendArchive(ctx, await b.save(ctx.query.getAll('names'), platformQuery(ctx.query.getAll('platform')))) },
    { method: 'GET', path: '/images/{name*}/get', handler: async (ctx) => sendArchive(ctx, await b.save([ctx.params.name], platformQuery(ctx.query.getAll('platform')))) },
    {
      method: 'POST', path: '/images/load',
      handler: async (ctx) => {
        // quiet (moby's default when absent) silences the per-layer progress; the "Loaded
        // image" lines come either way.
        const quiet = boolValueOrDefault(ctx.query, 'quiet', true);
        const platform = platformQuery(ctx.query.getAll('platform'));
        // As moby: whatever goes wrong with the archive is reported in the stream, status 200.
        await jsonStream(ctx, (emit) => b.load(ctx.req, (line) => emit({ stream: `${line}\n` }), quiet ? undefined : (m) => emit(m), platform), { inBand: true });
      },
    },
    {
      method: 'GET', path: '/images/{name*}/history',
      handler: async (ctx) => {
        if (ctx.query.getAll('platform').some((v) => v !== '')) confirmImagePlatform(await b.inspect(ctx.params.name), ctx.params.name, ctx.query.getAll('platform'));
        writeJson(ctx, 200, b.history(ctx.params.name));
      },
    },
    {
      method: 'DELETE', path: '/images/{name*}',
      handler: async (ctx) => {
        if (ctx.query.getAll('platforms').some((v) => v !== '')) throw invalidParameter('platforms (removing some platforms of an image) is not supported by Berth: each image holds one platform; remove the image');
        const records = await b.remove(ctx.params.name, { force: boolValue(ctx.query, 'force'), prune: !ctx.query.has('noprune') || !boolValue(ctx.query, 'noprune') });
        writeJson(ctx, 200, records);
      },
    },
    {
      method: 'POST', path: '/images/{name*}/tag',
      handler: async (ctx) => {
        const repo = ctx.query.get('repo') ?? '';
        if (!repo) throw invalidParameter('repository name must have at least one component');
        await b.tag(ctx.params.name, repo, ctx.query.get('tag') || undefined);
        noContent(ctx, 201);
      },
    },
    {
      method: 'POST', path: '/images/{name*}/push',
      handler: async (ctx) => {
        const auth = ctx.req.headers['x-registry-auth'];
        // compression= is Berth's (gzip, the default, or zstd: OCI's tar+zstd layers).
        const compression = (ctx.query.get('compression') || 'gzip') as PushCompression;
        if (!PUSH_COMPRESSIONS.includes(compression)) throw invalidParameter(`unknown compression ${JSON.stringify(compression)}: use ${PUSH_COMPRESSIONS.join(' or ')}`);
        // --platform (API 1.46+): a local image has one platform, so it is confirmed (docker's
        // NotFound when it is another); a missing image is the push's own error, in its stream.
        const platform = ctx.query.get('platform');
        if (platform && platform !== '{}' && platform !== 'null') {
          const want = platformQuery([platform]);
          const name = ctx.query.get('tag') ? `${ctx.params.name}:${ctx.query.get('tag')}` : ctx.params.name;
          const img = await b.inspect(name).catch(() => undefined);
          if (img && want) confirmImagePlatform(img, name, [platform]);
        }
        await jsonStream(ctx, (emit) => b.push({
          name: ctx.params.name,
          ...(ctx.query.get('tag') ? { tag: ctx.query.get('tag')! } : {}),
          ...(typeof auth === 'string' ? { auth } : {}),
          compression,
        }, emit, ctx.signal));
      },
    },
    {
      method: 'GET', path: '/distribution/{name*}/json',
      handler: async (ctx) => {
        const auth = ctx.req.headers['x-registry-auth'];
        writeJson(ctx, 200, await b.distribution(ctx.params.name, typeof auth === 'string' ? auth : undefined));
      },
    },
    {
      // Berth's own (`berth manifest`): the manifest itself, as the registry holds it.
      method: 'GET', path: '/berth/distribution/{name*}/manifest',
      handler: async (ctx) => {
        const auth = ctx.req.headers['x-registry-auth'];
        writeJson(ctx, 200, await b.registryManifest(ctx.params.name, typeof auth === 'string' ? auth : undefined, boolValue(ctx.query, 'insecure')));
      },
    },
    {
      // Berth's own (`berth manifest push`): a manifest list and the manifests it names.
      method: 'POST', path: '/berth/distribution/{name*}/manifest',
      handler: async (ctx) => {
        const auth = ctx.req.headers['x-registry-auth'];
        const req = decodeManifestListPush((await readBody(ctx, MAX_MANIFEST_PUSH)).toString('utf8'));
        writeJson(ctx, 200, await b.pushManifestList(ctx.params.name, req, typeof auth === 'string' ? auth : undefined, boolValue(ctx.query, 'insecure')));
      },
    },
    {
      method: 'POST', path: '/auth',
      handler: async (ctx) => writeJson(ctx, 200, await b.login((await readBody(ctx)).toString('utf8'))),
    },
    {
      method: 'GET', path: '/images/search',
      handler: async (ctx) => {
        const term = ctx.query.get('term') ?? '';
        if (!term) throw invalidParameter('a search term is required');
        const limit = Number(ctx.query.get('limit') ?? 25);
        const auth = ctx.req.headers['x-registry-auth'];
        const filters = parseFilters(ctx.query);
        // moby's search filters: is-official, is-automated (booleans), stars (at least N).
        const bool = (k: string) => {
          const v = filters.get(k);
          if (!v?.length) return undefined;
          if (v.length > 1 || !['true', 'false', '1', '0'].includes(v[0])) throw invalidParameter(`invalid filter '${k}=${v.join(',')}'`);
          return v[0] === 'true' || v[0] === '1';
        };
        for (const k of filters.keys()) if (!['is-official', 'is-automated', 'stars'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
        const official = bool('is-official');
        const automated = bool('is-automated');
        const starsGiven = filters.get('stars') ?? [];
        const stars = starsGiven.length ? Math.max(...starsGiven.map((v) => {
          if (!/^\d+$/.test(v)) throw invalidParameter(`invalid filter 'stars=${v}'`);
          return Number(v);
        })) : 0;
        const found = await b.search({ term, limit: Number.isFinite(limit) && limit > 0 ? limit : 25, ...(typeof auth === 'string' ? { auth } : {}) });
        writeJson(ctx, 200, found.filter((r) => (official === undefined || r.is_official === official) && (automated === undefined || r.is_automated === automated) && r.star_count >= stars));
      },
    },
    {
      method: 'POST', path: '/images/create',
      handler: async (ctx) => {
        const q = ctx.query;
        const fromSrc = q.get('fromSrc');
        const fromImage = q.get('fromImage');
        // As moby: a non-empty fromImage pulls, whatever else is set; otherwise fromSrc imports.
        if (fromImage) {
          const auth = ctx.req.headers['x-registry-auth'];
          await jsonStream(ctx, (emit) => b.pull({
            image: fromImage,
            ...(q.get('tag') ? { tag: q.get('tag')! } : {}),
            ...(q.get('platform') ? { platform: q.get('platform')! } : {}),
            ...(typeof auth === 'string' ? { auth } : {}),
          }, emit, ctx.signal));
          return;
        }
        if (fromSrc !== null) {
          await jsonStream(ctx, async (emit) => {
            const id = await b.importImage(ctx.req, {
              ...(q.get('repo') ? { repo: q.get('repo')! } : {}),
              ...(q.get('tag') ? { tag: q.get('tag')! } : {}),
              ...(q.get('message') ? { message: q.get('message')! } : {}),
              changes: q.getAll('changes'),
              source: fromSrc,
              ...(q.get('platform') ? { platform: q.get('platform')! } : {}),
            });
            emit({ status: id });
          });
          return;
        }
        throw invalidParameter('either fromSrc or fromImage must be set');
      },
    },
  ];
}
