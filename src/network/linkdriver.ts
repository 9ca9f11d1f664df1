/**
 * The macvlan and ipvlan drivers' options, read as moby's drivers read them: each container
 * gets a link of its own on a parent interface of the host (`-o parent=eth0`), so it sits on
 * the parent's network with its own address; no bridge, no NAT, no published ports. A parent
 * named `IF.VLAN` that does not exist is made as a VLAN link of IF; no parent at all gets a
 * dummy link `dm-<network id>` (the containers then reach only each other, as docker's).
 * Links this daemon made are removed with the last network that uses them.
 */
import { invalidParameter } from '../errdefs/index.ts';

export type LinkDriver = 'macvlan' | 'ipvlan';

export interface LinkOptions {
  driver: LinkDriver;
  /** The parent link as asked ('' for none: a dummy one). */
  parent: string;
  /** macvlan: bridge, private, vepa, passthru; ipvlan: l2, l3, l3s. */
  mode: string;
  /** ipvlan's flag: bridge, private, vepa. */
  flag: string;
}

const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'];
const IPVLAN_MODES = ['l2', 'l3', 'l3s'];
const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'];

export function isLinkDriver(d: string): d is LinkDriver {
  return d === 'macvlan' || d === 'ipvlan';
}

/** `-o` options of a macvlan or ipvlan network; others are refused by name. */
export function linkOptions(driver: LinkDriver, o: Record<string, string>): LinkOptions {
  const known = driver === 'macvlan' ? ['parent', 'macvlan_mode'] : ['parent', 'ipvlan_mode', 'ipvlan_flag'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw invalidParameter(`the ${driver} driver has no option "${k}" (it takes ${known.join(', ')})`);
  const parent = o.parent ?? '';
  if (parent === 'lo') throw invalidParameter(`loopback interface is not a valid ${driver} parent link`);
  if (parent && !/^[A-Za-z0-9_.@:-]{1,15}$/.test(parent)) throw invalidParameter(`invalid parent interface name ${JSON.stringify(parent)}`);
  if (driver === 'macvlan') {
    const mode = o.macvlan_mode || 'bridge';
    if (!MACVLAN_MODES.includes(mode)) throw invalidParameter(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
    return { driver, parent, mode, flag: '' };
  }
  const mode = o.ipvlan_mode || 'l2';
  if (!IPVLAN_MODES.includes(mode)) throw invalidParameter(`requested ipvlan mode '${mode}' is not valid, 'l2' mode is the ipvlan driver default`);
  const flag = o.ipvlan_flag || 'bridge';
  if (!IPVLAN_FLAGS.includes(flag)) throw invalidParameter(`requested ipvlan flag '${flag}' is not valid, 'bridge' is the ipvlan driver default`);
  return { driver, parent, mode, flag };
}

/** The dummy parent of a network without one (moby's getDummyName). */
export function dummyName(networkId: string): string {
  return `dm-${networkId.slice(0, 12)}`;
}

/** A parent `IF.VLAN`: its base link and VLAN ID, or undefined when the name is not of that form. */
export function vlanOf(parent: string): { base: string; id: number } | undefined {
  const m = /^(.+)\.(\d+)$/.exec(parent);
  if (!m) return undefined;
  const id = Number(m[2]);
  if (id < 1 || id > 4094) throw invalidParameter(`vlan id must be between 1-4094, received: ${id}`);
  return { base: m[1], id };
}

/** The `ip link add` type clause of a container's link. */
export function linkType(o: Pick<LinkOptions, 'driver' | 'mode' | 'flag'>): string {
  return o.driver === 'macvlan' ? `type macvlan mode ${o.mode}` : `type ipvlan mode ${o.mode} ${o.flag}`;
}
