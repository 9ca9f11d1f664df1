/**
 * API versions: Berth speaks the Engine API of moby 28.2 (v1.50) and, by default, accepts
 * clients down to 1.12 as dockerd 20.10 did (skopeo's docker-daemon: transport sends /v1.22).
 * `min-api-version` (daemon.json) or DOCKER_MIN_API_VERSION raise the floor.
 */
export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.12';

/** Checks a configured floor: a version between 1.12 and the current one; returns the error. */
export function checkMinVersion(v: string): string | undefined {
  if (!/^\d+\.\d+$/.test(v)) return `invalid API version (${JSON.stringify(v)}): must be formatted <major>.<minor>`;
  if (compareVersions(v, MIN_API_VERSION) < 0) return `invalid API version (${v}): must be ${MIN_API_VERSION} or above`;
  if (compareVersions(v, API_VERSION) > 0) return `invalid API version (${v}): must be ${API_VERSION} or below`;
  return undefined;
}
export const ENGINE_VERSION = '28.2.2-berth';

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const versionAtLeast = (v: string, min: string) => compareVersions(v, min) >= 0;
