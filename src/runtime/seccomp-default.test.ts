import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_PROFILE } from './seccomp-default.ts';
import { parseProfile, toOciSeccomp, type Profile } from './seccomp.ts';
import { DEFAULT_CAPS } from './spec.ts';

/**
 * The profile docker publishes, as Debian ships it with moby's source (golang-github-docker-
 * docker-dev, docker 20.10.24: profiles/seccomp/default.json).
 */
const PUBLISHED = '/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json';

/** What moby changed in the profile from 20.10.24 to 28.2.2, rule by rule. */
const SINCE_20_10: Record<string, { added?: string[]; removed?: string[] }> = {
  '{"action":"SCMP_ACT_ALLOW"}': {
    added: ['cachestat', 'fchmodat2', 'futex_requeue', 'futex_wait', 'futex_wake', 'getxattrat', 'listmount', 'listxattrat', 'map_shadow_stack', 'mseal', 'name_to_handle_at', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'removexattrat', 'riscv_hwprobe', 'setxattrat', 'statmount', 'uretprobe'],
    // io_uring is no longer allowed; socket moved to a rule that refuses AF_VSOCK.
    removed: ['io_uring_enter', 'io_uring_register', 'io_uring_setup', 'socket'],
  },
  '{"action":"SCMP_ACT_ALLOW","args":[{"index":0,"op":"SCMP_CMP_NE","value":40}]}': { added: ['socket'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"arches":["ppc64le"]}}': { added: ['swapcontext'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"arches":["riscv64"]}}': { added: ['riscv_flush_icache'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_BPF"]}}': { added: ['bpf'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_PERFMON"]}}': { added: ['perf_event_open'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}}': { added: ['lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr'], removed: ['name_to_handle_at'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_NICE"]}}': { added: ['set_mempolicy_home_node'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_TIME"]}}': { added: ['clock_settime64'] },
  '{"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}}': { added: ['process_vm_readv', 'process_vm_writev'] },
  // Moby dropped MIPS: clone3's ENOSYS no longer depends on the architecture.
  '{"action":"SCMP_ACT_ERRNO","errnoRet":38,"excludes":{"arches":["mips3l64n32","mips64","mips64n32","mipsel","mipsel64"],"caps":["CAP_SYS_ADMIN"]}}': { removed: ['clone3'] },
  '{"action":"SCMP_ACT_ERRNO","errnoRet":38,"excludes":{"caps":["CAP_SYS_ADMIN"]}}': { added: ['clone3'] },
  '{"action":"SCMP_ACT_ERRNO","errnoRet":89,"excludes":{"caps":["CAP_SYS_ADMIN"]},"includes":{"arches":["mips3l64n32","mips64","mips64n32","mipsel","mipsel64"]}}': { removed: ['clone3'] },
};

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/** Rules keyed by everything but their names (action, errno, arguments, filters), names as sets. */
function rules(p: Profile): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of p.syscalls ?? []) {
    const key: Record<string, unknown> = { action: r.action };
    if (r.errnoRet !== undefined) key.errnoRet = r.errnoRet;
    if (r.args?.length) key.args = r.args.map((a) => ({ index: a.index, op: a.op, value: a.value, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}) }));
    for (const f of ['includes', 'excludes'] as const) {
      const v = Object.fromEntries(Object.entries(r[f] ?? {}).filter(([, x]) => (Array.isArray(x) ? x.length : x)));
      if (Object.keys(v).length) key[f] = v;
    }
    const k = JSON.stringify(sortKeys(key));
    const set = out.get(k) ?? new Set<string>();
    for (const n of r.names ?? (r.name ? [r.name] : [])) set.add(n);
    out.set(k, set);
  }
  return out;
}

test('the built-in profile is docker\'s published one, rule by rule, with moby\'s changes since 20.10', () => {
  const published = rules(parseProfile(readFileSync(PUBLISHED, 'utf8')));
  const ours = rules(DEFAULT_PROFILE);
  assert.equal(DEFAULT_PROFILE.defaultAction, 'SCMP_ACT_ERRNO');
  for (const key of new Set([...published.keys(), ...ours.keys()])) {
    const delta = SINCE_20_10[key] ?? {};
    const expected = new Set([...(published.get(key) ?? [])].filter((n) => !delta.removed?.includes(n)));
    for (const n of delta.added ?? []) expected.add(n);
    assert.deepEqual([...(ours.get(key) ?? [])].sort(), [...expected].sort(), `rule ${key}`);
  }
});

test('the keyring, namespaces and kernel-level calls are refused to a default container', () => {
  const s = toOciSeccomp(DEFAULT_PROFILE, DEFAULT_CAPS);
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  const allowed = new Set(s.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length).flatMap((r) => r.names));
  for (const name of ['keyctl', 'add_key', 'request_key', 'unshare', 'setns', 'mount', 'umount2', 'bpf', 'perf_event_open', 'kexec_load', 'init_module', 'io_uring_setup', 'clone3', 'reboot']) {
    assert.ok(!allowed.has(name), `${name} is not allowed`);
  }
  // clone is allowed only without namespace flags; clone3 fails with ENOSYS so libc falls back to it.
  const clone = s.syscalls.find((r) => r.names.includes('clone'));
  assert.deepEqual(clone?.args, [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  assert.deepEqual(s.syscalls.find((r) => r.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
});
