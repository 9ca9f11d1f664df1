/**
 * Direct runtime calls for recovery only (the normal path goes through berth-shim): deleting
 * what a dead monitor left behind — the container's processes, its runtime state and cgroups.
 */
import { execFile } from 'node:child_process';

/** `runtime --root R delete --force ID`: kills what still runs and removes the state; never throws. */
export function forceDelete(runtimePath: string, root: string, id: string): Promise<void> {
  return new Promise((resolve) => execFile(runtimePath, ['--root', root, 'delete', '--force', id], { timeout: 30_000 }, () => resolve()));
}

/** `runtime --root R ARGS…` (pause, resume, update): its own message on failure. */
export function runtimeCommand(runtimePath: string, root: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(runtimePath, ['--root', root, ...args], { timeout: 30_000 }, (err, _stdout, stderr) => {
    if (!err) return resolve();
    const msg = String(stderr).trim().split('\n').pop()?.replace(/^(time="[^"]*" level=\w+ msg=")?/, '').replace(/"$/, '') || err.message;
    reject(new Error(msg));
  }));
}
