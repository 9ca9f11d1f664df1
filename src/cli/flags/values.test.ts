import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatCsvList,
  formatGoDuration,
  parseCsvRecord,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoUint,
} from './values.ts';
import { goQuote, goQuoteRune } from './errors.ts';

describe('goQuote (Go %q)', () => {
  it('quotes plain strings', () => {
    assert.equal(goQuote('abc'), '"abc"');
    assert.equal(goQuote(''), '""');
    assert.equal(goQuote('-n, --last'), '"-n, --last"');
  });
  it('escapes quotes, backslashes and control characters like Go', () => {
    assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(goQuote('a\nb\tc\r'), '"a\\nb\\tc\\r"');
    assert.equal(goQuote('\x00\x07\x1b\x7f'), '"\\x00\\a\\x1b\\x7f"');
    assert.equal(goQuote('\u200b'), '"\\u200b"');
  });
  it('keeps printable unicode', () => {
    assert.equal(goQuote('héllo 世界 🚀'), '"héllo 世界 🚀"');
  });
  it('quotes runes', () => {
    assert.equal(goQuoteRune('z'), "'z'");
    assert.equal(goQuoteRune("'"), "'\\''");
    assert.equal(goQuoteRune('"'), `'"'`);
    assert.equal(goQuoteRune('\\'), "'\\\\'");
  });
});

describe('parseGoBool (strconv.ParseBool)', () => {
  it('accepts Go spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true, t);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false, f);
  });
  it('rejects others with the Go message', () => {
    assert.throws(() => parseGoBool('yes'), { message: 'strconv.ParseBool: parsing "yes": invalid syntax' });
    assert.throws(() => parseGoBool(''), { message: 'strconv.ParseBool: parsing "": invalid syntax' });
    assert.throws(() => parseGoBool('tRUE'), { message: 'strconv.ParseBool: parsing "tRUE": invalid syntax' });
  });
});

describe('parseGoInt (strconv.ParseInt base 0)', () => {
  it('parses decimal, signs and base prefixes', () => {
    assert.equal(parseGoInt('42'), 42);
    assert.equal(parseGoInt('-1'), -1);
    assert.equal(parseGoInt('+7'), 7);
    assert.equal(parseGoInt('0'), 0);
    assert.equal(parseGoInt('0x1F'), 31);
    assert.equal(parseGoInt('0X1f'), 31);
    assert.equal(parseGoInt('0o17'), 15);
    assert.equal(parseGoInt('017'), 15);
    assert.equal(parseGoInt('0b101'), 5);
    assert.equal(parseGoInt('-0x10'), -16);
  });
  it('allows underscores only between digits', () => {
    assert.equal(parseGoInt('1_000'), 1000);
    assert.equal(parseGoInt('0x_ff'), 255);
    for (const bad of ['_1', '1_', '1__0', '0_x1']) {
      assert.throws(() => parseGoInt(bad), { message: `strconv.ParseInt: parsing ${goQuote(bad)}: invalid syntax` }, bad);
    }
  });
  it('reports syntax errors like Go', () => {
    assert.throws(() => parseGoInt('abc'), { message: 'strconv.ParseInt: parsing "abc": invalid syntax' });
    assert.throws(() => parseGoInt(''), { message: 'strconv.ParseInt: parsing "": invalid syntax' });
    assert.throws(() => parseGoInt('-'), { message: 'strconv.ParseInt: parsing "-": invalid syntax' });
    assert.throws(() => parseGoInt('1.5'), { message: 'strconv.ParseInt: parsing "1.5": invalid syntax' });
    assert.throws(() => parseGoInt('09'), { message: 'strconv.ParseInt: parsing "09": invalid syntax' });
    assert.throws(() => parseGoInt('0x'), { message: 'strconv.ParseInt: parsing "0x": invalid syntax' });
    assert.throws(() => parseGoInt(' 1'), { message: 'strconv.ParseInt: parsing " 1": invalid syntax' });
  });
  it('reports range errors like Go', () => {
    assert.equal(parseGoInt('-9223372036854775808'), -9223372036854775808);
    assert.throws(() => parseGoInt('9223372036854775808'), { message: 'strconv.ParseInt: parsing "9223372036854775808": value out of range' });
    assert.throws(() => parseGoInt('-9223372036854775809'), { message: 'strconv.ParseInt: parsing "-9223372036854775809": value out of range' });
    assert.throws(() => parseGoInt('99999999999999999999999'), { message: 'strconv.ParseInt: parsing "99999999999999999999999": value out of range' });
    assert.throws(() => parseGoInt('128', 8), { message: 'strconv.ParseInt: parsing "128": value out of range' });
    assert.equal(parseGoInt('-128', 8), -128);
  });
});

describe('parseGoUint (strconv.ParseUint base 0)', () => {
  it('parses and range-checks by bit size', () => {
    assert.equal(parseGoUint('65535', 16), 65535);
    assert.throws(() => parseGoUint('65536', 16), { message: 'strconv.ParseUint: parsing "65536": value out of range' });
    assert.throws(() => parseGoUint('-1', 16), { message: 'strconv.ParseUint: parsing "-1": invalid syntax' });
    assert.throws(() => parseGoUint('+1'), { message: 'strconv.ParseUint: parsing "+1": invalid syntax' });
    assert.equal(parseGoUint('0x10'), 16);
  });
});

describe('parseGoDuration (time.ParseDuration)', () => {
  it('parses units, fractions, signs and sums', () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-0'), 0);
    assert.equal(parseGoDuration('300ms'), 300e6);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('.5s'), 0.5e9);
    assert.equal(parseGoDuration('1.s'), 1e9);
    assert.equal(parseGoDuration('-1.5h'), -1.5 * 3600e9);
    assert.equal(parseGoDuration('2h45m'), (2 * 3600 + 45 * 60) * 1e9);
    assert.equal(parseGoDuration('1h1m1s1ms1us1ns'), 3661001001001);
    assert.equal(parseGoDuration('1µs'), 1000);
    assert.equal(parseGoDuration('1μs'), 1000);
    assert.equal(parseGoDuration('+5m'), 300e9);
  });
  it('reports errors with Go texts', () => {
    assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
    assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
    assert.throws(() => parseGoDuration('1'), { message: 'time: missing unit in duration "1"' });
    assert.throws(() => parseGoDuration('10x'), { message: 'time: unknown unit "x" in duration "10x"' });
    assert.throws(() => parseGoDuration('.s'), { message: 'time: invalid duration ".s"' });
    assert.throws(() => parseGoDuration('1s2'), { message: 'time: missing unit in duration "1s2"' });
    assert.throws(() => parseGoDuration('1é'), { message: 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"' });
    assert.throws(() => parseGoDuration('9999999999h'), { message: 'time: invalid duration "9999999999h"' });
  });
});

describe('formatGoDuration (time.Duration.String)', () => {
  it('formats like Go', () => {
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(formatGoDuration(1), '1ns');
    assert.equal(formatGoDuration(1500), '1.5µs');
    assert.equal(formatGoDuration(1.5e6), '1.5ms');
    assert.equal(formatGoDuration(30e9), '30s');
    assert.equal(formatGoDuration(90e9), '1m30s');
    assert.equal(formatGoDuration(3600e9), '1h0m0s');
    assert.equal(formatGoDuration(1.5e9), '1.5s');
    assert.equal(formatGoDuration(-2e9), '-2s');
    assert.equal(formatGoDuration(3661001001001), '1h1m1.001001001s');
  });
});

describe('CSV (stringSlice values)', () => {
  it('splits on commas with quoting', () => {
    assert.deepEqual(parseCsvRecord('a,b,c'), ['a', 'b', 'c']);
    assert.deepEqual(parseCsvRecord(''), []);
    assert.deepEqual(parseCsvRecord('a,'), ['a', '']);
    assert.deepEqual(parseCsvRecord('"a,b",c'), ['a,b', 'c']);
    assert.deepEqual(parseCsvRecord('"say ""hi""",x'), ['say "hi"', 'x']);
    assert.deepEqual(parseCsvRecord(' a , b'), [' a ', ' b']);
  });
  it('rejects bare and unterminated quotes', () => {
    assert.throws(() => parseCsvRecord('a"b'), { message: 'parse error on line 1, column 2: bare " in non-quoted-field' });
    assert.throws(() => parseCsvRecord('"ab'), /extraneous or missing " in quoted-field/);
    assert.throws(() => parseCsvRecord('"a"b'), /extraneous or missing " in quoted-field/);
  });
  it('formats defaults like pflag', () => {
    assert.equal(formatCsvList(['a', 'b']), '[a,b]');
    assert.equal(formatCsvList(['a,b', 'c']), '["a,b",c]');
    assert.equal(formatCsvList([]), '[]');
  });
});
