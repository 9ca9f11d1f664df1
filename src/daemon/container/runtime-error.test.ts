import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimStartError } from '../../runtime/shim.ts';
import { runtimeError } from './runtime-error.ts';

test('runtime failures in docker\'s words, and the open-file limit named when it is the cause', () => {
  const missing = runtimeError(new ShimStartError('executable file `nope` not found in $PATH: No such file or directory'), 'crun', 'nope');
  assert.equal(missing.message, 'failed to create task for container: OCI runtime create failed: crun create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown');
  assert.equal(missing.exitCode, 127);
  const enospc = 'writing file `/sys/fs/cgroup/cpuset/x/cgroup.procs`: No space left on device';
  assert.match(runtimeError(new ShimStartError(enospc), 'crun', 'sh', 10).message, /: unknown \(the open-file limit asked for, --ulimit nofile=10, is too low for crun itself to set the container up; it needs about 30\)$/);
  // a generous limit, or none: the runtime's words alone
  assert.match(runtimeError(new ShimStartError(enospc), 'crun', 'sh', 1024).message, /No space left on device: unknown$/);
  assert.match(runtimeError(new ShimStartError('openat2 `proc/sys`: Too many open files'), 'crun', 'sh').message, /Too many open files: unknown$/);
});
