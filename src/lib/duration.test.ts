import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidParameter } from '../errdefs/index.ts';
import {
  NANOSECOND as NS,
  MICROSECOND as US,
  MILLISECOND as MS,
  SECOND as S,
  MINUTE as M,
  HOUR as H,
  parseDuration,
  parseDurationMs,
  formatDuration,
  parseGoTime,
  RFC3339,
  RFC3339_NANO,
  formatRFC3339Nano,
  parseRFC3339Nano,
  GO_ZERO_TIME_NS,
  getTimestamp,
  parseUnixTimestamp,
  parseTimestamps,
  parseTimestamp,
  nowNs,
} from './duration.ts';

function throwsMsg(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isInvalidParameter(e), String(e));
    assert.equal((e as Error).message, message);
    return true;
  });
}

test('parseDuration: Go parseDurationTests', () => {
  const cases: Array<[string, bigint]> = [
    ['0', 0n],
    ['5s', 5n * S],
    ['30s', 30n * S],
    ['1478s', 1478n * S],
    ['-5s', -5n * S],
    ['+5s', 5n * S],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5n * S],
    ['5.6s', 5n * S + 600n * MS],
    ['5.s', 5n * S],
    ['.5s', 500n * MS],
    ['1.0s', 1n * S],
    ['1.00s', 1n * S],
    ['1.004s', 1n * S + 4n * MS],
    ['1.0040s', 1n * S + 4n * MS],
    ['100.00100s', 100n * S + 1n * MS],
    ['10ns', 10n * NS],
    ['11us', 11n * US],
    ['12\u00b5s', 12n * US],
    ['12\u03bcs', 12n * US],
    ['13ms', 13n * MS],
    ['14s', 14n * S],
    ['15m', 15n * M],
    ['16h', 16n * H],
    ['3h30m', 3n * H + 30n * M],
    ['10.5s4m', 4n * M + 10n * S + 500n * MS],
    ['-2m3.4s', -(2n * M + 3n * S + 400n * MS)],
    ['1h2m3s4ms5us6ns', 1n * H + 2n * M + 3n * S + 4n * MS + 5n * US + 6n * NS],
    ['39h9m14.425s', 39n * H + 9n * M + 14n * S + 425n * MS],
    ['52763797000ns', 52763797000n * NS],
    ['0.3333333333333333333h', 20n * M],
    ['9007199254740993ns', (1n << 53n) + 1n],
    ['9223372036854775807ns', (1n << 63n) - 1n],
    ['9223372036854775.807us', (1n << 63n) - 1n],
    ['9223372036s854ms775us807ns', (1n << 63n) - 1n],
    ['-9223372036854775808ns', -(1n << 63n)],
    ['-9223372036854775.808us', -(1n << 63n)],
    ['-9223372036s854ms775us808ns', -(1n << 63n)],
    ['-2562047h47m16.854775808s', -(1n << 63n)],
    ['0.100000000000000000000h', 6n * M],
    ['0.830103483285477580700h', 49n * M + 48n * S + 372539827n * NS],
    ['1h30m', 90n * M],
    ['300ms', 300n * MS],
    ['-1.5h', -90n * M],
    ['10s', 10n * S],
  ];
  for (const [s, want] of cases) assert.equal(parseDuration(s), want, s);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('1500us'), 1.5);
});

test('parseDuration: Go error table', () => {
  const invalid: Array<[string, string]> = [
    ['', '""'],
    ['-', '"-"'],
    ['.', '"."'],
    ['-.', '"-."'],
    ['.s', '".s"'],
    ['+.s', '"+.s"'],
    ['\ufffd', '"\\xef\\xbf\\xbd"'],
    ['\ufffd hello \ufffd world', '"\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"'],
    ['9223372036854775810ns', '"9223372036854775810ns"'],
    ['9223372036854775808ns', '"9223372036854775808ns"'],
    ['-9223372036854775809ns', '"-9223372036854775809ns"'],
    ['9223372036854776us', '"9223372036854776us"'],
    ['3000000h', '"3000000h"'],
    ['9223372036854775.808us', '"9223372036854775.808us"'],
    ['9223372036854ms775us808ns', '"9223372036854ms775us808ns"'],
    ['s', '"s"'],
    ['x', '"x"'],
  ];
  for (const [s, q] of invalid) throwsMsg(() => parseDuration(s), `time: invalid duration ${q}`);
  throwsMsg(() => parseDuration('3'), 'time: missing unit in duration "3"');
  throwsMsg(() => parseDuration('1h3'), 'time: missing unit in duration "1h3"');
  throwsMsg(() => parseDuration('1d'), 'time: unknown unit "d" in duration "1d"');
  throwsMsg(() => parseDuration('1.5sec'), 'time: unknown unit "sec" in duration "1.5sec"');
  throwsMsg(() => parseDuration('5 s'), 'time: unknown unit " s" in duration "5 s"');
});

test('formatDuration: Go durationTests', () => {
  const cases: Array<[string, bigint]> = [
    ['0s', 0n],
    ['1ns', 1n * NS],
    ['1.1µs', 1100n * NS],
    ['2.2ms', 2200n * US],
    ['3.3s', 3300n * MS],
    ['4m5s', 4n * M + 5n * S],
    ['4m5.001s', 4n * M + 5001n * MS],
    ['5h6m7.001s', 5n * H + 6n * M + 7001n * MS],
    ['8m0.000000001s', 8n * M + 1n * NS],
    ['2562047h47m16.854775807s', (1n << 63n) - 1n],
    ['-2562047h47m16.854775808s', -(1n << 63n)],
    ['1h30m0s', 90n * M],
    ['1h0m0s', H],
    ['-1.5s', -1500n * MS],
    ['300ms', 300n * MS],
  ];
  for (const [str, d] of cases) {
    assert.equal(formatDuration(d), str);
    assert.equal(parseDuration(str), d, `round trip ${str}`);
  }
});

test('parseGoTime: layouts and Go error texts', () => {
  assert.equal(parseGoTime(RFC3339, '2006-01-02T15:04:05Z'), 1136214245n * S);
  assert.equal(parseGoTime(RFC3339, '2006-01-02T15:04:05+07:00'), 1136189045n * S);
  assert.equal(parseGoTime(RFC3339, '2006-01-02T15:04:05.5Z'), 1136214245n * S + 500n * MS); // fraction w/o layout
  assert.equal(parseGoTime(RFC3339_NANO, '2006-01-02T15:04:05.123456789123Z'), 1136214245n * S + 123456789n);
  assert.equal(parseGoTime(RFC3339_NANO, '2006-01-02T15:04:05,25Z'), 1136214245n * S + 250n * MS);
  assert.equal(parseGoTime('2006-01-02', '1970-01-01'), 0n);
  assert.equal(parseGoTime('2006-01-02', '1970-01-01', 3600), -3600n * S);
  assert.equal(parseGoTime('2006-01-02', '2024-02-29'), 1709164800n * S);
  throwsMsg(
    () => parseGoTime(RFC3339, '2006-01-02T15:04:05'),
    'parsing time "2006-01-02T15:04:05" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
  );
  throwsMsg(
    () => parseGoTime(RFC3339, '2006-01-02 15:04:05Z'),
    'parsing time "2006-01-02 15:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 15:04:05Z" as "T"',
  );
  throwsMsg(
    () => parseGoTime(RFC3339, 'x'),
    'parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"',
  );
  throwsMsg(
    () => parseGoTime(RFC3339, '2006-1-02T15:04:05Z'),
    'parsing time "2006-1-02T15:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "1-02T15:04:05Z" as "01"',
  );
  throwsMsg(() => parseGoTime(RFC3339, '2006-13-02T15:04:05Z'), 'parsing time "2006-13-02T15:04:05Z": month out of range');
  throwsMsg(() => parseGoTime(RFC3339, '2006-02-30T15:04:05Z'), 'parsing time "2006-02-30T15:04:05Z": day out of range');
  throwsMsg(() => parseGoTime(RFC3339, '2006-02-00T15:04:05Z'), 'parsing time "2006-02-00T15:04:05Z": day out of range');
  throwsMsg(() => parseGoTime(RFC3339, '2006-01-02T24:00:00Z'), 'parsing time "2006-01-02T24:00:00Z": hour out of range');
  throwsMsg(() => parseGoTime(RFC3339, '2006-01-02T23:60:00Z'), 'parsing time "2006-01-02T23:60:00Z": minute out of range');
  throwsMsg(() => parseGoTime(RFC3339, '2006-01-02T23:00:60Z'), 'parsing time "2006-01-02T23:00:60Z": second out of range');
  throwsMsg(() => parseGoTime('2006-01-02', '2006-01-02x'), 'parsing time "2006-01-02x": extra text: "x"');
  throwsMsg(
    () => parseGoTime(RFC3339, '2006-01-02T15:04:05+0700'),
    'parsing time "2006-01-02T15:04:05+0700" as "2006-01-02T15:04:05Z07:00": cannot parse "+0700" as "Z07:00"',
  );
});

test('formatRFC3339Nano / parseRFC3339Nano', () => {
  assert.equal(formatRFC3339Nano(0n), '1970-01-01T00:00:00Z');
  assert.equal(formatRFC3339Nano(1n), '1970-01-01T00:00:00.000000001Z');
  assert.equal(formatRFC3339Nano(-1n), '1969-12-31T23:59:59.999999999Z');
  assert.equal(formatRFC3339Nano(new Date(Date.UTC(2026, 10, 23, 21, 31, 8, 100))), '2026-11-23T21:31:08.1Z');
  const ns = parseRFC3339Nano('2026-11-23T21:31:08.101475Z');
  assert.equal(formatRFC3339Nano(ns), '2026-11-23T21:31:08.101475Z');
  assert.equal(ns % S, 101475000n);
  assert.equal(parseRFC3339Nano('2026-11-23T21:31:08.101475123Z') % S, 101475123n);
  assert.equal(parseRFC3339Nano('2026-11-23T22:31:08+01:00'), parseRFC3339Nano('2026-11-23T21:31:08Z'));
  assert.equal(formatRFC3339Nano(GO_ZERO_TIME_NS), '0001-01-01T00:00:00Z');
  assert.equal(parseRFC3339Nano('0001-01-01T00:00:00Z'), GO_ZERO_TIME_NS);
  assert.equal(formatRFC3339Nano(parseRFC3339Nano('9999-12-31T23:59:59.999999999Z')), '9999-12-31T23:59:59.999999999Z');
  assert.equal(formatRFC3339Nano(parseRFC3339Nano('2000-02-29T12:00:00Z')), '2000-02-29T12:00:00Z');
  // Agreement with Date for a spread of instants.
  for (let ms = -5e12; ms < 5e12; ms += 7.77e10) {
    const d = new Date(Math.round(ms));
    const want = d.toISOString().replace(/\.?0*Z$/, 'Z');
    assert.equal(formatRFC3339Nano(d), want);
    assert.equal(parseRFC3339Nano(want), BigInt(d.getTime()) * MS);
  }
  const a = nowNs();
  const b = nowNs();
  assert.ok(b >= a);
  assert.ok(Math.abs(Number(a / MS) - Date.now()) < 50);
});

test('getTimestamp: docker TestGetTimestamp', () => {
  const now = new Date();
  const nowSec = BigInt(Math.floor(now.getTime() / 1000));
  const cases: Array<[string, string | null]> = [
    ['2006-01-02T15:04:05.999999999+07:00', '1136189045.999999999'],
    ['2006-01-02T15:04:05.999999999Z', '1136214245.999999999'],
    ['2006-01-02T15:04:05.999999999', '1136214245.999999999'],
    ['2006-01-02T15:04:05Z', '1136214245.000000000'],
    ['2006-01-02T15:04:05', '1136214245.000000000'],
    ['2006-01-02T15:04:0Z', null],
    ['2006-01-02T15:04:0', null],
    ['2006-01-02T15:04Z', '1136214240.000000000'],
    ['2006-01-02T15:04+00:00', '1136214240.000000000'],
    ['2006-01-02T15:04-00:00', '1136214240.000000000'],
    ['2006-01-02T15:04', '1136214240.000000000'],
    ['2006-01-02T15:0Z', null],
    ['2006-01-02T15:0', null],
    ['2006-01-02T15Z', '1136214000.000000000'],
    ['2006-01-02T15+00:00', '1136214000.000000000'],
    ['2006-01-02T15-00:00', '1136214000.000000000'],
    ['2006-01-02T15', '1136214000.000000000'],
    ['2006-01-02T1Z', '1136163600.000000000'],
    ['2006-01-02T1', '1136163600.000000000'],
    ['2006-01-02TZ', null],
    ['2006-01-02T', null],
    ['2006-01-02+00:00', '1136160000.000000000'],
    ['2006-01-02-00:00', '1136160000.000000000'],
    ['2006-01-02-00:01', '1136160060.000000000'],
    ['2006-01-02Z', '1136160000.000000000'],
    ['2006-01-02', '1136160000.000000000'],
    ['2015-05-13T20:39:09Z', '1431549549.000000000'],
    ['1136073600', '1136073600'],
    ['1136073600.000000001', '1136073600.000000001'],
    ['1m', (nowSec - 60n).toString()],
    ['1.5h', (nowSec - 5400n).toString()],
    ['1h30m', (nowSec - 5400n).toString()],
    ['0', '0'],
    ['invalid', null],
    ['', null],
  ];
  for (const [input, want] of cases) {
    if (want === null) assert.throws(() => getTimestamp(input, now, 0), isInvalidParameter, input);
    else assert.equal(getTimestamp(input, now, 0), want, input);
  }
  throwsMsg(() => getTimestamp('invalid', now, 0), 'failed to parse value as time or duration: "invalid"');
  throwsMsg(() => getTimestamp('', now, 0), 'failed to parse value as time or duration: ""');
  throwsMsg(
    () => getTimestamp('2006-01-02T15:0Z', now, 0),
    'parsing time "2006-01-02T15:0Z" as "2006-01-02T15:04Z07:00": cannot parse "0Z" as "04"',
  );
  // Values without a zone are read in the given offset.
  assert.equal(getTimestamp('2006-01-02T15:04:05', now, 3600), '1136210645.000000000');
  // Bigint `now` works the same.
  assert.equal(getTimestamp('10m', 1_700_000_000_500_000_000n, 0), '1699999400');
});

test('parseUnixTimestamp / parseTimestamps: docker TestParseTimestamps', () => {
  const cases: Array<[string, number, number, number] | [string, null]> = [
    ['20', 20, 0, -1],
    ['20.', null],
    ['20.000000000', 20, 0, -1],
    ['20.00000000', 20, 0, -1],
    ['20.0000000010', 20, 1, -1],
    ['20.00000001', 20, 10, -1],
    ['20.1', 20, 100_000_000, -1],
    ['foo.bar', null],
    ['20.bar', null],
  ];
  for (const c of cases) {
    if (c[1] === null) assert.throws(() => parseTimestamps(c[0], -1), isInvalidParameter, c[0]);
    else assert.deepEqual(parseTimestamps(c[0], -1), { sec: c[1], nsec: c[2] }, c[0]);
  }
  assert.deepEqual(parseTimestamps('', -1), { sec: -1, nsec: 0 });
  throwsMsg(() => parseUnixTimestamp('20.'), 'strconv.ParseInt: parsing "": invalid syntax');
  throwsMsg(() => parseUnixTimestamp('foo'), 'strconv.ParseInt: parsing "foo": invalid syntax');
  throwsMsg(() => parseUnixTimestamp('99999999999999999999'), 'strconv.ParseInt: parsing "99999999999999999999": value out of range');
});

test('parseTimestamp: epoch nanoseconds', () => {
  const now = 1_700_000_000_123_456_789n;
  assert.equal(parseTimestamp('10m', now, 0), (1_700_000_000n - 600n) * S);
  assert.equal(parseTimestamp('1700000000.123', now, 0), 1_700_000_000n * S + 123_000_000n);
  assert.equal(parseTimestamp('1700000000', now, 0), 1_700_000_000n * S);
  assert.equal(parseTimestamp('2023-11-14T22:13:20Z', now, 0), 1_700_000_000n * S);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.5Z', now, 0), 1_700_000_000n * S + 500n * MS);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.000000001Z', now, 0), 1_700_000_000n * S + 1n);
  assert.equal(parseTimestamp('2023-11-14', now, 0), 1_699_920_000n * S);
  assert.equal(parseTimestamp('2023-11-14', now, -5 * 3600), 1_699_938_000n * S);
  assert.throws(() => parseTimestamp('yesterday', now), isInvalidParameter);
});
