import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidParameter } from '../errdefs/index.ts';
import {
  parse,
  parseNormalizedNamed,
  parseAnyReference,
  parseDockerRef,
  withDefaultTag,
  withTag,
  withDigest,
  trimNamed,
  familiarName,
  familiarString,
  fullName,
  referenceString,
  parseRepositoryTag,
  isFullId,
  isValidTag,
  isValidDomain,
  validateDigest,
} from './reference.ts';

const F64 = 'f'.repeat(64);
const DGST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

function throwsInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isInvalidParameter(e), `expected InvalidParameter, got ${String(e)}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

test('parse: distribution/reference TestReferenceParse table', () => {
  const ok: Array<[string, string, string, string?, string?]> = [
    // input, domain, path, tag, digest
    ['test_com', '', 'test_com'],
    ['test.com:tag', '', 'test.com', 'tag'],
    ['test.com:5000', '', 'test.com', '5000'],
    ['test.com/repo:tag', 'test.com', 'repo', 'tag'],
    ['test:5000/repo', 'test:5000', 'repo'],
    ['test:5000/repo:tag', 'test:5000', 'repo', 'tag'],
    [`test:5000/repo@sha256:${F64}`, 'test:5000', 'repo', undefined, `sha256:${F64}`],
    [`test:5000/repo:tag@sha256:${F64}`, 'test:5000', 'repo', 'tag', `sha256:${F64}`],
    ['lowercase:Uppercase', '', 'lowercase', 'Uppercase'],
    ['a/'.repeat(127) + 'a:tag-puts-this-over-max', 'a', 'a/'.repeat(126) + 'a', 'tag-puts-this-over-max'],
    ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux'],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'],
    ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com'],
    ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com'],
    [`xn--7o8h.com/myimage:xn--7o8h.com@sha512:${'f'.repeat(128)}`, 'xn--7o8h.com', 'myimage', 'xn--7o8h.com', `sha512:${'f'.repeat(128)}`],
    ['foo_bar.com:8080', '', 'foo_bar.com', '8080'],
    ['foo/foo_bar.com:8080', 'foo', 'foo_bar.com', '8080'],
    ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo'],
    ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag'],
    ['[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo'],
    ['[::1]:5000/repo', '[::1]:5000', 'repo'],
    ['1.2.3.4/repo', '1.2.3.4', 'repo'],
    ['1.2.3.4:5000/repo', '1.2.3.4:5000', 'repo'],
    ['a__b/c---d', '', 'a__b/c---d'], // '_' is not allowed in a domain
  ];
  for (const [input, domain, path, tag, digest] of ok) {
    const r = parse(input);
    assert.deepEqual(
      r,
      { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) },
      input,
    );
  }
  // 'foo/foo_bar.com' — the anchored name regexp sees "foo" as a domain for plain Parse, as Go does.
  assert.equal(parse('foo/foo_bar.com:8080').domain, 'foo');
  // 'a' is taken as the domain by the anchored name regexp, leaving a 255-char path: allowed.
  assert.equal(parse('a/'.repeat(128) + 'a:tag').path.length, 255);

  const bad: Array<[string, string]> = [
    ['', 'repository name must have at least one component'],
    [':justtag', 'invalid reference format'],
    [`@sha256:${F64}`, 'invalid reference format'],
    [`repo@sha256:${'f'.repeat(31)}`, 'invalid reference format'],
    [`validname@invaliddigest:${F64}`, 'unsupported digest algorithm'],
    [`validname@sha256:${'f'.repeat(63)}`, 'invalid checksum digest length'],
    [`validname@sha256:${'F'.repeat(64)}`, 'invalid checksum digest format'],
    ['Uppercase:tag', 'repository name must be lowercase'],
    ['test:5000/Uppercase/lowercase:tag', 'repository name must be lowercase'],
    // The limit applies to the path only (distribution/reference RepositoryNameTotalLengthMax).
    ['x.io/' + 'a/'.repeat(128) + 'a:tag', 'repository name must not be more than 255 characters'],
    ['aa/asdf$$^/aa', 'invalid reference format'],
    ['[2001:db8::1]', 'invalid reference format'],
    ['[2001:db8::1]:5000', 'invalid reference format'],
    ['[2001:db8::1]:tag', 'invalid reference format'],
    ['[fe80::1%eth0]:5000/repo', 'invalid reference format'],
    ['[2001:db8:3:4::192.0.2.33]:5000/repo', 'invalid reference format'],
    ['docker///docker', 'invalid reference format'],
    ['-docker', 'invalid reference format'],
    ['docker-', 'invalid reference format'],
    ['a:' + 'x'.repeat(129), 'invalid reference format'],
  ];
  for (const [input, message] of bad) throwsInvalid(() => parse(input), message);
});

test('parseNormalizedNamed: domain detection (TestNormalizedSplitHostname)', () => {
  const cases: Array<[string, string, string]> = [
    ['test.com/foo', 'test.com', 'foo'],
    ['test_com/foo', 'docker.io', 'test_com/foo'],
    ['docker/migrator', 'docker.io', 'docker/migrator'],
    ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'],
    ['foo', 'docker.io', 'library/foo'],
    ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ['docker.io/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
    ['index.docker.io/foo', 'docker.io', 'library/foo'],
    ['index.docker.io/user/foo', 'docker.io', 'user/foo'],
    ['localhost/foo', 'localhost', 'foo'],
    ['localhost:5000/foo/bar', 'localhost:5000', 'foo/bar'],
    ['localhost', 'docker.io', 'library/localhost'],
    ['Foo/bar', 'Foo', 'bar'],
    ['[::1]:5000/foo', '[::1]:5000', 'foo'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000', 'private/moonbase'],
    ['example.com/private/moonbase', 'example.com', 'private/moonbase'],
    ['other/library', 'docker.io', 'other/library'],
    ['192.168.0.1', 'docker.io', 'library/192.168.0.1'],
  ];
  for (const [input, domain, path] of cases) {
    const r = parseNormalizedNamed(input);
    assert.equal(r.domain, domain, input);
    assert.equal(r.path, path, input);
    assert.equal(r.tag, undefined, input);
  }
  const r = parseNormalizedNamed('192.168.0.1:80');
  assert.deepEqual(r, { domain: 'docker.io', path: 'library/192.168.0.1', tag: '80' });
});

test('parseNormalizedNamed: TestValidateReferenceName', () => {
  const valid = [
    'docker/docker',
    'library/debian',
    'debian',
    'docker.io/docker/docker',
    'docker.io/library/debian',
    'docker.io/debian',
    'index.docker.io/docker/docker',
    'index.docker.io/library/debian',
    'index.docker.io/debian',
    '127.0.0.1:5000/docker/docker',
    '127.0.0.1:5000/library/debian',
    '127.0.0.1:5000/debian',
    '192.168.0.1',
    '192.168.0.1:80',
    '192.168.0.1:8/debian',
    '192.168.0.2:25000/debian',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    '[fc00::1]:5000/docker',
    '[fc00::1]:5000/docker/docker',
    '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    'localhost/library/debian',
    'xn--n3h.com/myimage',
    'xn--7o8h.com/myimage',
    'foo_bar.com:8080',
    'foo/foo_bar.com:8080',
    'foo.com/foo_bar.com:8080',
  ];
  for (const v of valid) assert.doesNotThrow(() => parseNormalizedNamed(v), v);
  const invalid = [
    'https://github.com/docker/docker',
    'docker/Docker',
    '-docker',
    '-docker/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker/Docker',
    'docker.io/docker///docker',
    '[fc00::1]',
    '[fc00::1]:5000',
    'fc00::1:5000/debian',
    '[fe80::1%eth0]:5000/debian',
    '[2001:db8:3:4::192.0.2.33]:5000/debian',
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    '[fe80::1%@invalidzone]:5000/debian',
  ];
  for (const v of invalid) assert.throws(() => parseNormalizedNamed(v), isInvalidParameter, v);
});

test('parseNormalizedNamed: error texts', () => {
  throwsInvalid(() => parseNormalizedNamed('Busybox'), 'invalid reference format: repository name (library/Busybox) must be lowercase');
  throwsInvalid(() => parseNormalizedNamed('Uppercase:tag'), 'invalid reference format: repository name (library/Uppercase) must be lowercase');
  throwsInvalid(
    () => parseNormalizedNamed('test:5000/Uppercase/lowercase:tag'),
    'invalid reference format: repository name (Uppercase/lowercase) must be lowercase',
  );
  throwsInvalid(() => parseNormalizedNamed('docker/Docker'), 'invalid reference format: repository name (docker/Docker) must be lowercase');
  throwsInvalid(
    () => parseNormalizedNamed('a'.repeat(64).replace(/a/g, 'b')),
    `invalid repository name (${'b'.repeat(64)}), cannot specify 64-byte hexadecimal strings`,
  );
  throwsInvalid(() => parseNormalizedNamed(''), 'invalid reference format');
  throwsInvalid(() => parseNormalizedNamed('busybox:'), 'invalid reference format');
  throwsInvalid(() => parseNormalizedNamed('busy box'), 'invalid reference format');
  throwsInvalid(() => parseNormalizedNamed('https://github.com/docker/docker'), 'invalid reference format');
  throwsInvalid(() => parseNormalizedNamed(`busybox@sha256:${'a'.repeat(40)}`), 'invalid checksum digest length');
  throwsInvalid(() => parseNormalizedNamed(`busybox@md5:${'a'.repeat(32)}`), 'unsupported digest algorithm');
  // Path length limit counts 'library/' but not the domain.
  assert.doesNotThrow(() => parseNormalizedNamed('a'.repeat(247)));
  throwsInvalid(() => parseNormalizedNamed('a'.repeat(248)), 'repository name must not be more than 255 characters');
  assert.doesNotThrow(() => parseNormalizedNamed('some.registry.example.com/' + 'a'.repeat(255)));
});

test('familiar and full forms', () => {
  const cases: Array<[string, string, string, string]> = [
    // input, fullName, familiarName, familiarString
    ['busybox', 'docker.io/library/busybox', 'busybox', 'busybox'],
    ['busybox:1.36', 'docker.io/library/busybox', 'busybox', 'busybox:1.36'],
    ['library/ubuntu', 'docker.io/library/ubuntu', 'ubuntu', 'ubuntu'],
    ['docker.io/library/ubuntu:22.04', 'docker.io/library/ubuntu', 'ubuntu', 'ubuntu:22.04'],
    ['index.docker.io/library/ubuntu', 'docker.io/library/ubuntu', 'ubuntu', 'ubuntu'],
    ['docker.io/library/foo/bar', 'docker.io/library/foo/bar', 'library/foo/bar', 'library/foo/bar'],
    ['user/app', 'docker.io/user/app', 'user/app', 'user/app'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp', 'dmcgowan/myapp', 'dmcgowan/myapp:latest'],
    ['myreg:5000/x/y', 'myreg:5000/x/y', 'myreg:5000/x/y', 'myreg:5000/x/y'],
    ['localhost/privatebase', 'localhost/privatebase', 'localhost/privatebase', 'localhost/privatebase'],
    [`redis@${DGST}`, 'docker.io/library/redis', 'redis', `redis@${DGST}`],
    [`busybox:latest@${DGST}`, 'docker.io/library/busybox', 'busybox', `busybox:latest@${DGST}`],
    ['myreg.io/library/x', 'myreg.io/library/x', 'myreg.io/library/x', 'myreg.io/library/x'],
  ];
  for (const [input, full, fam, famStr] of cases) {
    const r = parseNormalizedNamed(input);
    assert.equal(fullName(r), full, input);
    assert.equal(familiarName(r), fam, input);
    assert.equal(familiarString(r), famStr, input);
  }
  const r = parseNormalizedNamed(`busybox:latest@${DGST}`);
  assert.equal(referenceString(r), `docker.io/library/busybox:latest@${DGST}`);
  assert.equal(r.tag, 'latest');
  assert.equal(r.digest, DGST);
});

test('withDefaultTag / parseDockerRef / withTag / withDigest / trimNamed', () => {
  assert.equal(referenceString(withDefaultTag(parseNormalizedNamed('busybox'))), 'docker.io/library/busybox:latest');
  assert.equal(referenceString(withDefaultTag(parseNormalizedNamed('busybox:1'))), 'docker.io/library/busybox:1');
  assert.equal(referenceString(withDefaultTag(parseNormalizedNamed(`busybox@${DGST}`))), `docker.io/library/busybox@${DGST}`);

  assert.equal(referenceString(parseDockerRef('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(referenceString(parseDockerRef(`busybox:latest@${DGST}`)), `docker.io/library/busybox@${DGST}`);
  assert.equal(referenceString(parseDockerRef(`busybox@${DGST}`)), `docker.io/library/busybox@${DGST}`);

  const base = parseNormalizedNamed('foo/bar');
  assert.equal(familiarString(withTag(base, 'v1.0_rc-2')), 'foo/bar:v1.0_rc-2');
  throwsInvalid(() => withTag(base, '-bad'), 'invalid tag format');
  throwsInvalid(() => withTag(base, 'a'.repeat(129)), 'invalid tag format');
  assert.equal(familiarString(withDigest(withTag(base, 't'), DGST)), `foo/bar:t@${DGST}`);
  throwsInvalid(() => withDigest(base, 'sha256:xyz'), 'invalid digest format');
  assert.deepEqual(trimNamed(parseNormalizedNamed(`foo/bar:t@${DGST}`)), { domain: 'docker.io', path: 'foo/bar' });
});

test('parseAnyReference (TestParseAnyReference)', () => {
  const hex = DGST.slice('sha256:'.length);
  const cases: Array<[string, string]> = [
    ['redis', 'docker.io/library/redis'],
    ['redis:latest', 'docker.io/library/redis:latest'],
    ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
    [`redis@${DGST}`, `docker.io/library/redis@${DGST}`],
    [`docker.io/library/redis@${DGST}`, `docker.io/library/redis@${DGST}`],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
    ['docker.io/mcgowan/myapp:latest', 'docker.io/mcgowan/myapp:latest'],
    [`dmcgowan/myapp@${DGST}`, `docker.io/dmcgowan/myapp@${DGST}`],
    [hex, DGST],
    [DGST, DGST],
    ['dbcc1', 'docker.io/library/dbcc1'],
    [hex.slice(0, 63), `docker.io/library/${hex.slice(0, 63)}`],
  ];
  for (const [input, expected] of cases) {
    const a = parseAnyReference(input);
    const got = a.kind === 'digest' ? a.digest : referenceString(a.ref);
    assert.equal(got, expected, input);
  }
  assert.throws(() => parseAnyReference('Busybox'), isInvalidParameter);
});

test('isFullId, isValidTag, isValidDomain, validateDigest', () => {
  assert.equal(isFullId(F64), true);
  assert.equal(isFullId('F'.repeat(64)), false);
  assert.equal(isFullId('f'.repeat(63)), false);
  assert.equal(isFullId(`sha256:${F64}`), false);
  assert.equal(isValidTag('latest'), true);
  assert.equal(isValidTag('_x'), true);
  assert.equal(isValidTag('.x'), false);
  assert.equal(isValidTag('a'.repeat(128)), true);
  assert.equal(isValidTag('a'.repeat(129)), false);
  assert.equal(isValidDomain('localhost:5000'), true);
  assert.equal(isValidDomain('[::1]:5000'), true);
  assert.equal(isValidDomain('-bad.com'), false);
  assert.equal(validateDigest(DGST), DGST);
  throwsInvalid(() => validateDigest('sha256'), 'invalid checksum digest format');
  throwsInvalid(() => validateDigest('sha256:'), 'invalid checksum digest format');
  throwsInvalid(() => validateDigest(':abc'), 'invalid checksum digest format');
  throwsInvalid(() => validateDigest('foo:bar'), 'unsupported digest algorithm');
  throwsInvalid(() => validateDigest('Foo:bar'), 'invalid checksum digest format');
  throwsInvalid(() => validateDigest('sha256:abc'), 'invalid checksum digest length');
  throwsInvalid(() => validateDigest('sha384:' + 'a'.repeat(64)), 'invalid checksum digest length');
  assert.equal(validateDigest('sha384:' + 'a'.repeat(96)), 'sha384:' + 'a'.repeat(96));
  throwsInvalid(() => validateDigest('constructor:abc'), 'unsupported digest algorithm');
});

test('parseRepositoryTag (moby parsers.ParseRepositoryTag)', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['root', 'root', undefined],
    ['root:tag', 'root', 'tag'],
    [`root@${DGST}`, 'root', DGST],
    ['user/repo', 'user/repo', undefined],
    ['user/repo:tag', 'user/repo', 'tag'],
    [`user/repo@${DGST}`, 'user/repo', DGST],
    ['url:5000/repo', 'url:5000/repo', undefined],
    ['url:5000/repo:tag', 'url:5000/repo', 'tag'],
    [`url:5000/repo@${DGST}`, 'url:5000/repo', DGST],
    [`url:5000/repo:tag@${DGST}`, 'url:5000/repo:tag', DGST],
    ['busybox:', 'busybox', undefined],
  ];
  for (const [input, repo, tag] of cases) {
    assert.deepEqual(parseRepositoryTag(input), tag === undefined ? { repo } : { repo, tag }, input);
  }
});

test('regex is not catastrophically slow on long garbage', () => {
  const start = performance.now();
  for (const s of ['a'.repeat(5000) + '!', 'a-'.repeat(2500) + '!', 'a.'.repeat(2500) + '/!', `a@sha256:${'f'.repeat(5000)}!`]) {
    assert.throws(() => parseNormalizedNamed(s), isInvalidParameter);
  }
  assert.ok(performance.now() - start < 2000);
});
