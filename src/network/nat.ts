/**
 * Firewall rules through iptables, in chains of Berth's own: BERTH-POSTROUTING (nat) masquerades
 * what leaves a network's subnet for elsewhere, BERTH-FORWARD (filter) lets a bridge's traffic
 * through (an --internal network's only within itself). Every rule carries a comment naming its
 * bridge (`berth:<bridge>`), so a network's rules are found and removed by that, and stale ones
 * are cleared at start, without touching anyone else's.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { EngineError } from '../errdefs/index.ts';

function iptables(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('iptables', ['-w', ...args], (err, out, stderr) => (err ? reject(new EngineError('System', `iptables ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve(String(out))));
  });
}

async function ensureRule(table: string, chain: string, rule: string[], insert = false): Promise<void> {
  if (await iptables(['-t', table, '-C', chain, ...rule]).then(() => true, () => false)) return;
  await iptables(['-t', table, insert ? '-I' : '-A', chain, ...(insert ? ['1'] : []), ...rule]);
}

async function ensureChain(table: string, chain: string, from: string): Promise<void> {
  await iptables(['-t', table, '-N', chain]).catch(() => {}); // exists already
  await ensureRule(table, from, ['-j', chain], true);
}

export async function enableForwarding(): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
}

export async function addNetworkRules(bridge: string, subnet: string, opts: { internal: boolean; masquerade: boolean }): Promise<void> {
  await ensureChain('nat', 'BERTH-POSTROUTING', 'POSTROUTING');
  await ensureChain('filter', 'BERTH-FORWARD', 'FORWARD');
  const tag = ['-m', 'comment', '--comment', `berth:${bridge}`];
  if (opts.internal) {
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, '-o', bridge, ...tag, '-j', 'ACCEPT']);
    await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'DROP']);
    await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, ...tag, '-j', 'DROP']);
    return;
  }
  if (opts.masquerade) await ensureRule('nat', 'BERTH-POSTROUTING', ['-s', subnet, '!', '-o', bridge, ...tag, '-j', 'MASQUERADE']);
  await ensureRule('filter', 'BERTH-FORWARD', ['-i', bridge, ...tag, '-j', 'ACCEPT']);
  await ensureRule('filter', 'BERTH-FORWARD', ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', ...tag, '-j', 'ACCEPT']);
}

/** Removes every rule tagged with the bridge, in both chains. */
export async function removeNetworkRules(bridge: string): Promise<void> {
  for (const [table, chain] of [['nat', 'BERTH-POSTROUTING'], ['filter', 'BERTH-FORWARD']] as const) {
    const rules = await iptables(['-t', table, '-S', chain]).catch(() => '');
    for (const line of rules.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`berth:${bridge}`)) continue;
      const args = line.slice(3).match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ''));
      await iptables(['-t', table, '-D', ...args]).catch(() => {});
    }
  }
}
