import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecrets, secretsHeader } from './secrets.ts';

test('build --secret as buildx reads it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  try {
    const file = join(dir, 'tok.txt');
    writeFileSync(file, 'from-file');
    const env = { TOKEN: 'from-env', npmrc: 'same-name' };
    const got = readSecrets([`id=a,src=${file}`, 'id=b,env=TOKEN', 'id=c,type=env,src=TOKEN', 'id=npmrc', `src=${file}`], env);
    assert.deepEqual(Object.fromEntries([...got].map(([k, v]) => [k, v.toString()])), { a: 'from-file', b: 'from-env', c: 'from-env', npmrc: 'same-name', 'tok.txt': 'from-file' });
    assert.throws(() => readSecrets(['id=x,env=NOPE'], env), /secret x: environment variable NOPE is not set/);
    assert.throws(() => readSecrets([`id=x,src=${join(dir, 'missing')}`], env), /failed to read secret x from/);
    assert.throws(() => readSecrets(['id=x,kind=file'], env), /unexpected key 'kind'/);
    assert.equal(secretsHeader(new Map()), undefined);
    assert.deepEqual(JSON.parse(Buffer.from(secretsHeader(new Map([['k', Buffer.from('v')]]))!, 'base64').toString()), { k: Buffer.from('v').toString('base64') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
