import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidParameter } from '../errdefs/index.ts';
import {
  KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB,
  formatG,
  humanSize,
  humanSizeWithPrecision,
  bytesSize,
  fromHumanSize,
  ramInBytes,
  humanDuration,
  containerStatus,
  containerStateString,
  containerSizeString,
  humanAgo,
  GO_ZERO_TIME_MS,
} from './units.ts';

const EiB = 1024 * PiB;
const ZiB = 1024 * EiB;
const YiB = 1024 * ZiB;

function throwsMsg(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isInvalidParameter(e));
    assert.equal((e as Error).message, message);
    return true;
  });
}

test('formatG matches Go %.Ng', () => {
  const cases: Array<[number, number, string]> = [
    [0, 3, '0'],
    [1, 3, '1'],
    [10, 3, '10'],
    [100, 3, '100'],
    [1.5, 3, '1.5'],
    [1.234, 3, '1.23'],
    [1.125, 3, '1.12'], // exact tie: round half to even
    [1.375, 3, '1.38'],
    [2.5, 1, '2'],
    [3.5, 1, '4'],
    [0.5, 0, '0.5'],
    [999.6, 3, '1e+03'],
    [123456, 3, '1.23e+05'],
    [1e21, 3, '1e+21'],
    [0.0001234, 3, '0.000123'],
    [0.00001234, 3, '1.23e-05'],
    [-1.5, 3, '-1.5'],
    [1024, 4, '1024'],
    [10000, 4, '1e+04'],
    [1.024, 4, '1.024'],
    [1.048576, 4, '1.049'],
    [9.995, 3, '9.99'], // 9.995 is really 9.99499999…
    [1e-320, 2, '1e-320'],
    [Number.MAX_VALUE, 4, '1.798e+308'],
  ];
  for (const [x, p, s] of cases) assert.equal(formatG(x, p), s, `${x} %.${p}g`);
  assert.equal(formatG(Infinity, 3), '+Inf');
  assert.equal(formatG(NaN, 3), 'NaN');
});

test('humanSize (go-units TestHumanSize with precision 4, and CLI precision 3)', () => {
  const p4: Array<[number, string]> = [
    [1000, '1kB'],
    [1024, '1.024kB'],
    [1000000, '1MB'],
    [1048576, '1.049MB'],
    [2 * MB, '2MB'],
    [3.42 * GB, '3.42GB'],
    [5.372 * TB, '5.372TB'],
    [2.22 * PB, '2.22PB'],
    [10000000000000 * PB, '1e+04YB'],
  ];
  for (const [n, s] of p4) assert.equal(humanSizeWithPrecision(n, 4), s, String(n));
  const p3: Array<[number, string]> = [
    [0, '0B'],
    [1, '1B'],
    [999, '999B'],
    [1000, '1kB'],
    [5600, '5.6kB'],
    [1234567, '1.23MB'],
    [1125000, '1.12MB'],
    [4_432_000, '4.43MB'],
    [77_800_000, '77.8MB'],
    [187_654_321, '188MB'],
    [999_999, '1e+03kB'],
    [1.5 * GB, '1.5GB'],
    [-5, '-5B'],
  ];
  for (const [n, s] of p3) assert.equal(humanSize(n), s, String(n));
  assert.equal(humanSize(1048576, 4), '1.049MB');
});

test('bytesSize (go-units TestBytesSize)', () => {
  const cases: Array<[number, string]> = [
    [1024, '1KiB'],
    [1024 * 1024, '1MiB'],
    [1048576, '1MiB'],
    [2 * MiB, '2MiB'],
    [3.42 * GiB, '3.42GiB'],
    [5.372 * TiB, '5.372TiB'],
    [2.22 * PiB, '2.22PiB'],
    [1.3 * EiB, '1.3EiB'],
    [1 * ZiB, '1ZiB'],
    [1 * YiB, '1YiB'],
    [1.5 * MiB, '1.5MiB'],
    [0, '0B'],
    [500, '500B'],
    [1023, '1023B'],
  ];
  for (const [n, s] of cases) assert.equal(bytesSize(n), s, String(n));
});

test('fromHumanSize (go-units TestFromHumanSize)', () => {
  const ok: Array<[string, number]> = [
    ['0', 0],
    ['0b', 0],
    ['0B', 0],
    ['0 B', 0],
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * KB],
    ['32K', 32 * KB],
    ['32kb', 32 * KB],
    ['32Kb', 32 * KB],
    ['32Mb', 32 * MB],
    ['32Gb', 32 * GB],
    ['32Tb', 32 * TB],
    ['32Pb', 32 * PB],
    ['32.5kB', 32.5 * KB],
    ['32.5 kB', 32.5 * KB],
    ['32.5 B', 32],
    ['32.3', 32],
    ['.3kB', 300],
    ['1.5GB', 1.5 * GB],
    ['1.5GiB', 1.5 * GB], // the 'i' is cosmetic: the map decides the base
    ['-0', 0],
    ['1e3', 1000],
    ['32.', 32],
    ['1 ', 1],
  ];
  for (const [s, n] of ok) assert.equal(fromHumanSize(s), n, s);
  throwsMsg(() => fromHumanSize(''), "invalid size: ''");
  throwsMsg(() => fromHumanSize('hello'), "invalid size: 'hello'");
  throwsMsg(() => fromHumanSize('abc'), "invalid size: 'abc'");
  throwsMsg(() => fromHumanSize('-32'), "invalid size: '-32'");
  throwsMsg(() => fromHumanSize(' 32 '), 'strconv.ParseFloat: parsing " 32": invalid syntax');
  throwsMsg(() => fromHumanSize('32m b'), 'strconv.ParseFloat: parsing "32m": invalid syntax');
  throwsMsg(() => fromHumanSize('32bm'), "invalid suffix: 'bm'");
  throwsMsg(() => fromHumanSize('32kbb'), "invalid suffix: 'kbb'");
  throwsMsg(() => fromHumanSize('32KBBB'), "invalid suffix: 'KBBB'");
  throwsMsg(() => fromHumanSize('32x'), "invalid suffix: 'x'");
  throwsMsg(() => fromHumanSize('32kx'), "invalid suffix: 'kx'");
  throwsMsg(() => fromHumanSize('32kab'), "invalid suffix: 'kab'");
  throwsMsg(() => fromHumanSize('--1'), 'strconv.ParseFloat: parsing "--1": invalid syntax');
  throwsMsg(() => fromHumanSize('1e400'), 'strconv.ParseFloat: parsing "1e400": value out of range');
});

test('ramInBytes (go-units TestRAMInBytes)', () => {
  const ok: Array<[string, number]> = [
    ['32', 32],
    ['32b', 32],
    ['32B', 32],
    ['32k', 32 * KiB],
    ['32K', 32 * KiB],
    ['32kb', 32 * KiB],
    ['32Kb', 32 * KiB],
    ['32Kib', 32 * KiB],
    ['32KIB', 32 * KiB],
    ['32Mb', 32 * MiB],
    ['32Gb', 32 * GiB],
    ['32Tb', 32 * TiB],
    ['32Pb', 32 * PiB],
    ['32PB', 32 * PiB],
    ['32P', 32 * PiB],
    ['32.3', 32],
    ['512m', 512 * MiB],
    ['1g', GiB],
    ['1.5GB', 1.5 * GiB],
    ['100', 100],
    ['6m', 6 * MiB],
    ['7 Gib', 7 * GiB],
    ['0.5k', 512],
  ];
  for (const [s, n] of ok) assert.equal(ramInBytes(s), n, s);
  throwsMsg(() => ramInBytes(''), "invalid size: ''");
  throwsMsg(() => ramInBytes('hello'), "invalid size: 'hello'");
  throwsMsg(() => ramInBytes('abc'), "invalid size: 'abc'");
  throwsMsg(() => ramInBytes('-32'), "invalid size: '-32'");
  throwsMsg(() => ramInBytes(' 32 '), 'strconv.ParseFloat: parsing " 32": invalid syntax');
  throwsMsg(() => ramInBytes('32m b'), 'strconv.ParseFloat: parsing "32m": invalid syntax');
  throwsMsg(() => ramInBytes('32bm'), "invalid suffix: 'bm'");
  throwsMsg(() => ramInBytes('1.5e'), "invalid suffix: 'e'");
});

test('humanDuration (go-units TestHumanDuration)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const day = 24 * h;
  const week = 7 * day;
  const month = 30 * day;
  const year = 365 * day;
  const cases: Array<[number, string]> = [
    [450, 'Less than a second'],
    [-5 * s, 'Less than a second'],
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [1999, '1 second'],
    [45 * s, '45 seconds'],
    [46 * s, '46 seconds'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [1 * m, 'About a minute'],
    [119 * s, 'About a minute'],
    [3 * m, '3 minutes'],
    [35 * m, '35 minutes'],
    [35 * m + 40 * s, '35 minutes'],
    [59 * m + 59 * s, '59 minutes'],
    [1 * h, 'About an hour'],
    [1 * h + 29 * m, 'About an hour'],
    [1 * h + 30 * m, '2 hours'],
    [1 * h + 45 * m, '2 hours'],
    [3 * h, '3 hours'],
    [3 * h + 59 * m, '4 hours'],
    [3 * h + 60 * m, '4 hours'],
    [24 * h, '24 hours'],
    [24 * h + 12 * h, '36 hours'],
    [47 * h + 29 * m, '47 hours'],
    [47 * h + 30 * m, '2 days'],
    [2 * day, '2 days'],
    [7 * day, '7 days'],
    [13 * day + 5 * h, '13 days'],
    [2 * week, '2 weeks'],
    [2 * week + 4 * day, '2 weeks'],
    [3 * week, '3 weeks'],
    [4 * week, '4 weeks'],
    [4 * week + 3 * day, '4 weeks'],
    [1 * month, '4 weeks'],
    [1 * month + 2 * week, '6 weeks'],
    [2 * month, '2 months'],
    [2 * month + 2 * week, '2 months'],
    [3 * month, '3 months'],
    [1 * year, '12 months'],
    [5 * month + 2 * week, '5 months'],
    [13 * month, '13 months'],
    [23 * month, '23 months'],
    [24 * month, '24 months'],
    [2 * year, '2 years'],
    [3 * year + 2 * month, '3 years'],
    [10 * year, '10 years'],
  ];
  for (const [ms, str] of cases) assert.equal(humanDuration(ms), str, `${ms}ms`);
});

test('containerStatus / containerStateString (moby State.String, StateString)', () => {
  const now = 1_700_000_000_000;
  const base = { Running: false, Paused: false, Restarting: false, ExitCode: 0 };
  assert.equal(containerStatus({ ...base }, now), 'Created');
  assert.equal(containerStatus({ ...base, StartedAt: GO_ZERO_TIME_MS, FinishedAt: GO_ZERO_TIME_MS }, now), 'Created');
  assert.equal(containerStateString({ ...base }), 'created');
  assert.equal(containerStatus({ ...base, Running: true, StartedAt: now - 120_000 }, now), 'Up 2 minutes');
  assert.equal(containerStateString({ ...base, Running: true, StartedAt: now }), 'running');
  assert.equal(containerStatus({ ...base, Running: true, StartedAt: now - 500 }, now), 'Up Less than a second');
  assert.equal(
    containerStatus({ ...base, Running: true, Paused: true, StartedAt: now - 1000 }, now),
    'Up 1 second (Paused)',
  );
  assert.equal(containerStateString({ ...base, Running: true, Paused: true }), 'paused');
  assert.equal(
    containerStatus({ ...base, Running: true, Restarting: true, ExitCode: 1, StartedAt: now - 9000, FinishedAt: now - 2000 }, now),
    'Restarting (1) 2 seconds ago',
  );
  assert.equal(containerStateString({ ...base, Running: true, Restarting: true }), 'restarting');
  assert.equal(
    containerStatus({ ...base, Running: true, StartedAt: now - 3 * 3600_000, Health: { Status: 'healthy' } }, now),
    'Up 3 hours (healthy)',
  );
  assert.equal(
    containerStatus({ ...base, Running: true, StartedAt: now - 5000, Health: { Status: 'starting' } }, now),
    'Up 5 seconds (health: starting)',
  );
  assert.equal(
    containerStatus({ ...base, Running: true, StartedAt: now - 5000, Health: { Status: 'unhealthy' } }, now),
    'Up 5 seconds (unhealthy)',
  );
  assert.equal(
    containerStatus({ ...base, ExitCode: 137, StartedAt: now - 100_000, FinishedAt: now - 61_000 }, now),
    'Exited (137) About a minute ago',
  );
  assert.equal(containerStateString({ ...base, StartedAt: now - 100_000, FinishedAt: now }), 'exited');
  assert.equal(containerStatus({ ...base, StartedAt: now - 100_000 }, now), '');
  assert.equal(containerStatus({ ...base, Dead: true, StartedAt: now }, now), 'Dead');
  assert.equal(containerStateString({ ...base, Dead: true, StartedAt: now }), 'dead');
  assert.equal(containerStatus({ ...base, RemovalInProgress: true, Dead: true }, now), 'Removal In Progress');
  assert.equal(containerStateString({ ...base, RemovalInProgress: true }), 'removing');
});

test('humanAgo and containerSizeString', () => {
  assert.equal(humanAgo(1000, 1000 + 3 * 86_400_000), '3 days ago');
  assert.equal(containerSizeString(2, 0), '2B');
  assert.equal(containerSizeString(0, 1_234_567), '0B (virtual 1.23MB)');
  assert.equal(containerSizeString(5_600, 77_800_000), '5.6kB (virtual 77.8MB)');
});
