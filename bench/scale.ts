/**
 * Scale (issue 16), `npm run bench -- scale`: N containers (`SCALE_N`, default 1,000) started
 * one after the other with `run -d busybox sleep 1d` on the default bridge, then what a user
 * feels with them running — `ps`, `run --rm` latency against its idle value, the engine's
 * memory per container (monitors plus the daemon's growth) — and `rm -f` of all of them.
 * The same beside a private dockerd on a bridge of the bench's own when docker.io is
 * installed (`SCALE_DOCKER=0` skips it). Not run in CI (CI runs 50 in operate-scale.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NODE, BERTH, startPrivateDockerd, type TestDaemon } from '../test/integration/harness.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rssKiB(pid: number): number {
  try {
    // A process that has exited but is not yet reaped has no VmRSS: it holds nothing.
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every process whose command name is `comm`, and its RSS. */
function rssOf(comm: string): number {
  let total = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm) total += rssKiB(Number(p));
    } catch {
      // gone
    }
  }
  return total;
}

interface Cli {
  run(args: string[]): { ms: number; out: string };
}

function cli(cmd: string[], env: Record<string, string>): Cli {
  return {
    run(args) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.slice(0, 4).join(' ')}… failed: ${r.stderr}`);
      return { ms, out: r.stdout };
    },
  };
}

async function scenario(c: Cli, n: number, daemonPid: () => number, monitorComm: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 3; i++) c.run(['run', '--rm', 'busybox', 'true']);
  const idleRun = median(Array.from({ length: 7 }, () => c.run(['run', '--rm', 'busybox', 'true']).ms));
  const idlePs = median(Array.from({ length: 7 }, () => c.run(['ps']).ms));
  const daemonIdle = rssKiB(daemonPid());
  const t0 = Date.now();
  const checkpoints: Record<string, number> = {};
  for (let i = 1; i <= n; i++) {
    c.run(['run', '-d', 'busybox', 'sleep', '1d']);
    if (i % 100 === 0) {
      checkpoints[String(i)] = Math.round((Date.now() - t0) / 100) / 10;
      process.stderr.write(`  ${i} containers after ${checkpoints[String(i)]} s\n`);
    }
  }
  const startS = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const daemonFull = rssKiB(daemonPid());
  const monitors = rssOf(monitorComm);
  const psMs = median(Array.from({ length: 7 }, () => c.run(['ps']).ms));
  // Again once the daemon has settled (berthd collects after 5 s without requests).
  await new Promise((r) => setTimeout(r, 6000));
  const psSettledMs = median(Array.from({ length: 7 }, () => c.run(['ps']).ms));
  const listed = c.run(['ps', '-q']).out.trim().split('\n').filter(Boolean).length;
  const runMs = median(Array.from({ length: 7 }, () => c.run(['run', '--rm', 'busybox', 'true']).ms));
  const ids = c.run(['ps', '-aq']).out.trim().split('\n').filter(Boolean);
  const t1 = Date.now();
  c.run(['rm', '-f', ...ids]);
  const rmS = (Date.now() - t1) / 1000;
  // berthd gives a burst's memory back after 5 s without requests (lib/idlegc.ts).
  await new Promise((r) => setTimeout(r, 8000));
  const daemonAfter = rssKiB(daemonPid());
  return {
    containers: n,
    listed_by_ps: listed,
    start_all_s: Math.round(startS * 10) / 10,
    start_each_ms: Math.round((startS * 1000) / n),
    start_progress_s: checkpoints,
    ps_ms: { idle: Math.round(idlePs), at_n: Math.round(psMs), at_n_settled: Math.round(psSettledMs) },
    run_rm_true_ms: { idle: Math.round(idleRun), at_n: Math.round(runMs), ratio: Math.round((runMs / idleRun) * 100) / 100 },
    rm_f_all_s: Math.round(rmS * 10) / 10,
    rss_kib: {
      daemon_idle: daemonIdle,
      daemon_at_n: daemonFull,
      daemon_after_rm: daemonAfter,
      monitors_total: monitors,
      per_container: Math.round((monitors + daemonFull - daemonIdle) / n),
    },
  };
}

export async function scaleBench(d: TestDaemon, results: Record<string, unknown>): Promise<void> {
  const n = Number(process.env.SCALE_N ?? 1000);
  // The default bridge needs room for N addresses: a /21 of the daemon's /20 (2,046).
  const [a, b, c0] = d.netRange.split('.');
  d.writeConfig({ bip: `${a}.${b}.${c0}.1/21` });
  await d.stopDaemon();
  await d.startDaemon();
  const berthSide = await scenario(cli([NODE, BERTH], { BERTH_HOST: d.host }), n, () => d.pid!, 'berth-shim');
  results.scale = {
    berth: berthSide,
    targets: { start_all_s: 120, per_container_kib: 1024, daemon_idle_kib: 65536, ps_ms: 200, run_rm_ratio: 2, rm_f_all_s: 60 },
  };
  if (process.env.SCALE_DOCKER === '0') return;
  const dkBridge = `bt-dk${randomBytes(3).toString('hex')}`;
  spawnSync('ip', ['link', 'add', dkBridge, 'type', 'bridge']);
  spawnSync('ip', ['addr', 'add', `${a}.${b}.${Number(c0) + 8}.1/21`, 'dev', dkBridge]);
  spawnSync('ip', ['link', 'set', dkBridge, 'up']);
  const dockerd = await startPrivateDockerd(join(d.root, 'dockerd-scale'), { bridge: dkBridge });
  try {
    if (!dockerd) {
      (results.scale as Record<string, unknown>).dockerd = 'not measured: no dockerd installed (Debian\'s docker.io)';
      return;
    }
    const denv = { DOCKER_HOST: dockerd.host };
    const loaded = spawnSync('sh', ['-c', `${NODE} ${BERTH} save busybox | docker load`], { env: { ...process.env, BERTH_HOST: d.host, ...denv }, encoding: 'utf8' });
    if (loaded.status !== 0) throw new Error(`loading busybox into dockerd: ${loaded.stderr}`);
    const pid = Number(readFileSync(join(d.root, 'dockerd-scale', 'docker.pid'), 'utf8'));
    // dockerd's engine: dockerd and containerd (the daemon side), containerd-shim per container.
    (results.scale as Record<string, unknown>).dockerd = { version: dockerd.version, ...(await scenario(cli(['docker'], denv), n, () => pid, 'containerd-shim')) };
  } finally {
    await dockerd?.stop();
    spawnSync('ip', ['link', 'del', dkBridge]);
  }
}
