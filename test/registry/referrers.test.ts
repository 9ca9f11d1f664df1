/**
 * The referrers API (distribution-spec 1.1) over real HTTP on loopback: `OCI-Subject` on
 * PUT, listing with and without `artifactType` (and `OCI-Filters-Applied`), image manifests
 * and indexes as referrers, subjects that do not exist, deletes, sha512 subjects, and the
 * index on disk: its records, rebuilt when unreadable, and built for a version 1 root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, pushBlob, pushImage, errorCode, type TestRegistry } from './helpers.ts';
import { digestOf } from '../../src/lib/digest.ts';
import { MEDIA } from '../../src/registry/manifest.ts';

const EMPTY = 'application/vnd.oci.empty.v1+json';
const SBOM = 'application/vnd.example.sbom.v1';
const SIG = 'application/vnd.example.signature.v1';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.stop();
});

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** An artifact manifest (empty config, one blob) referring to `subject`. */
async function pushArtifact(url: string, repo: string, subject: Descriptor | undefined, artifactType: string | undefined, note: string, opts: { ref?: string; alg?: 'sha256' | 'sha512'; configType?: string } = {}): Promise<{ digest: string; body: Buffer; res: Response }> {
  const alg = opts.alg ?? 'sha256';
  const cfg = await pushBlob(url, repo, Buffer.from('{}'), {}, alg);
  const blob = await pushBlob(url, repo, Buffer.from(`artifact ${note}`), {}, alg);
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: opts.configType ?? EMPTY, digest: cfg, size: 2 },
    layers: [{ mediaType: 'application/octet-stream', digest: blob, size: Buffer.byteLength(`artifact ${note}`) }],
    annotations: { 'org.example.note': note },
  };
  if (artifactType !== undefined) doc.artifactType = artifactType;
  if (subject) doc.subject = subject;
  const body = Buffer.from(JSON.stringify(doc));
  const digest = digestOf(body, alg);
  const res = await fetch(`${url}/v2/${repo}/manifests/${opts.ref ?? digest}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(res.status, 201, await res.clone().text());
  return { digest: opts.ref ? res.headers.get('docker-content-digest')! : digest, body, res };
}

async function referrers(url: string, repo: string, subject: string, query = ''): Promise<{ res: Response; index: { schemaVersion: number; mediaType: string; manifests: Descriptor[] } }> {
  const res = await fetch(`${url}/v2/${repo}/referrers/${subject}${query}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), MEDIA.ociIndex);
  const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, MEDIA.ociIndex);
  return { res, index };
}

const byDigest = (l: Descriptor[]) => [...l].sort((a, b) => a.digest.localeCompare(b.digest));

test('an unknown subject or repository has no referrers: 200 with an empty list, never 404', async () => {
  for (const [repo, subject] of [['ref/none', digestOf('nothing')], ['never/pushed/anything', digestOf('nothing', 'sha512')]]) {
    const { res, index } = await referrers(reg.url, repo, subject);
    assert.deepEqual(index.manifests, []);
    assert.equal(res.headers.get('oci-filters-applied'), null);
  }
  const filtered = await referrers(reg.url, 'ref/none', digestOf('nothing'), `?artifactType=${encodeURIComponent(SBOM)}`);
  assert.deepEqual(filtered.index.manifests, []);
  assert.equal(filtered.res.headers.get('oci-filters-applied'), 'artifactType');
  const bad = await fetch(`${reg.url}/v2/ref/none/referrers/sha256:nothex`);
  assert.equal(bad.status, 400);
  assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  const badName = await fetch(`${reg.url}/v2/Bad/Name/referrers/${digestOf('x')}`);
  assert.equal(await errorCode(badName), 'NAME_INVALID');
});

test('PUT with a subject answers OCI-Subject; the referrers list them with artifactType and annotations; artifactType filters', async () => {
  const repo = 'ref/app';
  const img = await pushImage(reg.url, repo, 'v1', MEDIA.ociManifest, 'subject image');
  const subject: Descriptor = { mediaType: MEDIA.ociManifest, digest: img.digest, size: img.manifest.length };
  const sbom = await pushArtifact(reg.url, repo, subject, SBOM, 'sbom');
  assert.equal(sbom.res.headers.get('oci-subject'), img.digest);
  const sig = await pushArtifact(reg.url, repo, subject, SIG, 'sig', { ref: 'signed' });
  assert.equal(sig.res.headers.get('oci-subject'), img.digest, 'also on a PUT by tag');
  // No artifactType: an image manifest is listed as its config media type.
  const plain = await pushArtifact(reg.url, repo, subject, undefined, 'plain', { configType: 'application/vnd.oci.image.config.v1+json' });
  // An index referring to the image; indexes without artifactType are listed without one.
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [], subject, annotations: { 'org.example.note': 'index' } }));
  const ix = await fetch(`${reg.url}/v2/${repo}/manifests/${digestOf(index)}`, { method: 'PUT', body: new Uint8Array(index), headers: { 'Content-Type': MEDIA.ociIndex } });
  assert.equal(ix.status, 201);
  assert.equal(ix.headers.get('oci-subject'), img.digest);
  // No OCI-Subject without a subject.
  const again = await fetch(`${reg.url}/v2/${repo}/manifests/again`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(again.status, 201);
  assert.equal(again.headers.get('oci-subject'), null);

  const { res, index: all } = await referrers(reg.url, repo, img.digest);
  assert.equal(res.headers.get('oci-filters-applied'), null);
  assert.deepEqual(byDigest(all.manifests), byDigest([
    { mediaType: MEDIA.ociManifest, digest: sbom.digest, size: sbom.body.length, artifactType: SBOM, annotations: { 'org.example.note': 'sbom' } },
    { mediaType: MEDIA.ociManifest, digest: sig.digest, size: sig.body.length, artifactType: SIG, annotations: { 'org.example.note': 'sig' } },
    { mediaType: MEDIA.ociManifest, digest: plain.digest, size: plain.body.length, artifactType: 'application/vnd.oci.image.config.v1+json', annotations: { 'org.example.note': 'plain' } },
    { mediaType: MEDIA.ociIndex, digest: digestOf(index), size: index.length, annotations: { 'org.example.note': 'index' } },
  ]));

  const f = await referrers(reg.url, repo, img.digest, `?artifactType=${encodeURIComponent(SBOM)}`);
  assert.equal(f.res.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual(f.index.manifests.map((d) => d.digest), [sbom.digest]);
  const none = await referrers(reg.url, repo, img.digest, '?artifactType=application/vnd.example.none');
  assert.equal(none.res.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual(none.index.manifests, []);

  // Pushing the same referrer again does not list it twice.
  await pushArtifact(reg.url, repo, subject, SBOM, 'sbom');
  assert.equal((await referrers(reg.url, repo, img.digest)).index.manifests.length, 4);
  // Referrers are per repository.
  assert.deepEqual((await referrers(reg.url, 'ref/other', img.digest)).index.manifests, []);
});

test('a subject that does not exist (yet) is accepted and listed; deleting a referrer removes it', async () => {
  const repo = 'ref/missing';
  const ghost = { mediaType: MEDIA.ociManifest, digest: digestOf('not pushed yet'), size: 123 };
  const a = await pushArtifact(reg.url, repo, ghost, SBOM, 'a');
  const b = await pushArtifact(reg.url, repo, ghost, SIG, 'b', { ref: 'tagged' });
  assert.equal(a.res.headers.get('oci-subject'), ghost.digest);
  assert.deepEqual((await referrers(reg.url, repo, ghost.digest)).index.manifests.map((d) => d.digest).sort(), [a.digest, b.digest].sort());

  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${a.digest}`, { method: 'DELETE' })).status, 202);
  assert.deepEqual((await referrers(reg.url, repo, ghost.digest)).index.manifests.map((d) => d.digest), [b.digest]);
  // Deleting a tag leaves the manifest, and so its referrers entry.
  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/tagged`, { method: 'DELETE' })).status, 202);
  assert.deepEqual((await referrers(reg.url, repo, ghost.digest)).index.manifests.map((d) => d.digest), [b.digest]);
  assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/${b.digest}`, { method: 'DELETE' })).status, 202);
  assert.deepEqual((await referrers(reg.url, repo, ghost.digest)).index.manifests, []);
  assert.equal(existsSync(join(reg.root, 'repositories', 'ref', 'missing', '_referrers', 'sha256', `${ghost.digest.slice(7)}.json`)), false, 'an empty record is removed');
});

test('sha512 subjects and referrers', async () => {
  const repo = 'ref/s512';
  const subj = await pushArtifact(reg.url, repo, undefined, SBOM, 'subject', { alg: 'sha512' });
  const subject = { mediaType: MEDIA.ociManifest, digest: subj.digest, size: subj.body.length };
  const r = await pushArtifact(reg.url, repo, subject, SIG, 'sig512', { alg: 'sha512' });
  assert.match(r.digest, /^sha512:/);
  assert.equal(r.res.headers.get('oci-subject'), subj.digest);
  assert.deepEqual((await referrers(reg.url, repo, subj.digest)).index.manifests.map((d) => d.digest), [r.digest]);
  assert.ok(existsSync(join(reg.root, 'repositories', 'ref', 's512', '_referrers', 'sha512', `${subj.digest.slice(7)}.json`)));
});

test('an invalid subject is MANIFEST_INVALID', async () => {
  const cfg = await pushBlob(reg.url, 'ref/invalid', Buffer.from('{}'));
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: EMPTY, digest: cfg, size: 2 }, layers: [], subject: { mediaType: MEDIA.ociManifest, digest: 'sha256:nope', size: 1 } });
  const res = await fetch(`${reg.url}/v2/ref/invalid/manifests/x`, { method: 'PUT', body, headers: { 'Content-Type': MEDIA.ociManifest } });
  assert.equal(res.status, 400);
  assert.equal(await errorCode(res), 'MANIFEST_INVALID');
});

test('the record on disk: written atomically as JSON, rebuilt from the manifests when unreadable', async () => {
  const repo = 'ref/disk';
  const img = await pushImage(reg.url, repo, 'v1', MEDIA.ociManifest, 'disk subject');
  const subject = { mediaType: MEDIA.ociManifest, digest: img.digest, size: img.manifest.length };
  const a = await pushArtifact(reg.url, repo, subject, SBOM, 'one');
  const b = await pushArtifact(reg.url, repo, subject, SIG, 'two');
  const file = join(reg.root, 'repositories', 'ref', 'disk', '_referrers', 'sha256', `${img.digest.slice(7)}.json`);
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { version: number; subject: string; manifests: Descriptor[] };
  assert.equal(rec.version, 1);
  assert.equal(rec.subject, img.digest);
  assert.deepEqual(rec.manifests.map((d) => d.digest).sort(), [a.digest, b.digest].sort());

  writeFileSync(file, '{"version":1,"subj');
  assert.deepEqual((await referrers(reg.url, repo, img.digest)).index.manifests.map((d) => d.digest).sort(), [a.digest, b.digest].sort());
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { manifests: unknown[] }).manifests.length, 2, 'rewritten whole');

  // An entry whose manifest is gone (a crash between the two writes of a DELETE) is not served.
  unlinkSync(join(reg.root, 'repositories', 'ref', 'disk', '_manifests', 'revisions', 'sha256', a.digest.slice(7)));
  assert.deepEqual((await referrers(reg.url, repo, img.digest)).index.manifests.map((d) => d.digest), [b.digest]);
});

test('a version 1 root (no referrers records) is indexed when the server starts', async () => {
  const root = mkdtempSync('/tmp/bregref-');
  try {
    const first = await startRegistry({ root });
    const img = await pushImage(first.url, 'old/app', 'v1', MEDIA.ociManifest, 'old subject');
    const subject = { mediaType: MEDIA.ociManifest, digest: img.digest, size: img.manifest.length };
    const a = await pushArtifact(first.url, 'old/app', subject, SBOM, 'from before');
    await first.stop();
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'layout.json'), 'utf8')), { version: 2 });
    // Make it look like a root written before the index existed.
    rmSync(join(root, 'repositories', 'old', 'app', '_referrers'), { recursive: true });
    rmSync(join(root, 'layout.json'));
    const second = await startRegistry({ root });
    try {
      assert.deepEqual((await referrers(second.url, 'old/app', img.digest)).index.manifests.map((d) => d.digest), [a.digest]);
      assert.ok(existsSync(join(root, 'repositories', 'old', 'app', '_referrers', 'sha256', `${img.digest.slice(7)}.json`)));
      assert.ok(existsSync(join(root, 'layout.json')));
    } finally {
      await second.stop();
    }
    writeFileSync(join(root, 'layout.json'), '{"version":3}');
    await assert.rejects(startRegistry({ root }), /layout version 3/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
