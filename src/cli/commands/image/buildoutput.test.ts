import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOutput } from './buildoutput.ts';

test('--output values as buildx reads them', () => {
  assert.deepEqual(parseOutput('out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutput('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutput('type=local,dest=/tmp/x'), { type: 'local', dest: '/tmp/x' });
  assert.deepEqual(parseOutput('type=tar,dest=a.tar'), { type: 'tar', dest: 'a.tar' });
  assert.deepEqual(parseOutput('type=tar'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutput('type=docker'), { type: 'image', names: [] });
  assert.deepEqual(parseOutput('type=image,"name=a:1,b:2"'), { type: 'image', names: ['a:1', 'b:2'] });
  assert.throws(() => parseOutput('dest=x'), /type is required for output/);
  assert.throws(() => parseOutput('type=local'), /dest is required for local exporter/);
  assert.throws(() => parseOutput('type=oci,dest=x'), /--output type "oci" is not supported/);
  assert.throws(() => parseOutput('type=image,push=true'), /--output attribute "push" is not supported/);
  assert.throws(() => parseOutput('type=local,dest=x,name=a'), /applies to image outputs only/);
  assert.throws(() => parseOutput('type="local'), /invalid --output/);
});

test('the export less the container\'s empty /.dockerenv: every other entry byte for byte, long names and bodies included', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs');
  const { withoutMarker } = await import('./buildoutput.ts');
  const dir = mkdtempSync('/tmp/bt-marker-');
  try {
    mkdirSync(`${dir}/t/${'d'.repeat(120)}`, { recursive: true });
    writeFileSync(`${dir}/t/.dockerenv`, '');
    writeFileSync(`${dir}/t/${'d'.repeat(120)}/${'f'.repeat(90)}`, 'x'.repeat(1000));
    writeFileSync(`${dir}/t/b`, 'body\n');
    const tar = spawnSync('tar', ['-c', '--format=pax', '-C', `${dir}/t`, '.dockerenv', 'b', 'd'.repeat(120)], { maxBuffer: 1 << 24 }).stdout;
    const chunks = [tar.subarray(0, 700), tar.subarray(700, 1500), tar.subarray(1500)];
    const parts: Buffer[] = [];
    for await (const b of withoutMarker((async function* () { yield* chunks; })())) parts.push(Buffer.from(b));
    writeFileSync(`${dir}/out.tar`, Buffer.concat(parts));
    const list = spawnSync('tar', ['-tf', `${dir}/out.tar`], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(list.stdout.split('\n').filter(Boolean), ['b', `${'d'.repeat(120)}/`, `${'d'.repeat(120)}/${'f'.repeat(90)}`]);
    assert.equal(spawnSync('tar', ['-xOf', `${dir}/out.tar`, 'b'], { encoding: 'utf8' }).stdout, 'body\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
