/**
 * Maps a request path to a registry route. Repository names contain slashes, so the route is
 * recognised from the end of the path (`…/manifests/<ref>`, `…/blobs/<digest>`, …).
 */
import { checkName } from './names.ts';

export type RouteKind = 'base' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'uploads' | 'upload' | 'referrers' | 'token';

export interface Route {
  kind: RouteKind;
  name: string;
  param: string;
}

const REPO_ROUTE = /^\/v2\/(.+)\/(?:(tags)\/list|(manifests)\/([^/]+)|blobs\/(uploads)\/?([^/]*)|(blobs)\/([^/]+)|(referrers)\/([^/]+))$/;

/** The route for a path; undefined for paths the API does not have. Throws NAME_INVALID. */
export function route(pathname: string): Route | undefined {
  if (pathname === '/v2' || pathname === '/v2/') return { kind: 'base', name: '', param: '' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog', name: '', param: '' };
  if (pathname === '/token') return { kind: 'token', name: '', param: '' };
  const m = REPO_ROUTE.exec(pathname);
  if (!m) return undefined;
  const name = checkName(decodeURIComponent(m[1]));
  if (m[2]) return { kind: 'tags', name, param: '' };
  if (m[3]) return { kind: 'manifest', name, param: decodeURIComponent(m[4]) };
  if (m[5]) return m[6] ? { kind: 'upload', name, param: m[6] } : { kind: 'uploads', name, param: '' };
  if (m[9]) return { kind: 'referrers', name, param: decodeURIComponent(m[10]) };
  return { kind: 'blob', name, param: decodeURIComponent(m[8]) };
}
