/**
 * `berth build -o/--output` (buildx's flag): where the build's result goes. `type=local,dest=DIR`
 * (or a bare `DIR`) writes the final stage's file system into a directory, `type=tar,dest=FILE`
 * (or `-`, to stdout) as a tar; `type=image`/`type=docker` is the default, the image in the
 * daemon's store, with `name=` as tags. The classic API has no exporters: the CLI builds the
 * image, reads its file system back through a container that is never started (its export
 * holds the image's files and nothing else), and removes both when the result is not an image.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { splitCsv } from '../../../lib/csv.ts';
import { BLOCK, decodeBlock, decodePax, isZeroBlock } from '../../../lib/tar/header.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { fsp, streamp } from '../../lazy.ts';
import { extractLocal } from '../container/cptar.ts';

export type BuildOutput =
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string }
  | { type: 'image'; names: string[] };

/** buildx's parsing of one --output value. */
export function parseOutput(value: string): BuildOutput {
  let fields: string[];
  try {
    fields = splitCsv(value);
  } catch (e) {
    throw new StatusError(125, `invalid --output ${JSON.stringify(value)}: ${(e as Error).message}`);
  }
  if (fields.length === 1 && !fields[0].includes('=')) return value === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: value };
  let type = '';
  let dest: string | undefined;
  let names: string[] = [];
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new StatusError(125, `invalid value ${JSON.stringify(f)} in --output: each field is key=value`);
    const key = f.slice(0, eq).toLowerCase();
    const v = f.slice(eq + 1);
    if (key === 'type') type = v;
    else if (key === 'dest') dest = v;
    else if (key === 'name') names = v.split(',').filter(Boolean);
    // load/push and the image exporters' other attributes are BuildKit's; none is taken silently
    else throw new StatusError(125, `--output attribute "${key}" is not supported by Berth's builder yet`);
  }
  if (!type) throw new StatusError(125, 'type is required for output');
  switch (type) {
    case 'local':
      if (!dest) throw new StatusError(125, 'dest is required for local exporter');
      if (names.length) throw new StatusError(125, '--output attribute "name" applies to image outputs only');
      return { type, dest };
    case 'tar':
      if (names.length) throw new StatusError(125, '--output attribute "name" applies to image outputs only');
      return { type, dest: dest ?? '-' };
    case 'image':
    case 'docker':
      if (dest !== undefined) throw new StatusError(125, `--output type=${type} with a dest (an image archive) is not supported by Berth's builder yet: use berth save`);
      return { type: 'image', names };
    default:
      throw new StatusError(125, `--output type "${type}" is not supported by Berth's builder yet (local, tar, image and docker are)`);
  }
}

/** One output at most, as buildx takes it (none: the image in the store). */
export function buildOutput(values: string[], stdoutIsTTY: boolean): BuildOutput | undefined {
  if (values.length > 1) throw new StatusError(125, 'multiple outputs are not supported by Berth\'s builder yet');
  const out = values.length ? parseOutput(values[0]) : undefined;
  if (out?.type === 'tar' && out.dest === '-' && stdoutIsTTY) throw new StatusError(125, 'dest file is required for tar exporter. refusing to write to console');
  return out;
}

/**
 * Writes image `id`'s file system where `out` says, then removes what only the export needed:
 * the container, and the image itself (its parents stay: they are the build's cache).
 */
export async function exportBuilt(ctx: CliContext, id: string, out: Extract<BuildOutput, { type: 'local' | 'tar' }>): Promise<void> {
  const { Id: cid } = await ctx.client.containerCreate({ Image: id, Cmd: ['berth-build-output'], NetworkDisabled: true });
  try {
    const tar = withoutMarker(await ctx.client.containerExport(cid));
    if (out.type === 'local') {
      await fsp().mkdir(out.dest, { recursive: true });
      await extractLocal(tar, out.dest);
    } else if (out.dest === '-') {
      await streamp().pipeline(Readable.from(tar), ctx.stdout, { end: false });
    } else {
      await streamp().pipeline(Readable.from(tar), createWriteStream(out.dest));
    }
  } finally {
    await ctx.client.containerRemove(cid, { force: true }).catch(() => {});
    await ctx.client.imageRemove(id, { noPrune: true }).catch(() => {});
  }
}

const padded = (n: number) => n + ((BLOCK - (n % BLOCK)) % BLOCK);

/**
 * The export's tar, passed through block by block, less the container's empty `/.dockerenv`
 * (docker's marker of a container, no file of the image) and the meta entries before it.
 */
export async function* withoutMarker(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  /** Meta entries (PAX, long names) held until the entry they describe is seen. */
  let held: Buffer[] = [];
  let paxSize: number | undefined;
  let copy = 0;
  let hold = 0;
  let holdType = '';
  let ended = false;
  for await (const chunk of src) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (ended || copy > 0) {
        const n = ended ? buf.length : Math.min(copy, buf.length);
        if (!n) break;
        yield buf.subarray(0, n);
        buf = buf.subarray(n);
        copy -= ended ? 0 : n;
        continue;
      }
      if (hold > 0) {
        if (buf.length < hold) break;
        const body = buf.subarray(0, hold);
        held.push(body);
        if (holdType === 'x') {
          const size = decodePax(body).get('size');
          if (size !== undefined) paxSize = Number(size.toString('latin1'));
        }
        buf = buf.subarray(hold);
        hold = 0;
        continue;
      }
      if (buf.length < BLOCK) break;
      const block = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      if (isZeroBlock(block)) {
        yield* held;
        held = [];
        yield block;
        ended = true;
        continue;
      }
      const raw = decodeBlock(block);
      if ('xgLK'.includes(raw.typeflag)) {
        held.push(block);
        hold = padded(raw.size);
        holdType = raw.typeflag;
        continue;
      }
      const size = paxSize ?? raw.size;
      paxSize = undefined;
      const marker = raw.name.replace(/^\.\//, '') === '.dockerenv' && (raw.typeflag === '0' || raw.typeflag === '\0') && size === 0;
      if (!marker) {
        yield* held;
        yield block;
        // links, directories and devices carry no body whatever their size field says
        copy = '123456'.includes(raw.typeflag) ? 0 : padded(size);
      }
      held = [];
    }
  }
  yield* held;
  if (buf.length) yield buf;
}

