/**
 * `docker start`: the bundle (spec with the user resolved from the image), the monitor that
 * mounts the root and creates the container, the exit watch, waiting clients, then the start.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { failpoint } from '../../lib/failpoint.ts';
import { ramInBytes } from '../../lib/units.ts';
import { goStringLiteral } from '../../lib/gojson.ts';
import { parseGoBool } from '../../lib/strconv.ts';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseSyslogAddress, syslogFacility } from './config.ts';
import { log } from '../../lib/log.ts';
import { conflict, EngineError, invalidParameter, messageOf, notModified } from '../../errdefs/index.ts';
import { launchShim, ShimClient, ShimStartError } from '../../runtime/shim.ts';
import { withSeccompBpf } from '../../runtime/spec.ts';
import type { Container } from './container.ts';
import { remapped, runtimePath, runtimeRoot, shimDir, type ContainerDeps } from './deps.ts';
import { watchExit } from './monitor.ts';
import { resolveMountTargets, specMounts } from './mounts.ts';
import { connectNetworks, disconnectNetworks } from './network.ts';
import { resolveLinks } from './links.ts';
import { namespaceJoins, shareNetworkFiles, shmFor } from './namespaces.ts';
import { runtimeError } from './runtime-error.ts';
import { containerSpec } from './spec.ts';
import { lookupUser } from './user.ts';
import { containerEvent } from './events.ts';
import { startHealthMonitor } from './health.ts';

export async function startContainer(d: ContainerDeps, ref: string): Promise<void> {
  const c = d.store.get(ref);
  try {
    await d.locks.with(c.id, () => startLocked(d, c));
  } catch (e) {
    // docker removes an --rm container whose start failed: nothing is left behind.
    if (c.rec.HostConfig.AutoRemove && !(e instanceof EngineError && e.kind === 'NotModified')) {
      await d.ops.remove(c.id, { force: true, volumes: c.rec.HostConfig.AutoRemove }).catch((err: unknown) => log.warn('auto-remove after failed start', { id: c.id, error: err }));
    }
    throw e;
  }
}

async function startLocked(d: ContainerDeps, c: Container): Promise<void> {
  if (c.removed) throw conflict(`No such container: ${c.id}`);
  // A start asked for during a restart back-off starts it now (the timer's start is moot).
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
  }
  const s = c.state;
  if (s.Paused) throw conflict('cannot start a paused container, try unpause instead');
  if (s.Running) throw notModified('container already started');
  if (s.Status === 'removing') throw conflict('container is marked for removal and cannot be started');
  const rec = c.rec;
  const dir = shimDir(d, c.id);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const t0 = performance.now();
  try {
    // 1. The OCI bundle: the spec, with the user resolved from the image's files.
    const layerDirs = await d.images.snapshots.layerDirs(c.id);
    const user = await lookupUser(layerDirs, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
    const mount = await d.images.snapshots.mountFor(c.id);
    const joins = namespaceJoins(d, rec);
    // Its network namespace made and joined to its networks before the runtime creates it.
    const links = resolveLinks(d, rec);
    const sandbox = await connectNetworks(d, rec, links.hosts);
    if (sandbox) joins.network = sandbox;
    shareNetworkFiles(d, rec);
    const shm = await shmFor(d, rec);
    const userMounts = await resolveMountTargets(d, c.id, await specMounts(d, rec));
    const spec = containerSpec(rec, user, {
      mounts: userMounts,
      joins,
      ...(remapped(d, rec.HostConfig) ? { idmap: d.rt.idmap! } : {}),
      ...(shm ? { shm: shm.source } : {}),
      rootfs: mount.target,
      linkEnv: links.env,
      cgroupParent: d.rt.cgroupParent,
      seccomp: d.rt.seccomp,
      swapAccounting: d.rt.swapAccounting,
      ...(d.rt.initPath ? { initPath: d.rt.initPath } : {}),
    });
    if (rec.Runtime === 'crun' && spec.linux.seccomp && d.rt.seccompBpf) {
      const bpf = await d.rt.seccompBpf.get(spec.linux.seccomp);
      if (bpf) withSeccompBpf(bpf)(spec);
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
    const t1 = performance.now();
    // 2. The shim mounts the root file system and creates the container.
    const logType = rec.HostConfig.LogConfig.Type;
    const logOpts = logType === 'local' ? localLogOpts(rec.HostConfig.LogConfig.Config) : logType === 'syslog' ? cacheLogOpts(rec.HostConfig.LogConfig.Config) : rec.HostConfig.LogConfig.Config;
    const syslog = logType === 'syslog' ? await syslogOptions(rec) : undefined;
    const attrs = logType === 'json-file' ? logAttrs(logOpts, rec.Config.Labels ?? {}, rec.Config.Env ?? []) : undefined;
    if (logType === 'local' && rec.LogPath) await mkdir(dirname(rec.LogPath), { recursive: true, mode: 0o700 });
    await launchShim({
      shimPath: d.rt.shimPath,
      id: c.id,
      bundle: dir,
      runtimePath: runtimePath(d, rec.Runtime),
      runtimeRoot: runtimeRoot(d, rec.Runtime),
      stateDir: dir,
      ...(rec.LogPath ? { logPath: rec.LogPath } : {}),
      ...(logOpts['max-size'] ? { logMaxSize: parseLogSize(logOpts['max-size']) } : {}),
      ...(logOpts['max-file'] ? { logMaxFile: parseLogFiles(logOpts['max-file']) } : {}),
      ...(logCompress(logOpts) ? { logCompress: true } : {}),
      ...(attrs ? { logAttrs: attrs } : {}),
      ...(syslog ? { syslog } : {}),
      tty: rec.Config.Tty,
      stdin: rec.Config.OpenStdin,
      stdinOnce: rec.Config.StdinOnce,
      overlay: mount,
      oomFile: oomFile(d, spec.linux.cgroupsPath ?? ''),
      ...(rec.Runtime === 'crun' ? { roPaths: spec.linux.readonlyPaths ?? [] } : {}),
      ...(shm?.own ? { shm: { path: shm.source, size: rec.HostConfig.ShmSize } } : {}),
      oomScoreAdj: rec.HostConfig.OomScoreAdj,
    });
    const t2 = performance.now();
    const shim = new ShimClient(dir);
    c.shimDir = dir;
    const generation = ++c.generation;
    // 3. Watch for the exit before starting, so no exit can be missed.
    watchExit(d, c, shim, generation);
    // 4. Clients that attached before start get their streams now.
    const waiting = d.pending.get(c.id) ?? [];
    d.pending.delete(c.id);
    await Promise.all(waiting.map((p) => p.connect(shim).catch((e: unknown) => log.warn('attach failed', { id: c.id, error: e }))));
    // 5. Go.
    const t3 = performance.now();
    failpoint('start-before-run');
    const pid = await shim.start();
    failpoint('start-before-record');
    c.setRunning(pid, new Date().toISOString());
    startHealthMonitor(d, c, true);
    await d.store.save(c);
    containerEvent(d, c, 'start');
    log.debug('container started', { id: c.id, specMs: (t1 - t0).toFixed(1), shimCreateMs: (t2 - t1).toFixed(1), startMs: (performance.now() - t3).toFixed(1) });
  } catch (e) {
    c.shimDir = undefined;
    await d.volumes.deactivate(c.id).catch(() => {});
    await disconnectNetworks(d, rec);
    const err = e instanceof ShimStartError ? runtimeError(e, rec.Runtime, rec.Path) : e;
    c.setStartFailed(messageOf(err), (err instanceof EngineError ? err.exitCode : undefined) ?? 128);
    await d.store.save(c).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

function oomFile(d: ContainerDeps, cgroupsPath: string): string {
  return d.rt.cgroupVersion === 2
    ? join('/sys/fs/cgroup', cgroupsPath, 'memory.events')
    : join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.oom_control');
}

/** The json-file driver's options, read as moby's driver reads them when the container starts. */
export function parseLogSize(v: string): number {
  try {
    return ramInBytes(v);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
}

/**
 * json-file's labels, labels-regex, env and env-regex (moby's Info.ExtraAttributes): the
 * container's labels and environment variables they name, as one JSON object with its keys
 * sorted (Go's map encoding), or undefined when there are none.
 */
export function logAttrs(opts: Record<string, string>, labels: Record<string, string>, env: string[]): string | undefined {
  const extra = new Map<string, string>();
  const list = (v: string | undefined) => (v ? v.split(',') : []);
  for (const l of list(opts.labels)) if (Object.hasOwn(labels, l)) extra.set(l, labels[l]);
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra.set(k, v);
  }
  const envMap = new Map<string, string>();
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq >= 0) envMap.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const k of list(opts.env)) if (envMap.has(k)) extra.set(k, envMap.get(k)!);
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of envMap) if (re.test(k)) extra.set(k, v);
  }
  if (!extra.size) return undefined;
  const keys = [...extra.keys()].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  return `{${keys.map((k) => `${goStringLiteral(k)}:${goStringLiteral(extra.get(k)!)}`).join(',')}}`;
}

/** Dual logging's cache (what `logs` reads of a syslog container): local's defaults, its own options. */
function cacheLogOpts(opts: Record<string, string>): Record<string, string> {
  return localLogOpts({
    ...(opts['cache-max-size'] ? { 'max-size': opts['cache-max-size'] } : {}),
    ...(opts['cache-max-file'] ? { 'max-file': opts['cache-max-file'] } : {}),
    ...(opts['cache-compress'] ? { compress: opts['cache-compress'] } : {}),
  });
}

/**
 * The syslog driver's settings for the shim: the address (a name resolved here, to an IP), the
 * format and facility, and each message's head after the timestamp, made as moby's driver
 * makes it with srslog (hostname, tag, the daemon's pid). The tag is moby's template over the
 * container ({{.ID}} by default).
 */
async function syslogOptions(rec: import('./container.ts').ContainerRecord): Promise<{ address: string; format: string; facility: number; head: string }> {
  const opts = rec.HostConfig.LogConfig.Config;
  const addr = parseSyslogAddress(opts['syslog-address']);
  let address = '';
  if (addr?.port !== undefined) {
    const { lookup } = await import('node:dns/promises');
    const ip = isIP(addr.where) ? addr.where : (await lookup(addr.where).catch(() => { throw invalidParameter(`failed to initialize logging driver: dial ${addr.proto} ${addr.where}: no such host`); })).address;
    address = `${addr.proto}:${ip}:${addr.port}`;
  } else if (addr) {
    address = `${addr.proto}:${addr.where}`;
  }
  const { parseTemplate, dockerFuncs, STRUCT } = await import('../../lib/gotemplate/index.ts');
  const short = (id: string) => id.replace(/^[a-z0-9]+:/, '').slice(0, 12);
  // moby's logger.Info as the tag template sees it (a struct: unknown fields are errors).
  const info = Object.assign({ [STRUCT]: 'logger.Info' }, {
    ID: short(rec.ID), FullID: rec.ID, Name: rec.Name.replace(/^\//, ''), ImageID: short(rec.Image), ImageFullID: rec.Image,
    ImageName: rec.Config.Image ?? '', DaemonName: 'docker', Hostname: hostname(),
    Command: [...(rec.Config.Entrypoint ?? []), ...(rec.Config.Cmd ?? [])].join(' '),
  });
  let tag: string;
  try {
    tag = parseTemplate(opts.tag || '{{.ID}}', { funcs: dockerFuncs }).execute(info);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
  const format = opts['syslog-format'] ?? '';
  const head = format === '' ? `${tag}[${process.pid}]: ` : format === 'rfc3164' ? `${hostname()} ${tag}[${process.pid}]: ` : `${hostname()} ${tag} ${process.pid} ${tag} - `;
  return { address, format, facility: syslogFacility(opts['syslog-facility']), head };
}

/**
 * The local driver's options with its defaults (moby: 20 MB, 5 files, compressed). Berth keeps
 * its files as json-file lines (moby's format for them is internal and not shown either); with
 * a single file there is nothing to compress.
 */
export function localLogOpts(opts: Record<string, string>): Record<string, string> {
  const o = { 'max-size': '20m', 'max-file': '5', compress: 'true', ...opts };
  if (parseLogFiles(o['max-file']) < 2 || parseLogSize(o['max-size']) <= 0) o.compress = 'false';
  return o;
}

/** json-file's compress: rotated files gzipped; it needs rotation (moby's rule, at start as moby). */
export function logCompress(opts: Record<string, string>): boolean {
  const v = opts.compress;
  if (v === undefined) return false;
  let on: boolean;
  try {
    on = parseGoBool(v);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
  if (on && (!opts['max-size'] || parseLogSize(opts['max-size']) <= 0 || !opts['max-file'] || parseLogFiles(opts['max-file']) < 2)) {
    throw invalidParameter('failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  return on;
}

export function parseLogFiles(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw invalidParameter(`failed to initialize logging driver: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (n < 1) throw invalidParameter('failed to initialize logging driver: max-file cannot be less than 1');
  return n;
}
