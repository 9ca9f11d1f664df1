/** `berth events`: the daemon's event stream, printed as docker prints it. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { getTimestamp } from '../../../lib/duration.ts';
import type { EventMessage } from '../../../api/types.ts';
import { parseFilterFlags } from '../container/ps.ts';
import { renderRows, validateFormat } from '../../format.ts';

const eventsFlags = defineFlags({
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: 'Filter output based on conditions provided', typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  since: { long: 'since', kind: 'string', help: 'Show all events created since timestamp' },
  until: { long: 'until', kind: 'string', help: 'Stream events until this timestamp' },
});

export const eventsCommand = defineCommand({
  name: 'events', usage: '[OPTIONS]', short: 'Get real time events from the server',
  aliasPaths: ['system events', 'events'], flags: eventsFlags, args: { max: 0 },
});

/** A --since/--until value as the API takes it; docker's CLI reports a bad one bare, with exit 1. */
function ts(v: string | undefined): string | undefined {
  if (!v) return undefined;
  try {
    return getTimestamp(v, new Date());
  } catch (e) {
    throw new StatusError(1, (e as Error).message);
  }
}

/** Go's RFC3339NanoFixed ("2006-01-02T15:04:05.000000000Z07:00") in local time. */
export function rfc3339NanoFixed(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const off = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}.${frac}${zone}`;
}

/** One event as `docker events` prints it without --format. */
export function eventLine(m: EventMessage, exactNs?: bigint): string {
  const time = m.timeNano ? rfc3339NanoFixed(exactNs ?? BigInt(m.timeNano)) : m.time ? rfc3339NanoFixed(BigInt(m.time) * 1_000_000_000n) : '';
  const attrs = Object.keys(m.Actor.Attributes ?? {}).sort().map((k) => `${k}=${m.Actor.Attributes[k]}`);
  return `${time ? `${time} ` : ''}${m.Type} ${m.Action} ${m.Actor.ID}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`;
}

export async function events(ctx: CliContext, p: Parsed<typeof eventsFlags>): Promise<number> {
  const f = p.flags;
  const format = f.format === 'json' ? '{{json .}}' : f.format;
  if (format) await validateFormat(format, { Type: '', Action: '', Actor: { ID: '', Attributes: {} }, scope: '', time: 0, timeNano: 0 }, { parse: 'template parsing error: ', exec: 'template parsing error: ' });
  const abort = new AbortController();
  const onSig = () => abort.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    const res = await ctx.client.events({ since: ts(f.since), until: ts(f.until), filters: parseFilterFlags(f.filter) }, abort.signal);
    for await (const line of process.getBuiltinModule('node:readline').createInterface({ input: res, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as EventMessage;
      // JSON numbers lose nanoseconds: the exact time is read from the text.
      const exact = /"timeNano":(\d+)/.exec(line)?.[1];
      const out = format ? await renderRows([m], format, {}) : eventLine(m, exact ? BigInt(exact) : undefined);
      if (!ctx.stdout.write(out)) await new Promise((r) => ctx.stdout.once('drain', r));
    }
  } catch (e) {
    if (abort.signal.aborted) return 0;
    throw e;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
  return 0;
}
