/**
 * `--cache-from` (moby's image/cache ImageCache): images named by the build, typically pulled
 * and so without the parent links the local cache follows, are matched step by step through
 * their history. A step matches a source when the source's history begins with the current
 * image's history (and its layers with the current layers) and its next history entry was
 * made by the step's command (`created_by`, the cache key's Cmd joined by spaces). These are
 * the pure parts; the daemon makes the matched images.
 */
import type { ImageConfigFile, ImageHistoryEntry } from '../api/types.ts';
import type { RunConfig } from './backend.ts';

function sameEntry(a: ImageHistoryEntry, b: ImageHistoryEntry): boolean {
  return (a.created ?? '') === (b.created ?? '') && (a.created_by ?? '') === (b.created_by ?? '') && (a.author ?? '') === (b.author ?? '')
    && (a.comment ?? '') === (b.comment ?? '') && !!a.empty_layer === !!b.empty_layer;
}

/** moby's isValidParent: `target` continues `parent` (its history and layers are a prefix of the target's). */
export function continues(target: ImageConfigFile, parent: ImageConfigFile | undefined): boolean {
  const th = target.history ?? [];
  if (!th.length) return false;
  const ph = parent?.history ?? [];
  const pd = parent?.rootfs.diff_ids ?? [];
  if (!parent || (!ph.length && !pd.length)) return true;
  if (ph.length >= th.length || pd.length > target.rootfs.diff_ids.length) return false;
  return ph.every((h, i) => sameEntry(h, th[i])) && pd.every((d, i) => d === target.rootfs.diff_ids[i]);
}

/** moby's isValidConfig: the history entry was made by this step's command. */
export function madeBy(key: RunConfig, entry: ImageHistoryEntry | undefined): boolean {
  return !!entry && (key.Cmd ?? []).join(' ') === (entry.created_by ?? '');
}

/** The index in `rootfs.diff_ids` of the layer history entry `index` made; undefined for a config-only entry. */
export function layerOfHistory(img: ImageConfigFile, index: number): number | undefined {
  const h = img.history ?? [];
  if (h[index]?.empty_layer) return undefined;
  let layer = 0;
  for (let i = 0; i < index; i++) if (!h[i]?.empty_layer) layer++;
  return layer < img.rootfs.diff_ids.length ? layer : undefined;
}
