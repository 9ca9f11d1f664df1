/**
 * One daemon per data root: berthd holds an flock(2) on <data-root>/berthd.lock for its whole
 * life through flock(1) (util-linux; Node has no flock), whose `cat` child reads berthd's end
 * of a pipe — when berthd exits or is killed, the pipe closes, `cat` ends and the lock is free.
 * A second daemon on the same data root is refused instead of wiping the first one's state.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { system } from '../errdefs/index.ts';

/** The lock holder, kept referenced so its pipe is never collected and closed. */
const holders: unknown[] = [];

export async function lockDataRoot(dataRoot: string): Promise<void> {
  const file = join(dataRoot, 'berthd.lock');
  const p = spawn('flock', ['-n', '-E', '99', file, 'sh', '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Our end of the pipe stays open for good; it closes only with this process.
  p.stdin.on('error', () => {});
  const got = await new Promise<'locked' | 'busy' | string>((resolve) => {
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.once('data', () => resolve('locked'));
    p.once('error', (e) => resolve(`cannot run flock: ${e.message}`));
    p.once('exit', (code) => resolve(code === 99 ? 'busy' : `flock exited ${code}: ${err.trim()}`));
  });
  // Only now: unreferenced while flock was still deciding, its exit could go unseen (its
  // pipes closed, nothing else pending) and berthd would end, status 0, without a word.
  p.unref();
  (p.stdout as unknown as { unref?: () => void }).unref?.();
  (p.stderr as unknown as { unref?: () => void }).unref?.();
  if (got === 'busy') {
    let owner = '';
    try {
      owner = readFileSync(file, 'utf8').trim();
    } catch {
      // unreadable: no pid to name
    }
    throw system(`the data root ${dataRoot} is in use by another berthd${owner ? ` (pid ${owner})` : ''}; give this one its own --data-root`);
  }
  if (got !== 'locked') throw system(`cannot lock the data root ${dataRoot}: ${got}`);
  holders.push(p);
  writeFileSync(file, `${process.pid}\n`);
}
