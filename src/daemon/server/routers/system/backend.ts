import type { VersionResponse } from '../../../../api/types.ts';

/** What the system routes need from the daemon. */
export interface SystemBackend {
  version(): VersionResponse;
  info(): Promise<Record<string, unknown>>;
  /** GET /system/df. */
  diskUsage(): Promise<Record<string, unknown>>;
}
