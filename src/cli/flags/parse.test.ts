import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from './parse.ts';
import { defineFlags } from './spec.ts';
import { FlagError } from './errors.ts';
import { isInvalidParameter, exitCodeOf } from '../../errdefs/index.ts';
import { psFlags, runFlags } from './fixtures.ts';

/** The FlagError thrown by `fn` (fails the test when nothing or something else is thrown). */
function flagError(fn: () => unknown): FlagError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FlagError, `expected FlagError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a FlagError');
}

const run = (...argv: string[]) => parseFlags(runFlags, argv);
const runStrict = (...argv: string[]) => parseFlags(runFlags, argv, { interspersed: false });

describe('parseFlags: defaults', () => {
  it('gives every declared flag a value', () => {
    const p = run();
    assert.deepEqual(p.flags, {
      detach: false,
      env: [],
      hostname: undefined,
      interactive: false,
      memory: undefined,
      name: undefined,
      publish: [],
      rm: false,
      stopTimeout: undefined,
      tty: false,
      healthInterval: undefined,
      blkioWeight: undefined,
      dns: [],
      legacy: [],
    });
    assert.deepEqual(p.args, []);
    assert.equal(p.set.size, 0);
    assert.equal(p.help, false);
    assert.equal(p.dashAt, -1);
    assert.deepEqual(p.warnings, []);
  });
  it('uses declared defaults, and copies array defaults', () => {
    const flags = defineFlags({
      n: { long: 'n', kind: 'int', default: 10, help: '' },
      s: { long: 's', kind: 'string', default: 'x', help: '' },
      b: { long: 'b', kind: 'bool', default: true, help: '' },
      a: { long: 'a', kind: 'stringArray', default: ['d1'], help: '' },
    });
    const p1 = parseFlags(flags, []);
    assert.deepEqual(p1.flags, { n: 10, s: 'x', b: true, a: ['d1'] });
    p1.flags.a.push('mutated');
    assert.deepEqual(parseFlags(flags, []).flags.a, ['d1']);
  });
  it('accepts undefined flags (only --help)', () => {
    assert.deepEqual(parseFlags(undefined, ['a', 'b']).args, ['a', 'b']);
    assert.equal(parseFlags(undefined, ['--help']).help, true);
  });
});

describe('parseFlags: long flags', () => {
  it('--name value and --name=value', () => {
    assert.equal(run('--name', 'web').flags.name, 'web');
    assert.equal(run('--name=web').flags.name, 'web');
    assert.equal(run('--name=').flags.name, '');
    assert.equal(run('--name=a=b').flags.name, 'a=b');
  });
  it('a value flag takes the next argument even when it looks like a flag', () => {
    assert.equal(run('--name', '--rm').flags.name, '--rm');
    assert.equal(run('--name', '-').flags.name, '-');
    assert.equal(run('--name', '').flags.name, '');
  });
  it('bools: --rm, --rm=true, --rm=false, Go spellings; never consume the next arg', () => {
    assert.equal(run('--rm').flags.rm, true);
    assert.equal(run('--rm=true').flags.rm, true);
    assert.equal(run('--rm=false').flags.rm, false);
    assert.equal(run('--rm=0').flags.rm, false);
    assert.equal(run('--rm=T').flags.rm, true);
    const p = run('--rm', 'false');
    assert.equal(p.flags.rm, true);
    assert.deepEqual(p.args, ['false']);
  });
  it('last occurrence of a scalar wins', () => {
    assert.equal(run('--name', 'a', '--name', 'b').flags.name, 'b');
    assert.equal(run('--rm', '--rm=false').flags.rm, false);
  });
  it('marks explicitly given flags in `set`, even when given their default value', () => {
    const p = run('--rm=false', '--name', 'x');
    assert.deepEqual([...p.set].sort(), ['name', 'rm']);
    assert.equal(p.set.has('detach'), false);
  });
});

describe('parseFlags: short flags', () => {
  it('-n value, -nvalue, -n=value', () => {
    assert.deepEqual(run('-e', 'A=1').flags.env, ['A=1']);
    assert.deepEqual(run('-eA=1').flags.env, ['A=1']);
    assert.deepEqual(run('-e=A').flags.env, ['A']);
    assert.deepEqual(run('-ePATH=x').flags.env, ['PATH=x']);
  });
  it('`-e=` (nothing after =) takes "=" as the value, like pflag', () => {
    assert.deepEqual(run('-e=').flags.env, ['=']);
  });
  it('combined bools -it, -dit', () => {
    const p = run('-it');
    assert.equal(p.flags.interactive, true);
    assert.equal(p.flags.tty, true);
    assert.equal(p.flags.detach, false);
    const q = run('-dit');
    assert.deepEqual([q.flags.detach, q.flags.interactive, q.flags.tty], [true, true, true]);
  });
  it('a group ending in a value flag takes the rest of the group or the next arg', () => {
    const p = run('-itp', '80:80');
    assert.deepEqual([p.flags.interactive, p.flags.tty], [true, true]);
    assert.deepEqual(p.flags.publish, ['80:80']);
    const q = run('-dp8080:80');
    assert.equal(q.flags.detach, true);
    assert.deepEqual(q.flags.publish, ['8080:80']);
    const r = run('-dit=false');
    assert.deepEqual([r.flags.detach, r.flags.interactive, r.flags.tty], [true, true, false]);
  });
  it('a value flag in the middle of a group swallows the rest', () => {
    const p = run('-eit');
    assert.deepEqual(p.flags.env, ['it']);
    assert.equal(p.flags.interactive, false);
  });
  it('bools accept -d=false', () => {
    assert.equal(run('-d=false').flags.detach, false);
    assert.equal(run('-d=1').flags.detach, true);
  });
  it('short and long forms share one value', () => {
    assert.deepEqual(run('-e', 'A', '--env', 'B', '-eC', '--env=D').flags.env, ['A', 'B', 'C', 'D']);
  });
});

describe('parseFlags: arrays', () => {
  it('stringArray accumulates and does not split on commas', () => {
    assert.deepEqual(run('-e', 'A=1,2', '-e', 'B').flags.env, ['A=1,2', 'B']);
  });
  it('the first occurrence replaces the default', () => {
    const flags = defineFlags({ a: { long: 'a', kind: 'stringArray', default: ['d'], help: '' } });
    assert.deepEqual(parseFlags(flags, ['--a', 'x', '--a', 'y']).flags.a, ['x', 'y']);
  });
  it('stringSlice splits as CSV and accumulates', () => {
    const p = run('--dns-option', 'a,b', '--dns-option=c', '--dns-option', '"d,e"');
    assert.deepEqual(p.flags.dns, ['a', 'b', 'c', 'd,e']);
    assert.deepEqual(run('--dns-option=').flags.dns, []);
  });
  it('stringSlice CSV errors are invalid-argument errors', () => {
    const e = flagError(() => run('--dns-option', 'a"b'));
    assert.equal(e.message, 'invalid argument "a\\"b" for "--dns-option" flag: parse error on line 1, column 2: bare " in non-quoted-field');
  });
  it('parse hooks apply per element', () => {
    const flags = defineFlags({
      port: { short: 'p', long: 'port', kind: 'stringArray', help: '', parse: (v: string) => Number(v) },
      opt: { long: 'opt', kind: 'stringSlice', help: '', parse: (v: string) => v.toUpperCase() },
    });
    const p = parseFlags(flags, ['-p', '1', '-p2', '--opt', 'a,b']);
    assert.deepEqual(p.flags.port, [1, 2]);
    assert.deepEqual(p.flags.opt, ['A', 'B']);
  });
});

describe('parseFlags: numbers and durations', () => {
  it('int flags parse with Go rules', () => {
    assert.equal(run('--stop-timeout', '30').flags.stopTimeout, 30);
    assert.equal(run('--stop-timeout=-1').flags.stopTimeout, -1);
    assert.equal(run('--stop-timeout=0x10').flags.stopTimeout, 16);
    assert.equal(parseFlags(psFlags, ['-n', '3']).flags.last, 3);
    assert.equal(parseFlags(psFlags, ['-n3']).flags.last, 3);
    assert.equal(parseFlags(psFlags, []).flags.last, -1);
  });
  it('uint flags range-check by bits', () => {
    assert.equal(run('--blkio-weight', '500').flags.blkioWeight, 500);
    const e = flagError(() => run('--blkio-weight', '70000'));
    assert.equal(e.message, 'invalid argument "70000" for "--blkio-weight" flag: strconv.ParseUint: parsing "70000": value out of range');
  });
  it('duration flags give nanoseconds', () => {
    assert.equal(run('--health-interval', '30s').flags.healthInterval, 30e9);
    assert.equal(run('--health-interval=1m30s').flags.healthInterval, 90e9);
    const e = flagError(() => run('--health-interval', '10'));
    assert.equal(e.message, 'invalid argument "10" for "--health-interval" flag: time: missing unit in duration "10"');
  });
});

describe('parseFlags: positionals, --, -', () => {
  it('interspersed by default: flags may follow positionals', () => {
    const p = run('a', '-d', 'b', '--name', 'x', 'c');
    assert.deepEqual(p.args, ['a', 'b', 'c']);
    assert.equal(p.flags.detach, true);
    assert.equal(p.flags.name, 'x');
  });
  it('not interspersed: everything from the first positional on is args', () => {
    const p = runStrict('-it', 'busybox', 'ls', '-la', '--rm');
    assert.deepEqual(p.args, ['busybox', 'ls', '-la', '--rm']);
    assert.equal(p.flags.interactive, true);
    assert.equal(p.flags.rm, false);
  });
  it('not interspersed: a flag value is not a positional', () => {
    const p = runStrict('--name', 'web', 'busybox', '--name', 'x');
    assert.equal(p.flags.name, 'web');
    assert.deepEqual(p.args, ['busybox', '--name', 'x']);
  });
  it('not interspersed: --help after the first positional is an arg', () => {
    const p = runStrict('busybox', '--help');
    assert.equal(p.help, false);
    assert.deepEqual(p.args, ['busybox', '--help']);
  });
  it('not interspersed: -- after the first positional is kept as an arg', () => {
    const p = runStrict('busybox', '--', 'ls');
    assert.deepEqual(p.args, ['busybox', '--', 'ls']);
    assert.equal(p.dashAt, -1);
  });
  it('-- ends flags and is dropped; dashAt counts the args before it', () => {
    const p = run('a', '--', '-d', '--name', 'x');
    assert.deepEqual(p.args, ['a', '-d', '--name', 'x']);
    assert.equal(p.flags.detach, false);
    assert.equal(p.dashAt, 1);
    const q = runStrict('-d', '--', '--rm');
    assert.deepEqual(q.args, ['--rm']);
    assert.equal(q.dashAt, 0);
    assert.equal(run('--', '--').args[0], '--');
  });
  it('a lone - and an empty string are positionals', () => {
    assert.deepEqual(run('-', '-d', '').args, ['-', '']);
    const p = runStrict('-', '-d');
    assert.deepEqual(p.args, ['-', '-d']);
    assert.equal(p.flags.detach, false);
  });
  it('--help after -- is an arg', () => {
    const p = run('--', '--help');
    assert.equal(p.help, false);
    assert.deepEqual(p.args, ['--help']);
  });
});

describe('parseFlags: help', () => {
  it('--help anywhere before -- (interspersed)', () => {
    assert.equal(run('--help').help, true);
    assert.equal(run('a', '--help', 'b').help, true);
    assert.equal(run('--help=false').help, false);
    assert.equal(parseFlags(psFlags, ['-h']).help, true);
  });
  it('-h is the command’s own flag when it declares one', () => {
    const p = run('-h', 'myhost');
    assert.equal(p.help, false);
    assert.equal(p.flags.hostname, 'myhost');
  });
  it('help is not a flags key unless declared', () => {
    assert.equal('help' in run('--help').flags, false);
  });
  it('a declared help flag drives `help` and shows up in flags', () => {
    const flags = defineFlags({ usage: { long: 'help', kind: 'bool', help: 'Print usage' } });
    const p = parseFlags(flags, ['--help']);
    assert.equal(p.help, true);
    assert.equal(p.flags.usage, true);
    // pflag: an undefined -h still asks for help (ErrHelp)
    assert.equal(parseFlags(flags, ['-h']).help, true);
    assert.equal(parseFlags(flags, ['-h', '--nope']).help, true, 'parsing stops at -h');
  });
  it('flag errors win over --help (cobra parses flags first)', () => {
    assert.throws(() => run('--help', '--nope'), { message: 'unknown flag: --nope' });
  });
});

describe('parseFlags: errors (pflag wording)', () => {
  it('unknown long flag', () => {
    const e = flagError(() => run('--foo'));
    assert.equal(e.message, 'unknown flag: --foo');
    assert.equal(e.detail, 'unknown flag: --foo');
    assert.equal(e.code, 'unknown-flag');
    assert.equal(e.exitCode, 125);
    assert.equal(flagError(() => run('--foo=bar')).message, 'unknown flag: --foo');
  });
  it('unknown shorthand, reporting the rest of the group', () => {
    assert.equal(flagError(() => run('-z')).message, "unknown shorthand flag: 'z' in -z");
    assert.equal(flagError(() => run('-itz')).message, "unknown shorthand flag: 'z' in -z");
    assert.equal(flagError(() => run('-zit')).message, "unknown shorthand flag: 'z' in -zit");
    assert.equal(flagError(() => run('-d=')).message, "unknown shorthand flag: '=' in -=");
    assert.equal(flagError(() => run('-z')).code, 'unknown-shorthand');
  });
  it('missing values', () => {
    assert.equal(flagError(() => run('--name')).message, 'flag needs an argument: --name');
    assert.equal(flagError(() => run('-e')).message, "flag needs an argument: 'e' in -e");
    assert.equal(flagError(() => run('-de')).message, "flag needs an argument: 'e' in -e");
    assert.equal(flagError(() => run('a', '--name')).code, 'missing-value');
  });
  it('invalid values name the flag like pflag', () => {
    assert.equal(
      flagError(() => parseFlags(psFlags, ['-n', 'abc'])).message,
      'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax',
    );
    assert.equal(
      flagError(() => run('--stop-timeout=1.5')).message,
      'invalid argument "1.5" for "--stop-timeout" flag: strconv.ParseInt: parsing "1.5": invalid syntax',
    );
    assert.equal(
      flagError(() => run('--rm=yes')).message,
      'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax',
    );
    assert.equal(
      flagError(() => run('-d=maybe')).message,
      'invalid argument "maybe" for "-d, --detach" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    );
    assert.equal(flagError(() => run('--rm=')).message, 'invalid argument "" for "--rm" flag: strconv.ParseBool: parsing "": invalid syntax');
    assert.equal(flagError(() => run('--rm=x')).code, 'invalid-value');
  });
  it('custom parse hooks: the thrown message becomes the reason', () => {
    assert.equal(run('-m', '512m').flags.memory, 512 * 1024 ** 2);
    assert.equal(
      flagError(() => run('--memory', 'lots')).message,
      `invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots'`,
    );
    const flags = defineFlags({
      x: {
        long: 'x',
        kind: 'string',
        help: '',
        parse: (v: string): string => {
          throw `bad ${v}`;
        },
      },
    });
    assert.equal(flagError(() => parseFlags(flags, ['--x', 'q"'])).message, 'invalid argument "q\\"" for "--x" flag: bad q"');
  });
  it('bad flag syntax', () => {
    assert.equal(flagError(() => run('---x')).message, 'bad flag syntax: ---x');
    assert.equal(flagError(() => run('--=x')).message, 'bad flag syntax: --=x');
    assert.equal(flagError(() => run('--=x')).code, 'bad-syntax');
  });
  it('errors stop at the first problem, in argv order', () => {
    assert.equal(flagError(() => run('--rm=x', '--foo')).message, 'invalid argument "x" for "--rm" flag: strconv.ParseBool: parsing "x": invalid syntax');
    assert.equal(flagError(() => run('--foo', '--rm=x')).message, 'unknown flag: --foo');
  });
  it('flags after the first positional are not checked when not interspersed', () => {
    assert.deepEqual(runStrict('img', '--foo').args, ['img', '--foo']);
  });
  it('FlagError is an InvalidParameter EngineError carrying exit code 125', () => {
    const e = flagError(() => run('--foo'));
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'FlagError');
    assert.equal(isInvalidParameter(e), true);
    assert.equal(exitCodeOf(e), 125);
    assert.equal(e.commandPath, '');
  });
});

describe('parseFlags: deprecated flags', () => {
  it('still work, and produce pflag’s notice', () => {
    const p = run('--link-local-ip', '169.254.0.1');
    assert.deepEqual(p.flags.legacy, ['169.254.0.1']);
    assert.deepEqual(p.warnings, ['Flag --link-local-ip has been deprecated, it does nothing']);
  });
});

describe('flag declarations are validated on first use', () => {
  it('rejects duplicate long names and shorthands, and bad shorthands', () => {
    assert.throws(() => parseFlags(defineFlags({ a: { long: 'x', kind: 'bool', help: '' }, b: { long: 'x', kind: 'bool', help: '' } }), []), /flag redefined: x/);
    assert.throws(
      () => parseFlags(defineFlags({ a: { long: 'a', short: 'q', kind: 'bool', help: '' }, b: { long: 'b', short: 'q', kind: 'bool', help: '' } }), []),
      /unable to redefine "q" shorthand/,
    );
    assert.throws(() => parseFlags(defineFlags({ a: { long: 'a', short: 'ab', kind: 'bool', help: '' } }), []), /shorthand must be one character/);
    assert.throws(() => parseFlags(defineFlags({ a: { long: '--a', kind: 'bool', help: '' } }), []), /invalid long name/);
    assert.throws(() => parseFlags(defineFlags({ a: { long: 'help', kind: 'string', help: '' } }), []), /must be a bool/);
  });
});
