/** Where archive-producing commands (save, export) write: a file given with -o, or stdout. */
import { fsp, streamp } from './lazy.ts';
import { basename, dirname, join } from 'node:path';
import { StatusError, type CliContext } from './context.ts';
import { FileSink } from '../lib/filesink.ts';

/**
 * Refuses, before asking the daemon for anything, what docker refuses: a terminal, an output
 * file in a directory that is not there, a named pipe (`what`: "save image", "export container").
 */
export async function checkArchiveOutput(ctx: CliContext, out: string | undefined, what: string): Promise<void> {
  if (!out && ctx.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  if (!out || out === '-') return;
  const dir = dirname(out);
  const ds = await fsp().stat(dir).catch((e: NodeJS.ErrnoException) => {
    const reason = e.errno === undefined ? e.message : process.getBuiltinModule('node:util').getSystemErrorMessage(e.errno);
    throw new StatusError(1, `failed to ${what}: invalid output path: stat ${dir}: ${reason}`);
  });
  if (!ds.isDirectory()) throw new StatusError(1, `failed to ${what}: invalid output path: stat ${dir}: not a directory`);
  if ((await fsp().stat(out).catch(() => undefined))?.isFIFO()) throw new StatusError(1, `failed to ${what}: cannot write to a named pipe (FIFO)`);
}

/** Streams to stdout; a reader that stops early (`| head`) ends the command quietly. */
export async function toStdout(ctx: CliContext, src: NodeJS.ReadableStream): Promise<void> {
  try {
    await streamp().pipeline(src, ctx.stdout as unknown as NodeJS.WritableStream);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
  }
}

/**
 * Writes `src` to `out` (or stdout when `out` is empty or "-"), through a temp file beside
 * the target renamed at the end, so a failure leaves no partial file.
 */
export async function writeArchive(ctx: CliContext, out: string | undefined, src: NodeJS.ReadableStream, what: string): Promise<void> {
  if (!out || out === '-') {
    await toStdout(ctx, src);
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.berth-${process.pid}`);
  try {
    await streamp().pipeline(src, new FileSink(tmp, { mode: 0o644 }));
    await fsp().rename(tmp, out);
  } catch (e) {
    await fsp().rm(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'EACCES') throw new StatusError(1, `failed to ${what}: invalid output path: ${err.message}`);
    throw e;
  }
}
