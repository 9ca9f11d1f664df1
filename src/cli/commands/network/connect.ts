/** `berth network connect|disconnect`, as docker's (cli/command/network/connect.go, disconnect.go). */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';

const connectFlags = defineFlags({
  ip: { long: 'ip', kind: 'string', help: 'IPv4 address (e.g., "172.30.100.104")', typeName: 'ip' },
  ip6: { long: 'ip6', kind: 'string', help: 'IPv6 address (e.g., "2001:db8::33")', typeName: 'ip' },
  link: { long: 'link', kind: 'stringArray', help: 'Add link to another container', typeName: 'list' },
  alias: { long: 'alias', kind: 'stringArray', help: 'Add network-scoped alias for the container', typeName: 'strings' },
  linkLocalIp: { long: 'link-local-ip', kind: 'stringArray', help: 'Add a link-local address for the container', typeName: 'strings' },
  driverOpt: { long: 'driver-opt', kind: 'stringArray', help: 'driver options for the network', typeName: 'strings' },
  gwPriority: { long: 'gw-priority', kind: 'int', help: 'Highest gw-priority provides the default gateway. Accepts positive and negative values.', default: 0 },
});

export const networkConnectCommand = defineCommand({ name: 'connect', usage: '[OPTIONS] NETWORK CONTAINER', short: 'Connect a container to a network', flags: connectFlags, args: { min: 2, max: 2 } });

export async function networkConnect(ctx: CliContext, p: Parsed<typeof connectFlags>): Promise<number> {
  const f = p.flags;
  const [network, container] = p.args;
  const driverOpts: Record<string, string> = {};
  for (const o of f.driverOpt) {
    const eq = o.indexOf('=');
    driverOpts[eq < 0 ? o : o.slice(0, eq)] = eq < 0 ? '' : o.slice(eq + 1);
  }
  await ctx.client.networkConnect(network, {
    Container: container,
    EndpointConfig: {
      IPAMConfig: { IPv4Address: f.ip ?? '', IPv6Address: f.ip6 ?? '', LinkLocalIPs: f.linkLocalIp },
      Links: f.link, Aliases: f.alias, DriverOpts: driverOpts, GwPriority: f.gwPriority,
    },
  });
  return 0;
}

const disconnectFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the container to disconnect from a network' },
});

export const networkDisconnectCommand = defineCommand({ name: 'disconnect', usage: '[OPTIONS] NETWORK CONTAINER', short: 'Disconnect a container from a network', flags: disconnectFlags, args: { min: 2, max: 2 } });

export async function networkDisconnect(ctx: CliContext, p: Parsed<typeof disconnectFlags>): Promise<number> {
  const [network, container] = p.args;
  await ctx.client.networkDisconnect(network, { Container: container, Force: p.flags.force });
  return 0;
}
