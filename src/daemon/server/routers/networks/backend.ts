import type { NetworkConnectInput, NetworkCreateInput } from '../../bodies.ts';
import type { NetworkResource } from '../../../../api/types.ts';

/** What the network routes need from the daemon. */
export interface NetworkBackend {
  list(filters: Map<string, string[]>): NetworkResource[];
  inspect(ref: string): NetworkResource;
  create(body: NetworkCreateInput): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  connect(network: string, container: string, endpoint: NonNullable<NetworkConnectInput['EndpointConfig']>): Promise<void>;
  disconnect(network: string, container: string, force: boolean): Promise<void>;
  prune(filters: Map<string, string[]>): Promise<{ NetworksDeleted: string[] | null }>;
}
