/**
 * `--security-opt` as moby's parseSecurityOpt reads it: `no-new-privileges[=bool]`,
 * `seccomp=unconfined|builtin`, `systempaths=unconfined`, `label=…`, `apparmor=…`, with moby's
 * errors for anything else (`invalid --security-opt 2: "bogus=1"`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { invalidParameter } from '../../errdefs/index.ts';
import { parseProfile } from '../../runtime/seccomp.ts';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** The daemon's profile, none, or the container's own (the profile's JSON, as the CLI sends it). */
  seccomp: 'default' | 'unconfined' | { profile: string };
  /** systempaths=unconfined: no masked or read-only /proc and /sys paths. */
  systemPathsUnconfined: boolean;
}

function parseBool(v: string): boolean | undefined {
  const t = v.toLowerCase();
  if (['1', 't', 'true'].includes(t)) return true;
  if (['0', 'f', 'false'].includes(t)) return false;
  return undefined;
}

/** True when the host enforces AppArmor profiles (then a profile is not ours to ignore). */
function hostHasAppArmor(): boolean {
  const f = '/sys/module/apparmor/parameters/enabled';
  return existsSync(f) && readFileSync(f, 'utf8').trim() === 'Y';
}

/** True when SELinux is enforcing or permissive on the host. */
function hostHasSelinux(): boolean {
  return existsSync('/sys/fs/selinux/enforce');
}

export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', systemPathsUnconfined: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // label=disable without its key, as moby accepts it
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const key = opt.slice(0, i);
    const value = opt.slice(i + 1);
    switch (key) {
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.noNewPrivileges = b;
        break;
      }
      case 'seccomp':
        // The docker CLI sends a profile's content, not its path (it reads the file itself).
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === 'builtin' || value === '') out.seccomp = 'default';
        else {
          parseProfile(value);
          out.seccomp = { profile: value };
        }
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        out.systemPathsUnconfined = true;
        break;
      case 'label':
        // SELinux labels: moby hands them to go-selinux, which reads none of them (not even
        // their form) where SELinux is off, so any value runs; where it is on, Berth cannot
        // apply them yet and says so.
        if (hostHasSelinux()) throw invalidParameter('HostConfig.SecurityOpt: SELinux labels are not supported by Berth yet; the container was not created');
        break;
      case 'apparmor':
        // Berth confines no container with AppArmor; where the host enforces it, a profile
        // asked for would be silently missing, so only "unconfined" is true there.
        if (value !== 'unconfined' && hostHasAppArmor()) {
          throw invalidParameter('HostConfig.SecurityOpt: AppArmor profiles are not supported by Berth yet; the container was not created');
        }
        break;
      default:
        throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}
