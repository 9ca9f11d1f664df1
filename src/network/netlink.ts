/**
 * Links, addresses and network namespaces through iproute2 (Node has no netlink): a bridge per
 * network, a network namespace per container kept as a bind-mounted file (libnetwork's
 * sandbox: it exists before the runtime creates the container, which joins it), and a veth pair
 * per endpoint, its container end made `eth0` in the namespace directly (a macvlan or ipvlan
 * network's endpoint is a link on its parent, made into the namespace). Each step is one
 * `ip -batch` run, so an endpoint costs three processes.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { runChecked as run, runCommand } from '../lib/spawner.ts';

async function quiet(cmd: string, args: string[]): Promise<boolean> {
  const r = await runCommand(cmd, args).catch(() => undefined);
  return r?.code === 0;
}

export async function linkExists(name: string): Promise<boolean> {
  return quiet('ip', ['link', 'show', 'dev', name]);
}

/**
 * The bridge with its gateway address (and its IPv6 one on a dual-stack network, without
 * duplicate address detection, which would hold it unusable for a second or two), up; made if
 * missing (an existing one is kept).
 */
export async function ensureBridge(name: string, gatewayCidr: string, mtu: number, gateway6Cidr?: string): Promise<void> {
  if (!(await linkExists(name))) {
    // A fixed address of its own: a bridge otherwise takes its ports' lowest, so it changes as
    // veths come and go, and containers keep sending to the gateway's old one until their
    // ARP entries expire (seconds of lost DNS answers and connections).
    const mac = ['02', ...randomBytes(5).toString('hex').match(/../g)!].join(':');
    await run('ip', ['-batch', '-'], `link add name ${name} mtu ${mtu} address ${mac} type bridge\n`);
  }
  const addrs = await run('ip', ['-o', 'addr', 'show', 'dev', name]);
  const lines = [`link set ${name} up`];
  if (!addrs.includes(` ${gatewayCidr} `)) lines.unshift(`addr add ${gatewayCidr} brd + dev ${name}`);
  if (gateway6Cidr) {
    await writeFile(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '0');
    if (!addrs.includes(` ${gateway6Cidr} `)) lines.unshift(`addr add ${gateway6Cidr} dev ${name} nodad`);
  }
  await run('ip', ['-batch', '-'], lines.join('\n') + '\n');
}

/** A bridge's IPv6 addresses of global scope removed (its IPv6 subnet changed or turned off). */
export async function flushAddresses6(name: string): Promise<void> {
  if (await linkExists(name)) await runCommand('ip', ['-6', 'addr', 'flush', 'dev', name, 'scope', 'global']).catch(() => undefined);
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await run('ip', ['link', 'del', 'dev', name]);
}

/**
 * The directory of namespace files: a private mount of itself, as `ip netns` keeps /run/netns,
 * or the bind mounts of the files would propagate (and could not be made).
 */
export async function prepareNetnsDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const mounts = await run('findmnt', ['-rno', 'TARGET', dir]).catch(() => '');
  if (!mounts.split('\n').includes(dir)) await run('mount', ['--bind', dir, dir]);
  await run('mount', ['--make-private', dir]);
}

/**
 * A new network namespace kept at `path`, loopback up, with the veths `veths` (each made from
 * inside, its host end sent out to berthd's namespace, then put on its bridge): one process in
 * the namespace and one outside, whatever the number of endpoints. Nothing is left on failure.
 */
export async function createNetns(path: string, veths: VethConfig[] = [], sublinks: SubLinkConfig[] = []): Promise<void> {
  await writeFile(path, '', { mode: 0o600 });
  const inside = ['link set lo up'];
  for (const c of veths) {
    inside.push(
      `link add ${c.ifName} mtu ${c.mtu} address ${c.mac} type veth peer name ${c.hostName} mtu ${c.mtu} netns ${process.pid}`,
      ...interfaceSetup(c),
    );
  }
  try {
    await run('unshare', [`--net=${path}`, 'ip', '-batch', '-'], inside.join('\n') + '\n');
    // The host's side: veths onto their bridges; macvlan/ipvlan links made on their parents
    // straight into the namespace (under a temporary name: the parent's namespace may hold an eth0).
    const outside = [...veths.map((c) => `link set ${c.hostName} master ${c.bridge} up`), ...sublinks.map(sublinkAdd(path))];
    if (outside.length) await run('ip', ['-batch', '-'], outside.join('\n') + '\n');
    if (sublinks.length) await run('nsenter', [`--net=${path}`, 'ip', '-batch', '-'], sublinks.flatMap(sublinkSetup).join('\n') + '\n');
    const sysctls = [...veths, ...sublinks].flatMap((c) => c.sysctls ?? []);
    if (sysctls.length) await run('nsenter', [`--net=${path}`, 'sysctl', '-q', '-w', ...sysctls]);
  } catch (e) {
    await deleteNetns(path);
    for (const c of veths) await deleteLink(c.hostName).catch(() => {});
    for (const c of sublinks) await deleteLink(c.tmpName).catch(() => {});
    throw e;
  }
}

/** A container's macvlan or ipvlan link: made on `parent`, configured in the namespace. */
export interface SubLinkConfig {
  parent: string;
  /** `type macvlan mode bridge`, `type ipvlan mode l2 bridge` (linkdriver.ts). */
  type: string;
  /** Its name while it is made (unique on the host). */
  tmpName: string;
  ifName: string;
  /** macvlan's address (an ipvlan link has its parent's). */
  mac?: string;
  cidr: string;
  cidr6?: string;
  gateway?: string;
  gateway6?: string;
  linkLocal?: string[];
  sysctls?: string[];
}

/**
 * An endpoint's interface in the namespace, whatever made it: its addresses (IPv4 with its
 * broadcast, IPv6 without duplicate detection, link-local ones), up, and the default routes
 * when it carries them (`replace`: they may move here from another network, by gw-priority).
 */
function interfaceSetup(c: { ifName: string; cidr: string; cidr6?: string; linkLocal?: string[]; gateway?: string; gateway6?: string }): string[] {
  return [
    `addr add ${c.cidr} brd + dev ${c.ifName}`,
    ...(c.cidr6 ? [`addr add ${c.cidr6} dev ${c.ifName} nodad`] : []),
    ...(c.linkLocal ?? []).map((a) => `addr add ${a} dev ${c.ifName}`),
    `link set ${c.ifName} up`,
    ...(c.gateway ? [`route replace default via ${c.gateway} dev ${c.ifName}`] : []),
    ...(c.gateway6 ? [`route replace default via ${c.gateway6} dev ${c.ifName}`] : []),
  ];
}

const sublinkAdd = (netns: string) => (c: SubLinkConfig) => `link add link ${c.parent} name ${c.tmpName} netns ${netns} ${c.type}`;

function sublinkSetup(c: SubLinkConfig): string[] {
  return [
    `link set ${c.tmpName} name ${c.ifName}`,
    ...(c.mac ? [`link set ${c.ifName} address ${c.mac}`] : []),
    ...interfaceSetup(c),
  ];
}

/** A macvlan or ipvlan link added to a running container's namespace (network connect). */
export async function addSublink(netns: string, c: SubLinkConfig): Promise<void> {
  await run('ip', ['-batch', '-'], sublinkAdd(netns)(c) + '\n');
  try {
    await run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], sublinkSetup(c).join('\n') + '\n');
    if (c.sysctls?.length) await run('nsenter', [`--net=${netns}`, 'sysctl', '-q', '-w', ...c.sysctls]);
  } catch (e) {
    await quiet('nsenter', [`--net=${netns}`, 'ip', 'link', 'del', 'dev', c.tmpName]);
    await quiet('nsenter', [`--net=${netns}`, 'ip', 'link', 'del', 'dev', c.ifName]);
    throw e;
  }
}

/** A link inside a namespace removed (a macvlan/ipvlan endpoint disconnected). */
export async function deleteLinkIn(netns: string, name: string): Promise<void> {
  await run('nsenter', [`--net=${netns}`, 'ip', 'link', 'del', 'dev', name]);
}

/**
 * A parent link this daemon makes for macvlan/ipvlan networks: a VLAN link of `base` (`IF.VLAN`)
 * or, without a base, a dummy one; up.
 */
export async function makeParentLink(name: string, vlan?: { base: string; id: number }): Promise<void> {
  const add = (type: string) => run('ip', ['-batch', '-'], `link add ${vlan ? `link ${vlan.base} ` : ''}name ${name} type ${type}\nlink set ${name} up\n`);
  if (vlan) {
    await add(`vlan id ${vlan.id}`);
    return;
  }
  // A kernel without dummy links (no CONFIG_DUMMY): an empty bridge is as closed a segment.
  await add('dummy').catch((e: unknown) => {
    if (!/Unknown device type/i.test((e as Error).message)) throw e;
    return add('bridge');
  });
}

export async function deleteNetns(path: string): Promise<void> {
  // Every spawn is a fork of berthd, whose cost grows with its memory (and so with the number
  // of containers): no umount for a namespace file that is not there.
  if (!(await access(path).then(() => true, () => false))) return;
  await quiet('umount', ['-l', path]);
  await rm(path, { force: true });
}

export interface VethConfig {
  hostName: string;
  bridge: string;
  netns: string;
  ifName: string;
  mac: string;
  cidr: string;
  /** The IPv6 address with its prefix length, on a dual-stack network. */
  cidr6?: string;
  /** The IPv6 default route's gateway, when this endpoint carries the default routes. */
  gateway6?: string;
  /** More addresses on the interface (--link-local-ip), with their prefix length. */
  linkLocal?: string[];
  /** Its sysctls (`net.ipv4.conf.eth0.x=v`), set once it exists. */
  sysctls?: string[];
  gateway?: string;
  mtu: number;
}

/** A veth from the bridge into the namespace, addressed, with the default route through it. */
export async function addEndpoint(c: VethConfig): Promise<void> {
  await run('ip', ['-batch', '-'], [
    `link add ${c.hostName} mtu ${c.mtu} type veth peer name ${c.ifName} netns ${c.netns}`,
    `link set ${c.hostName} master ${c.bridge} up`,
  ].join('\n') + '\n');
  try {
    await run('nsenter', [`--net=${c.netns}`, 'ip', '-batch', '-'], [
      `link set ${c.ifName} address ${c.mac}`,
      ...interfaceSetup(c),
    ].join('\n') + '\n');
    if (c.sysctls?.length) await run('nsenter', [`--net=${c.netns}`, 'sysctl', '-q', '-w', ...c.sysctls]);
  } catch (e) {
    await deleteLink(c.hostName).catch(() => {});
    throw e;
  }
}

/**
 * The namespace's default route through `gateway` on `ifName` (another network's takes over
 * when the one that had it is disconnected), and the IPv6 one through `gateway6` when that
 * network has IPv6. The routes of the network that left went with its interface.
 */
export async function setDefaultRoute(netns: string, gateway: string, ifName: string, gateway6?: string): Promise<void> {
  const lines = [`route replace default via ${gateway} dev ${ifName}`];
  if (gateway6) lines.push(`route replace default via ${gateway6} dev ${ifName}`);
  await run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], lines.join('\n') + '\n');
}

/** The links enslaved to a bridge (its veths). */
export async function linksOf(bridge: string): Promise<string[]> {
  const out = await run('ip', ['-o', 'link', 'show', 'master', bridge]).catch(() => '');
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+: ([^:@]+)[@:]/.exec(line);
    if (m) names.push(m[1]);
  }
  return names;
}
