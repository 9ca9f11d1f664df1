/**
 * What a container mounts, parsed and checked as moby's volume/mounts (linux_parser.go,
 * validate.go) does, with its messages: `-v` strings (HostConfig.Binds), `--mount` entries
 * (HostConfig.Mounts), `--tmpfs` (HostConfig.Tmpfs) and `--volumes-from`. Pure: the daemon
 * creates volumes and checks paths on the host afterwards (mounts.ts).
 */
import { posix } from 'node:path';
import type { Mount } from '../../api/types.ts';
import { EngineError, invalidParameter } from '../../errdefs/index.ts';

/** One mount of a container, as its record keeps it (moby's MountPoint). */
export interface MountPointRecord {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name. */
  Name?: string;
  /** Host path: the bind's source, the volume's content ('' for tmpfs). */
  Source: string;
  Destination: string;
  Driver?: string;
  /** As docker shows it: the -v mode string, "z" for named local volumes, "" otherwise. */
  Mode: string;
  RW: boolean;
  /** Binds only: rprivate unless asked otherwise. */
  Propagation: string;
  /** Made for this container with no name of its own: `rm -v` and `--rm` remove it. */
  Anonymous?: boolean;
  /** Fill an empty volume with the image's content at the mount point (docker's copy-up). */
  CopyData?: boolean;
  /** A -v bind whose source is created at start when missing (--mount binds must exist). */
  CreateSource?: boolean;
  /** bind instead of rbind (bind-recursive=disabled). */
  NonRecursive?: boolean;
  /** tmpfs mount data from TmpfsOptions (size=, mode=, exec). */
  TmpfsData?: string;
  /** --mount volume options, used when the volume is new. */
  VolumeLabels?: Record<string, string>;
  VolumeOptions?: Record<string, string>;
}

/** A parsed -v or --mount, before volumes are created. */
export interface MountRequest {
  point: MountPointRecord;
  /** The raw target as given (docker's duplicate message for --mount names it). */
  rawTarget: string;
  /** A bind with no propagation asked for (rslave when it holds the data root, as docker). */
  defaultPropagation?: boolean;
}

const RW_MODES = ['rw', 'ro'];
const LABEL_MODES = ['z', 'Z'];
const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared'];
const COPY_MODES = ['nocopy'];
const CONSISTENCY = ['consistent', 'cached', 'delegated'];

/** Paths under /proc a bind may cover (runc's allow-list: lxcfs files); anything else there is refused. */
const PROC_ALLOWED = ['/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime', '/proc/loadavg', '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid'];

const invalidSpec = (raw: string) => `invalid volume specification: '${raw}'`;
const mountConfig = (type: string, msg: string) => `invalid mount config for type "${type}": ${msg}`;

/** moby's linuxValidMountMode: a comma list, at most one of each kind. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const seen = { rw: 0, label: 0, prop: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(',')) {
    if (RW_MODES.includes(o)) seen.rw++;
    else if (LABEL_MODES.includes(o)) seen.label++;
    else if (PROPAGATIONS.includes(o)) seen.prop++;
    else if (COPY_MODES.includes(o)) seen.copy++;
    else if (CONSISTENCY.includes(o)) seen.consistency++;
    else return false;
  }
  return Object.values(seen).every((n) => n <= 1);
}

function cleanTarget(t: string): string {
  return posix.normalize(t.replace(/\\/g, '/')).replace(/(.)\/$/, '$1');
}

/** Target checks common to every kind: absolute, not the root, not the container's procfs. */
function checkTarget(type: string, target: string): string {
  if (!target) throw new Error(mountConfig(type, 'field Target must not be empty'));
  const t = cleanTarget(target);
  if (t === '/') throw new Error(mountConfig(type, "invalid specification: destination can't be '/'"));
  if (!posix.isAbsolute(t)) throw new Error(mountConfig(type, `invalid mount path: '${target}' mount path must be absolute`));
  if ((t === '/proc' || t.startsWith('/proc/')) && !PROC_ALLOWED.includes(t)) {
    throw new Error(mountConfig(type, `invalid specification: destination can't be '${t}': /proc is the container's own procfs`));
  }
  return t;
}

/**
 * One HostConfig.Binds entry (`name:/path[:mode]`, `/host:/path[:mode]`). Errors are docker's,
 * and, as in docker, not typed (a 500): the CLI shows them all the same.
 */
export function parseBind(raw: string, volumeDriver = ''): MountRequest {
  const arr = raw.split(':');
  if (arr[0] === '' || arr.length > 3) throw new EngineError('System', invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) target = arr[0];
  else if (arr.length === 2) {
    if (validMountMode(arr[1])) throw new EngineError('System', invalidSpec(raw));
    [source, target] = arr as [string, string];
  } else [source, target, mode] = arr as [string, string, string];
  if (!validMountMode(mode)) throw new EngineError('System', `invalid mode: ${mode}`);
  const opts = mode ? mode.split(',') : [];
  const type: 'bind' | 'volume' = posix.isAbsolute(source) ? 'bind' : 'volume';
  const propagation = opts.find((o) => PROPAGATIONS.includes(o));
  const nocopy = opts.includes('nocopy');
  const wrap = (msg: string) => new EngineError('System', `${invalidSpec(raw)}: ${msg}`);
  let dest: string;
  try {
    dest = checkTarget(type, target);
  } catch (e) {
    throw wrap((e as Error).message);
  }
  if (type === 'volume' && propagation) throw wrap(mountConfig('volume', 'field BindOptions must not be specified'));
  if (type === 'bind' && nocopy) throw wrap(mountConfig('bind', 'field VolumeOptions must not be specified'));
  if (type === 'volume' && volumeDriver && volumeDriver !== 'local') {
    throw invalidParameter(`create ${source}: error looking up volume plugin ${volumeDriver}: plugin "${volumeDriver}" not found`);
  }
  const rw = !opts.includes('ro');
  if (type === 'bind') {
    return {
      rawTarget: target,
      defaultPropagation: !propagation,
      point: { Type: 'bind', Source: posix.normalize(source), Destination: dest, Mode: mode, RW: rw, Propagation: propagation ?? 'rprivate', CreateSource: true },
    };
  }
  return {
    rawTarget: target,
    point: {
      Type: 'volume', Source: '', Destination: dest, Driver: 'local', RW: rw, Propagation: '',
      ...(source ? { Name: source } : { Anonymous: true }),
      // A named local volume shows mode "z" when none was given (moby's setBindModeIfNull).
      Mode: mode || (source ? 'z' : ''),
      CopyData: !nocopy,
    },
  };
}

/** One HostConfig.Mounts entry, checked as moby's validateMountConfig; errors are 400s. */
export function parseMount(m: Mount, sourceExists: (p: string) => boolean): MountRequest {
  const type = m.Type ?? '';
  const bad = (msg: string) => invalidParameter(mountConfig(type, msg));
  for (const [field, t] of [['VolumeOptions', 'volume'], ['BindOptions', 'bind'], ['TmpfsOptions', 'tmpfs']] as const) {
    if (m[field] && type !== t) throw invalidParameter(`${field} must not be specified on mount type "${type}"`);
  }
  if (m.ImageOptions) throw invalidParameter(`${mountConfig(type, 'field ImageOptions must not be specified')}`);
  let dest: string;
  try {
    dest = checkTarget(type, m.Target ?? '');
  } catch (e) {
    throw invalidParameter((e as Error).message);
  }
  const rw = !m.ReadOnly;
  switch (type) {
    case 'bind': {
      const src = m.Source ?? '';
      if (!src) throw bad('field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !PROPAGATIONS.includes(prop)) throw bad(`invalid propagation mode: ${prop}`);
      if (!posix.isAbsolute(src)) throw bad(`invalid mount path: '${src}' mount path must be absolute`);
      if (m.BindOptions?.ReadOnlyNonRecursive || m.BindOptions?.ReadOnlyForceRecursive) {
        throw invalidParameter('bind-recursive=writable and bind-recursive=readonly are not supported by Berth (read-only binds are read-only at their top mount)');
      }
      const create = m.BindOptions?.CreateMountpoint === true;
      if (!create && !sourceExists(src)) throw bad(`bind source path does not exist: ${src}`);
      return {
        rawTarget: m.Target ?? '',
        defaultPropagation: !prop,
        point: {
          Type: 'bind', Source: posix.normalize(src), Destination: dest, Mode: '', RW: rw, Propagation: prop || 'rprivate',
          ...(create ? { CreateSource: true } : {}), ...(m.BindOptions?.NonRecursive ? { NonRecursive: true } : {}),
        },
      };
    }
    case 'volume': {
      const vo = m.VolumeOptions;
      if (vo?.Subpath) throw bad('volume subpaths are not supported by Berth');
      const driver = vo?.DriverConfig?.Name;
      if (driver && driver !== 'local') throw invalidParameter(`create ${m.Source ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      if (!m.Source && m.ReadOnly) throw bad('must not set ReadOnly mode when using anonymous volumes');
      const labels = vo?.Labels && Object.keys(vo.Labels).length ? vo.Labels : undefined;
      const options = vo?.DriverConfig?.Options && Object.keys(vo.DriverConfig.Options).length ? vo.DriverConfig.Options : undefined;
      return {
        rawTarget: m.Target ?? '',
        point: {
          Type: 'volume', Source: '', Destination: dest, Driver: 'local', Mode: 'z', RW: rw, Propagation: '',
          ...(m.Source ? { Name: m.Source } : { Anonymous: true }),
          CopyData: !vo?.NoCopy,
          ...(labels ? { VolumeLabels: labels } : {}),
          ...(options ? { VolumeOptions: options } : {}),
        },
      };
    }
    case 'tmpfs': {
      if (m.Source) throw bad('field Source must not be specified');
      const t = m.TmpfsOptions;
      const data: string[] = [];
      if (m.ReadOnly) data.push('ro');
      if (t?.Mode) data.push(`mode=${(t.Mode & 0o7777).toString(8)}`);
      if (t?.SizeBytes) data.push(`size=${tmpfsSize(t.SizeBytes)}`);
      for (const o of t?.Options ?? []) {
        if (o.length < 1 || o.length > 2) throw bad('invalid option array length');
        if (!['exec', 'noexec'].includes(o[0])) throw bad(`invalid option: ${o[0]}`);
        data.push(o.length === 2 ? `${o[0]}=${o[1]}` : o[0]);
      }
      return { rawTarget: m.Target ?? '', point: { Type: 'tmpfs', Source: '', Destination: dest, Mode: '', RW: rw, Propagation: '', TmpfsData: data.join(',') } };
    }
    case '':
      throw invalidParameter(mountConfig('', 'mount type unknown'));
    default:
      throw invalidParameter(mountConfig(type, 'mount type unknown'));
  }
}

/** moby's tmpfs size in the largest unit that divides it. */
function tmpfsSize(n: number): string {
  for (const [u, f] of [['g', 1 << 30], ['m', 1 << 20], ['k', 1 << 10]] as const) if (n % f === 0) return `${n / f}${u}`;
  return String(n);
}

/** `--volumes-from CONTAINER[:ro|rw]`: the container and whether its mounts come writable. */
export function parseVolumesFrom(spec: string): { id: string; rw: boolean } {
  if (spec === '') throw invalidParameter('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const id = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode) {
    const opts = mode.split(',');
    if (!validMountMode(mode) || opts.some((o) => PROPAGATIONS.includes(o) || o === 'nocopy')) throw invalidParameter(`invalid mode: ${mode}`);
  }
  return { id, rw: !(mode.split(',').includes('ro')) };
}

/** HostConfig.Tmpfs keys: absolute, not the root. */
export function checkTmpfsTargets(tmpfs: Record<string, string>): void {
  for (const dest of Object.keys(tmpfs)) {
    const t = cleanTarget(dest);
    if (t === '/') throw invalidParameter("invalid specification: destination can't be '/'");
    if (!posix.isAbsolute(t)) throw invalidParameter(`invalid mount path: '${dest}' mount path must be absolute`);
    if ((t === '/proc' || t.startsWith('/proc/'))) throw invalidParameter(`invalid specification: destination can't be '${t}': /proc is the container's own procfs`);
  }
}

const TMPFS_FLAGS: Record<string, string> = {
  ro: 'ro', rw: 'ro', suid: 'suid', nosuid: 'suid', dev: 'dev', nodev: 'dev', exec: 'exec', noexec: 'exec',
  sync: 'sync', async: 'sync', dirsync: 'dirsync', remount: 'remount', mand: 'mand', nomand: 'mand',
  atime: 'atime', noatime: 'atime', diratime: 'diratime', nodiratime: 'diratime', relatime: 'relatime', norelatime: 'relatime',
  strictatime: 'strictatime', nostrictatime: 'strictatime',
  private: 'prop', rprivate: 'prop', shared: 'prop', rshared: 'prop', slave: 'prop', rslave: 'prop',
};
const TMPFS_DATA = ['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol'];

/**
 * A tmpfs mount's options: docker's noexec,nosuid,nodev,rprivate, then the user's, the last
 * of each kind winning (moby's MergeTmpfsOptions). Unknown options are refused.
 */
export function tmpfsOptions(data: string): string[] {
  const all = ['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])];
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const o = all[i];
    if (o === 'defaults') continue;
    const key = TMPFS_FLAGS[o] ?? (o.includes('=') && TMPFS_DATA.includes(o.slice(0, o.indexOf('='))) ? `data:${o.slice(0, o.indexOf('='))}` : undefined);
    if (!key) throw invalidParameter(`invalid tmpfs option ["${o.split('=').join('" "')}"]`);
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}
