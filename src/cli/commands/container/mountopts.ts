/**
 * `-v`, `--mount` and `--tmpfs` as docker/cli turns them into a create request
 * (cli/compose/loader/volume.go, opts/mount.go): anonymous volumes into Config.Volumes, the rest
 * into HostConfig.Binds as given (a `.`-relative host path made absolute), `--mount` into
 * HostConfig.Mounts, `--tmpfs` into HostConfig.Tmpfs. The daemon checks the rest.
 */
import { resolve } from 'node:path';
import type { Mount } from '../../../api/types.ts';
import { ramInBytes } from '../../../lib/units.ts';
import { splitCsv } from '../../../lib/csv.ts';
import { parseGoBool } from '../../../lib/strconv.ts';

export interface VolumeFlags {
  binds: string[];
  volumes: Record<string, Record<string, never>>;
}

/** `-v` values: anonymous targets and binds/named volumes, as the docker CLI splits them. */
export function parseVolumeFlags(list: string[]): VolumeFlags {
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const spec of list) {
    if (spec === '') throw new Error('invalid empty volume spec');
    if (spec.length <= 2) {
      volumes[spec] = {};
      continue;
    }
    const parts = spec.split(':');
    if (parts.some((p) => p === '')) throw new Error(`invalid spec: ${spec}: empty section between colons`);
    if (parts.length > 3) throw new Error(`invalid spec: ${spec}: too many colons`);
    if (parts.length === 1) {
      volumes[spec] = {};
      continue;
    }
    let source = parts[0];
    // A relative host path (./data, ../x) is the client's: made absolute here, as docker does.
    if (source.startsWith('.')) source = resolve(source);
    const raw = [source, ...parts.slice(1)].join(':');
    if (!binds.includes(raw)) binds.push(raw);
  }
  return { binds, volumes };
}

/** One `--mount` value (CSV of key=value fields). */
export function parseMountFlag(value: string): Mount {
  const m: Mount = { Type: 'volume' };
  const fields = splitCsv(value);
  const volumeOptions = () => (m.VolumeOptions ??= {});
  const bindOptions = () => (m.BindOptions ??= {});
  const tmpfsOptions = () => (m.TmpfsOptions ??= {});
  const bool = (key: string, v: string): boolean => {
    try {
      return parseGoBool(v);
    } catch {
      throw new Error(`invalid value for ${key}: ${v}`);
    }
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const val = field.slice(eq + 1);
    switch (key) {
      case 'type':
        m.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        m.Source = val.startsWith('.') ? resolve(val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = bool(key, val);
        break;
      case 'consistency':
        m.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = bool(key, val);
        break;
      case 'bind-recursive':
        if (val === 'enabled') bindOptions();
        else if (val === 'disabled') bindOptions().NonRecursive = true;
        else if (val === 'writable') bindOptions().ReadOnlyNonRecursive = true;
        else if (val === 'readonly') bindOptions().ReadOnlyForceRecursive = true;
        else throw new Error(`invalid value for bind-recursive: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        break;
      case 'volume-subpath':
        volumeOptions().Subpath = val;
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = bool(key, val);
        break;
      case 'volume-label': {
        const [k, ...rest] = val.split('=');
        if (k) (volumeOptions().Labels ??= {})[k] = rest.join('=');
        break;
      }
      case 'volume-driver':
        (volumeOptions().DriverConfig ??= {}).Name = val;
        break;
      case 'volume-opt': {
        const [k, ...rest] = val.split('=');
        const dc = (volumeOptions().DriverConfig ??= {});
        (dc.Options ??= {})[k] = rest.join('=');
        break;
      }
      case 'image-subpath':
        (m.ImageOptions ??= {}).Subpath = val;
        break;
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for tmpfs-size: ${val}`);
        }
        break;
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(val)) throw new Error(`invalid value for tmpfs-mode: ${val}`);
        tmpfsOptions().Mode = parseInt(val, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new Error('type is required');
  if (!m.Target) throw new Error('target is required');
  for (const [opts, prefix, type] of [[m.VolumeOptions, 'volume', 'volume'], [m.ImageOptions, 'image', 'image'], [m.BindOptions, 'bind', 'bind'], [m.TmpfsOptions, 'tmpfs', 'tmpfs']] as const) {
    if (opts && m.Type !== type) throw new Error(`cannot mix '${prefix}-*' options with mount type '${m.Type}'`);
  }
  if (m.BindOptions?.ReadOnlyNonRecursive && !m.ReadOnly) throw new Error("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  if (m.BindOptions?.ReadOnlyForceRecursive) {
    if (!m.ReadOnly) throw new Error("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    if (m.BindOptions.Propagation !== 'rprivate') throw new Error("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
  }
  return m;
}

/** `--tmpfs /path[:options]`. */
export function parseTmpfsFlags(list: string[]): Record<string, string> | undefined {
  if (!list.length) return undefined;
  const out: Record<string, string> = {};
  for (const t of list) {
    const i = t.indexOf(':');
    out[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  return out;
}

