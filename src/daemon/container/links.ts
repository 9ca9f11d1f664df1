/**
 * Legacy links (`--link NAME[:ALIAS]`) on the default bridge, as moby keeps them: recorded at
 * create as "/child:/parent/alias" (the child must exist), resolved at each start (the child
 * must be running) into /etc/hosts lines and the child's environment (moby's links.Link.ToEnv);
 * removed with `DELETE /containers/<parent>/<alias>?link=1`. On user-defined networks links are
 * the endpoint's (NetworkingConfig) and only make an alias its DNS server answers.
 */
import { conflict, invalidParameter, isNotFound, notFound } from '../../errdefs/index.ts';
import type { Container, ContainerRecord } from './container.ts';
import type { ContainerDeps } from './deps.ts';

/** True where HostConfig.Links apply: the default bridge. */
export function legacyLinks(rec: { HostConfig: { NetworkMode: string } }): boolean {
  return rec.HostConfig.NetworkMode === 'bridge' || rec.HostConfig.NetworkMode === 'default';
}

/** "web", "web:db", "/web:/app/db" → [child name, alias]. */
export function parseLink(link: string): [string, string] {
  const parts = link.split(':');
  if (parts.length > 2 || !parts[0]) throw invalidParameter(`bad format for links: ${link}`);
  const name = parts[0].replace(/^\//, '');
  const alias = (parts[1] ?? parts[0]).split('/').pop()!;
  if (!alias) throw invalidParameter(`bad format for links: ${link}`);
  return [name, alias];
}

/** At create: each link's child must exist and may not be on the host's network. */
export function recordLinks(d: ContainerDeps, links: string[] | null, mode: string, parentName: string): string[] | null {
  if (!links?.length) return null;
  if (mode === 'host') throw invalidParameter("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  if (mode.startsWith('container:')) throw invalidParameter("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  if (mode === 'none') throw invalidParameter("conflicting options: the none network mode can't be used with links");
  if (!legacyLinks({ HostConfig: { NetworkMode: mode } })) return links;
  return links.map((l) => {
    const [name, alias] = parseLink(l);
    let child: Container;
    try {
      child = d.store.get(name);
    } catch (e) {
      // Not a 404: the docker CLI would take it for a missing image.
      throw isNotFound(e) ? invalidParameter(`could not get container for ${name}: No such container: ${name}`) : e;
    }
    if (child.rec.HostConfig.NetworkMode === 'host') throw invalidParameter("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    return `/${child.name}:/${parentName}/${alias}`;
  });
}

export interface ResolvedLinks {
  hosts: string[];
  env: string[];
}

/** At start: the linked children's addresses and environment; each must be running. */
export function resolveLinks(d: ContainerDeps, rec: ContainerRecord): ResolvedLinks {
  const out: ResolvedLinks = { hosts: [], env: [] };
  if (!legacyLinks(rec)) return out;
  for (const link of rec.HostConfig.Links ?? []) {
    const [childPart, full] = link.split(':');
    const alias = full.split('/').pop()!;
    const name = childPart.replace(/^\//, '');
    let child: Container | undefined;
    try {
      child = d.store.get(name);
    } catch {
      child = undefined;
    }
    const ip = child?.state.Running ? child.rec.Networks?.bridge?.IPAddress : undefined;
    if (!child || !ip) throw invalidParameter(`Cannot link to a non running container: /${name} AS ${full}`);
    out.hosts.push(`${ip}\t${alias} ${child.rec.Config.Hostname}${alias !== name ? ` ${name}` : ''}`);
    out.env.push(...linkEnv(full, ip, Object.keys(child.rec.Config.ExposedPorts ?? {}), child.rec.Config.Env ?? []));
  }
  return out;
}

/** moby's Link.ToEnv: ALIAS_PORT, ALIAS_PORT_80_TCP*, ranges, ALIAS_NAME, ALIAS_ENV_*. */
export function linkEnv(linkName: string, ip: string, exposed: string[], childEnv: string[]): string[] {
  const alias = linkName.split('/').pop()!.toUpperCase().replace(/-/g, '_');
  const ports = exposed.map((k) => {
    const [p, proto = 'tcp'] = k.split('/');
    return { n: Number(p), proto };
  }).sort((a, b) => a.n - b.n || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
  const env: string[] = [];
  if (ports.length) env.push(`${alias}_PORT=${ports[0].proto}://${ip}:${ports[0].n}`);
  for (let i = 0; i < ports.length;) {
    const p = ports[i];
    // moby's nextContiguous: by number only; a range is three ports or more.
    let j = i;
    for (let k = i + 1, value = p.n; k < ports.length && ports[k].n <= value + 1; k++, value++) j = k;
    if (j > i + 1) {
      const P = p.proto.toUpperCase();
      const q = ports[j];
      env.push(`${alias}_PORT_${p.n}_${P}_START=${p.proto}://${ip}:${p.n}`, `${alias}_PORT_${p.n}_${P}_ADDR=${ip}`, `${alias}_PORT_${p.n}_${P}_PROTO=${p.proto}`,
        `${alias}_PORT_${p.n}_${P}_PORT_START=${p.n}`, `${alias}_PORT_${p.n}_${q.proto.toUpperCase()}_END=${q.proto}://${ip}:${q.n}`, `${alias}_PORT_${p.n}_${q.proto.toUpperCase()}_PORT_END=${q.n}`);
      i = j + 1;
      continue;
    }
    i++;
  }
  for (const p of ports) {
    const P = p.proto.toUpperCase();
    env.push(`${alias}_PORT_${p.n}_${P}=${p.proto}://${ip}:${p.n}`, `${alias}_PORT_${p.n}_${P}_ADDR=${ip}`, `${alias}_PORT_${p.n}_${P}_PORT=${p.n}`, `${alias}_PORT_${p.n}_${P}_PROTO=${p.proto}`);
  }
  env.push(`${alias}_NAME=${linkName}`);
  for (const v of childEnv) {
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const name = v.slice(0, eq);
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${alias}_ENV_${name}=${v.slice(eq + 1)}`);
  }
  return env;
}

/** `DELETE /containers/<parent>/<alias>?link=1`: the link goes; its child stays. */
export async function removeLink(d: ContainerDeps, name: string): Promise<void> {
  const full = name.startsWith('/') ? name : `/${name}`;
  const slash = full.lastIndexOf('/');
  if (slash === 0) throw conflict('Conflict, cannot remove the default link name of the container');
  const parentName = full.slice(1, slash);
  let parent: Container;
  try {
    parent = d.store.get(parentName);
  } catch {
    throw notFound(`Cannot get parent /${parentName} for link name ${full}`);
  }
  await d.locks.with(parent.id, async () => {
    const links = parent.rec.HostConfig.Links ?? [];
    const kept = links.filter((l) => l.split(':')[1] !== full);
    if (kept.length === links.length) throw notFound(`No such container: ${full}`);
    parent.rec.HostConfig.Links = kept.length ? kept : null;
    await d.store.save(parent);
  });
}
