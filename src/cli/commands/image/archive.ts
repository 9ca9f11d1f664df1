/** `berth save` and `berth load`: image archives to and from files or pipes. */
import { pathErrorText } from '../../../lib/oserror.ts';
import { createReadStream, fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { showProgress } from '../../progress.ts';
import { checkArchiveOutput, writeArchive } from '../../output.ts';

const saveFlags = defineFlags({
  output: { short: 'o', long: 'output', kind: 'string', help: 'Write to a file, instead of STDOUT' },
  platform: { long: 'platform', kind: 'stringArray', help: 'Save only the given platform(s)' },
});

export const saveCommand = defineCommand({
  name: 'save', usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliasPaths: ['image save', 'save'], flags: saveFlags, args: { min: 1 },
});

export async function save(ctx: CliContext, p: Parsed<typeof saveFlags>): Promise<number> {
  await checkArchiveOutput(ctx, p.flags.output, 'save image');
  await writeArchive(ctx, p.flags.output, await ctx.client.imageSave(p.args, p.flags.platform), 'save image');
  return 0;
}

const loadFlags = defineFlags({
  input: { short: 'i', long: 'input', kind: 'string', help: 'Read from tar archive file, instead of STDIN' },
  platform: { long: 'platform', kind: 'stringArray', help: 'Load only the given platform(s)' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress the load output' },
});

export const loadCommand = defineCommand({
  name: 'load', usage: '[OPTIONS]', short: 'Load an image from a tar archive or STDIN',
  aliasPaths: ['image load', 'load'], flags: loadFlags, args: { max: 0 },
});

export async function load(ctx: CliContext, p: Parsed<typeof loadFlags>): Promise<number> {
  let src: Readable;
  let length: number | undefined;
  const input = p.flags.input;
  if (input) {
    const s = createReadStream(input, { highWaterMark: 1 << 20 });
    const fd = await new Promise<number>((resolve, reject) => {
      s.once('open', (n: number) => resolve(n));
      s.once('error', (e: NodeJS.ErrnoException) => reject(new StatusError(1, pathErrorText('open', input, e))));
    });
    // A regular file's size is known: the upload goes with a Content-Length.
    const st = fstatSync(fd);
    if (st.isFile()) length = st.size;
    src = s;
  } else {
    if (ctx.stdin.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
    src = ctx.stdin as unknown as Readable;
  }
  // As docker: progress bars only on a terminal; piped output gets the "Loaded image" lines.
  const quiet = p.flags.quiet || !(ctx.stdout as NodeJS.WriteStream).isTTY;
  const res = await ctx.client.imageLoad(src, quiet, p.flags.platform, length);
  try {
    await showProgress(res, ctx.stdout as NodeJS.WriteStream);
  } catch (e) {
    if (e instanceof StatusError) throw new StatusError(1, `Error response from daemon: ${e.message}`);
    throw e;
  }
  return 0;
}
