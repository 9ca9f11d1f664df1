/**
 * Direct runtime calls: pause, resume and update of a running container, and, for recovery,
 * deleting what a dead monitor left behind (the container's processes, its runtime state and
 * cgroups). The normal lifecycle goes through berth-shim.
 *
 * They run through berth-spawner (a fork of berthd itself grows with its memory) and from the
 * spawner's sealed copy of the runtime when it has one (crun and runc otherwise copy
 * themselves and execute again on every command, their CVE-2019-5736 guard), killed after
 * TIMEOUT_MS: a runtime stuck on a cgroup must not hold a request forever.
 */
import { runCommand, sealedCopy, type CommandResult } from '../lib/spawner.ts';

const TIMEOUT_MS = 30_000;

async function run(runtimePath: string, root: string, args: string[]): Promise<CommandResult> {
  const sealed = await sealedCopy(runtimePath);
  if (sealed) {
    // The copy could not be run (its spawner gone meanwhile): the binary itself then.
    const r = await runCommand(sealed, ['--root', root, ...args], '', TIMEOUT_MS).catch(() => undefined);
    if (r) return r;
  }
  return runCommand(runtimePath, ['--root', root, ...args], '', TIMEOUT_MS);
}

/** `runtime --root R delete --force ID`: kills what still runs and removes the state; never throws. */
export async function forceDelete(runtimePath: string, root: string, id: string): Promise<void> {
  await run(runtimePath, root, ['delete', '--force', id]).catch(() => {});
}

/** `runtime --root R ARGS…` (pause, resume, update): its own message on failure. */
export async function runtimeCommand(runtimePath: string, root: string, args: string[]): Promise<void> {
  const r = await run(runtimePath, root, args);
  if (r.code === 0) return;
  if (r.signal === 'SIGKILL') throw new Error(`${args[0]}: the runtime did not answer within ${TIMEOUT_MS / 1000} s`);
  if (r.signal) throw new Error(`${args[0]}: the runtime was killed by ${r.signal}`);
  const msg = r.stderr.trim().split('\n').pop()?.replace(/^(time="[^"]*" level=\w+ msg=")?/, '').replace(/"$/, '');
  throw new Error(msg || `${args[0]}: the runtime exited with status ${r.code}`);
}
