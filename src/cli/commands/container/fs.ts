/** `berth diff`, `berth commit`, `berth export`: a container's filesystem outside it. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';
import { checkArchiveOutput, writeArchive } from '../../output.ts';

export const diffCommand = defineCommand({
  name: 'diff', usage: 'CONTAINER', short: "Inspect changes to files or directories on a container's filesystem",
  aliasPaths: ['container diff', 'diff'], args: { min: 1, max: 1 },
});

const KINDS = ['C', 'A', 'D'];

export async function diff(ctx: CliContext, p: Parsed): Promise<number> {
  for (const ch of (await ctx.client.containerChanges(p.args[0])) ?? []) ctx.stdout.write(`${KINDS[ch.Kind] ?? '?'} ${ch.Path}\n`);
  return 0;
}

const commitFlags = defineFlags({
  author: { short: 'a', long: 'author', kind: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
  change: { short: 'c', long: 'change', kind: 'stringArray', help: 'Apply Dockerfile instruction to the created image', typeName: 'list' },
  message: { short: 'm', long: 'message', kind: 'string', help: 'Commit message' },
  pause: { short: 'p', long: 'pause', kind: 'bool', help: 'Pause container during commit', default: true },
});

export const commitCommand = defineCommand({
  name: 'commit', usage: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", short: "Create a new image from a container's changes",
  aliasPaths: ['container commit', 'commit'], flags: commitFlags, args: { min: 1, max: 2 },
});

export async function commit(ctx: CliContext, p: Parsed<typeof commitFlags>): Promise<number> {
  const [container, ref] = p.args;
  let repo: string | undefined;
  let tag: string | undefined;
  if (ref) {
    const i = ref.lastIndexOf(':');
    if (i > ref.lastIndexOf('/')) {
      repo = ref.slice(0, i);
      tag = ref.slice(i + 1);
    } else repo = ref;
  }
  const r = await ctx.client.commit(container, {
    ...(repo ? { repo } : {}), ...(tag ? { tag } : {}), ...(p.flags.author ? { author: p.flags.author } : {}),
    ...(p.flags.message ? { comment: p.flags.message } : {}), changes: p.flags.change, pause: p.flags.pause,
  });
  ctx.stdout.write(`${r.Id}\n`);
  return 0;
}

const exportFlags = defineFlags({
  output: { short: 'o', long: 'output', kind: 'string', help: 'Write to a file, instead of STDOUT' },
});

export const exportCommand = defineCommand({
  name: 'export', usage: '[OPTIONS] CONTAINER', short: "Export a container's filesystem as a tar archive",
  aliasPaths: ['container export', 'export'], flags: exportFlags, args: { min: 1, max: 1 },
});

export async function exportFs(ctx: CliContext, p: Parsed<typeof exportFlags>): Promise<number> {
  await checkArchiveOutput(ctx, p.flags.output, 'export container');
  await writeArchive(ctx, p.flags.output, await ctx.client.containerExport(p.args[0]), 'export container');
  return 0;
}
