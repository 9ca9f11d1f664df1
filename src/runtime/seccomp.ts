/**
 * Docker-format seccomp profiles (moby's default profile, built in as seccomp-default.ts, and
 * the profiles users give with --security-opt seccomp=…) turned into the OCI spec's
 * `linux.seccomp` for one container: rules are kept or dropped by architecture and by the
 * container's capabilities, exactly as moby's `profiles/seccomp.setupSeccomp` decides.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic.ts';
import { log } from '../lib/log.ts';
import { invalidParameter } from '../errdefs/index.ts';
import { DEFAULT_PROFILE } from './seccomp-default.ts';
import { decodeGo, go } from '../lib/gojson.ts';

export type { OciSeccomp, OciSeccompArg, OciSeccompSyscall, Profile, ProfileFilter, ProfileSyscall } from './seccomp-types.ts';
import type { OciSeccomp, OciSeccompSyscall, Profile, ProfileFilter, ProfileSyscall } from './seccomp-types.ts';

/** Go's GOARCH for this machine, which docker's profiles use in `arches`. */
export function goArch(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    default: return process.arch;
  }
}

const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  '386': 'SCMP_ARCH_X86',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
};

let kernel: number[] | undefined;

function kernelAtLeast(min: string): boolean {
  if (!kernel) {
    try {
      kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim().split('.').map((n) => parseInt(n, 10));
    } catch {
      kernel = [0, 0];
    }
  }
  const [wmaj, wmin] = min.split('.').map((n) => parseInt(n, 10));
  return kernel[0] > wmaj || (kernel[0] === wmaj && (kernel[1] ?? 0) >= wmin);
}

/** moby's types.Seccomp, decoded as dockerd decodes a profile (encoding/json). */
const FilterType = go.struct('seccomp.Filter', { caps: go.slice(go.string), arches: go.slice(go.string), minKernel: go.named('seccomp.KernelVersion') });
const ProfileType = go.struct('seccomp.Seccomp', {
  defaultAction: go.named('specs.LinuxSeccompAction'),
  defaultErrnoRet: go.uint,
  architectures: go.slice(go.string),
  archMap: go.slice(go.struct('seccomp.Architecture', { architecture: go.string, subArchitectures: go.slice(go.string) })),
  syscalls: go.slice(go.struct('seccomp.Syscall', {
    names: go.slice(go.string),
    action: go.named('specs.LinuxSeccompAction'),
    errnoRet: go.uint,
    args: go.slice(go.struct('specs.LinuxSeccompArg', { index: go.uint, value: go.uint64, valueTwo: go.uint64, op: go.named('specs.LinuxSeccompOperator') })),
    name: go.string,
    comment: go.string,
    includes: FilterType,
    excludes: FilterType,
  })),
});

const ACTIONS = new Set(['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY']);
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

/** Parses a docker-format profile and checks it as moby does, so a bad one fails at create. */
export function parseProfile(text: string): Profile {
  let p;
  try {
    p = decodeGo(text, ProfileType);
  } catch (e) {
    throw invalidParameter(`decoding seccomp profile failed: ${(e as Error).message.replace(/^invalid JSON: /, '')}`, e);
  }
  const bad = (why: string) => invalidParameter(`decoding seccomp profile failed: ${why}`);
  if (!p || !p.defaultAction) throw bad('the profile has no defaultAction');
  if (!ACTIONS.has(p.defaultAction)) throw bad(`unknown action ${JSON.stringify(p.defaultAction)}`);
  if (p.archMap?.length && p.architectures?.length) throw bad("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  const syscalls: ProfileSyscall[] = [];
  for (const c of p.syscalls ?? []) {
    if (c.name && c.names?.length) throw bad("use either 'name' or 'names'");
    if (!c.action || !ACTIONS.has(c.action)) throw bad(`unknown action ${JSON.stringify(c.action ?? '')}`);
    for (const a of c.args ?? []) if (!a.op || !OPS.has(a.op)) throw bad(`unknown operator ${JSON.stringify(a.op ?? '')}`);
    const filter = (f: typeof c.includes): ProfileFilter | undefined => (f ? { ...(f.caps ? { caps: f.caps } : {}), ...(f.arches ? { arches: f.arches } : {}), ...(f.minKernel ? { minKernel: f.minKernel } : {}) } : undefined);
    const inc = filter(c.includes);
    const exc = filter(c.excludes);
    syscalls.push({
      ...(c.names ? { names: c.names } : {}),
      ...(c.name ? { name: c.name } : {}),
      action: c.action,
      ...(c.errnoRet !== undefined ? { errnoRet: c.errnoRet } : {}),
      ...(c.args?.length ? { args: c.args.map((a) => ({ index: a.index ?? 0, value: a.value ?? 0, valueTwo: a.valueTwo ?? 0, op: a.op! })) } : {}),
      ...(inc ? { includes: inc } : {}),
      ...(exc ? { excludes: exc } : {}),
    });
  }
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(p.architectures ? { architectures: p.architectures } : {}),
    ...(p.archMap ? { archMap: p.archMap.map((m) => ({ architecture: m.architecture ?? '', subArchitectures: m.subArchitectures ?? [] })) } : {}),
    syscalls,
  };
}

/** Builds the OCI seccomp section for a container with capability set `caps` (CAP_ names). */
export function toOciSeccomp(profile: Profile, caps: string[]): OciSeccomp {
  const arch = goArch();
  const capSet = new Set(caps);
  const out: OciSeccomp = { defaultAction: profile.defaultAction, syscalls: [] };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const native = SCMP_ARCH[arch];
  if (profile.archMap) {
    const m = profile.archMap.find((a) => a.architecture === native);
    if (m) out.architectures = [m.architecture, ...(m.subArchitectures ?? [])];
  } else if (profile.architectures) {
    out.architectures = profile.architectures;
  }
  for (const s of profile.syscalls ?? []) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(arch)) continue;
    if (exc.arches?.length && exc.arches.includes(arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => capSet.has(c))) continue;
    if (exc.caps?.length && exc.caps.some((c) => capSet.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(inc.minKernel)) continue;
    const names = s.names ?? (s.name ? [s.name] : []);
    if (!names.length) continue;
    const rule: OciSeccompSyscall = { names, action: s.action };
    if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
    if (s.args && s.args.length) rule.args = s.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    out.syscalls.push(rule);
  }
  return out;
}

/**
 * The daemon's seccomp profiles: its default (docker's, built in; or one loaded from a file at
 * start, which must parse or berthd does not start; or none when set to "unconfined") and the
 * per-container profiles of `--security-opt seccomp=…`, each turned into OCI seccomp once per
 * capability set.
 */
export class SeccompProfiles {
  /** What `info` reports: "builtin", the file, or "unconfined". */
  readonly name: string;
  private readonly base: Profile | undefined;
  private readonly cache = new Map<string, OciSeccomp>();

  private constructor(name: string, base: Profile | undefined) {
    this.name = name;
    this.base = base;
  }

  /**
   * From the daemon's `seccomp-profile` setting: unset or "builtin" is docker's profile,
   * "unconfined" none, anything else a file that must exist and parse (the error names it).
   */
  static fromSetting(setting: string | undefined): SeccompProfiles {
    if (setting === undefined || setting === '' || setting === 'builtin') return new SeccompProfiles('builtin', DEFAULT_PROFILE);
    if (setting === 'unconfined') return new SeccompProfiles('unconfined', undefined);
    let text: string;
    try {
      text = readFileSync(setting, 'utf8');
    } catch (e) {
      throw invalidParameter(`opening seccomp profile (${setting}) failed: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, e);
    }
    try {
      return new SeccompProfiles(setting, parseProfile(text));
    } catch (e) {
      throw invalidParameter(`loading seccomp profile (${setting}) failed: ${(e as Error).message}`, e);
    }
  }

  /** False when the daemon runs containers without seccomp by default ("unconfined"). */
  available(): boolean {
    return this.base !== undefined;
  }

  /**
   * The OCI seccomp section for a container with capabilities `caps`: from its own profile
   * (the JSON of `--security-opt seccomp=`) or the daemon's; undefined for none.
   */
  forCaps(caps: string[], custom?: string): OciSeccomp | undefined {
    const profile = custom === undefined ? this.base : parseProfile(custom);
    if (!profile) return undefined;
    const key = `${custom === undefined ? '' : createHash('sha256').update(custom).digest('hex')}|${[...caps].sort().join(',')}`;
    let s = this.cache.get(key);
    if (!s) {
      s = toOciSeccomp(profile, caps);
      this.cache.set(key, s);
    }
    return s;
  }
}

/** The text the BPF compiler reads (see shim/seccomp-bpf.c): crun's translation, as directives. */
export function bpfSource(s: OciSeccomp): string {
  const EPERM = 1;
  const lines = [`default ${s.defaultAction} ${s.defaultErrnoRet ?? EPERM}`];
  for (const a of s.architectures ?? []) lines.push(`arch ${a}`);
  for (const r of s.syscalls) {
    const args = (r.args ?? []).map((a) => `${a.index} ${a.op} ${a.value} ${a.valueTwo ?? 0}`).join(' ');
    for (const name of r.names) lines.push(`rule ${r.action} ${r.errnoRet ?? EPERM} ${name}${args ? ` ${args}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Compiles seccomp profiles to BPF once and caches them (in memory and under `cacheDir`), so
 * crun can load a finished filter (run.oci.seccomp_bpf_data) instead of compiling the profile
 * on every container create, which costs ~20 ms here.
 */
export class SeccompBpfCache {
  private readonly compiler: string;
  private readonly cacheDir: string;
  private readonly memo = new Map<string, Promise<string | undefined>>();

  constructor(compiler: string, cacheDir: string) {
    this.compiler = compiler;
    this.cacheDir = cacheDir;
  }

  /** Base64 BPF for the profile, or undefined if it cannot be compiled (then crun compiles it). */
  get(profile: OciSeccomp): Promise<string | undefined> {
    const src = bpfSource(profile);
    const key = createHash('sha256').update(src).digest('hex');
    let p = this.memo.get(key);
    if (!p) {
      p = this.load(key, src).catch((e: unknown) => {
        log.warn('precompiling the seccomp profile failed; crun will compile it per container', { error: e });
        return undefined;
      });
      this.memo.set(key, p);
    }
    return p;
  }

  private async load(key: string, src: string): Promise<string> {
    const file = join(this.cacheDir, `${key}.bpf.b64`);
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch {
      // not cached yet
    }
    const bpf = await compile(this.compiler, src);
    const b64 = bpf.toString('base64');
    await mkdir(this.cacheDir, { recursive: true });
    await writeFileAtomic(file, b64 + '\n');
    return b64;
  }
}

function compile(compiler: string, src: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(compiler, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 && out.length ? resolve(Buffer.concat(out)) : reject(new Error(err.trim() || `exit ${code}`))));
    p.stdin.on('error', () => {});
    p.stdin.end(src);
  });
}
