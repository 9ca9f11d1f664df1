/** A container's events carry its labels, image and name, as docker's do (moby daemon/events.go LogContainerEventWithAttributes). */
import type { Container } from './container.ts';
import type { ContainerDeps } from './deps.ts';

export function containerEvent(d: Pick<ContainerDeps, 'events'>, c: Container, action: string, extra: Record<string, string> = {}): void {
  d.events('container', action, c.id, { ...(c.rec.Config.Labels ?? {}), image: c.rec.Config.Image, name: c.name, ...extra });
}
