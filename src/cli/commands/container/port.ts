/** `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports, as docker prints them. */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { naturalCompare } from '../../../lib/natural.ts';

const portFlags = defineFlags({});

export const portCommand = defineCommand({
  name: 'port', usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', short: 'List port mappings or a specific mapping for the container',
  aliasPaths: ['container port', 'port'], flags: portFlags, args: { min: 1, max: 2 },
});

const hostPort = (ip: string, port: string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export async function port(ctx: CliContext, p: Parsed<typeof portFlags>): Promise<number> {
  const [name, asked] = p.args;
  const c = await ctx.client.containerInspect(name);
  const ports = (c.NetworkSettings as { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> }).Ports ?? {};
  const out: string[] = [];
  if (asked !== undefined) {
    const [num, proto = 'tcp'] = asked.split('/');
    if (!/^\d+$/.test(num) || Number(num) > 65535) throw new StatusError(1, `Error: invalid port (${num}): strconv.ParseUint: parsing "${num}": ${/^\d+$/.test(num) ? 'value out of range' : 'invalid syntax'}`);
    const frontends = ports[`${num}/${proto}`];
    if (!frontends?.length) throw new StatusError(1, `Error: No public port '${asked}' published for ${name}`);
    for (const f of frontends) out.push(hostPort(f.HostIp, f.HostPort));
  } else {
    for (const [from, frontends] of Object.entries(ports)) for (const f of frontends ?? []) out.push(`${from} -> ${hostPort(f.HostIp, f.HostPort)}`);
  }
  out.sort(naturalCompare);
  if (out.length) ctx.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
