import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { entryTime, parseLine, readJsonLog, timeToNs, type LogEntry } from './jsonfile.ts';

const payload = (e: LogEntry) => Buffer.concat([e.buf.subarray(e.logStart, e.logEnd), Buffer.from(e.nl ? '\n' : '')]).toString();

test('json-file lines parse on the fast path and the JSON fallback alike', () => {
  const lines = [
    '{"log":"hello\\n","stream":"stdout","time":"2026-11-23T21:31:08.101475Z"}',
    '{"log":"no newline","stream":"stderr","time":"2026-11-23T21:31:08Z"}',
    '{"log":"tab\\there \\"q\\"\\n","stream":"stdout","time":"2026-11-23T21:31:08.5Z"}',
    '{"stream":"stdout","log":"reordered\\n","time":"2026-11-23T21:31:09Z"}',
  ];
  const got = lines.map((l) => parseLine(Buffer.from(l), 0, l.length)!);
  assert.deepEqual(got.map(payload), ['hello\n', 'no newline', 'tab\there "q"\n', 'reordered\n']);
  assert.deepEqual(got.map((e) => e.stream), ['stdout', 'stderr', 'stdout', 'stdout']);
  assert.equal(entryTime(got[0]), '2026-11-23T21:31:08.101475Z');
  assert.equal(parseLine(Buffer.from('{"log":"torn'), 0, 12), undefined);
  assert.equal(timeToNs('2026-11-23T21:31:08.000000001Z') - timeToNs('2026-11-23T21:31:08Z'), 1n);
});

test('readJsonLog: rotated files in order, tail, stream and time filters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logs-'));
  try {
    const line = (s: string, stream: string, t: string) => JSON.stringify({ log: s, stream, time: t }) + '\n';
    const p = join(dir, 'c-json.log');
    writeFileSync(`${p}.2`, line('one\n', 'stdout', '2026-01-01T00:00:01Z'));
    writeFileSync(`${p}.1`, line('two\n', 'stderr', '2026-01-01T00:00:02Z'));
    writeFileSync(p, line('three\n', 'stdout', '2026-01-01T00:00:03Z') + line('four\n', 'stdout', '2026-01-01T00:00:04Z'));
    const read = async (o: Partial<Parameters<typeof readJsonLog>[1]>) => {
      const out: string[] = [];
      for await (const b of readJsonLog(p, { stdout: true, stderr: true, tail: -1, follow: false, ...o })) for (const e of b) out.push(payload(e).trim());
      return out;
    };
    assert.deepEqual(await read({}), ['one', 'two', 'three', 'four']);
    assert.deepEqual(await read({ tail: 2 }), ['three', 'four']);
    assert.deepEqual(await read({ stdout: false }), ['two']);
    assert.deepEqual(await read({ sinceNs: timeToNs('2026-01-01T00:00:02Z'), untilNs: timeToNs('2026-01-01T00:00:04Z') }), ['two', 'three']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
