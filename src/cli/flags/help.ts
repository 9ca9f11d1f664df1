/**
 * Help text in docker's format (docker/cli's cobra usage template + pflag's FlagUsagesWrapped):
 *
 *     (blank line)
 *     Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]
 *
 *     Create and run a new container from an image
 *
 *     Aliases:
 *       berth container run, berth run
 *
 *     Options:
 *       -d, --detach         Run container in background and print container ID
 *           --name string    Assign a name to the container
 *
 * Flags are sorted by long name; descriptions start 3 spaces after the longest flag column and
 * wrap at the terminal width - 1 (80 by default), continuation lines aligned. Command lists pad
 * names to max(11, longest sibling name) + 1. The root lists Common / Management / Commands
 * and "Global Options:"; others list "Options:" and Management Commands / Commands.
 */
import type { AnyCommand, FlagSpec, FlagSpecs } from './spec.ts';
import { goQuote } from './errors.ts';
import { formatCsvList, formatGoDuration } from './values.ts';

export interface HelpOptions {
  /** Terminal width (docker uses the tty's columns, 80 when not a tty); 0 disables wrapping. */
  readonly width?: number;
}

const DEFAULT_WIDTH = 80;
/** cobra's minNamePadding. */
const MIN_NAME_PADDING = 11;

// ---- flags ----

function defaultTypeName(spec: FlagSpec): string {
  switch (spec.kind) {
    case 'bool':
      return '';
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'uint':
      return spec.bits === undefined || spec.bits === 64 ? 'uint' : `uint${spec.bits}`;
    case 'duration':
      return 'duration';
    case 'stringArray':
      return 'list';
    case 'stringSlice':
      return 'strings';
  }
}

/** pflag's UnquoteUsage: a `backquoted` word in the help names the value; else the type name. */
function unquoteUsage(spec: FlagSpec): { varname: string; usage: string } {
  const usage = spec.help;
  const i = usage.indexOf('`');
  if (i >= 0) {
    const j = usage.indexOf('`', i + 1);
    if (j > i) {
      const name = usage.slice(i + 1, j);
      return { varname: name, usage: usage.slice(0, i) + name + usage.slice(j + 1) };
    }
  }
  return { varname: spec.typeName ?? defaultTypeName(spec), usage };
}

/** ` (default …)` unless the default is the zero value. */
function defaultSuffix(spec: FlagSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText === '' ? '' : ` (default ${spec.defaultText})`;
  switch (spec.kind) {
    case 'bool':
      return spec.default ? ' (default true)' : '';
    case 'int':
    case 'uint':
      return spec.default ? ` (default ${spec.default})` : '';
    case 'duration':
      return spec.default ? ` (default ${formatGoDuration(spec.default)})` : '';
    case 'stringArray':
    case 'stringSlice':
      return spec.default && spec.default.length > 0 ? ` (default ${formatCsvList(spec.default)})` : '';
    case 'string': {
      const d: unknown = spec.default;
      if (typeof d === 'string') {
        if (d === '') return '';
        return (spec.typeName ?? 'string') === 'string' ? ` (default ${goQuote(d)})` : ` (default ${d})`;
      }
      if ((typeof d === 'number' || typeof d === 'bigint') && d !== 0 && d !== 0n) return ` (default ${d})`;
      if (d === true) return ' (default true)';
      return '';
    }
  }
}

/**
 * pflag's wrap: wraps `s` to `cols` with continuation lines indented by `indent`; the first
 * line is not indented. When fewer than 24 columns remain, the text starts on a new line at
 * column 16; `cols` 0 = no wrapping.
 */
export function wrapText(indent: number, cols: number, s: string): string {
  if (cols === 0) return s.replaceAll('\n', '\n' + ' '.repeat(indent));
  let width = cols - indent;
  let r = '';
  if (width < 24) {
    indent = 16;
    width = cols - indent;
    r += '\n' + ' '.repeat(indent);
  }
  if (width < 24) return s.replaceAll('\n', r);
  const slop = 5;
  width -= slop;
  const pad = '\n' + ' '.repeat(indent);
  let [line, rest] = wrapN(width, slop, s);
  r += line.replaceAll('\n', pad);
  while (rest !== '') {
    [line, rest] = wrapN(width, slop, rest);
    r += pad + line.replaceAll('\n', pad);
  }
  return r;
}

/** Splits `s` at the last whitespace within `i` chars (or takes it all when within `i + slop`). */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/**
 * The flag table (pflag FlagUsagesWrapped): visible flags sorted by long name, one per line,
 * each line ending in "\n". `cols` is the wrap width (docker: terminal width - 1); 0 = no wrap.
 */
export function flagUsages(flags: FlagSpecs | undefined, cols: number = DEFAULT_WIDTH - 1): string {
  if (!flags) return '';
  const visible = Object.values(flags)
    .filter((f) => !f.hidden && f.deprecated === undefined)
    .sort((a, b) => (a.long < b.long ? -1 : a.long > b.long ? 1 : 0));
  const rows: { left: string; usage: string }[] = [];
  let maxlen = 0;
  for (const spec of visible) {
    let left = spec.short !== undefined ? `  -${spec.short}, --${spec.long}` : `      --${spec.long}`;
    const { varname, usage } = unquoteUsage(spec);
    if (varname !== '') left += ' ' + varname;
    maxlen = Math.max(maxlen, left.length + 1);
    rows.push({ left, usage: usage + defaultSuffix(spec) });
  }
  let out = '';
  for (const { left, usage } of rows) {
    out += `${left} ${' '.repeat(maxlen - left.length)} ${wrapText(maxlen + 2, cols, usage)}\n`;
  }
  return out;
}

// ---- commands ----

function hasVisibleFlags(cmd: AnyCommand): boolean {
  return cmd.flags !== undefined && Object.values(cmd.flags).some((f) => !f.hidden && f.deprecated === undefined);
}

function byName(a: AnyCommand, b: AnyCommand): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

type Section = 'common' | 'management' | 'other';

function sectionOf(sub: AnyCommand, atRoot: boolean): Section {
  const isManagement = (sub.subcommands?.length ?? 0) > 0;
  if (atRoot && sub.group) return sub.group;
  return isManagement ? 'management' : 'other';
}

function commandList(title: string, cmds: readonly AnyCommand[], pad: number): string {
  if (cmds.length === 0) return '';
  let out = `\n\n${title}:`;
  for (const c of cmds) out += `\n  ${(c.name + (c.plugin ? '*' : ' ')).padEnd(pad + 1)}${c.short}`;
  return out;
}

function aliasesLine(path: readonly AnyCommand[]): string | undefined {
  const cmd = path[path.length - 1];
  const rootName = path[0].name;
  if (cmd.aliasPaths && cmd.aliasPaths.length > 0) return cmd.aliasPaths.map((p) => `${rootName} ${p}`).join(', ');
  if (!cmd.aliases || cmd.aliases.length === 0 || path.length < 2) return undefined;
  const parentPath = path.slice(0, -1).map((c) => c.name).join(' ');
  return [`${parentPath} ${cmd.name}`, ...cmd.aliases.map((a) => `${parentPath} ${a}`)].join(', ');
}

/**
 * docker's usage text for the last command of `path` (root first), as used in errors for
 * commands with subcommands. Ends with a newline. `renderHelp` is the same text (docker 28 starts
 * `--help` with the usage line itself).
 */
export function renderUsage(path: readonly AnyCommand[], options: HelpOptions = {}): string {
  const cmd = path[path.length - 1];
  const isRoot = path.length === 1;
  const commandPath = path.map((c) => c.name).join(' ');
  const subs = cmd.subcommands ?? [];
  const hasSubs = subs.length > 0;
  const hasFlags = hasVisibleFlags(cmd);
  const width = options.width ?? DEFAULT_WIDTH;
  const cols = width > 0 ? width - 1 : 0;

  let out = 'Usage:  ';
  if (hasSubs) out += `${commandPath}${hasFlags ? ' [OPTIONS]' : ''} COMMAND`;
  else out += cmd.usage ? `${commandPath} ${cmd.usage}` : commandPath;

  const description = cmd.long !== undefined && cmd.long !== '' ? cmd.long : cmd.short;
  out += '\n\n' + description.trim();

  const aliases = aliasesLine(path);
  if (aliases !== undefined) out += `\n\nAliases:\n  ${aliases}`;
  if (cmd.example) out += `\n\nExamples:\n${cmd.example}`;
  if (!isRoot && hasFlags) out += `\n\nOptions:\n${flagUsages(cmd.flags, cols).trimEnd()}`;

  if (hasSubs) {
    const pad = Math.max(MIN_NAME_PADDING, ...subs.map((s) => s.name.length));
    const visible = subs.filter((s) => !s.hidden && !s.plugin?.invalid);
    const pick = (section: Section) => visible.filter((s) => sectionOf(s, isRoot) === section);
    out += commandList('Common Commands', pick('common'), pad);
    out += commandList('Management Commands', pick('management').sort(byName), pad);
    out += commandList('Commands', pick('other').sort(byName), pad);
    const invalid = subs.filter((s) => s.plugin?.invalid);
    if (invalid.length) out += `\n\nInvalid Plugins:${invalid.map((s) => `\n  ${s.name.padEnd(pad)} ${s.plugin!.invalid}`).join('')}`;
  }

  if (isRoot && hasFlags) out += `\n\nGlobal Options:\n${flagUsages(cmd.flags, cols).trimEnd()}`;
  if (hasSubs) out += `\n\nRun '${commandPath} COMMAND --help' for more information on a command.`;
  if (cmd.footer) out += `\n\n${cmd.footer}`;
  return out + '\n';
}

/** The full `--help` output for the last command of `path` (root first): a blank line, then the usage. */
export function renderHelp(path: readonly AnyCommand[], options: HelpOptions = {}): string {
  // docker CLI 28's help template trims the blank line older versions began with.
  return renderUsage(path, options);
}
