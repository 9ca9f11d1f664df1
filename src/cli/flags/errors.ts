/**
 * Command-line errors with docker's exact wording. `message` is the complete text docker
 * prints on stderr (the CLI prints it and exits with `exitCode`); `detail` is the bare reason
 * (`unknown flag: --foo`) for callers and tests.
 */
import { EngineError } from '../../errdefs/index.ts';
import { quote, quoteRune } from '../../lib/goquote.ts';

export type FlagErrorCode =
  /** `unknown flag: --foo` */
  | 'unknown-flag'
  /** `unknown shorthand flag: 'z' in -z` */
  | 'unknown-shorthand'
  /** `flag needs an argument: --name` / `flag needs an argument: 'n' in -n` */
  | 'missing-value'
  /** `invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: …` */
  | 'invalid-value'
  /** `bad flag syntax: ---x` */
  | 'bad-syntax'
  /** `berth: 'berth rm' requires at least 1 argument` … */
  | 'arg-count'
  /** `berth: unknown command: berth foo` */
  | 'unknown-command'
  /** `berth container foo`: the management command's usage */
  | 'unknown-subcommand'
  /** `berth help foo` → `unknown help topic: foo` */
  | 'unknown-help-topic';

/** docker's exit status for flag-parsing failures (cli.StatusError{StatusCode: 125}). */
export const FLAG_ERROR_EXIT_CODE = 125;
/**
 * docker returns argument-count, unknown-command and help-topic errors as plain errors,
 * which its main() turns into exit status 1.
 */
export const USAGE_ERROR_EXIT_CODE = 1;

export interface FlagErrorInit {
  /** The bare reason, e.g. `unknown flag: --foo`. */
  readonly detail: string;
  /** `berth run`; empty when parsing outside a command. */
  readonly commandPath?: string;
  /** The full text to print; defaults to `detail` (+ `\n\nRun '<path> --help' for more information` for flag errors). */
  readonly message?: string;
  readonly exitCode?: number;
}

export class FlagError extends EngineError {
  readonly code: FlagErrorCode;
  readonly detail: string;
  readonly commandPath: string;
  declare readonly exitCode: number;

  constructor(code: FlagErrorCode, init: FlagErrorInit) {
    const commandPath = init.commandPath ?? '';
    const isFlag = code !== 'arg-count' && code !== 'unknown-command' && code !== 'unknown-subcommand' && code !== 'unknown-help-topic';
    const message = init.message ?? (isFlag && commandPath !== '' ? `${init.detail}\n\nRun '${commandPath} --help' for more information` : init.detail);
    super('InvalidParameter', message, { exitCode: init.exitCode ?? (isFlag ? FLAG_ERROR_EXIT_CODE : USAGE_ERROR_EXIT_CODE) });
    this.name = 'FlagError';
    this.code = code;
    this.detail = init.detail;
    this.commandPath = commandPath;
  }

  /** The same error attributed to a command: docker's FlagErrorFunc text (docker CLI 28), with the command's use line. */
  withCommand(commandPath: string, useLine: string): FlagError {
    const message = `${this.detail}\n\nUsage:  ${useLine}\n\nRun '${commandPath} --help' for more information`;
    return new FlagError(this.code, { detail: this.detail, commandPath, message, exitCode: this.exitCode });
  }
}

export function isFlagError(e: unknown): e is FlagError {
  return e instanceof FlagError;
}

// ---- Go-compatible quoting, so messages match docker byte for byte ----

/** Go's `%q` / strconv.Quote for a string. */
export function goQuote(s: string): string {
  return quote(s);
}

/** Go's `%q` for a rune: `'z'`. */
export function goQuoteRune(ch: string): string {
  return quoteRune(ch.codePointAt(0)!);
}

// ---- message builders (docker/cli cli/required.go, cmd/docker/docker.go) ----

function plural(word: string, n: number): string {
  return n === 1 ? word : word + 's';
}

/**
 * The argument-count message for `args` and `count` (docker CLI 28's cli/required.go), or
 * undefined when it passes. `useLine` is `berth rm [OPTIONS] CONTAINER [CONTAINER...]`.
 */
export function argCountMessage(rootName: string, commandPath: string, useLine: string, spec: { min?: number; max?: number }, count: number): string | undefined {
  // a minimum of 0 is no minimum: {min: 0, max: 1} is docker's RequiresMaxArgs(1)
  const min = spec.min === 0 ? undefined : spec.min;
  const max = spec.max;
  let what: string;
  // docker's RequiresMinArgs alone says "See"; the others "Run" (its RequiresMaxArgs prints
  // "SRun", a typo not copied).
  let verb = 'Run';
  if (min !== undefined && max !== undefined) {
    if (count >= min && count <= max) return undefined;
    if (max === 0) what = 'accepts no arguments';
    else if (min === max) what = `requires ${min} ${plural('argument', min)}`;
    else what = `requires at least ${min} and at most ${max} ${plural('argument', max)}`;
  } else if (min !== undefined) {
    if (count >= min) return undefined;
    what = `requires at least ${min} ${plural('argument', min)}`;
    verb = 'See';
  } else if (max !== undefined) {
    if (count <= max) return undefined;
    what = max === 0 ? 'accepts no arguments' : `requires at most ${max} ${plural('argument', max)}`;
  } else {
    return undefined;
  }
  return `${rootName}: '${commandPath}' ${what}\n\nUsage:  ${useLine}\n\n${verb} '${commandPath} --help' for more information`;
}

/** `berth: unknown command: berth foo` and where to look (docker CLI 28). */
export function unknownCommandMessage(rootName: string, name: string): string {
  return `${rootName}: unknown command: ${rootName} ${name}\n\nRun '${rootName} --help' for more information`;
}
