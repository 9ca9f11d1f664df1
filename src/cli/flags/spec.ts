/**
 * Declarations for the docker-compatible command-line layer: flags, commands and the typed
 * results of parsing them. A command declares its flags once (`defineFlags`) and gets back a
 * typed object (`Parsed<F>['flags']`) from `parseCommand` / `parseCommandLine`.
 *
 * Semantics follow spf13/pflag + spf13/cobra as used by docker/cli; see parse.ts and help.ts.
 */

interface FlagBase {
  /** Long name without dashes (`detach` for `--detach`). Required, like pflag. */
  readonly long: string;
  /** One-character shorthand without the dash (`d` for `-d`). */
  readonly short?: string;
  /** One-line description shown in help. */
  readonly help: string;
  /**
   * Value type name shown in help after the flag (`--memory bytes`). Defaults: string → `string`,
   * int → `int`, uint → `uint`/`uint16`…, duration → `duration`, stringArray → `list`,
   * stringSlice → `strings`, bool → none.
   */
  readonly typeName?: string;
  /** Omitted from help; still accepted. */
  readonly hidden?: boolean;
  /** Hidden, and using it adds `Flag --x has been deprecated, <text>` to `Parsed.warnings`. */
  readonly deprecated?: string;
  /** Overrides the `(default …)` text in help (shown verbatim, without quotes added). */
  readonly defaultText?: string;
}

/** `--rm`, `--rm=false`, `-d`. Never consumes the next argument. Value: boolean (default false). */
export interface BoolFlag extends FlagBase {
  readonly kind: 'bool';
  readonly default?: boolean;
}

/** `--name x`, `--name=x`, `-nx`. Value: string (undefined when unset and no default). */
export interface StringFlag extends FlagBase {
  readonly kind: 'string';
  readonly default?: string;
  readonly parse?: undefined;
}

/**
 * A string flag whose value goes through `parse`; a thrown error's message becomes
 * `invalid argument "<v>" for "-m, --memory" flag: <message>`. Value: T (or undefined).
 */
export interface ValueFlag<T = unknown> extends FlagBase {
  readonly kind: 'string';
  readonly parse: (raw: string) => T;
  readonly default?: T;
}

/** Go `strconv.ParseInt(s, 0, 64)` semantics (`0x10`, `0o17`, `1_000`, sign). Value: number. */
export interface IntFlag extends FlagBase {
  readonly kind: 'int';
  readonly default?: number;
}

/** Go `strconv.ParseUint(s, 0, bits)`. Value: number. */
export interface UintFlag extends FlagBase {
  readonly kind: 'uint';
  /** 8, 16, 32 or 64 (default 64); also picks the help type name (`uint16`). */
  readonly bits?: 8 | 16 | 32 | 64;
  readonly default?: number;
}

/** Go `time.ParseDuration` (`300ms`, `1h30m`, `-1.5s`, `0`). Value: nanoseconds as a number. */
export interface DurationFlag extends FlagBase {
  readonly kind: 'duration';
  /** Nanoseconds. */
  readonly default?: number;
}

/**
 * Repeatable, each occurrence one element (`-e A -e B`); the value is not split. The first
 * occurrence replaces the default. With `parse`, each element is converted. Value: T[] (string[]).
 */
export interface StringArrayFlag<T = unknown> extends FlagBase {
  readonly kind: 'stringArray';
  readonly default?: readonly T[];
  readonly parse?: (raw: string) => T;
}

/** Like stringArray but each occurrence is split as CSV (`--x a,b --x c` → [a, b, c]), like pflag. */
export interface StringSliceFlag<T = unknown> extends FlagBase {
  readonly kind: 'stringSlice';
  readonly default?: readonly T[];
  readonly parse?: (raw: string) => T;
}

export type FlagSpec =
  | BoolFlag
  | StringFlag
  | ValueFlag
  | IntFlag
  | UintFlag
  | DurationFlag
  | StringArrayFlag
  | StringSliceFlag;

export type FlagKind = FlagSpec['kind'];

/** A command's flags: result key → declaration. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** No flags (besides the implicit --help). */
export type NoFlags = Readonly<Record<never, FlagSpec>>;

// ---- type inference: declaration → value type ----

type ElementOf<S> = S extends { readonly parse: (raw: string) => infer T } ? T : string;

type ScalarOf<S> = S extends { readonly kind: 'int' | 'uint' | 'duration' } ? number : ElementOf<S>;

/** The parsed value type of one flag declaration. */
export type FlagValue<S> = S extends { readonly kind: 'bool' }
  ? boolean
  : S extends { readonly kind: 'stringArray' | 'stringSlice' }
    ? ElementOf<S>[]
    : S extends { readonly default: infer D }
      ? undefined extends D
        ? ScalarOf<S> | undefined
        : ScalarOf<S>
      : ScalarOf<S> | undefined;

/** The typed flags object a command gets back. */
export type FlagValues<F extends FlagSpecs> = { -readonly [K in keyof F]: FlagValue<F[K]> };

/** Result of parsing one command's flags and arguments. */
export interface Parsed<F extends FlagSpecs = FlagSpecs> {
  /** Every declared flag: its value, default, or undefined / false / []. */
  readonly flags: FlagValues<F>;
  /** Positional arguments (including everything after `--`, or after the first positional when not interspersed). */
  readonly args: string[];
  /** Keys of the flags given explicitly on the command line. */
  readonly set: ReadonlySet<keyof F & string>;
  /** `--help` (or `-h` when the command doesn't use `h`) was given. */
  readonly help: boolean;
  /** Number of args before `--` (pflag's ArgsLenAtDash), or -1 when there was no `--`. */
  readonly dashAt: number;
  /** Deprecation notices to print on stderr (`Flag --x has been deprecated, …`). */
  readonly warnings: string[];
}

// ---- commands ----

/** Where a command is listed in its parent's help. */
export type CommandGroup = 'common' | 'management' | 'other';

/** Positional-argument count check; docker's ExactArgs / RequiresMinArgs / RequiresMaxArgs / RequiresRangeArgs / NoArgs. */
export interface ArgsSpec {
  readonly min?: number;
  readonly max?: number;
  /** cobra's own ExactArgs (some docker commands use it): "accepts 1 arg(s), received 0", no usage. */
  readonly cobra?: boolean;
}

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  /** The canonical name (`ls`), used in command paths and help. */
  readonly name: string;
  /** Other names under the same parent (`list`, `ps`). */
  readonly aliases?: readonly string[];
  /**
   * Overrides the "Aliases:" help line with full paths below the root, the command's own
   * included (docker's `aliases` annotation): `['container ls', 'container list', 'ps']` →
   * `berth container ls, berth container list, berth ps`.
   */
  readonly aliasPaths?: readonly string[];
  /** The usage after the command path: `[OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  readonly usage?: string;
  /** One-line description. */
  readonly short: string;
  /** Longer description; replaces `short` at the top of the command's own help. */
  readonly long?: string;
  /** Shown under "Examples:". */
  readonly example?: string;
  /** Appended at the end of this command's help (docker's "For more help on how to use Docker…"). */
  readonly footer?: string;
  readonly flags?: F;
  /** Checked after flags; omitted = any number. */
  readonly args?: ArgsSpec;
  /** false: flags end at the first positional (run, create, exec). Default true. */
  readonly interspersed?: boolean;
  /** Default: 'management' when it has subcommands, else 'other'. 'common' is honoured at the root only. */
  readonly group?: CommandGroup;
  readonly subcommands?: readonly AnyCommand[];
  /** Not listed in help; still runs. */
  readonly hidden?: boolean;
  /**
   * A CLI plugin's stand-in (docker's plugin command stubs), for the root's help: listed with a
   * `*` among the management commands, or under "Invalid Plugins:" with the reason.
   */
  readonly plugin?: { readonly invalid?: string };
}

/** A command of any flag shape (what trees hold). */
export type AnyCommand = CommandSpec<FlagSpecs>;

/** Identity helper that keeps the literal flag types for inference. */
export function defineFlags<const F extends FlagSpecs>(flags: F): F {
  return flags;
}

/** Identity helper that keeps the command's flag types for `parseCommand` / `invokes`. */
export function defineCommand<const F extends FlagSpecs = NoFlags>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

// ---- resolution results ----

/** How help was requested: `--help` / `berth help X` (print to stdout), or no command given (docker prints to stderr, exit 0). */
export type HelpRequest = 'explicit' | 'implicit';

/** What `resolveCommand` found: the command, the argv left for it, and the parsed global flags. */
export interface Resolution<G extends FlagSpecs = FlagSpecs> {
  readonly command: AnyCommand;
  /** Root first, `command` last. */
  readonly path: readonly AnyCommand[];
  /** Canonical names joined: `berth container ls` (also when invoked as `berth container ps`). */
  readonly commandPath: string;
  /** What follows the command name(s): the command's own flags and args. */
  readonly argv: string[];
  /** The root's (global) flags, parsed up to the command name. */
  readonly globals: Parsed<G>;
  /** Set when help must be shown instead of running `command`. */
  readonly help: HelpRequest | false;
}

/** `parseCommandLine`: show help for `command`. */
export interface HelpInvocation<G extends FlagSpecs = FlagSpecs> {
  readonly kind: 'help';
  readonly explicit: boolean;
  readonly command: AnyCommand;
  readonly path: readonly AnyCommand[];
  readonly commandPath: string;
  readonly globals: Parsed<G>;
}

/** `parseCommandLine`: run `command` with `parsed` (narrow with `invokes(inv, cmd)` for typed flags). */
export interface RunInvocation<G extends FlagSpecs = FlagSpecs, F extends FlagSpecs = FlagSpecs> {
  readonly kind: 'run';
  readonly command: CommandSpec<F>;
  readonly path: readonly AnyCommand[];
  readonly commandPath: string;
  readonly globals: Parsed<G>;
  readonly parsed: Parsed<F>;
}

export type Invocation<G extends FlagSpecs = FlagSpecs> = HelpInvocation<G> | RunInvocation<G>;
