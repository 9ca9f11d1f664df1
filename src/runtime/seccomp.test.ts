import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile, toOciSeccomp } from './seccomp.ts';

const profile = parseProfile(JSON.stringify({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
    { names: ['arm_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
    { names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_CHROOT'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
  ],
}));

test('rules are kept or dropped by architecture and capabilities, as moby decides', () => {
  const s = toOciSeccomp(profile, ['CAP_SYS_CHROOT']);
  const names = s.syscalls.map((r) => `${r.names.join(',')}:${r.action}`);
  if (process.arch === 'x64') {
    assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.ok(names.includes('arch_prctl:SCMP_ACT_ALLOW'));
  }
  assert.ok(!names.some((n) => n.startsWith('arm_only')));
  assert.ok(names.includes('chroot:SCMP_ACT_ALLOW'));
  assert.ok(names.includes('bpf:SCMP_ACT_ERRNO'));
  assert.ok(!names.includes('bpf:SCMP_ACT_ALLOW'));
  assert.deepEqual(s.syscalls.find((r) => r.names[0] === 'personality')?.args, [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }]);
  const admin = toOciSeccomp(profile, ['CAP_SYS_ADMIN']).syscalls.map((r) => `${r.names.join(',')}:${r.action}`);
  assert.ok(admin.includes('bpf:SCMP_ACT_ALLOW') && !admin.includes('bpf:SCMP_ACT_ERRNO'));
  assert.throws(() => parseProfile('{'), /decoding seccomp profile failed/);
});
