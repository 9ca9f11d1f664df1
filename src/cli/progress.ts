/**
 * Renders docker's JSON progress streams (pull, push, load, build) as the docker CLI's
 * jsonmessage does: on a terminal, one line per layer updated in place; piped, status lines
 * only, without byte counters.
 */
import type { Readable } from 'node:stream';
import { jsonLines } from '../client/http.ts';
import { StatusError } from './context.ts';
import { progressString, type ProgressDetail } from '../lib/progressbar.ts';

export interface ProgressResult {
  aux: Record<string, unknown>[];
}

function lineOf(m: Record<string, unknown>, tty: boolean, columns = 200): string {
  const id = typeof m.id === 'string' ? `${m.id}: ` : '';
  const st = typeof m.status === 'string' ? m.status : typeof m.stream === 'string' ? m.stream : '';
  // The bar is drawn again for this terminal's width, as the docker CLI does.
  const detail = m.progressDetail && typeof m.progressDetail === 'object' ? (m.progressDetail as ProgressDetail) : undefined;
  const bar = !tty ? '' : detail ? ` ${progressString(detail, columns)}` : typeof m.progress === 'string' ? ` ${m.progress}` : '';
  return `${id}${st}${bar}`;
}

/** Consumes a progress stream; throws the in-band error as docker prints it. */
export async function showProgress(body: Readable, out: NodeJS.WriteStream, opts: { quiet?: boolean } = {}): Promise<ProgressResult> {
  const tty = !!out.isTTY && !opts.quiet;
  const ids = new Map<string, number>();
  let lines = 0;
  const aux: Record<string, unknown>[] = [];
  for await (const m of jsonLines(body)) {
    if (typeof m.error === 'string' || m.errorDetail) {
      const msg = typeof m.error === 'string' ? m.error : String((m.errorDetail as { message?: string }).message);
      // A failed build step's exit code is the client's (the docker CLI's jsonmessage).
      const code = (m.errorDetail as { code?: number } | undefined)?.code;
      throw new StatusError(typeof code === 'number' && code > 0 ? code : 1, msg);
    }
    if (m.aux && typeof m.aux === 'object') {
      aux.push(m.aux as Record<string, unknown>);
      continue;
    }
    if (opts.quiet) continue;
    const detail = m.progressDetail as { current?: number } | undefined;
    const isProgress = detail !== undefined && typeof detail.current === 'number';
    if (!tty) {
      if (!isProgress && (typeof m.status === 'string' || typeof m.stream === 'string')) out.write(lineOf(m, false) + (typeof m.stream === 'string' ? '' : '\n'));
      continue;
    }
    const id = typeof m.id === 'string' ? m.id : undefined;
    if (id && ids.has(id)) {
      const up = lines - ids.get(id)!;
      out.write(`\x1b[${up}A\r\x1b[2K${lineOf(m, true, out.columns)}\r\x1b[${up}B`);
    } else {
      if (id) ids.set(id, lines);
      out.write(`${lineOf(m, true, out.columns)}${typeof m.stream === 'string' ? '' : '\n'}`);
      lines++;
    }
  }
  return { aux };
}
