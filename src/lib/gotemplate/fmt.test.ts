import { test } from 'node:test';
import assert from 'node:assert/strict';

import { sprint, sprintf, sprintln } from './fmt.ts';
import { formatFloat } from './ftoa.ts';
import { STRUCT } from './values.ts';

function check(cases: Array<[string, unknown[], string]>): void {
  for (const [format, args, want] of cases) {
    assert.equal(sprintf(format, ...args), want, `${format} ${JSON.stringify(args, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  }
}

test('strings: %s %v %q %x, width, precision, flags', () => {
  check([
    ['%s', ['abc'], 'abc'],
    ['%v', ['abc'], 'abc'],
    ['%-20s|', ['abc'], 'abc                 |'],
    ['%20s|', ['abc'], '                 abc|'],
    ['%-10s|', ['héllo'], 'héllo     |'],
    ['%.2s', ['héllo'], 'hé'],
    ['%10.3s|', ['abcdef'], '       abc|'],
    ['%05s', ['ab'], '   ab'], // the 0 flag is ignored for strings (Go 1.23+)
    ['%q', ['a"b\n'], '"a\\"b\\n"'],
    ['%q', ['é\u00a0\x01'], '"é\\u00a0\\x01"'],
    ['%+q', ['é'], '"\\u00e9"'],
    ['%#q', ['abc'], '`abc`'],
    ['%#q', ['a`b'], '"a`b"'],
    ['%x', ['hi'], '6869'],
    ['%X', ['hi'], '6869'],
    ['% x', ['hi'], '68 69'],
    ['%#x', ['hi'], '0x6869'],
    ['% #x', ['hi'], '0x68 0x69'],
    ['%x', ['é'], 'c3a9'],
    ['%8x|', ['hi'], '    6869|'],
    ['%%', [], '%'],
    ['100%%', [], '100%'],
  ]);
});

test('integers: %d %b %o %O %x %X %c %q %U and flags', () => {
  check([
    ['%d', [42], '42'],
    ['%d', [-42], '-42'],
    ['%5d|', [42], '   42|'],
    ['%-5d|', [42], '42   |'],
    ['%05d', [-42], '-0042'],
    ['%+d', [5], '+5'],
    ['% d', [5], ' 5'],
    ['%.3d', [7], '007'],
    ['%6.3d|', [7], '   007|'],
    ['%.0d|', [0], '|'],
    ['%x', [255], 'ff'],
    ['%X', [255], 'FF'],
    ['%#x', [255], '0xff'],
    ['%#08x', [255], '0x000000ff'],
    ['%x', [-255], '-ff'],
    ['%o', [8], '10'],
    ['%#o', [8], '010'],
    ['%O', [8], '0o10'],
    ['%b', [5], '101'],
    ['%#b', [5], '0b101'],
    ['%c', [0x41], 'A'],
    ['%c', [0x1f600], '😀'],
    ['%q', [0x41], "'A'"],
    ['%q', [10], "'\\n'"],
    ['%+q', [0xe9], "'\\u00e9'"],
    ['%U', [0x1f600], 'U+1F600'],
    ['%U', [0x41], 'U+0041'],
    ['%#U', [0x41], "U+0041 'A'"],
    ['%d', [12345678901234567890n], '12345678901234567890'],
    ['%x', [2n ** 64n], '10000000000000000'],
    ['%v', [7], '7'],
    ['%t', [true], 'true'],
    ['%v', [false], 'false'],
    ['%6t|', [true], '  true|'],
  ]);
});

test('floats: %f %e %g %v, rounding half to even on the exact value', () => {
  check([
    ['%f', [3.14159], '3.141590'],
    ['%5.2f', [3.14159], ' 3.14'],
    ['%.2f', [2.675], '2.67'],
    ['%.0f', [0.5], '0'],
    ['%.0f', [1.5], '2'],
    ['%.0f', [2.5], '2'],
    ['%.2f', [0.125], '0.12'],
    ['%.2f', [0.375], '0.38'],
    ['%.1f', [0.05], '0.1'],
    ['%.2f', [1.005], '1.00'],
    ['%+.1f', [2.25], '+2.2'],
    ['%6.2f|', [-1.5], ' -1.50|'],
    ['%-8.2f|', [1.5], '1.50    |'],
    ['%08.3f', [-3.14159], '-003.142'],
    ['%+08.2f', [3.14159], '+0003.14'],
    ['% .2f', [3.14159], ' 3.14'],
    ['%.3f', [1e-10], '0.000'],
    ['%.2f', [1e22], '10000000000000000000000.00'],
    ['%e', [1234.5678], '1.234568e+03'],
    ['%E', [1234.5678], '1.234568E+03'],
    ['%.2e', [0.000123], '1.23e-04'],
    ['%e', [1e100], '1.000000e+100'],
    ['%g', [1234.5678], '1234.5678'],
    ['%g', [0.00001234], '1.234e-05'],
    ['%g', [1e-7], '1e-07'],
    ['%G', [1e-7], '1E-07'],
    ['%.3g', [1234.5678], '1.23e+03'],
    ['%.3g', [3.14159], '3.14'],
    ['%.10g', [0.5], '0.5'],
    ['%v', [1.5], '1.5'],
    ['%v', [0.1 + 0.2], '0.30000000000000004'],
    ['%v', [1234567.5], '1.2345675e+06'],
    ['%v', [123456.5], '123456.5'],
    ['%v', [0.0001], '0.0001'],
    ['%v', [0.00001], '1e-05'],
    ['%v', [-2.5], '-2.5'],
    ['%v', [NaN], 'NaN'],
    ['%v', [Infinity], '+Inf'],
    ['%f', [-Infinity], '-Inf'],
    ['%5.1f|', [NaN], '  NaN|'],
    ['%+f', [NaN], '+NaN'],
    ['%+v', [NaN], 'NaN'],
    ['%05v', [Infinity], ' +Inf'],
    ['%.1v', [3.14159], '3'],
    // integral numbers are ints in JS, but float verbs still format them as floats
    ['%.2f', [3], '3.00'],
    ['%e', [100], '1.000000e+02'],
    ['%g', [1e21], '1e+21'],
  ]);
  assert.equal(formatFloat(0, 'e', -1), '0e+00');
  assert.equal(formatFloat(0, 'g', -1), '0');
  assert.equal(formatFloat(0, 'f', 2), '0.00');
  assert.equal(formatFloat(-0, 'g', -1), '-0');
  assert.equal(formatFloat(5e-324, 'e', 3), '4.941e-324');
  assert.equal(formatFloat(1.7976931348623157e308, 'g', -1), '1.7976931348623157e+308');
  assert.equal(formatFloat(9.5, 'f', 0), '10');
  assert.equal(formatFloat(0.95, 'f', 1), '0.9');
});

test('composite values: slices, maps, structs', () => {
  const st = { [STRUCT]: 'main.T', A: 1, B: 'x', C: [1, 2] };
  check([
    ['%v', [[1, 'a', null, true]], '[1 a <nil> true]'],
    ['%d', [[1, 2]], '[1 2]'],
    ['%q', [['a', 'b']], '["a" "b"]'],
    ['%s', [[1]], '[%!s(int=1)]'],
    ['%5v', [[1, 2]], '[    1     2]'],
    ['%v', [[]], '[]'],
    ['%v', [[[1], [2, 3]]], '[[1] [2 3]]'],
    ['%v', [{ b: 1, a: 'x', c: { z: 1 } }], 'map[a:x b:1 c:map[z:1]]'],
    ['%v', [{}], 'map[]'],
    ['%v', [new Map<unknown, unknown>([[2, 'b'], [1, 'a']])], 'map[1:a 2:b]'],
    ['%v', [new Map([['b', 1], ['a', 2]])], 'map[a:2 b:1]'],
    ['%v', [st], '{1 x [1 2]}'],
    ['%+v', [st], '{A:1 B:x C:[1 2]}'],
    ['%#v', [st], 'main.T{A:1, B:"x", C:[]interface {}{1, 2}}'],
    ['%#v', [{ a: 'x' }], 'map[string]interface {}{"a":"x"}'],
    ['%#v', ['s'], '"s"'],
    ['%v', [new Uint8Array([104, 105])], '[104 105]'],
    ['%s', [new Uint8Array([104, 105])], 'hi'],
    ['%x', [new Uint8Array([1, 255])], '01ff'],
    ['%v', [new Date(Date.UTC(2024, 0, 2, 3, 4, 5))], '2024-01-02 03:04:05 +0000 UTC'],
    ['%v', [new Error('boom')], 'boom'],
    ['%s', [new Error('boom')], 'boom'],
    ['%v', [{ e: new Error('inner') }], 'map[e:inner]'],
  ]);
  class Dur {
    ms = 1500;
    toString(): string {
      return '1.5s';
    }
  }
  assert.equal(sprintf('%v|%s|%d', new Dur(), new Dur(), new Dur()), '1.5s|1.5s|{1500}');
});

test('%T names Go-ish types', () => {
  assert.equal(
    sprintf('%T %T %T %T %T %T %T', 1, 1.5, 's', true, [1], { a: 1 }, { [STRUCT]: 'X' }),
    'int float64 string bool []interface {} map[string]interface {} X',
  );
  assert.equal(sprintf('%T', null), '<nil>');
});

test('bad verbs, missing and extra arguments, indexes, star widths', () => {
  check([
    ['%d', ['x'], '%!d(string=x)'],
    ['%s', [5], '%!s(int=5)'],
    ['%d', [1.5], '%!d(float64=1.5)'],
    ['%z', [true], '%!z(bool=true)'],
    ['%s', [null], '%!s(<nil>)'],
    ['%v', [null], '<nil>'],
    ['%v', [undefined], '<nil>'],
    ['%d %s', ['x'], '%!d(string=x) %!s(MISSING)'],
    ['%d', [1, 2, 'a'], '1%!(EXTRA int=2, string=a)'],
    ['%d', [1, null], '1%!(EXTRA <nil>)'],
    ['x', [1], 'x%!(EXTRA int=1)'],
    ['%', [], '%!(NOVERB)'],
    ['%!', [], '%!!(MISSING)'],
    ['%[2]s %[1]s', ['a', 'b'], 'b a'],
    ['%[2]d %d', [1, 2, 3], '2 3'],
    ['%[3]d', [1], '%!d(BADINDEX)'],
    ['%[1]d %[1]x', [255], '255 ff'],
    ['%*d|', [5, 42], '   42|'],
    ['%-*d|', [5, 42], '42   |'],
    ['%*d|', [-5, 42], '42   |'],
    ['%.*f', [2, 3.14159], '3.14'],
    ['%*d', ['x', 42], '%!(BADWIDTH)42'],
    ['%.*d', ['x', 42], '%!(BADPREC)42'],
    ['%5d', ['ab'], '%!d(string=   ab)'],
  ]);
});

test('Sprint and Sprintln spacing', () => {
  assert.equal(sprint('a', 1, 2, 'b', 'c', 3), 'a1 2bc3');
  assert.equal(sprint(1, 2), '1 2');
  assert.equal(sprint('a', 'b'), 'ab');
  assert.equal(sprint(null, 1), '<nil> 1');
  assert.equal(sprint(), '');
  assert.equal(sprintln('a', 1, 'b'), 'a 1 b\n');
  assert.equal(sprintln(), '\n');
});
