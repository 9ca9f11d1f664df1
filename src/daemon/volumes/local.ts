/**
 * docker's `local` volume driver options: `type`, `device` and `o` make a volume whose _data
 * is a mount (tmpfs, a bind of a host directory, a block device), mounted while containers use
 * it; `size` needs filesystem quotas, which overlay2 over ext4 here does not have.
 */
import { runChecked, runCommand } from '../../lib/spawner.ts';
import { invalidParameter } from '../../errdefs/index.ts';

const KEYS = ['type', 'o', 'device', 'size'];

/** moby's validateOpts: every key known, and the ones that need each other together. */
export function validateLocalOptions(opts: Record<string, string> | null): void {
  if (!opts) return;
  for (const k of Object.keys(opts)) if (!KEYS.includes(k)) throw invalidParameter(`invalid option: "${k}"`);
  const needs: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };
  for (const [k, required] of Object.entries(needs)) {
    if (!(k in opts)) continue;
    for (const r of required) if (!(r in opts)) throw invalidParameter(`missing required option: "${r}"`);
  }
  if ('size' in opts) throw invalidParameter('quota size requested but no quota support');
}

/** True when the volume's _data is a mount made at first use. */
export function needsMount(opts: Record<string, string> | null): opts is Record<string, string> {
  return !!opts && 'type' in opts;
}

export async function mountLocal(opts: Record<string, string>, target: string): Promise<void> {
  const args = ['-t', opts.type, ...(opts.o ? ['-o', opts.o] : []), opts.device, target];
  await runChecked('mount', args, '', `failed to mount local volume: mount ${opts.device}:${target}, type: ${opts.type}${opts.o ? `, data: ${opts.o}` : ''}`);
}

export async function unmountLocal(target: string): Promise<void> {
  await runCommand('umount', ['-l', target]).catch(() => {});
}
