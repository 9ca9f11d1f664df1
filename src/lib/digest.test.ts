import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestTap, digestAlgorithm, digestHex, digestOf, isDigest, isDigestAlgorithm, matchesDigest, parseDigest, sha256 } from './digest.ts';

const hex256 = 'a'.repeat(64);
const hex512 = 'b'.repeat(128);

test('sha256 and sha512 digests are valid, with their exact hex lengths', () => {
  assert.ok(isDigest(`sha256:${hex256}`));
  assert.ok(isDigest(`sha512:${hex512}`));
  for (const bad of [`sha256:${hex512}`, `sha512:${hex256}`, `sha256:${'A'.repeat(64)}`, `sha512:${'g'.repeat(128)}`, 'sha256:', `SHA256:${hex256}`, hex256, `sha384:${'c'.repeat(96)}`]) assert.ok(!isDigest(bad), bad);
  assert.ok(isDigestAlgorithm('sha512') && isDigestAlgorithm('sha256') && !isDigestAlgorithm('sha384') && !isDigestAlgorithm('toString'));
});

test('parseDigest names what is wrong: an unknown algorithm, or a malformed digest', () => {
  assert.equal(parseDigest(`sha512:${hex512}`), `sha512:${hex512}`);
  assert.throws(() => parseDigest(`sha384:${'c'.repeat(96)}`), /unsupported digest algorithm: sha384:/);
  assert.throws(() => parseDigest('md5:abc'), /unsupported digest algorithm/);
  assert.throws(() => parseDigest('sha512:abc'), /invalid digest format/);
  assert.throws(() => parseDigest('sha256:xyz'), /invalid digest format/);
  assert.throws(() => parseDigest('nonsense'), /invalid digest format/);
  assert.throws(() => parseDigest(''), /invalid digest format/);
});

test('algorithm and hex of a digest', () => {
  assert.equal(digestAlgorithm(`sha512:${hex512}`), 'sha512');
  assert.equal(digestAlgorithm(`sha256:${hex256}`), 'sha256');
  assert.equal(digestHex(`sha512:${hex512}`), hex512);
  assert.throws(() => digestHex('sha512:short'), /invalid digest format/);
});

test('digestOf hashes with the asked algorithm; matchesDigest with the digest\'s own', () => {
  const data = Buffer.from('hello sha512');
  const want512 = 'sha512:' + createHash('sha512').update(data).digest('hex');
  assert.equal(digestOf(data, 'sha512'), want512);
  assert.equal(digestOf(data), sha256(data));
  assert.equal(sha256('x'), 'sha256:' + createHash('sha256').update('x').digest('hex'));
  assert.ok(matchesDigest(data, want512));
  assert.ok(matchesDigest(data, sha256(data)));
  assert.ok(!matchesDigest(Buffer.from('other'), want512));
  assert.ok(!matchesDigest(data, 'sha512:nothex'));
});

test('DigestTap hashes with its algorithm and passes the bytes through unchanged', async () => {
  for (const alg of ['sha256', 'sha512'] as const) {
    const chunks = [Buffer.from('one '), Buffer.from('two '), Buffer.from('three')];
    const tap = new DigestTap(alg);
    const out: Buffer[] = [];
    await pipeline(Readable.from(chunks), tap, new Writable({ write(c: Buffer, _e, cb) { out.push(c); cb(); } }));
    assert.equal(Buffer.concat(out).toString(), 'one two three');
    assert.equal(tap.size, 13);
    assert.equal(tap.digest(), digestOf('one two three', alg));
    assert.equal(tap.digest(), tap.digest(), 'digest() can be read twice');
  }
  assert.equal(new DigestTap().algorithm, 'sha256');
});
