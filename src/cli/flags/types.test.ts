/**
 * Type-inference checks: these are verified by `tsc -p .` (the runtime test only makes sure the
 * file loads). A wrong inference makes `Expect<Equal<…>>` fail to compile.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { defineCommand, defineFlags } from './spec.ts';
import type { AnyCommand, FlagValues, Parsed } from './spec.ts';
import { invokes, parseCommand, parseCommandLine, parseFlags } from './parse.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

const flags = defineFlags({
  detach: { short: 'd', long: 'detach', kind: 'bool', help: '' },
  env: { short: 'e', long: 'env', kind: 'stringArray', help: '', typeName: 'list' },
  memory: { short: 'm', long: 'memory', kind: 'string', help: '', typeName: 'bytes' },
  name: { long: 'name', kind: 'string', default: 'x', help: '' },
  last: { short: 'n', long: 'last', kind: 'int', default: -1, help: '' },
  timeout: { long: 'time', kind: 'int', help: '' },
  weight: { long: 'weight', kind: 'uint', bits: 16, help: '' },
  interval: { long: 'interval', kind: 'duration', help: '' },
  size: { long: 'size', kind: 'string', help: '', parse: (v: string) => BigInt(v) },
  sizeD: { long: 'size-d', kind: 'string', help: '', parse: (v: string) => Number(v), default: 0 },
  ports: { long: 'port', kind: 'stringArray', help: '', parse: (v: string) => ({ port: Number(v) }) },
  caps: { long: 'cap', kind: 'stringSlice', help: '' },
});

type V = FlagValues<typeof flags>;
export type Checks = [
  Expect<Equal<V['detach'], boolean>>,
  Expect<Equal<V['env'], string[]>>,
  Expect<Equal<V['memory'], string | undefined>>,
  Expect<Equal<V['name'], string>>,
  Expect<Equal<V['last'], number>>,
  Expect<Equal<V['timeout'], number | undefined>>,
  Expect<Equal<V['weight'], number | undefined>>,
  Expect<Equal<V['interval'], number | undefined>>,
  Expect<Equal<V['size'], bigint | undefined>>,
  Expect<Equal<V['sizeD'], number>>,
  Expect<Equal<V['ports'], { port: number }[]>>,
  Expect<Equal<V['caps'], string[]>>,
  Expect<Equal<keyof V, keyof typeof flags>>,
];

const cmd = defineCommand({ name: 'run', short: 'Run', flags, args: { min: 1 }, interspersed: false });
const bare = defineCommand({ name: 'bare', short: 'Bare' });
const root = defineCommand({ name: 'berth', short: 'root', subcommands: [cmd, bare] });

export function typedUse(argv: string[]): void {
  const p = parseFlags(flags, argv);
  const d: boolean = p.flags.detach;
  const s: ReadonlySet<'detach' | 'env' | 'memory' | 'name' | 'last' | 'timeout' | 'weight' | 'interval' | 'size' | 'sizeD' | 'ports' | 'caps'> = p.set;
  // @ts-expect-error not a declared flag
  void p.flags.nope;
  // @ts-expect-error string | undefined is not a string
  const m: string = p.flags.memory;
  void [d, s, m];

  const q: Parsed<typeof flags> = parseCommand(cmd, argv, [root, cmd]);
  void q;
  const inv = parseCommandLine(root, argv);
  if (invokes(inv, cmd)) {
    const env: string[] = inv.parsed.flags.env;
    void env;
  }
  const trees: AnyCommand[] = [cmd, bare, root];
  void trees;
}

// declaration mistakes are compile errors
defineFlags({
  // @ts-expect-error unknown kind
  a: { long: 'a', kind: 'float', help: '' },
});
defineFlags({
  // @ts-expect-error a bool default must be boolean
  a: { long: 'a', kind: 'bool', help: '', default: 'yes' },
});
defineFlags({
  // @ts-expect-error a string default must be a string (without parse)
  a: { long: 'a', kind: 'string', help: '', default: 1 },
});
defineFlags({
  // @ts-expect-error long is required
  a: { short: 'a', kind: 'bool', help: '' },
});

it('type checks compile (see tsc)', () => {
  assert.equal(typeof typedUse, 'function');
});
