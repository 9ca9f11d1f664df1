/**
 * `GET /distribution/{name}/json` (docker-py's inspect_distribution, `docker manifest`-style
 * lookups): what the registry says a reference is, without pulling it — the manifest's
 * descriptor and the platforms it serves (an index's entries, or a single manifest's config).
 * moby leaves Platforms null for a single OCI manifest; Berth reads its config as it does for
 * a Docker one.
 */
import { kindOf, notFound, invalidParameter } from '../../errdefs/index.ts';
import { digestAlgorithm, digestOf, sha256 } from '../../lib/digest.ts';
import { withDefaultTag, type Reference } from '../../lib/reference.ts';
import type { Credentials } from '../../distribution/auth.ts';
import type { OciPlatform } from '../../api/types.ts';
import { parseManifest } from '../../distribution/media.ts';
import { ociPlatform } from '../../lib/platform.ts';
import { withEndpoints, type RegistryAccess } from './pull.ts';

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: OciPlatform[] | null;
}


const CONFIG_MAX = 4 << 20;

export async function inspectDistribution(access: RegistryAccess, named: Reference, creds: Credentials | undefined): Promise<DistributionInspect> {
  const ref = named.digest ? named : withDefaultTag(named);
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  return withEndpoints(access, ref.domain, creds, async (client) => {
    let m;
    try {
      m = await client.getManifest(ref.path, tagOrDigest);
    } catch (e) {
      if (kindOf(e) === 'NotFound') throw notFound(`manifest unknown: manifest unknown`, e);
      throw e;
    }
    const digest = ref.digest ? digestOf(m.body, digestAlgorithm(ref.digest)) : m.digest ?? sha256(m.body);
    if (ref.digest && digest !== ref.digest) throw invalidParameter(`manifest verification failed for digest ${ref.digest}`);
    const parsed = parseManifest(m.body, m.mediaType);
    const descriptor = { mediaType: parsed.mediaType || m.mediaType, digest, size: m.body.length };
    let platforms: OciPlatform[] | null = null;
    if (parsed.kind === 'index') {
      platforms = parsed.manifests.map((d) => ociPlatform(d.platform ?? {}));
    } else {
      // The config names the platform; a config that cannot be read leaves it unknown (moby).
      const cfg = await client.readBlob(ref.path, parsed.config.digest, CONFIG_MAX).then((b) => JSON.parse(b.toString('utf8')) as unknown, () => undefined);
      if (cfg && typeof cfg === 'object') {
        const p = ociPlatform(cfg as Record<string, unknown>);
        if (p.os || p.architecture) platforms = [p];
      }
    }
    return { Descriptor: descriptor, Platforms: platforms };
  });
}
