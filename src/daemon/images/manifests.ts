/**
 * Berth's registry side of `berth manifest` (docker's `manifest` command talks to registries
 * from the CLI; in Berth the daemon does, with its registry settings: insecure registries,
 * certs.d, mirrors for Docker Hub). A manifest is fetched as the registry holds it; a manifest
 * list is pushed as docker's CLI pushes it: each listed manifest put into the list's repository
 * by digest (its blobs mounted from its own repository, or copied when the registry will not
 * mount), then the list under its tag.
 */
import { kindOf, invalidParameter, notFound } from '../../errdefs/index.ts';
import { digestAlgorithm, digestOf, sha256 } from '../../lib/digest.ts';
import { familiarString, parseNormalizedNamed, referenceString, withDefaultTag, type Reference } from '../../lib/reference.ts';
import type { Credentials } from '../../distribution/auth.ts';
import { parseManifest } from '../../distribution/media.ts';
import type { RegistryClient } from '../../distribution/client.ts';
import type { ManifestListPushRequest, ManifestListPushResult, RegistryManifest } from '../../api/types.ts';
import { withEndpoints, type RegistryAccess } from './pull.ts';
import { ociPlatform } from '../../lib/platform.ts';

const CONFIG_MAX = 4 << 20;

/** `--insecure`: this registry may be reached over plain HTTP or unverified TLS, for this request. */
function access(a: RegistryAccess, domain: string, insecure: boolean): RegistryAccess {
  return insecure ? { ...a, settings: { ...a.settings, insecure: [...a.settings.insecure, domain] } } : a;
}

export async function fetchManifest(a: RegistryAccess, named: Reference, creds: Credentials | undefined, insecure: boolean): Promise<RegistryManifest> {
  const ref = named.digest ? named : withDefaultTag(named);
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  return withEndpoints(access(a, ref.domain, insecure), ref.domain, creds, async (client) => {
    let m;
    try {
      m = await client.getManifest(ref.path, tagOrDigest);
    } catch (e) {
      if (kindOf(e) === 'NotFound') throw notFound(`no such manifest: ${referenceString(ref)}`, e);
      throw e;
    }
    const digest = ref.digest ? digestOf(m.body, digestAlgorithm(ref.digest)) : m.digest ?? sha256(m.body);
    if (ref.digest && digest !== ref.digest) throw invalidParameter(`manifest verification failed for digest ${ref.digest}`);
    const parsed = parseManifest(m.body, m.mediaType);
    const mediaType = parsed.mediaType || m.mediaType;
    let platform;
    if (parsed.kind === 'manifest') {
      const cfg = await client.readBlob(ref.path, parsed.config.digest, CONFIG_MAX).then((b) => JSON.parse(b.toString('utf8')) as unknown, () => undefined);
      if (cfg && typeof cfg === 'object') {
        const p = ociPlatform(cfg as Record<string, unknown>);
        if (p.os || p.architecture) platform = p;
      }
    }
    return { Ref: referenceString(ref), Descriptor: { mediaType, digest, size: m.body.length, ...(platform ? { platform } : {}) }, Raw: m.body.toString('base64') };
  });
}

/** A blob the target repository lacks: mounted from `from`, else streamed across. */
async function ensureBlob(client: RegistryClient, repo: string, from: string, digest: string, size: number): Promise<void> {
  if (await client.hasBlob(repo, digest)) return;
  if (await client.mountBlob(repo, digest, from)) return;
  const src = await client.openBlob(from, digest);
  let used = false;
  await client.pushBlob(repo, digest, size, () => {
    if (used) throw invalidParameter(`blob ${digest} could not be sent again`);
    used = true;
    return src.stream;
  });
}

export async function pushManifestList(a: RegistryAccess, named: Reference, req: ManifestListPushRequest, creds: Credentials | undefined, insecure: boolean): Promise<ManifestListPushResult> {
  if (named.digest) throw invalidParameter(`a manifest list is pushed to a tag, not a digest: ${familiarString(named)}`);
  const target = withDefaultTag(named);
  const raw = Buffer.from(req.Raw, 'base64');
  const list = parseManifest(raw, req.MediaType);
  if (list.kind !== 'index') throw invalidParameter(`${req.MediaType} is not a manifest list`);
  const sources = req.Manifests.map((m) => {
    const ref = parseNormalizedNamed(m.Ref);
    if (ref.domain !== target.domain) throw invalidParameter(`cannot use source images from a different registry than the target image: ${ref.domain} != ${target.domain}`);
    const body = Buffer.from(m.Raw, 'base64');
    const parsed = parseManifest(body, m.MediaType);
    if (parsed.kind !== 'manifest') throw invalidParameter(`${familiarString(ref)} is a manifest list`);
    const digest = sha256(body);
    if (!list.manifests.some((d) => d.digest === digest)) throw invalidParameter(`the list does not name ${familiarString(ref)} (${digest})`);
    return { ref, body, parsed, digest, mediaType: parsed.mediaType || m.MediaType };
  });
  for (const d of list.manifests) {
    if (!sources.some((s) => s.digest === d.digest)) throw invalidParameter(`the list names ${d.digest}, which is not among its manifests`);
  }
  return withEndpoints(access(a, target.domain, insecure), target.domain, creds, async (client) => {
    const pushed: ManifestListPushResult['Pushed'] = [];
    // A manifest of the list's own repository is there already; one from another repository
    // is put there by digest, after its blobs (docker reports only these).
    for (const s of sources) {
      if (s.ref.path === target.path) continue;
      for (const blob of [s.parsed.config, ...s.parsed.layers]) await ensureBlob(client, target.path, s.ref.path, blob.digest, blob.size);
      await client.putManifest(target.path, s.digest, s.mediaType, s.body);
      pushed.push({ Ref: `${target.domain}/${target.path}@${s.digest}`, Digest: s.digest });
    }
    const digest = (await client.putManifest(target.path, target.tag ?? 'latest', list.mediaType || req.MediaType, raw)) ?? sha256(raw);
    return { Pushed: pushed, Digest: digest };
  });
}
