/**
 * What is mounted where, from /proc/self/mounts, and lazy unmounts: for the leftovers of a
 * crash (an overlay root left mounted by a monitor that died) that would otherwise make
 * `rm -r` fail with EBUSY and keep the daemon from cleaning up.
 */
import { readFile } from 'node:fs/promises';
import { runCommand } from './spawner.ts';

/** Mount points at or below `prefix`, deepest first. */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const target = line.split(' ')[1]?.replace(/\\040/g, ' ');
    if (target && (target === prefix || target.startsWith(`${prefix}/`))) out.push(target);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Detaches every mount at or below `prefix` (umount -l); returns how many. */
export async function unmountUnder(prefix: string): Promise<number> {
  const targets = await mountsUnder(prefix);
  for (const t of targets) {
    await runCommand('umount', ['-l', t]).catch(() => {});
  }
  return targets.length;
}
