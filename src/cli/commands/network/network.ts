/** `berth network create|ls|inspect|rm|prune`, with docker's output (cli/command/network). */
import { BlockList, isIP } from 'node:net';
import { withPruneFilters } from '../../prunefilters.ts';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, removeEach, StatusError, type CliContext } from '../../context.ts';
import type { NetworkResource } from '../../../api/types.ts';
import { fromDaemon, inspectEach, renderRows, renderTable, structRow } from '../../format.ts';
import { parseFilterFlags } from '../container/ps.ts';
import { confirm } from '../../confirm.ts';
import { naturalCompare } from '../../../lib/natural.ts';

const createFlags = defineFlags({
  driver: { short: 'd', long: 'driver', kind: 'string', help: 'Driver to manage the Network', default: 'bridge' },
  subnet: { long: 'subnet', kind: 'stringArray', help: 'Subnet in CIDR format that represents a network segment', typeName: 'strings' },
  gateway: { long: 'gateway', kind: 'stringArray', help: 'IPv4 or IPv6 Gateway for the master subnet', typeName: 'strings' },
  ipRange: { long: 'ip-range', kind: 'stringArray', help: 'Allocate container ip from a sub-range', typeName: 'strings' },
  internal: { long: 'internal', kind: 'bool', help: 'Restrict external access to the network' },
  attachable: { long: 'attachable', kind: 'bool', help: 'Enable manual container attachment' },
  label: { long: 'label', kind: 'stringArray', help: 'Set metadata on a network', typeName: 'list' },
  opt: { short: 'o', long: 'opt', kind: 'stringArray', help: 'Set driver specific options', typeName: 'map', defaultText: 'map[]' },
  ipamDriver: { long: 'ipam-driver', kind: 'string', help: 'IP Address Management Driver', default: 'default' },
  ipamOpt: { long: 'ipam-opt', kind: 'stringArray', help: 'Set IPAM driver specific options', typeName: 'map', defaultText: 'map[]' },
  auxAddress: { long: 'aux-address', kind: 'stringArray', help: 'Auxiliary IPv4 or IPv6 addresses used by Network driver', typeName: 'map', defaultText: 'map[]' },
  ipv4: { long: 'ipv4', kind: 'bool', help: 'Enable or disable IPv4 address assignment', default: true },
  ipv6: { long: 'ipv6', kind: 'bool', help: 'Enable or disable IPv6 address assignment' },
  // Swarm's and configuration-only networks: sent as docker's CLI sends them, refused by berthd by name.
  scope: { long: 'scope', kind: 'string', help: "Control the network's scope" },
  configFrom: { long: 'config-from', kind: 'string', help: 'The network from which to copy the configuration' },
  configOnly: { long: 'config-only', kind: 'bool', help: 'Create a configuration only network' },
  ingress: { long: 'ingress', kind: 'bool', help: 'Create swarm routing-mesh network' },
});

export const networkCreateCommand = defineCommand({ name: 'create', usage: '[OPTIONS] NETWORK', short: 'Create a network', flags: createFlags, args: { min: 1, max: 1 } });

function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq < 0) out[kv] = '';
    else out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** Go's net.ParseCIDR, for the docker CLI's checks: the address and its prefix, or its error. */
function parseCidrText(s: string): { ip: string; bits: number } {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || !family || Number(m[2]) > (family === 4 ? 32 : 128)) throw new StatusError(1, `invalid CIDR address: ${s}`);
  return { ip: m[1]!, bits: Number(m[2]) };
}

/** The docker CLI's subnetMatches: whether `data` (an address, or a prefix's address) is in `subnet`. */
function subnetMatches(subnet: string, data: string): boolean {
  let net;
  try {
    net = parseCidrText(subnet);
  } catch (e) {
    throw new StatusError(1, `invalid subnet: ${(e as Error).message}`);
  }
  const ip = data.includes('/') ? parseCidrText(data).ip : data;
  const family = isIP(net.ip) === 4 ? 'ipv4' : 'ipv6';
  if (isIP(ip) !== isIP(net.ip)) return false;
  const list = new BlockList();
  list.addSubnet(net.ip, net.bits, family);
  return list.check(ip, family);
}

/** The docker CLI's createIPAMConfig: each --ip-range, --gateway and --aux-address given to the subnet it is in. */
function ipamConfigs(f: { subnet: string[]; gateway: string[]; ipRange: string[] }, aux: Record<string, string>): { Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }[] {
  if (f.subnet.length < f.ipRange.length || f.subnet.length < f.gateway.length) throw new StatusError(1, 'every ip-range or gateway must have a corresponding subnet');
  const data = new Map<string, { Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses: Record<string, string> }>();
  for (const s of f.subnet) {
    for (const k of data.keys()) {
      if (subnetMatches(s, k) || subnetMatches(k, s)) throw new StatusError(1, 'multiple overlapping subnet configuration is not supported');
    }
    data.set(s, { Subnet: s, AuxiliaryAddresses: {} });
  }
  // Each --ip-range and --gateway goes to the subnet holding it, one per subnet.
  const place = (values: string[], field: 'IPRange' | 'Gateway', many: string, none: string) => {
    for (const v of values) {
      let match = false;
      for (const s of f.subnet) {
        if (field === 'IPRange') parseCidrText(v);
        if (!subnetMatches(s, v)) continue;
        const d = data.get(s)!;
        if (d[field]) throw new StatusError(1, `cannot configure multiple ${many} (${v}, ${d[field]}) ${field === 'IPRange' ? 'on' : 'for'} the same subnet (${s})`);
        d[field] = v;
        match = true;
      }
      if (!match) throw new StatusError(1, `no matching subnet for ${none} ${v}`);
    }
  };
  place(f.ipRange, 'IPRange', 'ranges', 'range');
  place(f.gateway, 'Gateway', 'gateways', 'gateway');
  for (const [key, a] of Object.entries(aux)) {
    let match = false;
    for (const s of f.subnet) {
      if (!subnetMatches(s, a)) continue;
      data.get(s)!.AuxiliaryAddresses[key] = a;
      match = true;
    }
    if (!match) throw new StatusError(1, `no matching subnet for aux-address ${a}`);
  }
  return [...data.values()].map(({ AuxiliaryAddresses, ...c }) => ({ ...c, ...(Object.keys(AuxiliaryAddresses).length ? { AuxiliaryAddresses } : {}) }));
}

export async function networkCreate(ctx: CliContext, p: Parsed<typeof createFlags>): Promise<number> {
  const f = p.flags;
  const config = ipamConfigs(f, keyValues(f.auxAddress));
  const r = await ctx.client.networkCreate({
    Name: p.args[0], Driver: f.driver, Internal: f.internal, Attachable: f.attachable, EnableIPv6: f.ipv6,
    // As docker's CLI: EnableIPv4 only when --ipv4 was given; the swarm fields when set.
    ...(p.set.has('ipv4') ? { EnableIPv4: f.ipv4 } : {}), ...(f.scope ? { Scope: f.scope } : {}), ...(f.ingress ? { Ingress: true } : {}),
    ...(f.configOnly ? { ConfigOnly: true } : {}), ...(f.configFrom ? { ConfigFrom: { Network: f.configFrom } } : {}),
    IPAM: { Driver: f.ipamDriver, Config: config, ...(f.ipamOpt.length ? { Options: keyValues(f.ipamOpt) } : {}) }, Options: keyValues(f.opt), Labels: keyValues(f.label),
  });
  ctx.stdout.write(`${r.Id}\n`);
  return 0;
}

const lsFlags = defineFlags({
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: "Provide filter values (e.g. 'driver=bridge')", typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: 'Do not truncate the output' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only display network IDs' },
});

export const networkLsCommand = defineCommand({ name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List networks', flags: lsFlags, args: { max: 0 } });

const HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

function networkRow(n: NetworkResource, trunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  return structRow('*formatter.networkContext', {
    ID: trunc ? n.Id.slice(0, 12) : n.Id, Name: n.Name, Driver: n.Driver, Scope: n.Scope,
    IPv4: String(n.EnableIPv4), IPv6: String(n.EnableIPv6), Internal: String(n.Internal),
    Labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','), Label: (k: string) => labels[k] ?? '',
    CreatedAt: n.Created,
  });
}

export async function networkLs(ctx: CliContext, p: Parsed<typeof lsFlags>): Promise<number> {
  const f = p.flags;
  const list = [...(await ctx.client.networkList(parseFilterFlags(f.filter)))].sort((a, b) => naturalCompare(a.Name, b.Name));
  const trunc = !f.noTrunc;
  // --format, else the config file's networksFormat unless -q; -q applies to the table only.
  const format = f.format || (!f.quiet && ctx.config.networksFormat) || 'table';
  if (f.quiet && format === 'table') {
    for (const n of list) ctx.stdout.write(`${trunc ? n.Id.slice(0, 12) : n.Id}\n`);
    return 0;
  }
  const rows = list.map((n) => networkRow(n, trunc));
  if (format === 'table') {
    ctx.stdout.write(renderTable(rows, [['ID', 'NETWORK ID'], ['Name', 'NAME'], ['Driver', 'DRIVER'], ['Scope', 'SCOPE']]));
    return 0;
  }
  // `raw` is docker's unnamed format (network.NewFormat).
  const raw = f.quiet ? 'network_id: {{.ID}}' : 'network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n';
  ctx.stdout.write(await renderRows(rows, format === 'raw' ? raw : format, HEADERS));
  return 0;
}

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  verbose: { short: 'v', long: 'verbose', kind: 'bool', help: 'Verbose output for diagnostics' },
});

export const networkInspectCommand = defineCommand({ name: 'inspect', usage: '[OPTIONS] NETWORK [NETWORK...]', short: 'Display detailed information on one or more networks', flags: inspectFlags, args: { min: 1 } });

export async function networkInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  await inspectEach(ctx, p.args, fromDaemon((n) => ctx.client.networkInspect(n, p.flags.verbose)), p.flags.format);
  return 0;
}

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not error if the network does not exist' },
});

export const networkRmCommand = defineCommand({ name: 'rm', aliases: ['remove'], usage: 'NETWORK [NETWORK...]', short: 'Remove one or more networks', flags: rmFlags, args: { min: 1 } });

export function networkRm(ctx: CliContext, p: Parsed<typeof rmFlags>): Promise<number> {
  return removeEach(ctx, p.args, (n) => ctx.client.networkRemove(n), (e) => p.flags.force && /not found/.test(errorText(e)));
}

const pruneFlags = defineFlags({
  filter: { long: 'filter', kind: 'stringArray', help: 'Provide filter values (e.g. "until=<timestamp>")', typeName: 'filter' },
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Do not prompt for confirmation' },
});

export const networkPruneCommand = defineCommand({ name: 'prune', usage: '[OPTIONS]', short: 'Remove all unused networks', flags: pruneFlags, args: { max: 0 } });

/** The prune itself, for `network prune` and `system prune`: the text to print. */
export async function pruneNetworks(ctx: CliContext, filterFlags: string[]): Promise<string> {
  const r = await ctx.client.networkPrune(withPruneFilters(ctx.config, parseFilterFlags(filterFlags)));
  return r.NetworksDeleted?.length ? `Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n\n` : '';
}

export async function networkPrune(ctx: CliContext, p: Parsed<typeof pruneFlags>): Promise<number> {
  if (!p.flags.force && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
  ctx.stdout.write(await pruneNetworks(ctx, p.flags.filter));
  return 0;
}
