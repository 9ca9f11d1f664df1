/**
 * Firewall rules through iptables, in chains of Berth's own: BERTH-POSTROUTING (nat) masquerades
 * what leaves a network's subnet for elsewhere, BERTH-FORWARD (filter) lets a bridge's traffic
 * through (an --internal network's only within itself) after BERTH-ISOLATION-1/2 (filter) have
 * dropped what goes from one network's bridge to another's, BERTH-DNAT (nat) holds published ports
 * (ports.ts). Every rule carries a comment naming its
 * bridge (`berth:<bridge>`), so a network's rules are found and removed by that, and stale ones
 * are cleared at start, without touching anyone else's.
 */
import { writeFile } from 'node:fs/promises';
import { runChecked } from '../lib/spawner.ts';

export type Family = 'iptables' | 'ip6tables';

/** Through berth-spawner when berthd has one (lib/spawner.ts): published ports are set up on every start. */
function iptables(args: string[], family: Family = 'iptables'): Promise<string> {
  return runChecked(family, ['-w', ...args], '', `${family} ${args.join(' ')}`);
}

async function ensureRule(table: string, chain: string, rule: string[], insert = false, family: Family = 'iptables'): Promise<void> {
  if (await iptables(['-t', table, '-C', chain, ...rule], family).then(() => true, () => false)) return;
  await iptables(['-t', table, insert ? '-I' : '-A', chain, ...(insert ? ['1'] : []), ...rule], family);
}

async function ensureChain(table: string, chain: string, from: string, match: string[] = [], family: Family = 'iptables'): Promise<void> {
  await iptables(['-t', table, '-N', chain], family).catch(() => {}); // exists already
  await ensureRule(table, from, [...match, '-j', chain], true, family);
}

/** The rules of a chain, as `iptables -S` prints them (`-A CHAIN ...`). */
export async function listRules(table: string, chain: string, family: Family = 'iptables'): Promise<string[]> {
  const out = await iptables(['-t', table, '-S', chain], family).catch(() => '');
  return out.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

/** Adds or deletes rules in one iptables-restore run: all of them, or none. */
export function iptablesRestore(rules: { table: 'nat' | 'filter'; rule: string; op: '-A' | '-D' }[], family: Family = 'iptables'): Promise<void> {
  const text = (['nat', 'filter'] as const).map((t) => {
    const mine = rules.filter((r) => r.table === t);
    return mine.length ? `*${t}\n${mine.map((r) => `${r.op} ${r.rule}`).join('\n')}\nCOMMIT\n` : '';
  }).join('');
  return runChecked(`${family}-restore`, ['-w', '--noflush'], text, `${family}-restore`).then(() => {});
}

/** The chain published ports' DNAT rules go in, reached for local destinations (loopback too). */
export async function ensurePortChains(): Promise<void> {
  await ensureChain('nat', 'BERTH-DNAT', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL']);
  await ensureChain('nat', 'BERTH-DNAT', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL']);
}

/**
 * The same for IPv6, but not for ::1: IPv6 has no route_localnet, so a DNAT'd loopback
 * connection could not leave for the bridge (docker's OUTPUT rule skips ::1 too); berthd's own
 * socket on the port relays those.
 */
export async function ensurePortChains6(): Promise<void> {
  const f: Family = 'ip6tables';
  await ensureChain('nat', 'BERTH-DNAT', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL'], f);
  await ensureChain('nat', 'BERTH-DNAT', 'OUTPUT', ['!', '-d', '::1/128', '-m', 'addrtype', '--dst-type', 'LOCAL'], f);
}

export async function enableForwarding(): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
}

export interface NetworkRuleOptions {
  internal: boolean;
  masquerade: boolean;
  /** false: containers on the bridge cannot reach each other (enable_icc=false). */
  icc: boolean;
}

/**
 * enable_icc=false: traffic between two ports of the bridge dropped, first in BERTH-FORWARD.
 * Bridged frames meet iptables only with br_netfilter's bridge-nf-call-iptables on, which
 * dockerd turns on for the same reason.
 */
async function dropIntraBridge(bridge: string, tag: string[], family: Family): Promise<void> {
  await writeFile(`/proc/sys/net/bridge/bridge-nf-call-${family}`, '1');
  await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, '-o', bridge, ...tag, '-j', 'DROP'], true, family);
}

export async function addNetworkRules(bridge: string, subnet: string, opts: NetworkRuleOptions): Promise<void> {
  await ensureChain('nat', 'BERTH-POSTROUTING', 'POSTROUTING');
  await ensureChain('filter', 'BERTH-FORWARD', 'FORWARD');
  const tag = ['-m', 'comment', '--comment', `berth:${bridge}`];
  // Networks are isolated from each other, as docker's DOCKER-ISOLATION-STAGE-1/2: what comes
  // in on one bridge and would leave by another bridge of Berth's is dropped, before any accept.
  await iptables(['-t', 'filter', '-N', 'BERTH-ISOLATION-2']).catch(() => {}); // exists already
  await ensureChain('filter', 'BERTH-ISOLATION-1', 'BERTH-FORWARD');
  await ensureRule('filter', 'BERTH-ISOLATION-1', ['-i', bridge, '!', '-o', bridge, ...tag, '-j', 'BERTH-ISOLATION-2']);
  await ensureRule('filter', 'BERTH-ISOLATION-2', ['-o', bridge, ...tag, '-j', 'DROP']);
  if (!opts.icc) await dropIntraBridge(bridge, tag, 'iptables');
  if (opts.internal) {
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, '-o', bridge, ...tag, '-j', 'ACCEPT']);
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'DROP']);
    await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, ...tag, '-j', 'DROP']);
    return;
  }
  if (opts.masquerade) await ensureRule('nat', 'BERTH-POSTROUTING', ['-s', subnet, '!', '-o', bridge, ...tag, '-j', 'MASQUERADE']);
  // Published ports reached on 127.0.0.1 arrive from loopback: the container answers the gateway.
  await ensureRule('nat', 'BERTH-POSTROUTING', ['-s', '127.0.0.0/8', '-o', bridge, ...tag, '-j', 'MASQUERADE']);
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
  await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'ACCEPT']);
  await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...tag, '-j', 'ACCEPT']);
}

/**
 * A dual-stack network's IPv6 rules, in ip6tables chains of the same names: the same isolation
 * and forwarding, and masquerading of its subnet (docker's default for IPv6 too). IPv6 forwarding
 * is turned on, as dockerd does for an IPv6 network.
 */
export async function addNetworkRules6(bridge: string, subnet: string, opts: NetworkRuleOptions): Promise<void> {
  const f: Family = 'ip6tables';
  await writeFile('/proc/sys/net/ipv6/conf/all/forwarding', '1');
  await ensureChain('nat', 'BERTH-POSTROUTING', 'POSTROUTING', [], f);
  await ensureChain('filter', 'BERTH-FORWARD', 'FORWARD', [], f);
  const tag = ['-m', 'comment', '--comment', `berth:${bridge}`];
  await iptables(['-t', 'filter', '-N', 'BERTH-ISOLATION-2'], f).catch(() => {}); // exists already
  await ensureChain('filter', 'BERTH-ISOLATION-1', 'BERTH-FORWARD', [], f);
  await ensureRule('filter', 'BERTH-ISOLATION-1', ['-i', bridge, '!', '-o', bridge, ...tag, '-j', 'BERTH-ISOLATION-2'], false, f);
  await ensureRule('filter', 'BERTH-ISOLATION-2', ['-o', bridge, ...tag, '-j', 'DROP'], false, f);
  if (!opts.icc) await dropIntraBridge(bridge, tag, f);
  if (opts.internal) {
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, '-o', bridge, ...tag, '-j', 'ACCEPT'], false, f);
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'DROP'], false, f);
    await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, ...tag, '-j', 'DROP'], false, f);
    return;
  }
  if (opts.masquerade) await ensureRule('nat', 'BERTH-POSTROUTING', ['-s', subnet, '!', '-o', bridge, ...tag, '-j', 'MASQUERADE'], false, f);
  await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'ACCEPT'], false, f);
  await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...tag, '-j', 'ACCEPT'], false, f);
}

/** Removes every rule tagged with the bridge, in every chain of Berth's: IPv4's and IPv6's unless told. */
export async function removeNetworkRules(bridge: string, which: { v4?: boolean; v6?: boolean } = {}): Promise<void> {
  const families: Family[] = [...(which.v4 ?? true ? ['iptables' as const] : []), ...(which.v6 ?? true ? ['ip6tables' as const] : [])];
  for (const family of families) {
    for (const [table, chain] of [['nat', 'BERTH-POSTROUTING'], ['filter', 'BERTH-FORWARD'], ['filter', 'BERTH-ISOLATION-1'], ['filter', 'BERTH-ISOLATION-2']] as const) {
      const rules = await iptables(['-t', table, '-S', chain], family).catch(() => '');
      for (const line of rules.split('\n')) {
        if (!line.startsWith(`-A ${chain} `) || !(line.includes(`"berth:${bridge}"`) || line.includes(`berth:${bridge} `))) continue;
        const args = line.slice(3).match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
        await iptables(['-t', table, '-D', ...args], family).catch(() => {});
      }
    }
  }
}
