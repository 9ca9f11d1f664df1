/**
 * The config file's `pruneFilters` (["label!=keep", "until=24h"]) joined to a prune's --filter
 * flags, as docker's CLI joins them (command.PruneFilters): a `label` filter of the file is left
 * out when the flags give the opposite one (`label!` with the same value), and the reverse.
 */
import type { ConfigFile } from './configfile.ts';

export function withPruneFilters(cfg: ConfigFile, filters: Map<string, string[]>): Map<string, string[]> {
  const has = (k: string, v: string) => filters.get(k)?.includes(v) ?? false;
  for (const f of cfg.pruneFilters ?? []) {
    const eq = f.indexOf('=');
    if (eq < 0) continue;
    const k = f.slice(0, eq);
    const v = f.slice(eq + 1);
    if (k === 'label' && has('label!', v)) continue;
    if (k === 'label!' && has('label', v)) continue;
    if (!has(k, v)) filters.set(k, [...(filters.get(k) ?? []), v]);
  }
  return filters;
}
