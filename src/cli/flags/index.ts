/**
 * The docker-compatible command-line layer of the berth CLI: declare flags and commands
 * (spec.ts), resolve and parse argv (parse.ts), render docker-style help (help.ts), and report
 * errors with docker's wording and exit codes (errors.ts).
 *
 *     const run = defineCommand({
 *       name: 'run', usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]', short: 'Create and run a new container from an image',
 *       aliasPaths: ['container run', 'run'], group: 'common', args: { min: 1 }, interspersed: false,
 *       flags: defineFlags({
 *         detach: { short: 'd', long: 'detach', kind: 'bool', help: 'Run container in background and print container ID' },
 *         env: { short: 'e', long: 'env', kind: 'stringArray', help: 'Set environment variables' },
 *         memory: { short: 'm', long: 'memory', kind: 'string', typeName: 'bytes', help: 'Memory limit', parse: parseBytes },
 *       }),
 *     });
 *     const root = defineCommand({ name: 'berth', usage: '[OPTIONS] COMMAND', short: '…', flags: globalFlags, subcommands: [run, …] });
 *
 *     try {
 *       const inv = parseCommandLine(root, process.argv.slice(2));
 *       if (inv.globals.flags.version) return printVersion();
 *       if (inv.kind === 'help') return (inv.explicit ? process.stdout : process.stderr).write(renderHelp(inv.path));
 *       if (invokes(inv, run)) return runContainer(inv.parsed.flags.detach, inv.parsed.flags.env, inv.parsed.args);
 *     } catch (e) {
 *       if (e instanceof FlagError) { process.stderr.write(e.message + '\n'); process.exitCode = e.exitCode; }
 *     }
 */
export type {
  AnyCommand,
  ArgsSpec,
  BoolFlag,
  CommandGroup,
  CommandSpec,
  DurationFlag,
  FlagKind,
  FlagSpec,
  FlagSpecs,
  FlagValue,
  FlagValues,
  HelpInvocation,
  HelpRequest,
  IntFlag,
  Invocation,
  NoFlags,
  Parsed,
  Resolution,
  RunInvocation,
  StringArrayFlag,
  StringFlag,
  StringSliceFlag,
  UintFlag,
  ValueFlag,
} from './spec.ts';
export { defineCommand, defineFlags } from './spec.ts';
export {
  checkArgs,
  commandPathOf,
  findSubcommand,
  flagDisplayName,
  invokes,
  parseCommand,
  parseCommandLine,
  parseFlags,
  resolveCommand,
  useLineOf,
  validateCommandTree,
} from './parse.ts';
export type { ParseOptions } from './parse.ts';
export { flagUsages, renderHelp, renderUsage, wrapText } from './help.ts';
export type { HelpOptions } from './help.ts';
export { FlagError, FLAG_ERROR_EXIT_CODE, USAGE_ERROR_EXIT_CODE, goQuote, isFlagError } from './errors.ts';
export type { FlagErrorCode } from './errors.ts';
export { formatGoDuration, parseGoBool, parseGoDuration, parseGoInt, parseGoUint } from './values.ts';
