/** `berth history` / `image history`: the steps an image was made of, newest first. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';
import { ago, ellipsis, humanSize, renderRows, renderTable, shortId, structRow } from '../../format.ts';
import type { ImageHistoryItem } from '../../../api/types.ts';

const historyFlags = defineFlags({
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  human: { short: 'H', long: 'human', kind: 'bool', help: 'Print sizes and dates in human readable format', default: true },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
  platform: { long: 'platform', kind: 'string', help: 'Show history for the given platform' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only show image IDs' },
});

export const historyCommand = defineCommand({
  name: 'history', usage: '[OPTIONS] IMAGE', short: 'Show the history of an image',
  aliasPaths: ['image history', 'history'], flags: historyFlags, args: { min: 1, max: 1 },
});

const HEADERS = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

/** docker's historyContext: the fields a history --format can use. */
export function historyRows(items: ImageHistoryItem[], opts: { human: boolean; trunc: boolean }): Record<string, unknown>[] {
  return items.map((h) => {
    const created = new Date(h.Created * 1000);
    const rfc3339 = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const createdBy = h.CreatedBy.replace(/\t/g, ' ');
    return structRow('*image.historyContext', {
      ID: opts.trunc && h.Id !== '<missing>' ? shortId(h.Id) : h.Id,
      CreatedSince: opts.human ? ago(h.Created) : rfc3339,
      CreatedAt: rfc3339,
      CreatedBy: opts.trunc ? ellipsis(createdBy, 45) : createdBy,
      Size: opts.human ? humanSize(h.Size) : String(h.Size),
      Comment: h.Comment,
    });
  });
}

export async function history(ctx: CliContext, p: Parsed<typeof historyFlags>): Promise<number> {
  const f = p.flags;
  const items = await ctx.client.imageHistory(p.args[0], p.flags.platform);
  const rows = historyRows(items, { human: f.human, trunc: !f.noTrunc });
  // -q applies to the table only (docker's NewHistoryFormat).
  if (f.quiet && (!f.format || f.format === 'table')) {
    for (const r of rows) ctx.stdout.write(`${String(r.ID)}\n`);
    return 0;
  }
  if (!f.format || f.format === 'table') {
    ctx.stdout.write(renderTable(rows, [['ID', 'IMAGE'], ['CreatedSince', f.human ? 'CREATED' : 'CREATED AT'], ['CreatedBy', 'CREATED BY'], ['Size', 'SIZE'], ['Comment', 'COMMENT']]));
    return 0;
  }
  ctx.stdout.write(await renderRows(rows, f.format, f.human ? HEADERS : { ...HEADERS, CreatedSince: 'CREATED AT' }));
  return 0;
}
