/**
 * `berth build`: the context (a directory less what .dockerignore leaves out, stdin, or a URL)
 * sent as a tar to POST /build, and the classic builder's output shown as it comes.
 */
import { platformDefault } from '../../platformenv.ts';
import { proxyVariables } from '../../proxies.ts';
import { fsp } from '../../lazy.ts';
import { createReadStream, existsSync, lstatSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { showProgress } from '../../progress.ts';
import { humanSize } from '../../format.ts';
import { parseDockerignore } from '../../../lib/dockerignore.ts';
import { tarSink, writeBody } from '../../../lib/tar/writer.ts';
import { headerOf, manifestBytes, manifestTuple, tarSize, walkContextSync, type WalkEntry } from '../../../lib/contextwalk.ts';
import { MAX_CONTEXT_MANIFEST, type ContextManifestEntry } from '../../../api/types.ts';
import { registryConfigHeader } from '../../authstore.ts';
import type { BuildHeaders } from '../../../client/client.ts';
import { readSecrets, secretsHeader } from './secrets.ts';
import { memBytes, memSwap, ulimit } from '../container/opts.ts';
import { buildOutput, exportBuilt } from './buildoutput.ts';

const buildFlags = defineFlags({
  tag: { short: 't', long: 'tag', kind: 'stringArray', help: 'Name and optionally a tag in the "name:tag" format', typeName: 'list' },
  file: { short: 'f', long: 'file', kind: 'string', help: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
  buildArg: { long: 'build-arg', kind: 'stringArray', help: 'Set build-time variables', typeName: 'list' },
  target: { long: 'target', kind: 'string', help: 'Set the target build stage to build.' },
  noCache: { long: 'no-cache', kind: 'bool', help: 'Do not use cache when building the image' },
  pull: { long: 'pull', kind: 'bool', help: 'Always attempt to pull a newer version of the image' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress the build output and print image ID on success' },
  output: { short: 'o', long: 'output', kind: 'stringArray', help: 'Output destination (format: "type=local,dest=path")', typeName: 'stringArray' },
  label: { long: 'label', kind: 'stringArray', help: 'Set metadata for an image', typeName: 'list' },
  iidfile: { long: 'iidfile', kind: 'string', help: 'Write the image ID to the file' },
  secret: { long: 'secret', kind: 'stringArray', help: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")', typeName: 'stringArray' },
  network: { long: 'network', kind: 'string', help: 'Set the networking mode for the RUN instructions during build', default: 'default' },
  addHost: { long: 'add-host', kind: 'stringArray', help: 'Add a custom host-to-IP mapping ("host:ip")', typeName: 'list' },
  shmSize: { long: 'shm-size', kind: 'string', help: 'Size of "/dev/shm"', typeName: 'bytes' },
  forceRm: { long: 'force-rm', kind: 'bool', help: 'Always remove intermediate containers' },
  rm: { long: 'rm', kind: 'bool', help: 'Remove intermediate containers after a successful build', default: true },
  platform: { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable', ...platformDefault() },
  cacheFrom: { long: 'cache-from', kind: 'stringSlice', help: 'Images to consider as cache sources', typeName: 'strings' },
  cgroupParent: { long: 'cgroup-parent', kind: 'string', help: 'Set the parent cgroup for the "RUN" instructions during build' },
  compress: { long: 'compress', kind: 'bool', help: 'Compress the build context using gzip' },
  cpuPeriod: { long: 'cpu-period', kind: 'int', help: 'Limit the CPU CFS (Completely Fair Scheduler) period' },
  cpuQuota: { long: 'cpu-quota', kind: 'int', help: 'Limit the CPU CFS (Completely Fair Scheduler) quota' },
  cpuShares: { short: 'c', long: 'cpu-shares', kind: 'int', help: 'CPU shares (relative weight)' },
  cpusetCpus: { long: 'cpuset-cpus', kind: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)' },
  cpusetMems: { long: 'cpuset-mems', kind: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)' },
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image verification', default: true },
  isolation: { long: 'isolation', kind: 'string', help: 'Container isolation technology' },
  memory: { short: 'm', long: 'memory', kind: 'string', help: 'Memory limit', typeName: 'bytes', parse: memBytes },
  memorySwap: { long: 'memory-swap', kind: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', typeName: 'bytes', parse: memSwap },
  securityOpt: { long: 'security-opt', kind: 'stringSlice', help: 'Security options', typeName: 'strings' },
  squash: { long: 'squash', kind: 'bool', help: 'Squash newly built layers into a single new layer' },
  ulimit: { long: 'ulimit', kind: 'stringArray', help: 'Ulimit options', typeName: 'ulimit', defaultText: '[]', parse: ulimit },
});

export const buildCommand = defineCommand({
  name: 'build', usage: '[OPTIONS] PATH | URL | -', short: 'Build an image from a Dockerfile',
  aliasPaths: ['image build', 'build', 'builder build'], flags: buildFlags, args: { min: 1, max: 1 },
});

type Walked = WalkEntry;

/** A Dockerfile carried in the context under a name of its own. */
function carriedEntry(extra: { name: string; content: Buffer }): Walked {
  return { rel: extra.name, abs: '', type: 'file', mode: 0o644, uid: 0, gid: 0, mtimeMs: Date.now(), size: extra.content.length, linkname: '', key: '', content: extra.content };
}

/** A tar of `entries`, bodies read as they are sent. */
function contextTar(entries: Walked[]): Readable {
  const sink = tarSink();
  // Headers and small bodies are gathered into writes of 256 KiB: one chunk each on the wire.
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    if (!batched) return;
    const b = Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    await sink.write(b);
  };
  const put = async (b: Buffer) => {
    batch.push(b);
    batched += b.length;
    if (batched >= 256 * 1024) await flush();
  };
  const SMALL = 256 * 1024;
  void (async () => {
    try {
      for (const e of entries) {
        await put(headerOf(e));
        if (e.type !== 'file') continue;
        if (e.content || e.size <= SMALL) {
          const body = e.content ?? readFileSync(e.abs);
          await writeBody(put, (async function* () { yield body; })(), e.size);
        } else {
          await writeBody(put, createReadStream(e.abs) as AsyncIterable<Buffer>, e.size);
        }
      }
      await put(Buffer.alloc(1024));
      await flush();
      sink.out.end();
    } catch (e) {
      sink.out.destroy(contextError(e) as Error);
    }
  })();
  return sink.out;
}

/** A context the CLI cannot read, in the docker CLI's words (its ValidateContextDirectory). */
function contextError(e: unknown, listing = false): unknown {
  const err = e as NodeJS.ErrnoException;
  if ((err.code !== 'EACCES' && err.code !== 'EPERM') || !err.path) return e;
  return new StatusError(1, `error checking context: '${listing ? `can't stat '${err.path}'` : `no permission to read from '${err.path}'`}'.`);
}

/**
 * Berth's daemon is told the tree first and answers which bodies it lacks: a rebuild sends
 * only the files changed since a recent build (docker's classic API sends everything every
 * time). Only over a Unix socket, where the stat keys name files of the daemon's own host.
 */
async function preparedContext(ctx: CliContext, entries: Walked[], query: Record<string, string | string[] | undefined>, headers: BuildHeaders): Promise<{ id: string; send: Walked[] } | { built: Readable } | undefined> {
  if (!ctx.client.t.host.startsWith('unix://')) return undefined;
  // A manifest past berthd's limit for it would be refused: such a context goes whole. (The
  // estimate is generous: a name's JSON may escape characters.)
  let bytes = 0;
  for (const e of entries) bytes += manifestBytes(e);
  if (bytes > MAX_CONTEXT_MANIFEST * 0.75) return undefined;
  const manifest: ContextManifestEntry[] = entries.map(manifestTuple);
  // With the build's parameters: a context whose bodies berthd all holds is built at once.
  const r = await ctx.client.prepareBuildContext(manifest, query, headers);
  if (!r || 'built' in r) return r;
  const need = new Set(r.Need);
  return { id: r.ID, send: entries.filter((e) => e.type === 'file' && need.has(e.rel)) };
}

/**
 * The context walked by berthd itself: over a Unix socket, for a root CLI (which can read all
 * berthd can, so no file is reached that docker's CLI could not send), when berthd sees the
 * same directory. Listing 1,000 files cost this one-shot process ~25 ms (each Stats object is
 * built by code not yet compiled, and the garbage it leaves is collected twice); a running
 * daemon does it in a few. Undefined when berthd did not walk: the CLI lists the context then.
 */
async function walkedByDaemon(ctx: CliContext, dir: string, st: Stats, keep: Set<string>, carried: Walked | undefined, query: Record<string, string | string[] | undefined>, headers: BuildHeaders): Promise<{ built: Readable; contextSize: number } | { id: string; send: Walked[]; contextSize: number } | undefined> {
  if (!ctx.client.t.host.startsWith('unix://') || process.getuid?.() !== 0) return undefined;
  const r = await ctx.client.walkBuildContext({ Path: dir, Root: `${st.dev}:${st.ino}`, Keep: [...keep], Entries: carried ? [manifestTuple(carried)] : [] }, query, headers);
  if (!r) return undefined;
  if ('built' in r) return r;
  if (!r.Walked) return undefined;
  const send = r.Need.map(([rel, type, mode, mtimeMs, size, linkname, key]): Walked => (rel === carried?.rel ? carried : { rel, abs: `${dir}/${rel}`, type, mode, uid: 0, gid: 0, mtimeMs, size, linkname, key }));
  return { id: r.ID, send, contextSize: r.ContextSize };
}

function isTar(head: Buffer): boolean {
  return (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') || (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString('latin1') === 'BZh';
}

/** The name a Dockerfile from stdin or outside the context travels under in the context (docker's). */
function carriedDockerfileName(): string {
  return `.dockerfile.${process.getBuiltinModule('node:crypto').randomBytes(10).toString('hex')}`;
}

function auxId(aux: Record<string, unknown>[]): string | undefined {
  return aux.map((a) => a.ID).find((x): x is string => typeof x === 'string');
}

export async function buildImage(ctx: CliContext, p: Parsed<typeof buildFlags>): Promise<number> {
  const f = p.flags;
  const target = p.args[0];
  const output = buildOutput(f.output, !!ctx.stdout.isTTY);
  // A file system export makes no image (buildx's tags name image outputs only).
  const exported = output && output.type !== 'image' ? output : undefined;
  const tags = exported ? [] : [...f.tag, ...(output?.type === 'image' ? output.names : [])];
  // Progress goes to stderr when the tar is what stdout carries.
  const shown = exported?.type === 'tar' && exported.dest === '-' ? ctx.stderr : ctx.stdout;
  const query: Record<string, string | string[] | undefined> = {
    t: tags, target: f.target, nocache: f.noCache ? '1' : undefined, pull: f.pull ? '1' : undefined, q: f.quiet ? '1' : undefined,
    networkmode: f.network, extrahosts: f.addHost.length ? f.addHost.join(',') : undefined, forcerm: f.forceRm ? '1' : undefined,
    rm: f.rm === false ? '0' : '1', platform: f.platform, version: '1',
    // The RUN containers' limits, as the docker CLI sends them (moby applies them to each).
    cgroupparent: f.cgroupParent || undefined, cpuperiod: f.cpuPeriod ? String(f.cpuPeriod) : undefined, cpuquota: f.cpuQuota ? String(f.cpuQuota) : undefined,
    cpushares: f.cpuShares ? String(f.cpuShares) : undefined, cpusetcpus: f.cpusetCpus || undefined, cpusetmems: f.cpusetMems || undefined,
    memory: f.memory ? String(f.memory) : undefined, memswap: f.memorySwap ? String(f.memorySwap) : undefined,
    ulimits: f.ulimit.length ? JSON.stringify(f.ulimit) : undefined, securityopt: f.securityOpt.length ? f.securityOpt : undefined,
    isolation: f.isolation || undefined, squash: f.squash ? '1' : undefined,
    cachefrom: f.cacheFrom.length ? JSON.stringify(f.cacheFrom) : undefined,
  };
  if (!f.disableContentTrust) throw new StatusError(125, 'content trust is not supported by Berth: give --disable-content-trust');
  if (f.shmSize) {
    const { ramInBytes } = await import('../../../lib/units.ts');
    query.shmsize = String(ramInBytes(f.shmSize));
  }
  const args: Record<string, string | null> = {};
  for (const a of f.buildArg) {
    const eq = a.indexOf('=');
    // --build-arg NAME takes NAME's value from the environment, or none.
    if (eq < 0) args[a] = process.env[a] ?? null;
    else args[a.slice(0, eq)] = a.slice(eq + 1);
  }
  for (const [k, v] of proxyVariables(ctx.config, ctx.host, new Set(Object.keys(args)))) args[k] = v;
  if (Object.keys(args).length) query.buildargs = JSON.stringify(args);
  if (f.label.length) query.labels = JSON.stringify(Object.fromEntries(f.label.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, '']))));
  // The credentials the build's pulls may need (FROM a private registry), as the docker CLI sends
  // them; a helper that cannot answer does not stop a build (nor the docker CLI's), but is said.
  const headers: BuildHeaders = {};
  const secrets = secretsHeader(readSecrets(f.secret));
  if (secrets) headers.secrets = secrets;
  try {
    const rc = registryConfigHeader(ctx);
    if (rc) headers.registryConfig = rc;
  } catch (e) {
    ctx.stderr.write(`WARNING: ${e instanceof Error ? e.message : String(e)}; the build's pulls go without credentials\n`);
  }
  let body: Readable | undefined;
  /** The build's stream when berthd built from the manifest alone. */
  let built: Readable | undefined;
  let contextSize: number | undefined;
  if (/^https?:\/\//.test(target) || /^git(@|:\/\/)/.test(target)) {
    if (!/^https?:\/\//.test(target)) throw new StatusError(125, `unable to prepare context: git contexts are not supported by Berth yet: ${target}`);
    query.remote = target;
    query.dockerfile = f.file;
  } else if (target === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks);
    if (isTar(data)) {
      body = Readable.from([data]);
      query.dockerfile = f.file;
    } else {
      // A Dockerfile on stdin, with an empty context.
      const name = carriedDockerfileName();
      body = contextTar([carriedEntry({ name, content: data })]);
      query.dockerfile = name;
    }
  } else {
    // A symbolic link to the context is followed, as the docker CLI does.
    const st = statSync(target, { throwIfNoEntry: false });
    if (!st) throw new StatusError(1, `unable to prepare context: path "${target}" not found`);
    const dir = realpathSync(resolve(target));
    if (!st.isDirectory()) throw new StatusError(1, `unable to prepare context: context must be a directory: ${dir}`);
    const dockerfile = f.file === '-' ? undefined : resolve(f.file ? (f.file.startsWith('/') ? f.file : resolve(f.file)) : join(dir, 'Dockerfile'));
    let extra: { name: string; content: Buffer } | undefined;
    let dfName: string;
    if (f.file === '-') {
      const chunks: Buffer[] = [];
      for await (const c of ctx.stdin) chunks.push(c as Buffer);
      dfName = carriedDockerfileName();
      extra = { name: dfName, content: Buffer.concat(chunks) };
    } else {
      const rel = relative(dir, dockerfile!);
      const dfSt = lstatSync(dockerfile!, { throwIfNoEntry: false });
      if (!dfSt) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dockerfile}: no such file or directory`);
      if (rel.startsWith('..')) {
        // A Dockerfile outside the context travels in it under a name of its own (docker).
        dfName = carriedDockerfileName();
        extra = { name: dfName, content: readFileSync(dockerfile!) };
      } else {
        dfName = rel;
      }
    }
    const keep = new Set([dfName, '.dockerignore']);
    query.dockerfile = dfName;
    const walked = await walkedByDaemon(ctx, dir, st, keep, extra ? carriedEntry(extra) : undefined, query, headers);
    if (walked) {
      contextSize = walked.contextSize;
      if ('built' in walked) built = walked.built;
      else {
        query.berthcontext = walked.id;
        body = contextTar(walked.send);
      }
    } else {
      const ignoreText = existsSync(join(dir, '.dockerignore')) ? readFileSync(join(dir, '.dockerignore'), 'utf8') : '';
      let entries: Walked[];
      try {
        entries = walkContextSync(dir, parseDockerignore(ignoreText), keep);
      } catch (e) {
        throw contextError(e, true);
      }
      if (extra) entries.push(carriedEntry(extra));
      contextSize = tarSize(entries);
      const prepared = await preparedContext(ctx, entries, query, headers);
      if (prepared && 'built' in prepared) built = prepared.built;
      else {
        if (prepared) query.berthcontext = prepared.id;
        body = contextTar(prepared ? prepared.send : entries);
      }
    }
  }
  // --compress: a context that travels as a tar goes gzipped (the daemon reads either).
  if (f.compress && body) body = body.pipe(process.getBuiltinModule('node:zlib').createGzip({ level: 1 }));
  const res = built ?? await ctx.client.imageBuild(body, query, headers);
  // go-units HumanSize, as docker prints it: four significant digits ("2.048kB").
  const sending = contextSize === undefined ? '' : `Sending build context to Berth daemon  ${humanSize(contextSize, 4)}\n`;
  let id: string | undefined;
  if (f.quiet) {
    // As the docker CLI: the daemon's quiet answer is the image's ID, printed as it comes; a
    // failure shows what was held back, on stderr, before the error.
    let held = '';
    const sink = { isTTY: false, write: (s: string) => (held += s, true) } as unknown as NodeJS.WriteStream;
    try {
      const result = await showProgress(res, sink);
      id = auxId(result.aux) ?? /^sha256:[0-9a-f]{64}$/m.exec(held)?.[0];
    } catch (e) {
      ctx.stderr.write(sending + held);
      throw e;
    }
    if (!exported) shown.write(held);
  } else {
    shown.write(sending);
    id = auxId((await showProgress(res, shown as NodeJS.WriteStream)).aux);
  }
  if (exported) {
    if (!id) throw new StatusError(1, 'the build did not name its image: nothing to export');
    await exportBuilt(ctx, id, exported);
    return 0;
  }
  if (f.iidfile && id) await fsp().writeFile(f.iidfile, id);
  return 0;
}

const builderPruneFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Remove all unused build cache, not just dangling ones' },
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "until=24h")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
  keepStorage: { long: 'keep-storage', kind: 'string', help: 'Amount of disk space to keep for cache', typeName: 'bytes' },
});

export const builderPruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove build cache', flags: builderPruneFlags, args: { max: 0 } });

/**
 * `berth builder prune`: the classic builder's cache is its intermediate images, so every one
 * no tag, child or container holds is removed (with or without --all: there is no other kind).
 */
/** The docker CLI's list of deleted build cache objects (Berth's are image IDs). */
export function buildCacheDeleted(ids: string[]): string {
  return `Deleted build cache objects:\n${ids.map((id) => `${id.replace(/^sha256:/, '')}\n`).join('')}`;
}

export async function builderPrune(ctx: CliContext, p: Parsed<typeof builderPruneFlags>): Promise<number> {
  if (p.flags.keepStorage) throw new StatusError(125, '--keep-storage is not supported by Berth (the classic builder\'s cache is images)');
  if (!p.flags.force) {
    const { confirm } = await import('../../confirm.ts');
    if (!(await confirm(ctx, `WARNING! This will remove all ${p.flags.all ? '' : 'dangling '}build cache.`))) return 0;
  }
  const { parseFilterFlags } = await import('../container/ps.ts');
  const { withPruneFilters } = await import('../../prunefilters.ts');
  const r = await ctx.client.buildPrune(p.flags.all, withPruneFilters(ctx.config, parseFilterFlags(p.flags.filter)));
  const { humanSize: size } = await import('../../format.ts');
  if (r.CachesDeleted?.length) ctx.stdout.write(`${buildCacheDeleted(r.CachesDeleted)}\n`);
  ctx.stdout.write(`Total reclaimed space: ${size(r.SpaceReclaimed)}\n`);
  return 0;
}
