/**
 * A bridge network's driver options (`network create -o`), read as moby's bridge driver reads
 * them (networkConfiguration.fromLabels): booleans with Go's ParseBool, the MTU with Atoi,
 * addresses with ParseIP, each failure as `failed to parse <option> value: <value> (<why>)`.
 * Options the bridge driver has and Berth does not apply are refused by name.
 */
import { isIP } from 'node:net';
import { invalidParameter } from '../errdefs/index.ts';
import { parseGoBool } from '../lib/strconv.ts';

export const BRIDGE_NAME = 'com.docker.network.bridge.name';
export const MTU = 'com.docker.network.driver.mtu';
export const MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const ICC = 'com.docker.network.bridge.enable_icc';
export const HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';

const KNOWN = new Set([BRIDGE_NAME, MTU, MASQUERADE, ICC, HOST_BINDING_IPV4]);

export interface BridgeOptions {
  mtu?: number;
  masquerade: boolean;
  /** Containers on the bridge may reach each other (false: dropped by the firewall). */
  icc: boolean;
  /** Where ports published without a host address are bound ('0.0.0.0': every address). */
  hostBindingIp: string;
}

function parseErr(label: string, value: string, why: string): Error {
  return invalidParameter(`failed to parse ${label} value: ${value} (${why})`);
}

function bool(options: Record<string, string>, label: string): boolean {
  const v = options[label];
  if (v === undefined) return true;
  try {
    return parseGoBool(v);
  } catch (e) {
    throw parseErr(label, v, (e as Error).message);
  }
}

/** Go's strconv.Atoi for an MTU (an int; a sign allowed). */
function atoi(label: string, v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw parseErr(label, v, `strconv.Atoi: parsing "${v}": invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw parseErr(label, v, `strconv.Atoi: parsing "${v}": value out of range`);
  return n;
}

/**
 * The options of a network: checked at create (`strict`: an option Berth does not apply is
 * refused), read back from its record otherwise (the default bridge's record carries moby's
 * informational ones too).
 */
export function bridgeOptions(options: Record<string, string>, strict = false): BridgeOptions {
  if (strict) for (const k of Object.keys(options)) if (!KNOWN.has(k)) throw invalidParameter(`network option ${k} is not supported by Berth`);
  const out: BridgeOptions = { masquerade: bool(options, MASQUERADE), icc: bool(options, ICC), hostBindingIp: '0.0.0.0' };
  const mtu = options[MTU];
  if (mtu !== undefined) {
    const n = atoi(MTU, mtu);
    // moby's ErrInvalidMtu for a negative one; the kernel's minimum for IPv4 (0: the default)
    if (n < 0) throw invalidParameter(`invalid MTU number: ${n}`);
    if (n > 0 && (n < 68 || n > 65535)) throw invalidParameter(`invalid MTU number: ${n} (a bridge's MTU is 68 to 65535)`);
    if (n > 0) out.mtu = n;
  }
  const ip = options[HOST_BINDING_IPV4];
  if (ip !== undefined) {
    if (!isIP(ip)) throw parseErr(HOST_BINDING_IPV4, ip, 'nil ip');
    out.hostBindingIp = ip;
  }
  return out;
}
