/**
 * Read views of containers in docker's JSON shapes: `GET /containers/json` summaries (with
 * docker's filters and status strings) and `GET /containers/{id}/json`.
 */
import { mountsView } from './mounts.ts';
import type { ContainerInspect, ContainerSummary } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import { boolFilter } from '../../lib/filters.ts';
import { humanDuration } from '../../lib/units.ts';
import type { Container, ContainerRecord } from './container.ts';
import type { EndpointRecord } from '../../network/service.ts';
import { portList, portMap } from './ports.ts';
import { shownLogPath } from './logdriver.ts';

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: Map<string, string[]>;
}

/** What the view needs from the image side. */
export interface ImageNames {
  /** Image ID for a name or ID, or undefined. */
  resolve(name: string): string | undefined;
  /** All image IDs that are the image `id` or built on it (for ancestor=). */
  descendants(id: string): Set<string>;
}

const FILTER_KEYS = new Set(['status', 'name', 'id', 'label', 'ancestor', 'exited', 'before', 'since', 'health', 'isolation', 'network', 'volume', 'publish', 'expose', 'is-task']);
const STATUSES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTHS = ['none', 'starting', 'healthy', 'unhealthy'];

/** docker's `State.String()`: "Up 2 minutes", "Exited (0) 3 seconds ago", "Created". */
export function statusString(c: Container, now = Date.now()): string {
  const s = c.state;
  if (s.Running) {
    const up = humanDuration(now - Date.parse(s.StartedAt));
    if (s.Paused) return `Up ${up} (Paused)`;
    if (s.Health) return `Up ${up} (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})`;
    return `Up ${up}`;
  }
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (s.StartedAt === '0001-01-01T00:00:00Z' || s.Status === 'created') return 'Created';
  if (s.FinishedAt === '0001-01-01T00:00:00Z') return '';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

function commandString(c: Container): string {
  if (!c.rec.Args.length) return c.rec.Path;
  return `${c.rec.Path} ${c.rec.Args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

function validateFilters(filters: Map<string, string[]>): void {
  for (const [k, vals] of filters) {
    if (!FILTER_KEYS.has(k)) throw invalidParameter(`invalid filter '${k}'`);
    // moby's words (ValidateHealthStatus, ValidateContainerState, strconv.Atoi)
    if (k === 'health') {
      for (const v of vals) {
        if (!HEALTHS.includes(v)) throw invalidParameter(`invalid filter 'health=${v}': invalid value for health (${v}): must be one of ${HEALTHS.join(', ')}`);
      }
    }
    if (k === 'status') {
      for (const v of vals) {
        if (!STATUSES.includes(v)) throw invalidParameter(`invalid filter 'status=${v}': invalid value for state (${v}): must be one of ${STATUSES.join(', ')}`);
      }
    }
    if (k === 'exited') {
      for (const v of vals) if (!/^[+-]?\d+$/.test(v)) throw invalidParameter(`invalid filter 'exited=${v}': strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
  }
}

function matchLabel(labels: Record<string, string>, f: string): boolean {
  const i = f.indexOf('=');
  return i < 0 ? f in labels : labels[f.slice(0, i)] === f.slice(i + 1);
}

/** Filter values as a set of "port/proto" keys; ranges expanded. */
function portFilter(values: string[] | undefined): Set<string> | undefined {
  if (!values?.length) return undefined;
  const out = new Set<string>();
  for (const v of values) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v);
    if (!m) throw invalidParameter(`invalid port specification: "${v}"`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (hi < lo || hi > 65535 || hi - lo > 65535) throw invalidParameter(`invalid port specification: "${v}"`);
    for (let p = lo; p <= hi; p++) out.add(`${p}/${m[3] ?? 'tcp'}`);
  }
  return out;
}

export function listContainers(all: Container[], opts: ListOptions, images: ImageNames): ContainerSummary[] {
  const f = opts.filters;
  validateFilters(f);
  let list = [...all].sort((a, b) => Date.parse(b.rec.Created) - Date.parse(a.rec.Created) || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
  const byRef = (ref: string) => all.find((c) => c.id === ref || c.name === ref.replace(/^\//, '') || c.id.startsWith(ref));
  const before = f.get('before')?.[0];
  const since = f.get('since')?.[0];
  if (before) {
    const b = byRef(before);
    if (!b) throw invalidParameter(`No such container: ${before}`);
    list = list.filter((c) => Date.parse(c.rec.Created) < Date.parse(b.rec.Created));
  }
  if (since) {
    const s = byRef(since);
    if (!s) throw invalidParameter(`No such container: ${since}`);
    list = list.filter((c) => Date.parse(c.rec.Created) > Date.parse(s.rec.Created));
  }
  // No container here belongs to a swarm task: is-task=true matches none.
  if (boolFilter(f, 'is-task') === true) return [];
  // An ID filter names one container by a unique prefix (moby's GetByPrefix): an ambiguous one names none.
  const idMatches = f.get('id')?.map((i) => {
    const hits = all.filter((c) => c.id.startsWith(i));
    return i && hits.length === 1 ? hits[0].id : all.find((c) => c.id === i)?.id;
  });
  const status = f.get('status');
  const explicitAll = opts.all || (status?.length ?? 0) > 0 || f.has('exited') || opts.limit > 0 || !!before || !!since;
  const ancestors = f.get('ancestor')?.map((a) => {
    const id = images.resolve(a);
    return id ? images.descendants(id) : new Set<string>();
  });
  const publish = portFilter(f.get('publish'));
  const expose = portFilter(f.get('expose'));
  list = list.filter((c) => {
    if (!explicitAll && !c.running && !c.state.Restarting) return false;
    if (status?.length && !status.includes(c.status)) return false;
    const names = f.get('name');
    if (names?.length && !names.some((n) => new RegExp(n).test(c.rec.Name) || new RegExp(n).test(c.name))) return false;
    if (idMatches?.length && !idMatches.includes(c.id)) return false;
    const labels = f.get('label');
    if (labels?.length && !labels.every((l) => matchLabel(c.rec.Config.Labels, l))) return false;
    const health = f.get('health');
    if (health?.length && !health.includes(c.state.Health?.Status ?? 'none')) return false;
    const exited = f.get('exited');
    if (exited?.length && (c.status !== 'exited' || !exited.some((e) => Number(e) === c.state.ExitCode))) return false;
    if (ancestors && !ancestors.some((set) => set.has(c.rec.Image))) return false;
    // publish and expose match container ports ("80", "80/udp", "8000-8010/tcp"), as moby's list does.
    if (publish && !Object.keys(c.rec.HostConfig.PortBindings ?? {}).some((k) => publish.has(k.includes('/') ? k : `${k}/tcp`))) return false;
    if (expose && !Object.keys(c.rec.Config.ExposedPorts ?? {}).some((k) => expose.has(k))) return false;
    const nets = f.get('network');
    if (nets?.length && !nets.some((n) => Object.entries(c.rec.Networks ?? {}).some(([name, ep]) => name === n || ep.NetworkID === n || (n.length >= 12 && ep.NetworkID.startsWith(n))))) return false;
    // docker's volume filter: a volume's name, or any mount's destination.
    const vols = f.get('volume');
    if (vols?.length && !vols.some((v) => Object.values(c.rec.MountPoints ?? {}).some((m) => m.Name === v || m.Destination === v))) return false;
    return true;
  });
  if (opts.limit > 0) list = list.slice(0, opts.limit);
  const now = Date.now();
  return list.map((c) => {
    const resolved = images.resolve(c.rec.Config.Image);
    return {
      Id: c.id,
      Names: [c.rec.Name],
      Image: resolved === c.rec.Image ? c.rec.Config.Image : c.rec.Image.slice(7, 19),
      ImageID: c.rec.Image,
      Command: commandString(c),
      Created: Math.floor(Date.parse(c.rec.Created) / 1000),
      Ports: portList(c.rec, c.state.Running ? c.rec.PublishedPorts : undefined),
      Labels: c.rec.Config.Labels,
      State: c.status,
      Status: statusString(c, now),
      HostConfig: { NetworkMode: c.rec.HostConfig.NetworkMode },
      NetworkSettings: { Networks: networksView(c.rec) },
      Mounts: mountsView(c.rec),
    };
  });
}

export function inspectContainer(c: Container, graph: Record<string, string>, sizes?: { SizeRw: number; SizeRootFs: number }): ContainerInspect {
  const r = c.rec;
  return {
    Id: r.ID,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    // moby counts a container in its restart back-off as running (SetRestarting).
    State: { ...r.State, Running: r.State.Running || r.State.Restarting },
    Image: r.Image,
    ResolvConfPath: r.ResolvConfPath,
    HostnamePath: r.HostnamePath,
    HostsPath: r.HostsPath,
    LogPath: shownLogPath(r),
    Name: r.Name,
    RestartCount: r.RestartCount,
    Driver: r.Driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: r.HostConfig,
    GraphDriver: { Name: 'overlay2', Data: graph },
    ...sizes,
    Mounts: mountsView(r),
    Config: r.Config,
    NetworkSettings: networkSettingsView(c),
  };
}

/** The endpoints as docker shows them (the veth's host name is ours). */
export function networksView(r: ContainerRecord): Record<string, Omit<EndpointRecord, 'HostVeth' | 'IfName'>> {
  const out: Record<string, Omit<EndpointRecord, 'HostVeth' | 'IfName'>> = {};
  for (const [name, ep] of Object.entries(r.Networks ?? {})) {
    const { HostVeth: _veth, IfName: _if, ...shown } = ep;
    out[name] = shown;
  }
  return out;
}

/** NetworkSettings: the deprecated top-level fields are the default bridge's endpoint, as in docker. */
function networkSettingsView(c: Container): Record<string, unknown> {
  const r = c.rec;
  const br = r.Networks?.bridge;
  const running = c.state.Running && Object.values(r.Networks ?? {}).some((ep) => ep.EndpointID);
  return {
    Bridge: '',
    SandboxID: running ? r.ID : '',
    SandboxKey: running ? (r.SandboxKey ?? '') : '',
    Ports: portMap(r, c.state.Running ? r.PublishedPorts : undefined),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: br?.EndpointID ?? '',
    Gateway: br?.Gateway ?? '',
    GlobalIPv6Address: br?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: br?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: br?.IPAddress ?? '',
    IPPrefixLen: br?.IPPrefixLen ?? 0,
    IPv6Gateway: br?.IPv6Gateway ?? '',
    MacAddress: br?.MacAddress ?? '',
    Networks: networksView(r),
  };
}
