import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flagUsages, renderHelp, renderUsage, wrapText } from './help.ts';
import { defineCommand, defineFlags } from './spec.ts';
import { container, containerLs, image, imageLs, imageRm, ps, root, run, tag } from './fixtures.ts';

/** Lines joined with "\n" (keeps expected help readable in the source). */
const lines = (...ls: string[]) => ls.join('\n');

describe('renderHelp: leaf commands', () => {
  it('berth run --help (no wrapping): usage, description, aliases, aligned sorted options', () => {
    const expected = lines(
      'Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]',
      '',
      'Create and run a new container from an image',
      '',
      'Aliases:',
      '  berth container run, berth run',
      '',
      'Options:',
      '      --blkio-weight uint16        Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)',
      '  -d, --detach                     Run container in background and print container ID',
      '  -e, --env list                   Set environment variables',
      '      --health-interval duration   Time between running the check (ms|s|m|h) (default 0s)',
      '  -h, --hostname string            Container host name',
      '  -i, --interactive                Keep STDIN open even if not attached',
      '  -m, --memory bytes               Memory limit',
      '      --name string                Assign a name to the container',
      "  -p, --publish list               Publish a container's port(s) to the host",
      '      --rm                         Automatically remove the container and its associated anonymous volumes when it exits',
      '      --stop-timeout int           Timeout (in seconds) to stop a container',
      '  -t, --tty                        Allocate a pseudo-TTY',
      '',
    );
    assert.equal(renderHelp([root, run], { width: 0 }), expected);
  });

  it('berth run --help wraps descriptions at width - 1 with aligned continuation lines', () => {
    const out = renderHelp([root, run], { width: 80 });
    const all = out.split('\n');
    const at = all.findIndex((l) => l.startsWith('      --rm '));
    assert.deepEqual(all.slice(at, at + 4), [
      '      --rm                         Automatically remove the container and',
      '                                   its associated anonymous volumes when',
      '                                   it exits',
      '      --stop-timeout int           Timeout (in seconds) to stop a container',
    ]);
    for (const l of out.split('\n')) assert.ok(l.length <= 79, `too long: ${l}`);
  });

  it('berth ps --help: default values and type-name overrides (docker’s own wrapping)', () => {
    const expected = lines(
      'Usage:  berth ps [OPTIONS]',
      '',
      'List containers',
      '',
      'Aliases:',
      '  berth container ls, berth container list, berth container ps, berth ps',
      '',
      'Options:',
      '  -a, --all             Show all containers (default shows just running)',
      '  -f, --filter filter   Filter output based on conditions provided',
      '      --format string   Format output',
      '  -n, --last int        Show n last created containers (includes all',
      '                        states) (default -1)',
      '  -q, --quiet           Only display container IDs',
      '',
    );
    assert.equal(renderHelp([root, ps]), expected);
    assert.equal(renderHelp([root, container, containerLs]), expected.replace('berth ps [OPTIONS]', 'berth container ls [OPTIONS]'));
  });

  it('aliases without aliasPaths: the path, then each alias under the same parent', () => {
    assert.ok(renderHelp([root, image, imageLs]).includes('\nAliases:\n  berth image ls, berth image images, berth image list\n'));
    assert.ok(renderHelp([root, image, imageRm]).includes('\nAliases:\n  berth image rm, berth image remove, berth rmi\n'));
  });

  it('a command with no visible flags and no aliases has no such sections', () => {
    const bare = defineCommand({ name: 'pause', usage: 'CONTAINER [CONTAINER...]', short: 'Pause all processes within one or more containers' });
    assert.equal(
      renderHelp([root, bare]),
      lines('Usage:  berth pause CONTAINER [CONTAINER...]', '', 'Pause all processes within one or more containers', ''),
    );
    assert.equal(renderHelp([root, tag]).includes('Options:'), false);
  });

  it('long description, examples', () => {
    const cmd = defineCommand({
      name: 'x',
      short: 'Short text',
      long: '\n  Long text\nsecond line  \n',
      example: '  $ berth x',
      usage: 'ARG',
    });
    assert.equal(renderHelp([root, cmd]), lines('Usage:  berth x ARG', '', 'Long text\nsecond line', '', 'Examples:', '  $ berth x', ''));
  });

  it('renderUsage is renderHelp (docker 28 begins --help with the usage line)', () => {
    assert.equal(renderUsage([root, ps]), renderHelp([root, ps]));
  });
});

describe('renderHelp: management commands', () => {
  it('berth container --help', () => {
    const expected = lines(
      'Usage:  berth container COMMAND',
      '',
      'Manage containers',
      '',
      'Commands:',
      '  logs        Fetch the logs of a container',
      '  ls          List containers',
      '  rm          Remove one or more containers',
      '  run         Create and run a new container from an image',
      '  wait        Block until one or more containers stop, then print their exit codes',
      '',
      "Run 'berth container COMMAND --help' for more information on a command.",
      '',
    );
    assert.equal(renderHelp([root, container]), expected);
  });
  it('nested management commands and [OPTIONS] when the command has visible flags', () => {
    const leaf = defineCommand({ name: 'inspect', short: 'Inspect a thing' });
    const nested = defineCommand({ name: 'sub', short: 'Manage subs', subcommands: [leaf] });
    const mgmt = defineCommand({
      name: 'swarmish',
      short: 'Manage it',
      flags: defineFlags({ all: { short: 'a', long: 'all', kind: 'bool', help: 'All' } }),
      subcommands: [nested, leaf],
    });
    assert.equal(
      renderHelp([root, mgmt]),
      lines(
        'Usage:  berth swarmish [OPTIONS] COMMAND',
        '',
        'Manage it',
        '',
        'Options:',
        '  -a, --all   All',
        '',
        'Management Commands:',
        '  sub         Manage subs',
        '',
        'Commands:',
        '  inspect     Inspect a thing',
        '',
        "Run 'berth swarmish COMMAND --help' for more information on a command.",
        '',
      ),
    );
  });
});

describe('renderHelp: the root', () => {
  it('berth --help: Common / Management / Commands / Global Options, footer', () => {
    const expected = lines(
      'Usage:  berth [OPTIONS] COMMAND',
      '',
      'A self-sufficient runtime for containers',
      '',
      'Common Commands:',
      '  run         Create and run a new container from an image',
      '  exec        Execute a command in a running container',
      '  ps          List containers',
      '  version     Show the Berth version information',
      '',
      'Management Commands:',
      '  container   Manage containers',
      '  image       Manage images',
      '',
      'Commands:',
      '  logs        Fetch the logs of a container',
      '  port        List port mappings or a specific mapping for the container',
      '  rm          Remove one or more containers',
      '  rmi         Remove one or more images',
      '  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
      '  wait        Block until one or more containers stop, then print their exit codes',
      '',
      'Global Options:',
      '      --config string      Location of client config files (default',
      '                           "/root/.berth")',
      '  -D, --debug              Enable debug mode',
      '  -H, --host list          Daemon socket to connect to',
      '  -l, --log-level string   Set the logging level ("debug", "info",',
      '                           "warn", "error", "fatal") (default "info")',
      '  -v, --version            Print version information and quit',
      '',
      "Run 'berth COMMAND --help' for more information on a command.",
      '',
      'For more help on how to use Berth, head to https://example.invalid/berth',
      '',
    );
    assert.equal(renderHelp([root]), expected);
  });
  it('hidden commands are not listed but still widen the name column (cobra)', () => {
    const a = defineCommand({ name: 'a', short: 'A' });
    const h = defineCommand({ name: 'a-very-long-hidden', short: 'H', hidden: true });
    const t = defineCommand({ name: 't', short: 'T', subcommands: [a, h] });
    assert.equal(
      renderHelp([t]),
      lines('Usage:  t COMMAND', '', 'T', '', 'Commands:', '  a                  A', '', "Run 't COMMAND --help' for more information on a command.", ''),
    );
  });
  it('names longer than the padding push the description', () => {
    const a = defineCommand({ name: 'a', short: 'A' });
    const b = defineCommand({ name: 'bbbbbbbbbbbbbbbb', short: 'B' });
    const t = defineCommand({ name: 't', short: 'T', subcommands: [b, a] });
    assert.ok(renderHelp([t]).includes('\n  a                A\n  bbbbbbbbbbbbbbbb B\n'));
  });
  it('explicit groups at the root; "common" keeps declaration order, others sort by name', () => {
    const z = defineCommand({ name: 'z', short: 'Z', group: 'common' });
    const y = defineCommand({ name: 'y', short: 'Y', group: 'common' });
    const m = defineCommand({ name: 'm', short: 'M', group: 'management' });
    const c = defineCommand({ name: 'c', short: 'C' });
    const b = defineCommand({ name: 'b', short: 'B' });
    const t = defineCommand({ name: 't', short: 'T', subcommands: [z, c, y, m, b] });
    assert.ok(
      renderHelp([t]).includes(
        lines('Common Commands:', '  z           Z', '  y           Y', '', 'Management Commands:', '  m           M', '', 'Commands:', '  b           B', '  c           C', ''),
      ),
    );
  });
});

describe('flagUsages', () => {
  it('sorts by long name, aligns at longest + 3, omits hidden and deprecated', () => {
    const flags = defineFlags({
      zeta: { short: 'z', long: 'zeta', kind: 'bool', help: 'Z' },
      alpha: { long: 'alpha', kind: 'string', help: 'A' },
      secret: { long: 'secret', kind: 'bool', help: 'S', hidden: true },
      old: { long: 'old', kind: 'bool', help: 'O', deprecated: 'gone' },
      mid: { short: 'm', long: 'mid', kind: 'stringArray', help: 'M' },
    });
    assert.equal(flagUsages(flags, 0), lines('      --alpha string   A', '  -m, --mid list       M', '  -z, --zeta           Z', ''));
  });
  it('default suffixes per kind (pflag rules)', () => {
    const flags = defineFlags({
      a: { long: 'a', kind: 'string', default: 'info', help: 'h' },
      b: { long: 'b', kind: 'string', default: '', help: 'h' },
      c: { long: 'c', kind: 'string', default: '0', typeName: 'bytes', help: 'h' },
      d: { long: 'd', kind: 'int', default: 10, help: 'h' },
      e: { long: 'e', kind: 'int', default: 0, help: 'h' },
      f: { long: 'f', kind: 'bool', default: true, help: 'h' },
      g: { long: 'g', kind: 'bool', default: false, help: 'h' },
      h: { long: 'h', kind: 'duration', default: 30e9, help: 'h' },
      i: { long: 'i', kind: 'stringArray', default: ['x', 'y,z'], help: 'h' },
      j: { long: 'j', kind: 'stringSlice', default: [], help: 'h' },
      k: { long: 'k', kind: 'string', default: 'x', defaultText: '"$HOME/.berth"', help: 'h' },
      l: { long: 'l', kind: 'int', default: 5, defaultText: '', help: 'h' },
      m: { long: 'm', kind: 'uint', bits: 16, default: 7, help: 'h' },
      n: { long: 'n', kind: 'string', parse: (v: string) => Number(v), default: 3, help: 'h' },
      o: { long: 'o', kind: 'string', default: 'q"', help: 'h' },
    });
    assert.equal(
      flagUsages(flags, 0),
      lines(
        '      --a string     h (default "info")',
        '      --b string     h',
        '      --c bytes      h (default 0)',
        '      --d int        h (default 10)',
        '      --e int        h',
        '      --f            h (default true)',
        '      --g            h',
        '      --h duration   h (default 30s)',
        '      --i list       h (default [x,"y,z"])',
        '      --j strings    h',
        '      --k string     h (default "$HOME/.berth")',
        '      --l int        h',
        '      --m uint16     h (default 7)',
        '      --n string     h (default 3)',
        '      --o string     h (default "q\\"")',
        '',
      ),
    );
  });
  it('a `backquoted` word in the help names the value (pflag UnquoteUsage)', () => {
    const flags = defineFlags({ f: { long: 'format', kind: 'string', help: 'Pretty-print using a Go `template`' } });
    assert.equal(flagUsages(flags, 0), '      --format template   Pretty-print using a Go template\n');
  });
  it('no flags → empty', () => {
    assert.equal(flagUsages(undefined), '');
    assert.equal(flagUsages({}), '');
  });
});

describe('wrapText (pflag wrap)', () => {
  const words = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen';
  it('does not wrap when cols is 0, but indents embedded newlines', () => {
    assert.equal(wrapText(4, 0, 'a\nb'), 'a\n    b');
  });
  it('wraps to cols - indent with 5 columns of slop', () => {
    // indent 10, cols 40: wrap at 25 chars, or take the rest if it fits in 30
    assert.equal(wrapText(10, 40, words), 'one two three four five\n          six seven eight nine ten\n          eleven twelve thirteen\n          fourteen');
    assert.equal(wrapText(10, 40, 'x'.repeat(29)), 'x'.repeat(29));
  });
  it('starts on a new line at column 16 when fewer than 24 columns remain', () => {
    const out = wrapText(30, 50, words);
    assert.ok(out.startsWith('\n' + ' '.repeat(16) + 'one two'), JSON.stringify(out));
  });
  it('gives up wrapping when even that is too narrow', () => {
    // pflag returns the text unwrapped on the current line, embedded newlines indented to 16
    assert.equal(wrapText(30, 35, words), words);
    assert.equal(wrapText(30, 35, 'a\nb'), 'a\n' + ' '.repeat(16) + 'b');
  });
  it('long words are not broken', () => {
    assert.equal(wrapText(0, 30, 'x'.repeat(50)), 'x'.repeat(50));
  });
});
