/**
 * `--change` instructions for import and commit: the Dockerfile instructions that only
 * change image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
 * VOLUME, WORKDIR), with JSON and shell forms as in a Dockerfile.
 */
import { posix } from 'node:path';
import type { ContainerConfig } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      // not JSON: docker falls back to the shell form
    }
  }
  return ['/bin/sh', '-c', t];
}

/** Splits `k=v k2="v 2"` pairs, or the old `k v` form. */
function keyValues(rest: string, instr: string): [string, string][] {
  const t = rest.trim();
  if (!t.includes('=') || /^[^=\s]+\s/.test(t) && !/^[^\s]+=/.test(t)) {
    const sp = t.search(/\s/);
    if (sp < 0) throw invalidParameter(`${instr} requires at least one argument`);
    return [[t.slice(0, sp), t.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:\\.|[^"\\])*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) out.push([m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] ?? m[5] ?? '']);
  return out;
}

export function applyChange(cfg: Partial<ContainerConfig>, change: string): void {
  const t = change.trim();
  const sp = t.search(/\s/);
  const typed = sp < 0 ? t : t.slice(0, sp);
  const instr = typed.toUpperCase();
  const rest = sp < 0 ? '' : t.slice(sp + 1);
  // named as typed, as moby's BuildFromConfig names it
  if (!ALLOWED.includes(instr)) throw invalidParameter(`${typed} is not a valid change command`);
  switch (instr) {
    case 'CMD': cfg.Cmd = jsonOrShell(rest); break;
    case 'ENTRYPOINT': cfg.Entrypoint = jsonOrShell(rest); break;
    case 'ENV': {
      const env = [...(cfg.Env ?? [])];
      for (const [k, v] of keyValues(rest, 'ENV')) {
        const i = env.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      cfg.Env = env;
      break;
    }
    case 'LABEL':
      cfg.Labels = { ...(cfg.Labels ?? {}), ...Object.fromEntries(keyValues(rest, 'LABEL')) };
      break;
    case 'EXPOSE': {
      const ports = { ...(cfg.ExposedPorts ?? {}) };
      for (const p of rest.trim().split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
      cfg.ExposedPorts = ports;
      break;
    }
    case 'USER': cfg.User = rest.trim(); break;
    // relative to the current one, as a Dockerfile's WORKDIR (moby's normalizeWorkdir)
    case 'WORKDIR': cfg.WorkingDir = posix.resolve('/', cfg.WorkingDir || '/', rest.trim()); break;
    case 'STOPSIGNAL': cfg.StopSignal = rest.trim(); break;
    case 'VOLUME': {
      const vols = { ...(cfg.Volumes ?? {}) };
      const t2 = rest.trim();
      const list = t2.startsWith('[') ? (JSON.parse(t2) as string[]) : t2.split(/\s+/);
      for (const v of list) vols[v] = {};
      cfg.Volumes = vols;
      break;
    }
    case 'ONBUILD': cfg.OnBuild = [...(cfg.OnBuild ?? []), rest.trim()]; break;
    default: throw invalidParameter(`${instr} is not supported as a change yet`);
  }
}

/** The config `base` (import: none; commit: the container's) with `changes` applied on top. */
export function parseChanges(changes: string[], base: Partial<ContainerConfig> = {}): Partial<ContainerConfig> {
  const cfg: Partial<ContainerConfig> = { ...base };
  for (const c of changes) if (c.trim()) applyChange(cfg, c);
  return cfg;
}

/**
 * moby's merge of a commit's config with the container's: what the commit leaves empty is the
 * container's, and its environment (by name), labels, exposed ports and volumes are added to
 * (a commit body's `Env: ["X=1"]` keeps the container's other variables).
 */
export function mergeCommitConfig(user: Partial<ContainerConfig>, container: Partial<ContainerConfig>): Partial<ContainerConfig> {
  const out: Partial<ContainerConfig> = { ...user };
  if (!out.User) out.User = container.User ?? '';
  out.ExposedPorts = Object.keys(out.ExposedPorts ?? {}).length ? { ...(container.ExposedPorts ?? {}), ...out.ExposedPorts } : container.ExposedPorts ?? out.ExposedPorts;
  const env = [...(out.Env ?? [])];
  const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  for (const e of container.Env ?? []) if (!env.some((u) => keyOf(u) === keyOf(e))) env.push(e);
  out.Env = out.Env?.length ? env : container.Env ?? out.Env ?? null;
  out.Labels = { ...(container.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = container.Cmd ?? null;
    if (out.Entrypoint == null) out.Entrypoint = container.Entrypoint ?? null;
  }
  if (container.Healthcheck) {
    const h = out.Healthcheck;
    out.Healthcheck = h
      ? {
        ...h, Test: h.Test?.length ? h.Test : container.Healthcheck.Test,
        Interval: h.Interval || container.Healthcheck.Interval, Timeout: h.Timeout || container.Healthcheck.Timeout,
        StartPeriod: h.StartPeriod || container.Healthcheck.StartPeriod, Retries: h.Retries || container.Healthcheck.Retries,
        ...(h.StartInterval || container.Healthcheck.StartInterval ? { StartInterval: h.StartInterval || container.Healthcheck.StartInterval } : {}),
      }
      : container.Healthcheck;
  }
  if (!out.WorkingDir) out.WorkingDir = container.WorkingDir ?? '';
  out.Volumes = Object.keys(out.Volumes ?? {}).length ? { ...(container.Volumes ?? {}), ...out.Volumes } : container.Volumes ?? out.Volumes ?? null;
  if (!out.StopSignal && container.StopSignal) out.StopSignal = container.StopSignal;
  return out;
}

