/** Image platforms ("linux/arm64/v8"): parsing, the API's query form, matching. */
import { invalidParameter, notFound } from '../errdefs/index.ts';

export function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
}

/** `--platform os/arch[/variant]` (default: this machine). */
export function parsePlatform(p: string | undefined): { os: string; architecture: string; variant?: string } {
  if (!p) return { os: 'linux', architecture: goArch() };
  const [os, architecture, variant] = p.toLowerCase().split('/');
  if (!os || !architecture) throw invalidParameter(`invalid platform "${p}": expected os/arch[/variant]`);
  const arch = architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture;
  return { os, architecture: arch, ...(variant ? { variant } : {}) };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * The `platform` query parameter of save and load (API 1.48+): the docker CLI sends an OCI
 * platform as JSON; "os/arch[/variant]" is taken too. At most one, as dockerd.
 */
export function platformQuery(values: string[]): Platform | undefined {
  const given = values.filter((v) => v !== '');
  if (given.length > 1) throw invalidParameter('multiple platform parameters not supported');
  if (!given.length) return undefined;
  const v = given[0];
  if (!v.trimStart().startsWith('{')) return parsePlatform(v);
  let p: unknown;
  try {
    p = JSON.parse(v);
  } catch {
    throw invalidParameter(`invalid platform parameter: ${v}`);
  }
  const o = p as Partial<Platform>;
  if (typeof o?.os !== 'string' || typeof o.architecture !== 'string' || (o.variant !== undefined && typeof o.variant !== 'string')) {
    throw invalidParameter(`invalid platform parameter: ${v}`);
  }
  return parsePlatform([o.os, o.architecture, o.variant].filter(Boolean).join('/'));
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** containerd's matcher, for one image: same OS and architecture; a wanted variant must match (arm64's default is v8). */
export function platformMatches(have: Platform, want: Platform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  const hv = have.variant || (have.architecture === 'arm64' ? 'v8' : '');
  return hv === want.variant;
}

/**
 * A wanted platform against an image's: the store holds one platform per image, so it can only
 * confirm that one (as dockerd's graph-driver store). Throws docker's NotFound otherwise.
 */
export function confirmPlatform(name: string, have: Platform, want: Platform | undefined): void {
  if (want && !platformMatches(have, want)) throw notFound(`image with reference ${name} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`);
}

/**
 * An OCI platform (an index entry's, an image config's, or one the user gave) as ocispec's
 * struct marshals it: architecture and os always, the optional fields only when set.
 */
export function ociPlatform(p: { architecture?: unknown; os?: unknown; 'os.version'?: unknown; 'os.features'?: unknown; variant?: unknown }): {
  architecture: string; os: string; 'os.version'?: string; 'os.features'?: string[]; variant?: string;
} {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    architecture: str(p.architecture),
    os: str(p.os),
    ...(str(p['os.version']) ? { 'os.version': str(p['os.version']) } : {}),
    ...(Array.isArray(p['os.features']) && p['os.features'].length ? { 'os.features': p['os.features'].map(String) } : {}),
    ...(str(p.variant) ? { variant: str(p.variant) } : {}),
  };
}
