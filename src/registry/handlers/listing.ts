/** GET /v2/<name>/tags/list and GET /v2/_catalog, paginated with `n`, `last` and `Link`. */
import { RegistryError } from '../errcode.ts';
import { sendJson, type RequestContext } from './context.ts';

/** The catalog's page size when the client does not ask (distribution's default). */
export const CATALOG_DEFAULT_N = 1000;

/** One page of a sorted list: entries after `last`, at most `n`, and whether more follow. */
export function paginate(all: string[], url: URL, defaultN: number | undefined): { items: string[]; next?: string } {
  const nParam = url.searchParams.get('n');
  let n = defaultN;
  if (nParam !== null) {
    if (!/^\d+$/.test(nParam)) throw new RegistryError('PAGINATION_NUMBER_INVALID', undefined, { n: nParam });
    n = Number(nParam);
  }
  if (n === 0) return { items: [] };
  const last = url.searchParams.get('last');
  const from = last ? all.filter((x) => x > last) : all;
  if (n === undefined || from.length <= n) return { items: from };
  const items = from.slice(0, n);
  const next = new URL(url.pathname, 'http://x');
  next.searchParams.set('last', items[items.length - 1] ?? last ?? '');
  next.searchParams.set('n', String(n));
  return { items, next: `<${next.pathname}${next.search}>; rel="next"` };
}

export async function listTags(ctx: RequestContext): Promise<void> {
  const tags = await ctx.storage.listTags(ctx.name);
  const page = paginate(tags, ctx.url, undefined);
  sendJson(ctx.res, 200, { name: ctx.name, tags: page.items }, page.next ? { Link: page.next } : {});
}

export async function catalog(ctx: RequestContext): Promise<void> {
  const repos = await ctx.storage.listRepositories();
  const page = paginate(repos, ctx.url, CATALOG_DEFAULT_N);
  sendJson(ctx.res, 200, { repositories: page.items }, page.next ? { Link: page.next } : {});
}
