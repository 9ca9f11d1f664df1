/**
 * `node --test --test-global-setup`: once every test file has finished (no test daemon is left
 * running), Berth's shared firewall chains go too when nothing is left in them. Each test's
 * cleanup removes the rules tagged with its own bridges, but the chains themselves and the jumps
 * into them are shared by every berthd on the host (as docker's DOCKER chains are), so a test
 * cannot remove them while another test file's daemon may be about to add a rule. A chain that
 * still holds a rule (a berthd of the host's own is running) is left alone, with its jumps.
 */
import { spawnSync } from 'node:child_process';

type Chain = { table: 'nat' | 'filter'; chain: string; from: { chain: string; match: string[] }[]; allowed: string[] };

const CHAINS: Chain[] = [
  { table: 'filter', chain: 'BERTH-FORWARD', from: [{ chain: 'FORWARD', match: [] }], allowed: ['-A BERTH-FORWARD -j BERTH-ISOLATION-1'] },
  { table: 'filter', chain: 'BERTH-ISOLATION-1', from: [], allowed: [] },
  { table: 'filter', chain: 'BERTH-ISOLATION-2', from: [], allowed: [] },
  { table: 'nat', chain: 'BERTH-POSTROUTING', from: [{ chain: 'POSTROUTING', match: [] }], allowed: [] },
  {
    table: 'nat',
    chain: 'BERTH-DNAT',
    from: ['PREROUTING', 'OUTPUT'].map((chain) => ({ chain, match: ['-m', 'addrtype', '--dst-type', 'LOCAL'] })),
    allowed: [],
  },
];

function iptables(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('iptables', ['-w', ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout ?? '' };
}

/** The chain's rules, or undefined when the chain does not exist. */
function rules(c: Chain): string[] | undefined {
  const r = iptables(['-t', c.table, '-S', c.chain]);
  if (!r.ok) return undefined;
  return r.out.split('\n').filter((l) => l.startsWith(`-A ${c.chain} `));
}

export function removeEmptyBerthChains(): string[] {
  const present = CHAINS.filter((c) => rules(c) !== undefined);
  if (present.some((c) => rules(c)!.some((r) => !c.allowed.includes(r)))) return [];
  for (const c of present) {
    for (const f of c.from) {
      // A jump added twice (two daemons racing at their start) is removed as often as it is there.
      for (let i = 0; i < 10 && iptables(['-t', c.table, '-D', f.chain, ...f.match, '-j', c.chain]).ok; i++);
    }
    iptables(['-t', c.table, '-F', c.chain]);
  }
  const removed: string[] = [];
  for (const c of present) if (iptables(['-t', c.table, '-X', c.chain]).ok) removed.push(c.chain);
  return removed;
}

export function globalTeardown(): void {
  removeEmptyBerthChains();
}
