/**
 * Parsing with pflag/cobra semantics as docker uses them:
 *
 * - `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`; bools never take the
 *   next argument (`--rm`, `--rm=false`, `-d=false`); short groups `-dit`, and a group may end
 *   in a value flag that takes the rest of the group or the next argument (`-ePATH=x`, `-de X`).
 * - `--` ends flags (and is dropped); `-` and `` are positionals.
 * - interspersed (default): flags may follow positionals; `interspersed: false` stops at the
 *   first positional, everything after it is args (`run -it busybox ls -la`).
 * - a value flag takes the next argument even if it starts with `-` (`--name --foo`).
 * - scalars: last occurrence wins; arrays: the first occurrence replaces the default.
 * - every command gets a hidden `--help` (and `-h` unless it uses `h` itself).
 * - flag errors win over `--help`, `--help` wins over argument-count errors (cobra's order).
 */
import {
  argCountMessage,
  FlagError,
  goQuote,
  goQuoteRune,
  unknownCommandMessage,
} from './errors.ts';
import type {
  AnyCommand,
  CommandSpec,
  FlagSpec,
  FlagSpecs,
  FlagValues,
  Invocation,
  Parsed,
  Resolution,
  RunInvocation,
} from './spec.ts';
import { parseCsvRecord, parseGoBool, parseGoDuration, parseGoInt, parseGoUint } from './values.ts';

// ---- flag index ----

interface Entry {
  /** Result key; null for the implicit help flag. */
  readonly key: string | null;
  readonly spec: FlagSpec;
  /** `-n, --last` or `--last`, as pflag names a flag in "invalid argument" errors. */
  readonly display: string;
}

interface FlagIndex {
  readonly entries: readonly Entry[];
  readonly long: ReadonlyMap<string, Entry>;
  readonly short: ReadonlyMap<string, Entry>;
  /** The entry that sets `Parsed.help`. */
  readonly help: Entry;
}

const indexCache = new WeakMap<FlagSpecs, FlagIndex>();
const NO_FLAGS: FlagSpecs = Object.freeze({});

/** Flag names as pflag prints them in errors: `-n, --last` / `--last`. */
export function flagDisplayName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.long}` : `--${spec.long}`;
}

/** The hidden help flag cobra adds to every command. */
export function implicitHelpFlag(flags: FlagSpecs): FlagSpec | undefined {
  for (const key in flags) if (flags[key].long === 'help') return undefined;
  const shortTaken = Object.values(flags).some((f) => f.short === 'h');
  return { kind: 'bool', long: 'help', help: 'Print usage', hidden: true, ...(shortTaken ? {} : { short: 'h' }) };
}

function buildIndex(flags: FlagSpecs): FlagIndex {
  const entries: Entry[] = [];
  const long = new Map<string, Entry>();
  const short = new Map<string, Entry>();
  const add = (key: string | null, spec: FlagSpec) => {
    const where = key === null ? '--help' : `flag "${key}"`;
    if (!spec.long || spec.long.startsWith('-') || spec.long.includes('=')) throw new Error(`${where}: invalid long name ${JSON.stringify(spec.long)}`);
    if (long.has(spec.long)) throw new Error(`flag redefined: ${spec.long}`);
    if (spec.short !== undefined) {
      if ([...spec.short].length !== 1 || spec.short === '-' || spec.short === '=') {
        throw new Error(`${where}: shorthand must be one character, got ${JSON.stringify(spec.short)}`);
      }
      if (short.has(spec.short)) throw new Error(`unable to redefine ${JSON.stringify(spec.short)} shorthand: it's already used for "${short.get(spec.short)!.spec.long}" flag`);
    }
    const entry: Entry = { key, spec, display: flagDisplayName(spec) };
    entries.push(entry);
    long.set(spec.long, entry);
    if (spec.short !== undefined) short.set(spec.short, entry);
    return entry;
  };
  for (const key of Object.keys(flags)) add(key, flags[key]);
  const implicit = implicitHelpFlag(flags);
  const help = implicit ? add(null, implicit) : long.get('help')!;
  if (help.spec.kind !== 'bool') throw new Error('flag "help" must be a bool');
  return { entries, long, short, help };
}

function indexOf(flags: FlagSpecs | undefined): FlagIndex {
  const f = flags ?? NO_FLAGS;
  let idx = indexCache.get(f);
  if (!idx) {
    idx = buildIndex(f);
    indexCache.set(f, idx);
  }
  return idx;
}

// ---- values ----

function initialValue(spec: FlagSpec): unknown {
  switch (spec.kind) {
    case 'bool':
      return spec.default ?? false;
    case 'stringArray':
    case 'stringSlice':
      return spec.default ? [...spec.default] : [];
    default:
      return spec.default;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Converts one raw value; throws the bare (Go-style) reason. Arrays return the new elements. */
function convert(spec: FlagSpec, raw: string): unknown {
  switch (spec.kind) {
    case 'bool':
      return parseGoBool(raw);
    case 'int':
      return parseGoInt(raw);
    case 'uint':
      return parseGoUint(raw, spec.bits ?? 64);
    case 'duration':
      return parseGoDuration(raw);
    case 'string':
      return spec.parse ? spec.parse(raw) : raw;
    case 'stringArray':
      return [spec.parse ? spec.parse(raw) : raw];
    case 'stringSlice': {
      const parts = parseCsvRecord(raw);
      const p = spec.parse;
      return p ? parts.map((x) => p(x)) : parts;
    }
  }
}

// ---- the flag parser ----

export interface ParseOptions {
  /** Flags may follow positionals (default true). */
  readonly interspersed?: boolean;
}

/**
 * Parses `argv` against `flags`. Throws FlagError (`commandPath` empty; use
 * `parseCommand` to get docker's `Usage:` and `Run 'berth run --help' …` lines).
 */
export function parseFlags<F extends FlagSpecs>(flags: F | undefined, argv: readonly string[], options: ParseOptions = {}): Parsed<F> {
  const idx = indexOf(flags);
  const interspersed = options.interspersed ?? true;
  const values: Record<string, unknown> = {};
  for (const e of idx.entries) if (e.key !== null) values[e.key] = initialValue(e.spec);
  const set = new Set<string>();
  const args: string[] = [];
  const warnings: string[] = [];
  let help = false;
  let dashAt = -1;

  const fail = (code: 'unknown-flag' | 'unknown-shorthand' | 'missing-value' | 'bad-syntax', detail: string): never => {
    throw new FlagError(code, { detail });
  };

  const apply = (entry: Entry, raw: string) => {
    let v: unknown;
    try {
      v = convert(entry.spec, raw);
    } catch (e) {
      throw new FlagError('invalid-value', {
        detail: `invalid argument ${goQuote(raw)} for ${goQuote(entry.display)} flag: ${errorText(e)}`,
      });
    }
    if (entry.spec.deprecated !== undefined) warnings.push(`Flag --${entry.spec.long} has been deprecated, ${entry.spec.deprecated}`);
    if (entry === idx.help) help = v as boolean;
    if (entry.key === null) return;
    const kind = entry.spec.kind;
    if (kind === 'stringArray' || kind === 'stringSlice') {
      const prev = set.has(entry.key) ? (values[entry.key] as unknown[]) : [];
      values[entry.key] = prev.concat(v as unknown[]);
    } else {
      values[entry.key] = v;
    }
    set.add(entry.key);
  };

  const finish = (): Parsed<F> => ({
    flags: values as FlagValues<F>,
    args,
    set: set as ReadonlySet<keyof F & string>,
    help,
    dashAt,
    warnings,
  });

  let i = 0;
  while (i < argv.length) {
    const s = argv[i++];
    if (s.length < 2 || s[0] !== '-') {
      // a positional: '', '-', or anything not starting with '-'
      args.push(s);
      if (!interspersed) {
        for (; i < argv.length; i++) args.push(argv[i]);
      }
      continue;
    }
    if (s[1] === '-') {
      if (s.length === 2) {
        dashAt = args.length;
        for (; i < argv.length; i++) args.push(argv[i]);
        break;
      }
      // --name, --name=value, --name value
      const body = s.slice(2);
      if (body[0] === '-' || body[0] === '=') fail('bad-syntax', `bad flag syntax: ${s}`);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const entry = idx.long.get(name);
      if (!entry) return fail('unknown-flag', `unknown flag: --${name}`);
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else if (entry.spec.kind === 'bool') value = 'true';
      else if (i < argv.length) value = argv[i++];
      else return fail('missing-value', `flag needs an argument: ${s}`);
      apply(entry, value);
      continue;
    }
    // -abc: a group of shorthands
    let shorthands = s.slice(1);
    while (shorthands.length > 0) {
      const c = String.fromCodePoint(shorthands.codePointAt(0)!);
      let rest = shorthands.slice(c.length);
      const entry = idx.short.get(c);
      if (!entry && c === 'h') {
        // pflag: an undefined -h asks for help (ErrHelp) and stops parsing
        help = true;
        return finish();
      }
      if (!entry) return fail('unknown-shorthand', `unknown shorthand flag: ${goQuoteRune(c)} in -${shorthands}`);
      let value: string;
      if (rest.length > 1 && rest[0] === '=') {
        // -n=value (pflag: only when something follows the '=')
        value = rest.slice(1);
        rest = '';
      } else if (entry.spec.kind === 'bool') {
        value = 'true';
      } else if (rest.length > 0) {
        // -nvalue
        value = rest;
        rest = '';
      } else if (i < argv.length) {
        value = argv[i++];
      } else {
        return fail('missing-value', `flag needs an argument: ${goQuoteRune(c)} in -${shorthands}`);
      }
      apply(entry, value);
      shorthands = rest;
    }
  }

  return finish();
}

// ---- commands ----

/** `berth container ls` for a root-first path. */
export function commandPathOf(path: readonly AnyCommand[]): string {
  return path.map((c) => c.name).join(' ');
}

/** cobra's UseLine: the command path followed by the command's usage. */
export function useLineOf(path: readonly AnyCommand[]): string {
  const cmd = path[path.length - 1];
  const p = commandPathOf(path);
  return cmd.usage ? `${p} ${cmd.usage}` : p;
}

function hasSubcommands(cmd: AnyCommand): boolean {
  return (cmd.subcommands?.length ?? 0) > 0;
}

/**
 * cobra's UseLine as docker's errors show it: the root's is `berth [OPTIONS] COMMAND [ARG...]`,
 * a management command's its path alone.
 */
function errorUseLine(path: readonly AnyCommand[]): string {
  const cmd = path[path.length - 1];
  if (!hasSubcommands(cmd)) return useLineOf(path);
  return path.length === 1 ? `${cmd.name} [OPTIONS] COMMAND [ARG...]` : commandPathOf(path);
}

/** Re-throws a bare FlagError from parseFlags as docker's FlagErrorFunc text for `path`. */
function attribute(e: unknown, path: readonly AnyCommand[]): never {
  if (e instanceof FlagError && e.commandPath === '') throw e.withCommand(commandPathOf(path), errorUseLine(path));
  throw e;
}

function parseIn<F extends FlagSpecs>(cmd: CommandSpec<F>, argv: readonly string[], path: readonly AnyCommand[], interspersed: boolean): Parsed<F> {
  try {
    return parseFlags(cmd.flags, argv, { interspersed });
  } catch (e) {
    return attribute(e, path);
  }
}

/** Throws docker's argument-count error when `args` doesn't fit `cmd.args`. */
export function checkArgs(path: readonly AnyCommand[], args: readonly string[]): void {
  const cmd = path[path.length - 1];
  if (!cmd.args) return;
  const commandPath = commandPathOf(path);
  if (cmd.args.cobra) {
    const want = cmd.args.min ?? 0;
    if (args.length === want && (cmd.args.max ?? want) === want) return;
    const detail = `accepts ${want} arg(s), received ${args.length}`;
    throw new FlagError('arg-count', { detail, commandPath, message: detail });
  }
  const message = argCountMessage(path[0].name, commandPath, useLineOf(path), cmd.args, args.length);
  if (message !== undefined) {
    throw new FlagError('arg-count', { detail: message.slice(0, message.indexOf('\n')), commandPath, message });
  }
}

/**
 * Parses a command's own flags and arguments (what `resolveCommand` left in `argv`) and checks
 * the argument count, unless help was requested (`result.help`). `path` is root-first and
 * ends with `cmd` (defaults to `[cmd]`); it names the command in error messages.
 */
export function parseCommand<F extends FlagSpecs>(cmd: CommandSpec<F>, argv: readonly string[], path: readonly AnyCommand[] = [cmd]): Parsed<F> {
  const parsed = parseIn(cmd, argv, path, cmd.interspersed ?? true);
  if (!parsed.help) checkArgs(path, parsed.args);
  return parsed;
}

/** The subcommand of `cmd` called `name` (canonical name or alias). */
export function findSubcommand(cmd: AnyCommand, name: string): AnyCommand | undefined {
  const subs = cmd.subcommands;
  if (!subs) return undefined;
  for (const sub of subs) if (sub.name === name) return sub;
  for (const sub of subs) if (sub.aliases?.includes(name)) return sub;
  return undefined;
}

/**
 * Walks `berth [global flags] COMMAND [SUBCOMMAND...]`: parses the root's flags up to the
 * first positional (flag errors → FlagError with the root usage, exit 125), then command and
 * subcommand names/aliases. Returns the command and the argv left for it; or a help request
 * (`--help` before the command, `berth help X`, or no command / no subcommand given). Unknown
 * names throw docker's messages (`berth: unknown command: berth foo`, with the management
 * command's use line for `berth container foo`).
 *
 * The root's `-v/--version` and such are the caller's: check `globals.flags` before showing
 * an implicit help.
 */
export function resolveCommand<G extends FlagSpecs>(root: CommandSpec<G>, argv: readonly string[]): Resolution<G> {
  const rootPath: AnyCommand[] = [root];
  const globals = parseIn(root, argv, rootPath, false);
  let helpFlag = globals.help;
  let rest = globals.args;
  const path: AnyCommand[] = [root];

  const result = (help: Resolution['help'], remaining: string[]): Resolution<G> => ({
    command: path[path.length - 1],
    path,
    commandPath: commandPathOf(path),
    argv: remaining,
    globals,
    help,
  });

  // `berth help [COMMAND...]` (cobra's help command) unless the tree defines its own `help`.
  if (rest.length > 0 && rest[0] === 'help' && !findSubcommand(root, 'help')) {
    const names = rest.slice(1);
    let n = 0;
    for (; n < names.length; n++) {
      const sub = findSubcommand(path[path.length - 1], names[n]);
      if (!sub) break;
      path.push(sub);
    }
    if (n < names.length) {
      const topic = names.slice(n).join(' ');
      throw new FlagError('unknown-help-topic', { detail: `unknown help topic: ${topic}`, commandPath: commandPathOf(path) });
    }
    return result('explicit', []);
  }

  for (;;) {
    const cmd = path[path.length - 1];
    if (!hasSubcommands(cmd)) return result(helpFlag ? 'explicit' : false, rest);
    if (cmd !== root && rest.length > 0 && rest[0].length > 1 && rest[0][0] === '-') {
      // flags of a management command itself (`berth container --help`, `berth image -q ls`)
      const own = parseIn(cmd, rest, path, false);
      helpFlag ||= own.help;
      rest = own.args;
    }
    if (rest.length === 0) return result(helpFlag ? 'explicit' : 'implicit', rest);
    const tok = rest[0];
    const sub = findSubcommand(cmd, tok);
    if (sub) {
      path.push(sub);
      rest = rest.slice(1);
      continue;
    }
    if (helpFlag) return result('explicit', rest);
    if (cmd === root) {
      throw new FlagError('unknown-command', { detail: unknownCommandMessage(root.name, tok), commandPath: root.name });
    }
    const at = commandPathOf(path);
    throw new FlagError('unknown-subcommand', {
      detail: `unknown command: ${at} ${tok}`,
      commandPath: at,
      message: `${root.name}: unknown command: ${at} ${tok}\n\nUsage:  ${errorUseLine(path)}\n\nRun '${at} --help' for more information`,
    });
  }
}

/**
 * Everything in one call: `resolveCommand`, then `parseCommand` for the command found. Returns
 * a help request or the command with its parsed flags (use `invokes` for typed access).
 * Throws FlagError.
 */
export function parseCommandLine<G extends FlagSpecs>(root: CommandSpec<G>, argv: readonly string[]): Invocation<G> {
  const r = resolveCommand(root, argv);
  const base = { command: r.command, path: r.path, commandPath: r.commandPath, globals: r.globals };
  if (r.help) return { kind: 'help', explicit: r.help === 'explicit', ...base };
  const parsed = parseCommand(r.command, r.argv, r.path);
  if (parsed.help) return { kind: 'help', explicit: true, ...base };
  return { kind: 'run', ...base, parsed };
}

/**
 * Narrows an invocation to one of `cmds` (compared by identity), typing `inv.parsed.flags` from
 * their shared flag declaration: `invokes(inv, ps, containerLs)`. A command object may sit at
 * several places in the tree (`run` at the root and under `container`); `inv.path` tells them apart.
 */
export function invokes<G extends FlagSpecs, F extends FlagSpecs>(inv: Invocation<G>, ...cmds: readonly CommandSpec<F>[]): inv is RunInvocation<G, F> {
  return inv.kind === 'run' && (cmds as readonly AnyCommand[]).includes(inv.command);
}

/**
 * Checks a whole tree up front (for a unit test of the real CLI tree): flag names and
 * shorthands, duplicate command names/aliases, args ranges. Throws Error on the first problem.
 */
export function validateCommandTree(root: AnyCommand): void {
  const walk = (cmd: AnyCommand, path: string) => {
    buildIndex(cmd.flags ?? NO_FLAGS);
    if (cmd.args) {
      const { min, max } = cmd.args;
      if ((min !== undefined && (min < 0 || !Number.isInteger(min))) || (max !== undefined && (max < 0 || !Number.isInteger(max))) || (min !== undefined && max !== undefined && min > max)) {
        throw new Error(`${path}: invalid args ${JSON.stringify(cmd.args)}`);
      }
    }
    const seen = new Map<string, string>();
    for (const sub of cmd.subcommands ?? []) {
      for (const n of [sub.name, ...(sub.aliases ?? [])]) {
        if (!n || n.startsWith('-') || /\s/.test(n)) throw new Error(`${path}: invalid command name ${JSON.stringify(n)}`);
        const prev = seen.get(n);
        if (prev !== undefined) throw new Error(`${path}: "${n}" used by both "${prev}" and "${sub.name}"`);
        seen.set(n, sub.name);
      }
      walk(sub, `${path} ${sub.name}`);
    }
  };
  walk(root, root.name);
}
