import type { Volume } from '../../../../api/types.ts';
import type { VolumeCreateInput } from '../../bodies.ts';

/** What the volume routes need from the daemon. */
export interface VolumeBackend {
  list(filters: Map<string, string[]>): Volume[];
  create(body: VolumeCreateInput): Promise<Volume>;
  inspect(name: string): Volume;
  remove(name: string, force: boolean): Promise<void>;
  /** `all` from the API version: before 1.42 prune took every unused volume. */
  prune(filters: Map<string, string[]>, all: boolean): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}
