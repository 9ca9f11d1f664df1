/**
 * Swarm's endpoints. Berth is a single-host engine: the swarm is always inactive, and each
 * endpoint answers as dockerd answers on a node that is in no swarm (503 and moby's words,
 * which clients recognise), except that one cannot be initialised or joined.
 */
import { notImplemented, unavailable } from '../../../../errdefs/index.ts';
import type { Route } from '../../router.ts';

const NO_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NO_SWARM = 'This node is not part of a swarm';

const noManager = (): Promise<void> => Promise.reject(unavailable(NO_MANAGER));

export function swarmRoutes(): Route[] {
  const routes: Route[] = [
    { method: 'GET', path: '/swarm', handler: noManager },
    { method: 'POST', path: '/swarm/update', handler: noManager },
    { method: 'GET', path: '/swarm/unlockkey', handler: noManager },
    { method: 'POST', path: '/swarm/unlock', handler: () => Promise.reject(unavailable(NO_SWARM)) },
    { method: 'POST', path: '/swarm/leave', handler: () => Promise.reject(unavailable(NO_SWARM)) },
    ...['init', 'join'].map((what): Route => ({
      method: 'POST', path: `/swarm/${what}`,
      handler: () => Promise.reject(notImplemented(`swarm mode is not supported by Berth (a single-host engine): this node cannot ${what === 'init' ? 'initialise' : 'join'} a swarm`)),
    })),
  ];
  // Services, tasks, nodes, secrets and configs exist only in a swarm.
  for (const kind of ['services', 'tasks', 'nodes', 'secrets', 'configs']) {
    routes.push(
      { method: 'GET', path: `/${kind}`, handler: noManager },
      { method: 'GET', path: `/${kind}/{id}`, handler: noManager },
      { method: 'DELETE', path: `/${kind}/{id}`, handler: noManager },
      { method: 'POST', path: `/${kind}/{id}/update`, handler: noManager },
    );
    if (kind === 'services' || kind === 'secrets' || kind === 'configs') routes.push({ method: 'POST', path: `/${kind}/create`, handler: noManager });
    if (kind === 'services' || kind === 'tasks') routes.push({ method: 'GET', path: `/${kind}/{id}/logs`, handler: noManager });
  }
  return routes;
}
