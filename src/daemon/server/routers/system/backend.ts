import type { VersionResponse } from '../../../../api/types.ts';

/** What the system routes need from the daemon. */
export interface SystemBackend {
  version(): Promise<VersionResponse>;
  info(): Promise<Record<string, unknown>>;
  /** GET /system/df. */
  diskUsage(types?: Set<string>): Promise<Record<string, unknown>>;
  /**
   * GET /events: the stored events in range, then new ones until `untilNs` or the signal, each
   * as its JSON text (timeNano exact). Throws on bad filters before yielding.
   */
  events(f: { sinceNs?: bigint; untilNs?: bigint; filters: Map<string, string[]> }, signal: AbortSignal): AsyncIterable<string>;
}
