/**
 * The precompiled seccomp filter berthd hands crun (run.oci.seccomp_bpf_data) must be the
 * very program crun would have compiled itself from the same profile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.ts';
import { SeccompBpfCache, SeccompProfiles } from '../../src/runtime/seccomp.ts';
import { buildSpec, withRoot, withProcess, withSeccomp, DEFAULT_CAPS, ALL_CAPS } from '../../src/runtime/spec.ts';

test('berth-seccomp-bpf produces the same filter crun compiles from the built-in profile', async () => {
  const dir = mkdtempSync('/tmp/bt-seccomp-');
  try {
    mkdirSync(join(dir, 'rootfs', 'bin'), { recursive: true });
    copyFileSync('/bin/busybox', join(dir, 'rootfs', 'bin', 'busybox'));
    const profiles = SeccompProfiles.fromSetting(undefined);
    const cache = new SeccompBpfCache(join(ROOT, 'shim', 'berth-seccomp-bpf'), join(dir, 'cache'));
    for (const caps of [DEFAULT_CAPS, ALL_CAPS]) {
      const seccomp = profiles.forCaps(caps);
      assert.ok(seccomp);
      const spec = buildSpec([
        withRoot(join(dir, 'rootfs'), false),
        withProcess({ args: ['/bin/busybox', 'true'], env: [], cwd: '/', terminal: false, uid: 0, gid: 0 }),
        withSeccomp(seccomp),
      ]);
      spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
      const root = join(dir, 'crun');
      const id = `cmp-${caps.length}`;
      // The created container keeps its stdio open, so no pipes: errors go to --log.
      const r = spawnSync('crun', ['--root', root, '--log', join(dir, 'crun.log'), 'create', '--bundle', dir, id], { stdio: 'ignore' });
      try {
        assert.equal(r.status, 0, existsSync(join(dir, 'crun.log')) ? readFileSync(join(dir, 'crun.log'), 'utf8') : '');
        const theirs = readFileSync(join(root, id, 'seccomp.bpf'));
        const ours = Buffer.from((await cache.get(seccomp))!, 'base64');
        assert.ok(ours.length > 1000);
        assert.ok(ours.equals(theirs), 'identical BPF programs');
      } finally {
        spawnSync('crun', ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
      }
    }
    assert.equal(spawnSync('ls', [join(dir, 'cache')]).stdout.toString().trim().split('\n').length, 2, 'one cache file per profile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
