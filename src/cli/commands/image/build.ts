/**
 * `berth build`: the context (a directory less what .dockerignore leaves out, stdin, or a URL)
 * sent as a tar to POST /build, and the classic builder's output shown as it comes.
 */
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { showProgress } from '../../progress.ts';
import { humanSize } from '../../format.ts';
import { isIgnored, parseDockerignore, type IgnorePattern } from '../../../lib/dockerignore.ts';
import { tarSink, writeBody } from '../../../lib/tar/writer.ts';
import { encodeHeader } from '../../../lib/tar/header.ts';

const buildFlags = defineFlags({
  tag: { short: 't', long: 'tag', kind: 'stringArray', help: 'Name and optionally a tag in the "name:tag" format', typeName: 'list' },
  file: { short: 'f', long: 'file', kind: 'string', help: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
  buildArg: { long: 'build-arg', kind: 'stringArray', help: 'Set build-time variables', typeName: 'list' },
  target: { long: 'target', kind: 'string', help: 'Set the target build stage to build.' },
  noCache: { long: 'no-cache', kind: 'bool', help: 'Do not use cache when building the image' },
  pull: { long: 'pull', kind: 'bool', help: 'Always attempt to pull a newer version of the image' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress the build output and print image ID on success' },
  label: { long: 'label', kind: 'stringArray', help: 'Set metadata for an image', typeName: 'list' },
  iidfile: { long: 'iidfile', kind: 'string', help: 'Write the image ID to the file' },
  network: { long: 'network', kind: 'string', help: 'Set the networking mode for the RUN instructions during build', default: 'default' },
  addHost: { long: 'add-host', kind: 'stringArray', help: 'Add a custom host-to-IP mapping ("host:ip")', typeName: 'list' },
  shmSize: { long: 'shm-size', kind: 'string', help: 'Size of "/dev/shm"', typeName: 'bytes' },
  forceRm: { long: 'force-rm', kind: 'bool', help: 'Always remove intermediate containers' },
  rm: { long: 'rm', kind: 'bool', help: 'Remove intermediate containers after a successful build', default: true },
  platform: { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable' },
});

export const buildCommand = defineCommand({
  name: 'build', usage: '[OPTIONS] PATH | URL | -', short: 'Build an image from a Dockerfile',
  aliasPaths: ['image build', 'build', 'builder build'], flags: buildFlags, args: { min: 1, max: 1 },
});

/** Walks the context in name order, leaving out what .dockerignore says (never the Dockerfile). */
async function contextTar(dir: string | undefined, ignore: IgnorePattern[], keep: Set<string>, extra?: { name: string; content: Buffer }): Promise<{ stream: Readable; size: Promise<number> }> {
  const sink = tarSink();
  let total = 0;
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
    total += b.length;
    batch.push(b);
    batched += b.length;
    if (batched >= 256 * 1024) await flush();
  };
  const size = (async () => {
    // The CLI is a one-shot process: the tree is listed and small files read with synchronous
    // calls, which for many small files cost a fraction of the thread pool's round trips.
    const SMALL = 256 * 1024;
    const walk = async (abs: string, rel: string) => {
      for (const name of readdirSync(abs).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const p = join(abs, name);
        const st = lstatSync(p);
        if (isIgnored(r, ignore) && !keep.has(r)) {
          // An exception may still bring back something below an ignored directory.
          if (!st.isDirectory() || !ignore.some((x) => x.exclusion && x.text.startsWith(`${r}/`))) continue;
        }
        const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
        if (st.isDirectory()) {
          await put(encodeHeader({ name: `${r}/`, type: 'directory', ...common }));
          await walk(p, r);
        } else if (st.isSymbolicLink()) {
          await put(encodeHeader({ name: r, type: 'symlink', linkname: readlinkSync(p), ...common }));
        } else if (st.isFile()) {
          await put(encodeHeader({ name: r, type: 'file', size: st.size, ...common }));
          if (st.size <= SMALL) {
            const body = readFileSync(p);
            await writeBody(put, (async function* () { yield body; })(), st.size);
          } else {
            await writeBody(put, createReadStream(p) as AsyncIterable<Buffer>, st.size);
          }
        }
      }
    };
    try {
      if (dir) await walk(dir, '');
      if (extra) {
        await put(encodeHeader({ name: extra.name, type: 'file', size: extra.content.length, mode: 0o644, mtime: new Date() }));
        await writeBody(put, (async function* () { yield extra.content; })(), extra.content.length);
      }
      await put(Buffer.alloc(1024));
      await flush();
      sink.out.end();
    } catch (e) {
      sink.out.destroy(e as Error);
      throw e;
    }
    return total;
  })();
  size.catch(() => {});
  return { stream: sink.out, size };
}

function isTar(head: Buffer): boolean {
  return (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') || (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString('latin1') === 'BZh';
}

/** The name a Dockerfile from stdin or outside the context travels under in the context (docker's). */
function carriedDockerfileName(): string {
  return `.dockerfile.${process.getBuiltinModule('node:crypto').randomBytes(10).toString('hex')}`;
}

export async function buildImage(ctx: CliContext, p: Parsed<typeof buildFlags>): Promise<number> {
  const f = p.flags;
  const target = p.args[0];
  if (f.rm === false) throw new StatusError(125, '--rm=false (keeping intermediate containers) is not supported by Berth');
  const query: Record<string, string | string[] | undefined> = {
    t: f.tag, target: f.target, nocache: f.noCache ? '1' : undefined, pull: f.pull ? '1' : undefined, q: f.quiet ? '1' : undefined,
    networkmode: f.network, extrahosts: f.addHost.length ? f.addHost.join(',') : undefined, forcerm: f.forceRm ? '1' : undefined,
    rm: '1', platform: f.platform, version: '1',
  };
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
  if (Object.keys(args).length) query.buildargs = JSON.stringify(args);
  if (f.label.length) query.labels = JSON.stringify(Object.fromEntries(f.label.map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, '']))));
  let body: Readable | undefined;
  let sending: Promise<number> | undefined;
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
      const t = await contextTar(undefined, [], new Set(), { name, content: data });
      body = t.stream;
      query.dockerfile = name;
    }
  } else {
    const dir = resolve(target);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new StatusError(1, `unable to prepare context: path "${target}" not found`);
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
      const dfSt = await lstat(dockerfile!).catch(() => undefined);
      if (!dfSt) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dockerfile}: no such file or directory`);
      if (rel.startsWith('..')) {
        // A Dockerfile outside the context travels in it under a name of its own (docker).
        dfName = carriedDockerfileName();
        extra = { name: dfName, content: await readFile(dockerfile!) };
      } else {
        dfName = rel;
      }
    }
    const ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
    const keep = new Set([dfName, '.dockerignore']);
    const t = await contextTar(dir, parseDockerignore(ignoreText), keep, extra);
    body = t.stream;
    sending = t.size;
    query.dockerfile = dfName;
  }
  const res = await ctx.client.imageBuild(body, query);
  if (sending && !f.quiet) {
    const n = await sending.catch(() => 0);
    // go-units HumanSize, as docker prints it: four significant digits ("2.048kB").
    ctx.stdout.write(`Sending build context to Berth daemon  ${humanSize(n, 4)}\n`);
  }
  const result = await showProgress(res, ctx.stdout as NodeJS.WriteStream, { quiet: f.quiet });
  const id = result.aux.map((a) => a.ID).find((x): x is string => typeof x === 'string');
  if (f.quiet && id) ctx.stdout.write(`${id}\n`);
  if (f.iidfile && id) await writeFile(f.iidfile, id);
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
export async function builderPrune(ctx: CliContext, p: Parsed<typeof builderPruneFlags>): Promise<number> {
  if (p.flags.keepStorage) throw new StatusError(125, '--keep-storage is not supported by Berth (the classic builder\'s cache is images)');
  if (!p.flags.force) {
    const { confirm } = await import('../../confirm.ts');
    if (!(await confirm(ctx, `WARNING! This will remove all ${p.flags.all ? '' : 'dangling '}build cache.`))) return 0;
  }
  if (p.flags.filter.length) throw new StatusError(125, '--filter is not supported by Berth\'s builder prune (the classic builder\'s cache is images: see image prune --filter)');
  const r = await ctx.client.buildPrune(p.flags.all);
  const { humanSize: size } = await import('../../format.ts');
  if (r.CachesDeleted?.length) ctx.stdout.write(`Deleted build cache objects:\n${r.CachesDeleted.map((id) => id.replace(/^sha256:/, '')).join('\n')}\n\n`);
  ctx.stdout.write(`Total reclaimed space: ${size(r.SpaceReclaimed)}\n`);
  return 0;
}
