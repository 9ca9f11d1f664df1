/** `network ls --filter`: docker's keys (driver, id, label, name, scope, type, dangling). */
import { invalidParameter } from '../errdefs/index.ts';
import { matchLabel } from '../lib/filters.ts';
import type { NetworkRecord } from './service.ts';

const BUILTIN = new Set(['bridge', 'host', 'none']);

export function filterNetworks(list: NetworkRecord[], filters: Map<string, string[]>, used: (n: NetworkRecord) => boolean): NetworkRecord[] {
  for (const k of filters.keys()) if (!['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
  for (const t of filters.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalidParameter(`invalid filter: 'type'='${t}'`);
  const dangling = filters.get('dangling');
  let wantDangling: boolean | undefined;
  if (dangling) {
    if (dangling.length > 1) throw invalidParameter(`got more than one value for filter key "dangling"`);
    const v = dangling[0].toLowerCase();
    if (['true', '1'].includes(v)) wantDangling = true;
    else if (['false', '0'].includes(v)) wantDangling = false;
    else throw invalidParameter(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
  }
  const any = (key: string, test: (v: string) => boolean) => {
    const vals = filters.get(key);
    return !vals || vals.some(test);
  };
  return list.filter((n) =>
    any('driver', (v) => n.Driver === v) &&
    any('id', (v) => goMatch(v, n.Id)) &&
    any('name', (v) => goMatch(v, n.Name)) &&
    any('scope', (v) => v === 'local') &&
    any('type', (v) => (v === 'builtin') === BUILTIN.has(n.Name)) &&
    (filters.get('label') ?? []).every((l) => matchLabel(n.Labels, l)) &&
    (wantDangling === undefined || (!BUILTIN.has(n.Name) && !used(n)) === wantDangling),
  );
}

/** moby's Args.Match: the value itself, or a regular expression found in it (`^web$`, `n[12]`); one that does not compile matches nothing. */
function goMatch(pattern: string, value: string): boolean {
  if (pattern === value) return true;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return false;
  }
}

