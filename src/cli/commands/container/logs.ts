/** `berth logs`: docker's flags; output demultiplexed to stdout/stderr (raw with a TTY). */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { getTimestamp } from '../../../lib/duration.ts';
import { demuxTo } from '../../../lib/stdcopy.ts';

const logsFlags = defineFlags({
  details: { long: 'details', kind: 'bool', help: 'Show extra details provided to logs' },
  follow: { short: 'f', long: 'follow', kind: 'bool', help: 'Follow log output' },
  since: { long: 'since', kind: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  tail: { short: 'n', long: 'tail', kind: 'string', help: 'Number of lines to show from the end of the logs', default: 'all' },
  timestamps: { short: 't', long: 'timestamps', kind: 'bool', help: 'Show timestamps' },
  until: { long: 'until', kind: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
});

export const logsCommand = defineCommand({
  name: 'logs', usage: '[OPTIONS] CONTAINER', short: 'Fetch the logs of a container',
  aliasPaths: ['container logs', 'logs'], flags: logsFlags, args: { min: 1, max: 1 },
});

function ts(v: string | undefined, flag: string): string | undefined {
  if (!v) return undefined;
  try {
    return getTimestamp(v, new Date());
  } catch (e) {
    throw new StatusError(1, `invalid value for "${flag}": ${(e as Error).message}`);
  }
}

export async function logs(ctx: CliContext, p: Parsed<typeof logsFlags>): Promise<number> {
  const f = p.flags;
  const name = p.args[0];
  const info = await ctx.client.containerInspect(name);
  const abort = new AbortController();
  const onSig = () => abort.abort();
  process.once('SIGINT', onSig);
  try {
    const res = await ctx.client.containerLogs(info.Id, {
      stdout: true, stderr: true, follow: f.follow || undefined, timestamps: f.timestamps || undefined,
      tail: f.tail ?? 'all', since: ts(f.since, 'since'), until: ts(f.until, 'until'), details: f.details || undefined,
    }, abort.signal);
    if (info.Config.Tty) {
      for await (const c of res) if (!ctx.stdout.write(c as Buffer)) await new Promise((r) => ctx.stdout.once('drain', r));
    } else {
      await demuxTo(res, ctx.stdout, ctx.stderr);
    }
  } catch (e) {
    if (abort.signal.aborted) return 0;
    throw e;
  } finally {
    process.off('SIGINT', onSig);
  }
  return 0;
}
