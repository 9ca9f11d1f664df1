/** POST /build (the classic builder's JSON stream), /build/prune, /build/cancel. */
import { Readable } from 'node:stream';
import { invalidParameter, notImplemented } from '../../../../errdefs/index.ts';
import { boolValue, boolValueOrDefault, intValue, jsonStream, parseFilters, readBody, writeJson, type Ctx } from '../../httputils.ts';
import { decodeGo, go } from '../../../../lib/gojson.ts';
import { goArch } from '../../../../lib/platform.ts';
import type { Route } from '../../router.ts';
import { MAX_CONTEXT_MANIFEST, type BuildRequest, type BuildRunHost, type ContextManifestEntry, type ContextWalkRequest } from '../../../../api/types.ts';

/** X-Berth-Build-Secrets: base64 of a JSON object, each secret's id → its value in base64. */
function buildSecrets(header: string): Map<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw invalidParameter('X-Berth-Build-Secrets: not base64 of a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
    throw invalidParameter('X-Berth-Build-Secrets: not base64 of a JSON object of strings');
  }
  return new Map(Object.entries(parsed as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

export interface BuildRouteBackend {
  build(body: Readable, opts: BuildRequest, out: { stream(s: string): void; aux(id: string): void }, signal: AbortSignal): Promise<string>;
  /** A build context from an http(s) URL (remote=). */
  fetchContext(url: string, signal: AbortSignal): Promise<Readable>;
  /** `all` is accepted: without BuildKit's shared records, every unused entry is the same set. */
  prune(filters: Map<string, string[]>): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
  /** Berth's extension: a context laid out from a manifest, and the files whose bodies must follow. */
  prepareContext(manifest: ContextManifestEntry[]): Promise<{ id: string; need: string[] }>;
  /** Berth's extension: a CLI's context directory walked by the daemon (see ContextWalkRequest); undefined when it did not walk. */
  walkContext(path: string, root: string, keep: string[], carried: ContextManifestEntry[]): Promise<{ entries: ContextManifestEntry[]; size: number } | undefined>;
}

/** Checks a manifest's shape entry by entry, naming the first that is wrong. */
export function parseManifest(text: string): ContextManifestEntry[] {
  const v = parseJson(text, 'build context manifest');
  return checkEntries(v !== null && typeof v === 'object' ? (v as Record<string, unknown>).Entries : undefined, 'build context manifest');
}

/** A context walk request, checked field by field (Go's decoding: names case-insensitive). */
export function parseWalkRequest(text: string): ContextWalkRequest {
  const v = parseJson(text, 'build context walk request');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('invalid build context walk request: not an object');
  const f = new Map(Object.entries(v).map(([k, x]) => [k.toLowerCase(), x]));
  for (const k of f.keys()) if (!['path', 'root', 'keep', 'entries'].includes(k)) throw invalidParameter(`invalid build context walk request: unknown field ${k}`);
  const path = f.get('path');
  const root = f.get('root');
  const keep = f.get('keep') ?? [];
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) throw invalidParameter('invalid build context walk request: Path must be an absolute path');
  if (typeof root !== 'string' || !/^\d+:\d+$/.test(root)) throw invalidParameter('invalid build context walk request: Root must be "dev:ino"');
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) throw invalidParameter('invalid build context walk request: Keep must be a list of names');
  return { Path: path, Root: root, Keep: keep as string[], Entries: checkEntries(f.get('entries') ?? [], 'build context walk request') };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidParameter(`invalid ${what}: ${(e as Error).message}`);
  }
}

function checkEntries(entries: unknown, what: string): ContextManifestEntry[] {
  if (!Array.isArray(entries)) throw invalidParameter(`invalid ${what}: Entries must be a list`);
  const isInt = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  entries.forEach((e, i) => {
    const ok = Array.isArray(e) && e.length === 7 && typeof e[0] === 'string' && ['dir', 'file', 'symlink'].includes(e[1] as string)
      && isInt(e[2]) && typeof e[3] === 'number' && Number.isFinite(e[3]) && isInt(e[4]) && typeof e[5] === 'string' && typeof e[6] === 'string';
    if (!ok) throw invalidParameter(`invalid ${what}: entry ${i} is not [name, type, mode, mtime, size, linkname, key]: ${JSON.stringify(e)?.slice(0, 200)}`);
  });
  return entries as ContextManifestEntry[];
}

function jsonParam<T>(q: URLSearchParams, name: string): T | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw invalidParameter(`invalid ${name} parameter: ${v}`);
  }
}

/** Parameters of the API Berth's builder cannot apply: refused by name when set. */
const REFUSED: [string, (v: string) => boolean][] = [
  ['squash', (v) => !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase())],
  // Exporters and client sessions (a context synced over a session, BuildKit's outputs) are
  // BuildKit's; the classic builder has neither. (cachefrom needs nothing: every local image
  // is already a cache candidate, see README.)
  ['outputs', (v) => v !== '' && v !== 'null' && v !== '[]'], ['session', Boolean],
];

const UlimitsParam = go.slice(go.struct('container.Ulimit', { Name: go.string, Hard: go.int64, Soft: go.int64 }), '[]*container.Ulimit');

/**
 * The RUN containers' host settings from the request (moby's hostConfigFromOptions): resource
 * limits, ulimits and security options, applied and checked as a container create's.
 */
function runHostOf(q: URLSearchParams): BuildRunHost {
  const isolation = q.get('isolation') ?? '';
  if (isolation !== '' && isolation.toLowerCase() !== 'default') throw invalidParameter(`Unsupported isolation: ${JSON.stringify(isolation)}`);
  const h: BuildRunHost = {};
  for (const [param, field] of [['cgroupparent', 'CgroupParent'], ['cpusetcpus', 'CpusetCpus'], ['cpusetmems', 'CpusetMems']] as const) {
    const v = q.get(param);
    if (v) h[field] = v;
  }
  for (const [param, field] of [['cpushares', 'CpuShares'], ['cpuperiod', 'CpuPeriod'], ['cpuquota', 'CpuQuota'], ['memory', 'Memory'], ['memswap', 'MemorySwap']] as const) {
    const v = intValue(q, param);
    if (v) h[field] = v;
  }
  const ulimits = q.get('ulimits');
  if (ulimits && ulimits !== 'null') {
    const list = decodeGo(ulimits, UlimitsParam) ?? [];
    if (list.length) h.Ulimits = list.map((u) => ({ Name: u?.Name ?? '', Soft: Number(u?.Soft ?? 0), Hard: Number(u?.Hard ?? 0) }));
  }
  const securityOpt = q.getAll('securityopt').filter(Boolean);
  if (securityOpt.length) h.SecurityOpt = securityOpt;
  return h;
}

/** `cachefrom`: a JSON list of image references (docker CLI, docker-py's cache_from). */
function cacheFromOf(q: URLSearchParams): string[] {
  const v = jsonParam<unknown>(q, 'cachefrom');
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter('invalid cachefrom parameter: a list of image references is expected');
  return (v as string[]).filter(Boolean);
}

export function buildRoutes(b: BuildRouteBackend): Route[] {
  // Builds by the ID their client gave (buildid=), for /build/cancel.
  const running = new Map<string, AbortController>();
  const cancel = async (ctx: import('../../httputils.ts').Ctx) => {
    // moby answers 200 whether or not such a build runs.
    running.get(ctx.query.get('id') ?? '')?.abort();
    writeJson(ctx, 200, {});
  };
  /** The classic builder's run for a request's parameters; `prepared` is a context laid out from a manifest with nothing left to send. */
  const runBuild = async (ctx: Ctx, prepared?: string): Promise<void> => {
    const q = ctx.query;
    if (q.get('version') === '2') throw notImplemented('BuildKit (version=2) is not supported by Berth: use the classic builder (DOCKER_BUILDKIT=0)');
    for (const [name, isSet] of REFUSED) {
      const v = q.get(name);
      if (v !== null && isSet(v)) throw invalidParameter(`the build option ${name} is not supported by Berth`);
    }
    const platform = q.get('platform');
    if (platform && !/^linux(\/(amd64|x86_64|arm64|aarch64))?$/.test(platform)) throw invalidParameter(`the build platform ${platform} is not supported by Berth (this host builds linux/${goArch()})`);
    const args = jsonParam<Record<string, string | null>>(q, 'buildargs') ?? {};
    const runHost = runHostOf(q);
    const abort = new AbortController();
    const buildId = q.get('buildid');
    if (buildId) {
      running.set(buildId, abort);
      ctx.res!.on('close', () => running.delete(buildId));
    }
    // A client that goes away cancels the build: its connection closes, or (as the server
    // keeps half-closed connections open) its end arrives once the context is read.
    const gone = () => {
      if (!ctx.res!.writableFinished) abort.abort();
    };
    ctx.res!.on('close', gone);
    ctx.req.socket.once('end', gone);
    // Node stops reading a connection while its response is under way; reading on after the
    // body is what lets a client's end be seen during a long step.
    ctx.req.once('end', () => ctx.req.socket.resume());
    const remote = q.get('remote');
    const preparedId = prepared ?? q.get('berthcontext');
    // A prepared context with every body held gets an empty archive for the rest.
    const body = prepared ? Readable.from([Buffer.alloc(1024)]) : remote && /^https?:\/\//.test(remote) ? await b.fetchContext(remote, abort.signal) : ctx.req;
    if (remote && !/^https?:\/\//.test(remote)) throw invalidParameter(`the build context ${remote} is not supported by Berth (an http(s) URL of a tar archive is)`);
    const quiet = boolValue(q, 'q');
    await jsonStream(ctx, async (send) => {
      // Quiet (moby's SuppressOutput): the output is held back and shown only if the build
      // fails; a success answers the image's ID alone, as a stream line (docker-py and the
      // docker CLI read it from there).
      const held: Record<string, unknown>[] = [];
      const emit = quiet ? (m: Record<string, unknown>) => void held.push(m) : send;
      let id = '';
      try {
        await b.build(body, {
          dockerfile: q.get('dockerfile') ?? 'Dockerfile',
          tags: q.getAll('t'),
          buildArgs: new Map(Object.entries(args)),
          labels: jsonParam<Record<string, string>>(q, 'labels') ?? {},
          ...(q.get('target') ? { target: q.get('target')! } : {}),
          noCache: boolValue(q, 'nocache'),
          pull: boolValue(q, 'pull'),
          networkMode: q.get('networkmode') || 'default',
          // docker-py repeats the parameter; the docker CLI joins with commas.
          extraHosts: q.getAll('extrahosts').flatMap((v) => v.split(',')).filter(Boolean),
          shmSize: Number(q.get('shmsize') ?? 0),
          forceRm: boolValue(q, 'forcerm'),
          // docker-py sends rm=False unless told otherwise; an absent rm is true (moby, API >= 1.12).
          remove: boolValueOrDefault(q, 'rm', true),
          ...(preparedId ? { preparedContext: preparedId } : {}),
          ...(typeof ctx.req.headers['x-registry-config'] === 'string' ? { registryConfig: ctx.req.headers['x-registry-config'] } : {}),
          ...(typeof ctx.req.headers['x-berth-build-secrets'] === 'string' ? { secrets: buildSecrets(ctx.req.headers['x-berth-build-secrets']) } : {}),
          runHost,
          cacheFrom: cacheFromOf(q),
        }, { stream: (s) => emit({ stream: s }), aux: (i) => { id = i; emit({ aux: { ID: i } }); } }, abort.signal);
      } catch (e) {
        for (const m of held) send(m);
        throw e;
      }
      if (quiet) send({ stream: `${id}\n` });
    });
  };
  return [
    { method: 'POST', path: '/build', handler: (ctx) => runBuild(ctx) },
    {
      // Berth's own: the CLI sends the tree with stat keys first and then only the bodies asked
      // for. With build=1 and the build's parameters, a context whose bodies berthd all holds is
      // built at once: the answer is then the build's stream (X-Berth-Build: 1), and a rebuild of
      // an unchanged context is one request.
      method: 'POST', path: '/berth/build/context',
      handler: async (ctx) => {
        const manifest = parseManifest((await readBody(ctx, MAX_CONTEXT_MANIFEST)).toString('utf8'));
        const { id, need } = await b.prepareContext(manifest);
        if (need.length || !boolValue(ctx.query, 'build')) return writeJson(ctx, 200, { ID: id, Need: need });
        ctx.res!.setHeader('X-Berth-Build', '1');
        await runBuild(ctx, id);
      },
    },
    {
      // Berth's own: a CLI on this host names its context directory and the daemon walks it
      // (the CLI's listing of many files cost it more than the rest of a cached rebuild).
      method: 'POST', path: '/berth/build/context/walk',
      handler: async (ctx) => {
        const req = parseWalkRequest((await readBody(ctx, MAX_CONTEXT_MANIFEST)).toString('utf8'));
        const walked = await b.walkContext(req.Path, req.Root, req.Keep, req.Entries);
        if (!walked) return writeJson(ctx, 200, { Walked: false });
        const { id, need } = await b.prepareContext(walked.entries);
        if (need.length || !boolValue(ctx.query, 'build')) {
          const wanted = new Set(need);
          return writeJson(ctx, 200, { Walked: true, ID: id, Need: walked.entries.filter((e) => wanted.has(e[0])), ContextSize: walked.size });
        }
        ctx.res!.setHeader('X-Berth-Build', '1');
        ctx.res!.setHeader('X-Berth-Context-Size', String(walked.size));
        await runBuild(ctx, id);
      },
    },
    {
      method: 'POST', path: '/build/prune',
      handler: async (ctx) => {
        // keep-storage and its successors ask to keep some of the cache by size: refused, not ignored.
        for (const k of ['keep-storage', 'reserved-space', 'max-used-space', 'min-free-space']) {
          const v = ctx.query.get(k);
          if (v && v !== '0') throw invalidParameter(`the build cache option ${k} is not supported by Berth (its build cache is images)`);
        }
        writeJson(ctx, 200, await b.prune(parseFilters(ctx.query)));
      },
    },
    { method: 'POST', path: '/build/cancel', handler: cancel },
    { method: 'GET', path: '/build/cancel', handler: cancel },
  ];
}
