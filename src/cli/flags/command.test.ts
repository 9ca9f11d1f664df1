import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkArgs,
  commandPathOf,
  findSubcommand,
  invokes,
  parseCommand,
  parseCommandLine,
  resolveCommand,
  useLineOf,
  validateCommandTree,
} from './parse.ts';
import { defineCommand } from './spec.ts';
import { FlagError } from './errors.ts';
import { exitCodeOf } from '../../errdefs/index.ts';
import { container, containerLs, containerRm, image, imageLs, imageRm, logs, port, ps, rm, rmi, root, run, secret, version } from './fixtures.ts';

function flagError(fn: () => unknown): FlagError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FlagError, `expected FlagError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a FlagError');
}

const cli = (...argv: string[]) => parseCommandLine(root, argv);

describe('resolveCommand', () => {
  it('parses global flags up to the command and returns the rest', () => {
    const r = resolveCommand(root, ['-D', '-H', 'unix:///a.sock', '--host=tcp://b', 'ps', '-a', 'x']);
    assert.equal(r.command, ps);
    assert.deepEqual(r.path, [root, ps]);
    assert.equal(r.commandPath, 'berth ps');
    assert.deepEqual(r.argv, ['-a', 'x']);
    assert.equal(r.globals.flags.debug, true);
    assert.deepEqual(r.globals.flags.host, ['unix:///a.sock', 'tcp://b']);
    assert.equal(r.globals.flags.logLevel, 'info');
    assert.deepEqual([...r.globals.set].sort(), ['debug', 'host']);
    assert.equal(r.help, false);
  });
  it('walks management commands and their subcommands', () => {
    const r = resolveCommand(root, ['container', 'ls', '-a']);
    assert.equal(r.command, containerLs);
    assert.deepEqual(r.path, [root, container, containerLs]);
    assert.equal(r.commandPath, 'berth container ls');
    assert.deepEqual(r.argv, ['-a']);
  });
  it('resolves aliases; the command path keeps canonical names', () => {
    for (const argv of [['ps'], ['container', 'ls'], ['container', 'list'], ['container', 'ps']]) {
      const r = resolveCommand(root, argv);
      assert.ok(r.command === ps || r.command === containerLs, argv.join(' '));
    }
    assert.equal(resolveCommand(root, ['container', 'list']).commandPath, 'berth container ls');
    assert.equal(resolveCommand(root, ['container', 'ps']).commandPath, 'berth container ls');
    assert.equal(resolveCommand(root, ['image', 'remove', 'x']).command, imageRm);
    assert.equal(resolveCommand(root, ['image', 'rmi', 'x']).command, imageRm);
    assert.equal(resolveCommand(root, ['rmi', 'x']).command, rmi);
    assert.equal(resolveCommand(root, ['image', 'images']).command, imageLs);
    assert.equal(resolveCommand(root, ['container', 'remove', 'x']).command, containerRm);
  });
  it('resolves hidden commands', () => {
    assert.equal(resolveCommand(root, ['debug-dump']).command, secret);
  });
  it('global flags are not accepted after the command (docker: they are root-local)', () => {
    const r = resolveCommand(root, ['ps', '-D']);
    assert.deepEqual(r.argv, ['-D']);
    const e = flagError(() => cli('ps', '-D'));
    assert.equal(e.message, "unknown shorthand flag: 'D' in -D\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information");
  });
  it('-- before the command ends global flags', () => {
    const r = resolveCommand(root, ['-D', '--', 'ps']);
    assert.equal(r.command, ps);
    assert.equal(r.globals.flags.debug, true);
  });
  it('no command → implicit help for the root (caller checks --version first)', () => {
    const r = resolveCommand(root, []);
    assert.equal(r.command, root);
    assert.equal(r.help, 'implicit');
    const v = resolveCommand(root, ['-v']);
    assert.equal(v.help, 'implicit');
    assert.equal(v.globals.flags.version, true);
    assert.equal(resolveCommand(root, ['-D']).help, 'implicit');
  });
  it('a management command without a subcommand → implicit help for it', () => {
    const r = resolveCommand(root, ['container']);
    assert.equal(r.command, container);
    assert.equal(r.help, 'implicit');
    assert.equal(r.commandPath, 'berth container');
  });
  it('--help before the command, on a management command, or via `help`', () => {
    assert.equal(resolveCommand(root, ['--help']).help, 'explicit');
    assert.equal(resolveCommand(root, ['-h']).help, 'explicit');
    const a = resolveCommand(root, ['--help', 'run']);
    assert.equal(a.command, run);
    assert.equal(a.help, 'explicit');
    const b = resolveCommand(root, ['container', '--help']);
    assert.equal(b.command, container);
    assert.equal(b.help, 'explicit');
    const c = resolveCommand(root, ['container', '-h']);
    assert.equal(c.help, 'explicit');
    const d = resolveCommand(root, ['container', '--help', 'ls']);
    assert.equal(d.command, containerLs);
    assert.equal(d.help, 'explicit');
    const e = resolveCommand(root, ['--help', 'nosuch']);
    assert.equal(e.command, root);
    assert.equal(e.help, 'explicit');
    const f = resolveCommand(root, ['container', '--help', 'nosuch']);
    assert.equal(f.command, container);
    assert.equal(f.help, 'explicit');
  });
  it('`berth help [COMMAND...]`', () => {
    const a = resolveCommand(root, ['help']);
    assert.equal(a.command, root);
    assert.equal(a.help, 'explicit');
    const b = resolveCommand(root, ['help', 'container', 'list']);
    assert.equal(b.command, containerLs);
    assert.equal(b.help, 'explicit');
    assert.equal(resolveCommand(root, ['help', 'rmi']).command, rmi);
  });
  it('`berth help` with an unknown topic', () => {
    const e = flagError(() => resolveCommand(root, ['help', 'foo']));
    assert.equal(e.message, 'unknown help topic: foo');
    assert.equal(e.code, 'unknown-help-topic');
    assert.equal(e.exitCode, 1);
    assert.equal(flagError(() => resolveCommand(root, ['help', 'container', 'foo', 'bar'])).message, 'unknown help topic: foo bar');
    assert.equal(flagError(() => resolveCommand(root, ['help', 'run', 'x'])).message, 'unknown help topic: x');
  });
  it('a tree that defines its own `help` command gets it', () => {
    const helpCmd = defineCommand({ name: 'help', short: 'My help' });
    const t = defineCommand({ name: 'x', short: 'x', subcommands: [helpCmd] });
    assert.equal(resolveCommand(t, ['help']).command, helpCmd);
  });
  it('unknown command at the root', () => {
    const e = flagError(() => resolveCommand(root, ['foo', '--bar']));
    assert.equal(e.message, "berth: unknown command: berth foo\n\nRun 'berth --help' for more information");
    assert.equal(e.code, 'unknown-command');
    assert.equal(e.exitCode, 1);
    assert.equal(exitCodeOf(e), 1);
    assert.equal(flagError(() => resolveCommand(root, ['-D', '-'])).message, "berth: unknown command: berth -\n\nRun 'berth --help' for more information");
  });
  it('unknown subcommand of a management command names it, with the command\'s use line (docker CLI 28)', () => {
    const e = flagError(() => resolveCommand(root, ['container', 'foo']));
    assert.equal(e.code, 'unknown-subcommand');
    assert.equal(e.exitCode, 1);
    assert.equal(e.message, "berth: unknown command: berth container foo\n\nUsage:  berth container\n\nRun 'berth container --help' for more information");
    assert.equal(e.detail, 'unknown command: berth container foo');
  });
  it('global flag errors carry the root\'s use line (docker FlagErrorFunc)', () => {
    const e = flagError(() => resolveCommand(root, ['--foo', 'ps']));
    assert.equal(e.message, "unknown flag: --foo\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information");
    assert.equal(e.detail, 'unknown flag: --foo');
    assert.equal(e.commandPath, 'berth');
    assert.equal(e.exitCode, 125);
    assert.equal(flagError(() => resolveCommand(root, ['-H'])).detail, "flag needs an argument: 'H' in -H");
    assert.equal(
      flagError(() => resolveCommand(root, ['--log-level', 'loud', 'ps'])).detail,
      'invalid argument "loud" for "-l, --log-level" flag: unknown level loud',
    );
  });
  it('flag errors on a management command carry its path as the use line', () => {
    const e = flagError(() => resolveCommand(root, ['image', '-q', 'ls']));
    assert.equal(e.message, "unknown shorthand flag: 'q' in -q\n\nUsage:  berth image\n\nRun 'berth image --help' for more information");
    assert.equal(e.commandPath, 'berth image');
  });
  it('typed globals', () => {
    const r = resolveCommand(root, ['-l', 'debug', 'ps']);
    const level: 'debug' | 'info' | 'warn' | 'error' | 'fatal' = r.globals.flags.logLevel;
    assert.equal(level, 'debug');
  });
});

describe('parseCommand', () => {
  it('parses a command’s flags and args with its interspersed setting', () => {
    const p = parseCommand(run, ['-it', '--rm', 'busybox', 'ls', '-la'], [root, run]);
    assert.deepEqual(p.args, ['busybox', 'ls', '-la']);
    assert.equal(p.flags.rm, true);
    const q = parseCommand(rm, ['a', '-f', 'b'], [root, rm]);
    assert.deepEqual(q.args, ['a', 'b']);
    assert.equal(q.flags.force, true);
  });
  it('flag errors: the error, the use line and where to look (docker CLI 28), exit 125', () => {
    const e = flagError(() => parseCommand(run, ['--foo'], [root, run]));
    assert.equal(e.message, "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information");
    assert.equal(e.exitCode, 125);
    assert.equal(e.commandPath, 'berth run');
    assert.equal(flagError(() => parseCommand(run, ['--name'], [root, run])).message, "flag needs an argument: --name\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information");
    assert.equal(flagError(() => parseCommand(run, ['-h'], [root, run])).message, "flag needs an argument: 'h' in -h\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information");
    assert.equal(
      flagError(() => parseCommand(ps, ['-n', 'abc'], [root, ps])).message,
      'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax\n\nUsage:  berth ps [OPTIONS]\n\nRun \'berth ps --help\' for more information',
    );
  });
  it('defaults the path to the command alone', () => {
    assert.equal(flagError(() => parseCommand(run, ['--foo'])).message, "unknown flag: --foo\n\nUsage:  run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'run --help' for more information");
  });
  it('help skips the argument-count check', () => {
    const p = parseCommand(rm, ['--help'], [root, rm]);
    assert.equal(p.help, true);
    assert.deepEqual(p.args, []);
  });
});

describe('argument counts (docker cli/required.go wording)', () => {
  it('requires at least N', () => {
    const e = flagError(() => cli('rm'));
    assert.equal(
      e.message,
      "berth: 'berth rm' requires at least 1 argument\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth rm --help' for more information",
    );
    assert.equal(e.detail, "berth: 'berth rm' requires at least 1 argument");
    assert.equal(e.code, 'arg-count');
    assert.equal(e.exitCode, 1);
    assert.equal(
      flagError(() => cli('run', '-d')).message,
      "berth: 'berth run' requires at least 1 argument\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'berth run --help' for more information",
    );
    assert.equal(flagError(() => cli('exec', 'c1')).detail, "berth: 'berth exec' requires at least 2 arguments");
  });
  it('requires exactly N', () => {
    assert.equal(
      flagError(() => cli('tag', 'a')).message,
      "berth: 'berth tag' requires 2 arguments\n\nUsage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nRun 'berth tag --help' for more information",
    );
    assert.equal(flagError(() => cli('logs')).detail, "berth: 'berth logs' requires 1 argument");
    assert.equal(flagError(() => cli('logs', 'a', 'b')).detail, "berth: 'berth logs' requires 1 argument");
    assert.equal(flagError(() => cli('image', 'tag', 'a', 'b', 'c')).detail, "berth: 'berth image tag' requires 2 arguments");
  });
  it('requires at most N / accepts no arguments', () => {
    assert.equal(flagError(() => cli('debug-dump', 'a', 'b')).detail, "berth: 'berth debug-dump' requires at most 1 argument");
    assert.equal(
      flagError(() => cli('ps', 'x')).message,
      "berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information",
    );
    assert.equal(flagError(() => cli('container', 'list', 'x')).detail, "berth: 'berth container ls' accepts no arguments");
  });
  it('ranges: requires at least N and at most M', () => {
    assert.equal(flagError(() => cli('port')).detail, "berth: 'berth port' requires at least 1 and at most 2 arguments");
    assert.equal(flagError(() => cli('port', 'a', 'b', 'c')).detail, "berth: 'berth port' requires at least 1 and at most 2 arguments");
    const onePlural = defineCommand({ name: 'x', short: 's', args: { min: 0, max: 1 } });
    assert.throws(() => checkArgs([root, onePlural], ['a', 'b']), { message: /^berth: 'berth x' requires at most 1 argument\n/ });
    const two = defineCommand({ name: 'y', short: 's', args: { min: 0, max: 2 } });
    assert.throws(() => checkArgs([root, two], ['a', 'b', 'c']), { message: /^berth: 'berth y' requires at most 2 arguments\n/ });
  });
  it('passes when within bounds, and without a spec', () => {
    assert.doesNotThrow(() => cli('port', 'a'));
    assert.doesNotThrow(() => cli('port', 'a', '80/tcp'));
    assert.doesNotThrow(() => cli('tag', 'a', 'b'));
    assert.doesNotThrow(() => checkArgs([defineCommand({ name: 'z', short: '' })], ['a', 'b', 'c']));
  });
  it('counts args after -- too', () => {
    assert.equal(flagError(() => cli('ps', '--', '-a')).detail, "berth: 'berth ps' accepts no arguments");
  });
  it('flag errors come before argument-count errors', () => {
    assert.equal(flagError(() => cli('rm', '--nope')).detail, 'unknown flag: --nope');
  });
});

describe('parseCommandLine', () => {
  it('runs a command with typed flags via invokes()', () => {
    const inv = cli('-D', 'run', '-dit', '-e', 'A=1', '-eB=2', '--name', 'web', '-m', '1g', 'busybox', 'sh', '-c', 'echo hi');
    assert.equal(inv.kind, 'run');
    assert.ok(invokes(inv, run));
    assert.equal(invokes(inv, ps), false);
    const { flags, args } = inv.parsed;
    assert.deepEqual([flags.detach, flags.interactive, flags.tty], [true, true, true]);
    assert.deepEqual(flags.env, ['A=1', 'B=2']);
    assert.equal(flags.name, 'web');
    assert.equal(flags.memory, 1024 ** 3);
    assert.deepEqual(args, ['busybox', 'sh', '-c', 'echo hi']);
    assert.equal(inv.globals.flags.debug, true);
    assert.equal(inv.commandPath, 'berth run');
  });
  it('one command object at two places; invokes() accepts several commands', () => {
    const a = cli('container', 'run', '-d', 'img');
    assert.ok(invokes(a, run));
    assert.equal(a.commandPath, 'berth container run');
    assert.deepEqual(a.path, [root, container, run]);
    const b = cli('container', 'list', '-q');
    assert.ok(invokes(b, ps, containerLs));
    assert.equal(b.parsed.flags.quiet, true);
    assert.ok(invokes(cli('ps'), ps, containerLs));
    assert.equal(invokes(cli('ps'), containerLs), false);
  });
  it('interspersed command: flags after positionals (`berth rm a -f b`)', () => {
    const inv = cli('rm', 'a', '-f', 'b');
    assert.ok(invokes(inv, rm));
    assert.deepEqual(inv.parsed.args, ['a', 'b']);
    assert.equal(inv.parsed.flags.force, true);
  });
  it('--help on the command → explicit help, even with missing args', () => {
    for (const argv of [['run', '--help'], ['rm', '--help'], ['rm', 'a', '--help'], ['ps', '-h'], ['container', 'ls', '--help'], ['--help', 'rm']]) {
      const inv = cli(...argv);
      assert.equal(inv.kind, 'help', argv.join(' '));
      assert.equal(inv.kind === 'help' && inv.explicit, true, argv.join(' '));
    }
    const r = cli('rm', '--help');
    assert.equal(r.command, rm);
    assert.deepEqual(r.path, [root, rm]);
  });
  it('non-interspersed: --help after the image is an argument', () => {
    const inv = cli('run', 'busybox', '--help');
    assert.ok(invokes(inv, run));
    assert.deepEqual(inv.parsed.args, ['busybox', '--help']);
  });
  it('--help after -- is an argument', () => {
    const inv = cli('rm', '--', '--help');
    assert.ok(invokes(inv, rm));
    assert.deepEqual(inv.parsed.args, ['--help']);
  });
  it('implicit help when no command is given', () => {
    const inv = cli();
    assert.equal(inv.kind, 'help');
    assert.equal(inv.kind === 'help' && inv.explicit, false);
    const m = cli('image');
    assert.equal(m.command, image);
    assert.equal(m.kind === 'help' && m.explicit, false);
  });
  it('`-` as an argument (stdin)', () => {
    const imp = defineCommand({ name: 'import', short: 'Import', usage: 'file|URL|- [REPOSITORY[:TAG]]', args: { min: 1, max: 2 } });
    const t = defineCommand({ name: 'berth', short: 'r', subcommands: [imp] });
    const inv = parseCommandLine(t, ['import', '-', 'img:1']);
    assert.ok(invokes(inv, imp));
    assert.deepEqual(inv.parsed.args, ['-', 'img:1']);
  });
  it('uses a command with no flags', () => {
    const inv = cli('image', 'tag', 'a', 'b');
    assert.equal(inv.kind, 'run');
    assert.equal(inv.commandPath, 'berth image tag');
  });
  it('version has its own -f', () => {
    const inv = cli('version', '-f', '{{.Client.Version}}');
    assert.ok(invokes(inv, version));
    assert.equal(inv.parsed.flags.format, '{{.Client.Version}}');
  });
  it('logs default tail', () => {
    const inv = cli('logs', '-f', 'c1');
    assert.ok(invokes(inv, logs));
    assert.equal(inv.parsed.flags.tail, 'all');
    assert.equal(inv.parsed.flags.follow, true);
    assert.equal(inv.parsed.set.has('tail'), false);
  });
  it('deprecation warnings reach the caller', () => {
    const inv = cli('run', '--link-local-ip', 'x', 'img');
    assert.ok(invokes(inv, run));
    assert.deepEqual(inv.parsed.warnings, ['Flag --link-local-ip has been deprecated, it does nothing']);
  });
});

describe('helpers', () => {
  it('commandPathOf / useLineOf / findSubcommand', () => {
    assert.equal(commandPathOf([root, container, containerLs]), 'berth container ls');
    assert.equal(useLineOf([root, run]), 'berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    assert.equal(useLineOf([root, container]), 'berth container');
    assert.equal(findSubcommand(container, 'list'), containerLs);
    assert.equal(findSubcommand(container, 'nope'), undefined);
    assert.equal(findSubcommand(port, 'x'), undefined);
  });
  it('a canonical name wins over another command’s alias', () => {
    const a = defineCommand({ name: 'a', short: '', aliases: ['b'] });
    const b = defineCommand({ name: 'b', short: '' });
    const t = defineCommand({ name: 't', short: '', subcommands: [a, b] });
    assert.equal(findSubcommand(t, 'b'), b);
  });
});

describe('validateCommandTree', () => {
  it('accepts the fixture tree', () => {
    assert.doesNotThrow(() => validateCommandTree(root));
  });
  it('rejects duplicate names and aliases', () => {
    const a = defineCommand({ name: 'ls', short: '', aliases: ['list'] });
    const b = defineCommand({ name: 'list', short: '' });
    assert.throws(() => validateCommandTree(defineCommand({ name: 'x', short: '', subcommands: [a, b] })), /x: "list" used by both "ls" and "list"/);
  });
  it('rejects bad args ranges and bad flags', () => {
    assert.throws(() => validateCommandTree(defineCommand({ name: 'x', short: '', args: { min: 2, max: 1 } })), /invalid args/);
    assert.throws(
      () => validateCommandTree(defineCommand({ name: 'x', short: '', subcommands: [defineCommand({ name: 'y', short: '', flags: { a: { long: 'a', short: 'aa', kind: 'bool', help: '' } } })] })),
      /shorthand must be one character/,
    );
    assert.throws(() => validateCommandTree(defineCommand({ name: 'x', short: '', subcommands: [defineCommand({ name: '-y', short: '' })] })), /invalid command name/);
  });
});
