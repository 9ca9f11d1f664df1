/**
 * Where blobs are known to live on registries ("domain/repo" per digest), learned from pulls
 * and pushes, so a push can ask for a cross-repository mount instead of uploading again.
 * In memory only: losing it costs an upload, never correctness.
 */
const sources = new Map<string, Set<string>>();

export function rememberSource(domain: string, repo: string, digest: string): void {
  let s = sources.get(digest);
  if (!s) sources.set(digest, (s = new Set()));
  s.add(`${domain}/${repo}`);
}

/** Other repositories on `domain` holding `digest`. */
export function sourcesOf(domain: string, digest: string, except: string): string[] {
  return [...(sources.get(digest) ?? [])].filter((s) => s.startsWith(`${domain}/`) && s !== `${domain}/${except}`).map((s) => s.slice(domain.length + 1));
}
