/** docker's common list and prune filters: `until`, `label` and boolean ones (`dangling`). */
import { invalidParameter } from '../errdefs/index.ts';
import { parseTimestamp } from './duration.ts';

/**
 * docker's `until` filter value as the daemon reads it (moby's timetypes.GetTimestamp): a Go
 * duration ago ("24h", "1h30m"), an RFC 3339 date or time, or a Unix timestamp; in ms.
 */
export function parseUntil(v: string): number {
  return Number(parseTimestamp(v, new Date()) / 1_000_000n);
}

/** A prune's `until`: one value at most, as moby's getUntilFromPruneFilters takes it. */
export function pruneUntil(filters: Map<string, string[]>): number | undefined {
  const values = filters.get('until');
  if (!values?.length) return undefined;
  if (values.length > 1) throw invalidParameter('more than one until filter specified');
  return parseUntil(values[0]);
}

/**
 * A boolean filter (moby's Args.GetBoolOrDefault): "1"/"true" or "0"/"false"; values that
 * contradict each other, or none of these, are refused. Undefined when the filter is absent.
 */
export function boolFilter(filters: Map<string, string[]>, key: string): boolean | undefined {
  const values = filters.get(key);
  if (values === undefined) return undefined;
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw invalidParameter(`invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}

export function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
