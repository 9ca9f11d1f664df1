/**
 * Docker-format seccomp profiles (the format of moby's default profile and of Debian's
 * containers-common /usr/share/containers/seccomp.json) turned into the OCI spec's
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

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls: OciSeccompSyscall[];
}

interface ProfileFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  includes?: ProfileFilter;
  excludes?: ProfileFilter;
}

interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  architectures?: string[];
  syscalls?: ProfileSyscall[];
}

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

export function parseProfile(text: string): Profile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw invalidParameter(`decoding seccomp profile failed: ${(e as Error).message}`, e);
  }
  if (!p || typeof p !== 'object' || typeof (p as Profile).defaultAction !== 'string') {
    throw invalidParameter('decoding seccomp profile failed: missing defaultAction');
  }
  return p as Profile;
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

/** Loads and caches the default profile; undefined when none is installed. */
export class SeccompProfiles {
  private readonly path: string;
  private profile: Profile | null | undefined;
  private readonly cache = new Map<string, OciSeccomp>();

  constructor(path: string) {
    this.path = path;
  }

  available(): boolean {
    return this.load() !== null;
  }

  private load(): Profile | null {
    if (this.profile === undefined) {
      try {
        this.profile = parseProfile(readFileSync(this.path, 'utf8'));
      } catch {
        this.profile = null;
      }
    }
    return this.profile;
  }

  forCaps(caps: string[]): OciSeccomp | undefined {
    const p = this.load();
    if (!p) return undefined;
    const key = [...caps].sort().join(',');
    let s = this.cache.get(key);
    if (!s) {
      s = toOciSeccomp(p, caps);
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
