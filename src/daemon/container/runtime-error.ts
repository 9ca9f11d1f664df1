/** The runtime's start failures in docker's words, which clients map to exit codes. */
import { EngineError } from '../../errdefs/index.ts';
import type { ShimStartError } from '../../runtime/shim.ts';

const RUNTIME_ERROR_PREFIX = 'failed to create task for container: OCI runtime create failed';

/**
 * docker's message for a runtime failure, in docker's words so that clients map it to 127
 * ("executable file not found", "no such file or directory") or 126 ("permission denied").
 * crun and runc word these differently (crun omits the path on EACCES), so we normalise.
 */
export function runtimeError(e: ShimStartError, runtime: string, path: string, nofile?: number): EngineError {
  const msg = e.runtimeMessage;
  // The monitor's own failure to reach its log driver is the driver's error, as dockerd's is.
  if (msg.startsWith('failed to initialize logging driver: ')) return new EngineError('System', msg);
  const prefix = `${RUNTIME_ERROR_PREFIX}: ${runtime} create failed: unable to start container process`;
  const runcForm = /exec: "([^"]+)": (.*)$/.exec(msg);
  if (/executable file .*not found/i.test(msg)) {
    const name = /executable file [`'"]([^`'"]+)[`'"]/.exec(msg)?.[1] ?? runcForm?.[1] ?? path;
    return new EngineError('System', `${prefix}: exec: "${name}": executable file not found in $PATH: unknown`, { exitCode: 127 });
  }
  if (/no such file or directory/i.test(msg)) {
    return new EngineError('System', `${prefix}: exec: "${runcForm?.[1] ?? path}": stat ${runcForm?.[1] ?? path}: no such file or directory: unknown`, { exitCode: 127 });
  }
  if (/permission denied|operation not permitted|is a directory|exec format error/i.test(msg) && /exec|executable/i.test(msg)) {
    const reason = /exec format error/i.test(msg) ? 'exec format error' : 'permission denied';
    return new EngineError('System', `${prefix}: exec: "${runcForm?.[1] ?? path}": ${reason}: unknown`, { exitCode: 126 });
  }
  // crun and runc apply the open-file limit to themselves before they are done setting up
  // (crun needs ~30 descriptors): what they report then (EMFILE, or ENOSPC from a cgroup they
  // could not initialise) does not name the limit, so say it.
  const hint = nofile !== undefined && nofile < 64 && /too many open files|no space left on device/i.test(msg)
    ? ` (the open-file limit asked for, --ulimit nofile=${nofile}, is too low for ${runtime} itself to set the container up; it needs about 30)`
    : '';
  return new EngineError('System', `${RUNTIME_ERROR_PREFIX}: ${msg}: unknown${hint}`, e.exitCode === undefined ? undefined : { exitCode: e.exitCode });
}
