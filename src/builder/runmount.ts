/**
 * `RUN --mount=…` as BuildKit's Dockerfile frontend reads it (instructions/commands_runmount.go):
 * CSV fields, `type` bind (the default), cache or tmpfs; a bind mount read-only unless `rw`, a
 * cache or tmpfs one writable; `mode`/`uid`/`gid` only for cache and secret mounts; values
 * expanded with the build's variables. A secret mount's value comes from `berth build --secret`
 * (the classic API has no field for it: Berth's CLI sends it in a header of its own); an ssh
 * mount needs an agent transport the API does not have, and is refused by name.
 */
import { posix } from 'node:path';
import { splitCsv } from '../lib/csv.ts';
import { ramInBytes } from '../lib/units.ts';
import { parseGoBool } from '../lib/strconv.ts';

export type RunMount =
  | { type: 'bind'; target: string; source: string; from?: string; readOnly: boolean }
  | { type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; readOnly: boolean; mode: number; uid: number; gid: number }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number };

const TYPES = new Set(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);

function int(key: string, value: string, radix: 8 | 10): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^\d+$/.test(value);
  const n = ok ? parseInt(value, radix) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new Error(`failed to parse ${key}: ${value}`);
  return n;
}

/**
 * One `--mount` value; `expand` substitutes the build's variables in a value; `workdir`
 * resolves a relative target, as BuildKit does. Throws with BuildKit's wording.
 */
export function parseRunMount(spec: string, expand: (s: string) => string, workdir: string): RunMount {
  let type = 'bind';
  let readOnly: boolean | undefined;
  let target = '';
  let source: string | undefined;
  let from: string | undefined;
  let id: string | undefined;
  let sharing: string | undefined;
  let size: number | undefined;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let required = false;
  let env: string | undefined;
  let fields: string[];
  try {
    fields = splitCsv(spec);
  } catch (e) {
    throw new Error(`invalid mount ${spec}: ${(e as Error).message}`);
  }
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') readOnly = true;
      else if (key === 'readwrite' || key === 'rw') readOnly = false;
      else if (key === 'required' && (type === 'secret' || type === 'ssh')) required = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const value = expand(field.slice(eq + 1));
    const bool = () => {
      try {
        return parseGoBool(value);
      } catch (e) {
        throw new Error(`invalid value for ${key}: ${(e as Error).message}`);
      }
    };
    switch (key) {
      case 'type':
        if (!TYPES.has(value.toLowerCase())) throw new Error(`unsupported mount type "${value}"`);
        type = value.toLowerCase();
        break;
      case 'from': from = value; break;
      case 'source': case 'src': source = value; break;
      case 'target': case 'dst': case 'destination': target = value; break;
      case 'readonly': case 'ro': readOnly = bool(); break;
      case 'readwrite': case 'rw': readOnly = !bool(); break;
      case 'id': id = value; break;
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(value.toLowerCase())) throw new Error(`unsupported sharing value "${value}"`);
        sharing = value.toLowerCase();
        break;
      case 'size':
        if (type !== 'tmpfs') throw new Error(`unexpected key 'size' for mount type '${type}'`);
        try {
          size = ramInBytes(value);
        } catch {
          throw new Error(`failed to parse size: ${value}`);
        }
        break;
      case 'mode': mode = int(key, value, 8); break;
      case 'uid': uid = int(key, value, 10); break;
      case 'gid': gid = int(key, value, 10); break;
      case 'required':
        if (type !== 'secret' && type !== 'ssh') throw new Error(`unexpected key '${key}' for mount type '${type}'`);
        required = bool();
        break;
      case 'env':
        if (type !== 'secret') throw new Error(`unexpected key '${key}' for mount type '${type}'`);
        env = value;
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === 'ssh') throw new Error('ssh mounts are not supported by Berth\'s builder yet: the build API has no way to carry an ssh agent to the daemon');
  if (type === 'secret') {
    if (from !== undefined || source !== undefined) throw new Error(`unexpected key '${from !== undefined ? 'from' : 'source'}' for mount type 'secret'`);
    if (!id && !target) throw new Error('secret mount requires an id or a target');
    const sid = id || posix.basename(target);
    // with env= alone the secret is a variable only (BuildKit)
    const file = target ? posix.resolve(workdir || '/', target) : env === undefined ? `/run/secrets/${sid}` : undefined;
    return { type: 'secret', id: sid, ...(file ? { target: file } : {}), ...(env !== undefined ? { env } : {}), required, mode: mode ?? 0o400, uid: uid ?? 0, gid: gid ?? 0 };
  }
  if (type !== 'cache' && (mode !== undefined || uid !== undefined || gid !== undefined)) {
    throw new Error(`${mode !== undefined ? 'mode' : uid !== undefined ? 'uid' : 'gid'} not allowed for "${type}" type mounts`);
  }
  if (sharing !== undefined && type !== 'cache') throw new Error(`invalid cache sharing set for ${type} mount`);
  if (!target) throw new Error('mount target is required');
  target = posix.resolve(workdir || '/', target);
  if (type === 'tmpfs') {
    if (source !== undefined || from !== undefined) throw new Error(`unexpected key '${source !== undefined ? 'source' : 'from'}' for mount type 'tmpfs'`);
    return { type: 'tmpfs', target, ...(size !== undefined ? { size } : {}) };
  }
  if (type === 'cache') {
    if (from !== undefined || source !== undefined) throw new Error(`cache mounts with '${from !== undefined ? 'from' : 'source'}' are not supported by Berth's builder yet`);
    return { type: 'cache', target, id: id || target, sharing: (sharing ?? 'shared') as 'shared', readOnly: readOnly ?? false, mode: mode ?? 0o755, uid: uid ?? 0, gid: gid ?? 0 };
  }
  return { type: 'bind', target, source: source || '.', ...(from !== undefined ? { from } : {}), readOnly: readOnly ?? true };
}

/** A mount as the cache key records it (what changes the step when it changes). */
export function mountKey(m: RunMount): string {
  switch (m.type) {
    case 'bind': return `--mount=type=bind,source=${m.source}${m.from !== undefined ? `,from=${m.from}` : ''},target=${m.target}${m.readOnly ? '' : ',rw'}`;
    case 'cache': return `--mount=type=cache,id=${m.id},target=${m.target},sharing=${m.sharing}${m.readOnly ? ',ro' : ''},mode=${m.mode.toString(8)},uid=${m.uid},gid=${m.gid}`;
    case 'tmpfs': return `--mount=type=tmpfs,target=${m.target}${m.size !== undefined ? `,size=${m.size}` : ''}`;
    // the value never: a secret is not part of the step
    case 'secret': return `--mount=type=secret,id=${m.id}${m.target ? `,target=${m.target}` : ''}${m.env ? `,env=${m.env}` : ''}${m.required ? ',required' : ''},mode=${m.mode.toString(8)},uid=${m.uid},gid=${m.gid}`;
  }
}

/** The `from=` of a `--mount` value as written (a stage the step needs built first), if any. */
export function mountFroms(spec: string): string[] {
  try {
    return splitCsv(spec).filter((f) => f.toLowerCase().startsWith('from=')).map((f) => f.slice(5));
  } catch {
    return [];
  }
}
