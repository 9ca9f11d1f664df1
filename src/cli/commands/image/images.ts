/** `berth images` / `image ls`, `image inspect`, `rmi`, `tag`, `import`. */
import { platformDefault } from '../../platformenv.ts';
import { pathErrorText } from '../../../lib/oserror.ts';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { ago, goTimeString, humanSize, fromDaemon, inspectEach, renderRows, renderTable, shortId, structRow } from '../../format.ts';
import { parseFilterFlags } from '../container/ps.ts';
import { jsonLines } from '../../../client/http.ts';
import type { ImageSummary } from '../../../api/types.ts';
import { familiarName, parseNormalizedNamed, type Reference } from '../../../lib/reference.ts';

const imagesFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Show all images (default hides intermediate images)' },
  digests: { long: 'digests', kind: 'bool', help: 'Show digests' },
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: 'Filter output based on conditions provided', typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only show image IDs' },
  tree: { long: 'tree', kind: 'bool', help: 'List multi-platform images as a tree (EXPERIMENTAL)' },
});

export const imagesCommand = defineCommand({
  name: 'ls', aliases: ['images', 'list'], usage: '[OPTIONS] [REPOSITORY[:TAG]]', short: 'List images',
  aliasPaths: ['image ls', 'image list', 'images'], flags: imagesFlags, args: { max: 1 },
});

const IMAGE_HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'SIZE' };

/**
 * The rows of one listing, as docker's imageFormatTaggedAndDigest makes them: one per tag of
 * each repository, times its digests when they are shown (--digests, or a format naming
 * {{.Digest}}); a repository known only by digest gets its own row; a dangling image one row
 * of <none>. Within an image, repositories come in the daemon's order (docker's map order is
 * random).
 */
function imageRows(list: ImageSummary[], trunc: boolean, needDigest: boolean, showDigest: boolean): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const img of list) {
    const id = trunc ? shortId(img.Id) : img.Id;
    const base = { ID: id, CreatedSince: ago(img.Created), CreatedAt: goTimeString(img.Created), Size: humanSize(img.Size), VirtualSize: humanSize(img.Size, 4), Containers: img.Containers < 0 ? 'N/A' : String(img.Containers), SharedSize: 'N/A', UniqueSize: 'N/A' };
    const add = (Repository: string, Tag: string, Digest: string) => rows.push(structRow('*formatter.imageContext', { ...base, Repository, Tag, Digest }));
    if (isDangling(img)) {
      add('<none>', '<none>', '<none>');
      continue;
    }
    const repoTags = byRepository(img.RepoTags, (ref) => ref.tag);
    const repoDigests = byRepository(img.RepoDigests, (ref) => ref.digest);
    for (const [repo, tags] of repoTags) {
      const digests = needDigest ? repoDigests.get(repo) ?? [] : [];
      repoDigests.delete(repo);
      for (const tag of tags) {
        if (digests.length === 0) add(repo, tag, '<none>');
        for (const d of digests) add(repo, tag, d);
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (showDigest) for (const d of digests) add(repo, '<none>', d);
      else add(repo, '<none>', '');
    }
  }
  return rows;
}

/** References grouped by familiar repository name: each one's tag or digest (`part`); unparsable ones skipped, as docker's. */
function byRepository(refs: string[], part: (ref: Reference) => string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of refs) {
    let ref;
    try {
      ref = parseNormalizedNamed(r);
    } catch {
      continue;
    }
    const v = part(ref);
    if (v === undefined) continue;
    const name = familiarName(ref);
    out.set(name, [...(out.get(name) ?? []), v]);
  }
  return out;
}

/** docker's isDangling: no name at all (or the daemon's <none> placeholders). */
export const isDangling = (img: ImageSummary) =>
  (img.RepoTags.length === 0 && img.RepoDigests.length === 0) ||
  (img.RepoTags.length === 1 && img.RepoTags[0] === '<none>:<none>' && img.RepoDigests.length === 1 && img.RepoDigests[0] === '<none>@<none>');

export async function images(ctx: CliContext, p: Parsed<typeof imagesFlags>): Promise<number> {
  const f = p.flags;
  const filters = parseFilterFlags(f.filter);
  if (p.args[0]) filters.set('reference', [...(filters.get('reference') ?? []), p.args[0]]);
  if (f.tree) {
    for (const [set, flag] of [[f.quiet, '--quiet'], [f.noTrunc, '--no-trunc'], [f.digests, '--show-digest'], [!!f.format, '--format']] as const) {
      if (set) throw new StatusError(1, `${flag} is not yet supported with --tree`);
    }
    const all = await ctx.client.imageList({ all: f.all, filters, manifests: true });
    const isTerm = !!ctx.stdout.isTTY;
    const { renderTree } = await import('./tree.ts');
    ctx.stdout.write(renderTree(f.all ? all : all.filter((i) => !isDangling(i)), { isTerm, columns: isTerm ? ctx.stdout.columns ?? 0 : 0 }));
    return 0;
  }
  const list = await ctx.client.imageList({ all: f.all, filters });
  // --format, else the config file's imagesFormat unless -q; -q applies to the table only.
  let format = f.format || (!f.quiet && ctx.config.imagesFormat) || 'table';
  // -q prints one ID per row the table would have.
  const rows = imageRows(list, !f.noTrunc, f.digests || format.includes('{{.Digest}}'), f.digests);
  if (f.quiet && format === 'table') {
    ctx.stdout.write(rows.map((r) => `${String(r.ID)}\n`).join(''));
    ambiguousHint(ctx, p.args[0], list.length);
    return 0;
  }
  if (format === 'table') {
    const cols: [string, string][] = [['Repository', 'REPOSITORY'], ['Tag', 'TAG'], ...(f.digests ? [['Digest', 'DIGEST'] as [string, string]] : []), ['ID', 'IMAGE ID'], ['CreatedSince', 'CREATED'], ['Size', 'SIZE']];
    ctx.stdout.write(renderTable(rows, cols));
    ambiguousHint(ctx, p.args[0], list.length);
    return 0;
  }
  // docker's `raw` format (formatter.NewImageFormat), which its help does not name.
  if (format === 'raw') {
    format = f.quiet ? 'image_id: {{.ID}}'
      : `repository: {{ .Repository }}\ntag: {{.Tag}}\n${f.digests ? 'digest: {{.Digest}}\n' : ''}image_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n`;
  }
  ctx.stdout.write(await renderRows(rows, format, IMAGE_HEADERS));
  ambiguousHint(ctx, p.args[0], list.length);
  return 0;
}

/** `image` subcommands that `berth images NAME` takes for a name (docker's printAmbiguousHint). */
const IMAGE_VERBS = new Set(['build', 'history', 'import', 'inspect', 'list', 'load', 'ls', 'prune', 'pull', 'push', 'rm', 'save', 'tag']);

/** `berth images ls` lists images named "ls": when none is, say what was likely meant. */
function ambiguousHint(ctx: CliContext, name: string | undefined, found: number): void {
  if (name && found === 0 && ctx.commandPath.endsWith(' images') && IMAGE_VERBS.has(name)) {
    ctx.stderr.write(`\nNo images found matching ${JSON.stringify(name)}: did you mean "berth image ${name}"?\n`);
  }
}

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  platform: { long: 'platform', kind: 'string', help: 'Inspect a specific platform of the multi-platform image' },
});

export const imageInspectCommand = defineCommand({
  name: 'inspect', usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Display detailed information on one or more images',
  flags: inspectFlags, args: { min: 1 },
});

export async function imageInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  const templated = !!p.flags.format && p.flags.format !== 'json';
  await inspectEach(ctx, p.args, fromDaemon(async (n) => {
    const img = await ctx.client.imageInspect(n, p.flags.platform);
    return templated ? imageForTemplate(img) : img;
  }), p.flags.format);
  return 0;
}

/** The OCI image config's fields, all omitempty (docker's DockerOCIImageConfig). */
const OCI_CONFIG_KEYS = new Set(['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell']);

/**
 * An image as the docker CLI's templates see it: it decodes the answer into its Go struct, so
 * the Config fields the daemon adds for older clients (null, "" or false) are gone, and a
 * template's `json .Config` prints only what the image sets. The raw JSON is printed as it came.
 */
export function imageForTemplate<T extends object>(img: T): T {
  const config = (img as { Config?: Record<string, unknown> | null }).Config;
  if (!config) return img;
  const empty = (v: unknown) => v === null || v === false || v === '' || v === 0 || (typeof v === 'object' && Object.keys(v as object).length === 0);
  return { ...img, Config: Object.fromEntries(Object.entries(config).filter(([k, v]) => OCI_CONFIG_KEYS.has(k) && !empty(v))) };
}

const rmiFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force removal of the image' },
  noPrune: { long: 'no-prune', kind: 'bool', help: 'Do not delete untagged parents' },
  platform: { long: 'platform', kind: 'stringArray', help: 'Remove only the given platform variant' },
});

export const rmiCommand = defineCommand({
  name: 'rm', aliases: ['rmi', 'remove'], usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Remove one or more images',
  aliasPaths: ['image rm', 'image remove', 'rmi'], flags: rmiFlags, args: { min: 1 },
});

export async function rmi(ctx: CliContext, p: Parsed<typeof rmiFlags>): Promise<number> {
  const errors: string[] = [];
  for (const n of p.args) {
    try {
      const recs = await ctx.client.imageRemove(n, { force: p.flags.force, noPrune: p.flags.noPrune });
      for (const r of recs) {
        if (r.Untagged) ctx.stdout.write(`Untagged: ${r.Untagged}\n`);
        if (r.Deleted) ctx.stdout.write(`Deleted: ${r.Deleted}\n`);
      }
    } catch (e) {
      errors.push(errorText(e));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}

export const tagCommand = defineCommand({
  name: 'tag', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliasPaths: ['image tag', 'tag'], args: { min: 2, max: 2 },
});

export async function tag(ctx: CliContext, p: Parsed): Promise<number> {
  const [src, target] = p.args;
  // The target is checked here first, in the docker client's words.
  let ref;
  try {
    ref = parseNormalizedNamed(target);
  } catch (e) {
    throw new StatusError(1, `Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${(e as Error).message}`);
  }
  if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
  await ctx.client.imageTag(src, target);
  return 0;
}

const importFlags = defineFlags({
  change: { short: 'c', long: 'change', kind: 'stringArray', help: 'Apply Dockerfile instruction to the created image' },
  message: { short: 'm', long: 'message', kind: 'string', help: 'Set commit message for imported image' },
  platform: { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable', ...platformDefault() },
});

export const importCommand = defineCommand({
  name: 'import', usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', short: 'Import the contents from a tarball to create a filesystem image',
  aliasPaths: ['image import', 'import'], flags: importFlags, args: { min: 1, max: 2 },
});

export async function importImage(ctx: CliContext, p: Parsed<typeof importFlags>): Promise<number> {
  const [src, ref] = p.args;
  let stream: NodeJS.ReadableStream;
  let source = '-';
  if (src === '-') {
    stream = ctx.stdin;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
    // A URL: the daemon fetches it, as docker's does.
    source = src;
    stream = Readable.from([]);
  } else {
    const s = createReadStream(src);
    await new Promise<void>((resolve, reject) => {
      s.once('open', () => resolve());
      s.once('error', (e: NodeJS.ErrnoException) => reject(new StatusError(1, pathErrorText('open', src, e))));
    });
    stream = s;
  }
  let repo: string | undefined;
  let tagName: string | undefined;
  if (ref) {
    const i = ref.lastIndexOf(':');
    if (i > ref.lastIndexOf('/') && !ref.includes('@')) {
      repo = ref.slice(0, i);
      tagName = ref.slice(i + 1);
    } else {
      repo = ref;
    }
  }
  const res = await ctx.client.imageImport(stream as import('node:stream').Readable, {
    source,
    ...(repo ? { repo } : {}), ...(tagName ? { tag: tagName } : {}), ...(p.flags.message ? { message: p.flags.message } : {}),
    changes: p.flags.change, ...(p.flags.platform ? { platform: p.flags.platform } : {}),
  });
  for await (const m of jsonLines(res)) {
    if (typeof m.error === 'string') throw new StatusError(1, `Error response from daemon: ${m.error}`);
    if (typeof m.status === 'string') ctx.stdout.write(`${m.status}\n`);
  }
  return 0;
}
