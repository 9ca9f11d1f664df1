/**
 * `docker create`: everything validated before anything is made, then the name, directories,
 * container layer, /etc files and the record, each undone if a later step fails.
 */
import { confirmPlatform, type Platform } from '../../lib/platform.ts';
import { chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { failpoint } from '../../lib/failpoint.ts';
import { generateName, validContainerName } from '../../lib/names.ts';
import { newId } from '../../lib/idprefix.ts';
import { daemonLimits, hasSysResource } from '../../lib/rlimits.ts';
import { invalidParameter, notFound } from '../../errdefs/index.ts';
import type { ContainerCreateInput } from '../server/bodies.ts';
import { refuseUnsupported } from './fields.ts';
import { Container, newState, type ContainerRecord } from './container.ts';
import { decodeConfig, decodeHostConfig, entrypointAndArgs, mergeImageConfig } from './config.ts';
import { remapped, type ContainerDeps } from './deps.ts';
import { checkNamespaceDonors } from './namespaces.ts';
import { checkPortBindings } from './ports.ts';
import { hostsFile, planNetworks, resolvConf, type EndpointAsk } from './network.ts';
import { recordLinks } from './links.ts';
import { createVolumes, needsImageView, planMounts, populateVolumes } from './mounts.ts';
import { withReadOnlyRoot } from './snapshot.ts';
import { containerEvent } from './events.ts';
import { checkCpuset, cpusetAvailable } from './cpuset.ts';
import { blkioSupport } from './blkio.ts';
import { settleAll } from '../../lib/settle.ts';
import { logPathFor } from './logdriver.ts';

/** `platform` (the API's query parameter) must be the image's: the store holds one platform per image. */
export async function createContainer(d: ContainerDeps, req: ContainerCreateInput, name: string | undefined, platform?: Platform): Promise<{ Id: string; Warnings: string[] }> {
  const warnings: string[] = [];
  // 1. Validate everything before touching anything.
  if (name !== undefined && name !== '') validContainerName(name);
  refuseUnsupported(req);
  const user = decodeConfig(req);
  if (!user.Image) throw invalidParameter('config cannot be empty in order to create a container');
  const hostConfig = decodeHostConfig(req.HostConfig, {
    defaultRuntime: d.rt.defaultRuntime,
    runtimes: Object.keys(d.rt.runtimes),
    cgroupVersion: d.rt.cgroupVersion,
    swapAccounting: d.rt.swapAccounting,
    kernelTcp: d.rt.kernelTcp,
    userns: d.rt.idmap !== undefined,
    blkio: blkioSupport(d.rt.cgroupVersion),
    ...(d.rt.initPath ? { initPath: d.rt.initPath } : {}),
    ...(d.rt.logConfig ? { logConfig: d.rt.logConfig } : {}),
  }, warnings, req);
  checkCpuset(hostConfig.CpusetCpus, hostConfig.CpusetMems, cpusetAvailable(d.rt.cgroupVersion));
  const networks = planNetworks(d, hostConfig.NetworkMode, req.NetworkingConfig?.EndpointsConfig as Record<string, EndpointAsk | null> | undefined, req.MacAddress, req.NetworkDisabled ? hostConfig : undefined, hostConfig);
  // Ports go from the first network's endpoint.
  const firstNet = Object.values(networks ?? {})[0];
  const portWarning = checkPortBindings(hostConfig, firstNet?.NetworkID ? d.networks.get(firstNet.NetworkID) : undefined);
  if (portWarning) warnings.push(portWarning);
  checkUlimits(hostConfig.Ulimits ?? []);
  checkNamespaceDonors(d, hostConfig);
  // Mounts are parsed before anything is made; volumes come after the image is known (its
  // VOLUMEs count too).
  // The image cannot be deleted (rmi, prune) between here and the container's record.
  const found = d.images.lookup(user.Image);
  const releaseImage = await d.images.usage.lock(found.rec.id);
  try {
    const image = d.images.images.get(found.rec.id);
    if (!image) throw notFound(`No such image: ${user.Image}`);
    confirmPlatform(user.Image, image.config, platform);
    const config = mergeImageConfig(user, image.config);
    // A published port is an exposed one (the docker CLI says so itself; API clients may not).
    for (const key of Object.keys(hostConfig.PortBindings ?? {})) (config.ExposedPorts ??= {})[key.includes('/') ? key : `${key}/tcp`] ??= {};
    const points = planMounts(d, hostConfig, config);
    const { path, args } = entrypointAndArgs(config);
    const id = newContainerId(d);
    // The host's name where the container shares the host's UTS or network namespace.
    config.Hostname ||= hostConfig.UTSMode === 'host' || hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12);
    const cname = name ? name.replace(/^\//, '') : generateUniqueName(d);
    hostConfig.Links = recordLinks(d, hostConfig.Links, hostConfig.NetworkMode, cname);

    // 2. Reserve the name, then build the container's directories; undo on failure.
    await using undo = new AsyncDisposableStack();
    d.store.reserveName(cname, id);
    undo.defer(() => d.store.releaseName(cname));
    const dir = d.store.dir(id);
    await mkdir(dir, { recursive: true, mode: 0o710 });
    // Under userns-remap, container root must reach its bind-mounted files in here.
    if (remapped(d, hostConfig)) await chown(dir, 0, d.rt.idmap!.root.gid);
    undo.defer(() => rm(dir, { recursive: true, force: true }));
    const chain = d.images.topChain(image);
    const parentCache = chain ? d.images.layers.mustGet(chain).cacheId : undefined;
    await d.images.snapshots.createContainerLayer(id, parentCache);
    undo.defer(() => d.images.snapshots.remove(id).catch(() => {}));
    await ensureWorkingDir(d, id, config.WorkingDir);
    // 3. Volumes: created (named ones on first use), held until the record names them, and
    // filled from the image where they cover one of its directories.
    const mounts = await createVolumes(d.volumes, points);
    undo.defer(() => mounts.undo());
    if (needsImageView(points)) await withReadOnlyRoot(d.images, id, (root) => populateVolumes(d.volumes, root, points, id));

    const rec: ContainerRecord = {
      version: 1,
      ID: id,
      Created: new Date().toISOString(),
      Path: path,
      Args: args,
      Config: config,
      HostConfig: hostConfig,
      State: newState(),
      Image: image.rec.id,
      ImageChainId: chain,
      Name: `/${cname}`,
      RestartCount: 0,
      Driver: 'overlay2',
      // local's file is the daemon's own, not shown (moby hides its path from the API).
      // syslog keeps dual logging's cache (what `logs` reads) unless cache-disabled.
      LogPath: logPathFor(hostConfig.LogConfig, dir, id),
      HostnamePath: join(dir, 'hostname'),
      HostsPath: join(dir, 'hosts'),
      ResolvConfPath: join(dir, 'resolv.conf'),
      Runtime: hostConfig.Runtime,
      HasBeenManuallyStopped: false,
      MountPoints: Object.fromEntries(points),
      Networks: networks,
    };
    await writeEtcFiles(d, rec);
    const c = new Container(rec);
    failpoint('create-before-record');
    await d.store.save(c);
    d.store.add(c);
    undo.move();
    containerEvent(d, c, 'create');
    mounts.release();
    return { Id: id, Warnings: warnings };
  } finally {
    releaseImage();
  }
}

function newContainerId(d: ContainerDeps): string {
  for (;;) {
    const id = newId();
    if (!d.store.tryGet(id)) return id;
  }
}

function generateUniqueName(d: ContainerDeps): string {
  for (let i = 0; i < 10; i++) {
    const n = generateName(i);
    if (!d.store.hasName(n)) return n;
  }
  return newId().slice(0, 12);
}

/** Creates a missing WORKDIR in the container's own layer, as docker does at start. */
async function ensureWorkingDir(d: ContainerDeps, id: string, wd: string): Promise<void> {
  if (!wd || wd === '/') return;
  if (!wd.startsWith('/')) throw invalidParameter(`the working directory '${wd}' is invalid, it needs to be an absolute path`);
  const dirs = await d.images.snapshots.layerDirs(id);
  for (const dir of dirs) {
    try {
      if ((await stat(join(dir, wd))).isDirectory()) return;
    } catch {
      // keep looking in lower layers
    }
  }
  const made = await mkdir(join(dirs[0], wd), { recursive: true, mode: 0o755 });
  // New directories in the container's layer belong to container root (moby: WithOnlyNew).
  const root = d.rt.idmap?.root;
  if (root && made) {
    for (let p = join(dirs[0], wd); p.length >= made.length; p = dirname(p)) await chown(p, root.uid, root.gid);
  }
}

async function writeEtcFiles(d: ContainerDeps, rec: ContainerRecord): Promise<void> {
  const host = rec.Config.Hostname;
  await settleAll([
    writeFile(rec.HostnamePath, `${host}\n`),
    hostsFile(rec, undefined, [], undefined, d.networks.hostGatewayIps()).then((hosts) => writeFile(rec.HostsPath, hosts)),
    resolvConf(d, rec).then((resolv) => writeFile(rec.ResolvConfPath, resolv)),
  ]);
  const root = remapped(d, rec.HostConfig) ? d.rt.idmap!.root : undefined;
  if (root) for (const f of [rec.HostnamePath, rec.HostsPath, rec.ResolvConfPath]) await chown(f, root.uid, root.gid);
}

/** Rejects ulimits the daemon cannot grant (above its own hard limit without CAP_SYS_RESOURCE). */
function checkUlimits(ulimits: { Name: string; Soft: number; Hard: number }[]): void {
  if (!ulimits.length) return;
  const limits = daemonLimits();
  const canRaise = hasSysResource();
  for (const u of ulimits) {
    const own = limits.get(u.Name);
    if (!own) throw invalidParameter(`invalid ulimit type: ${u.Name}`);
    if (!canRaise && u.Hard > own.hard) {
      throw invalidParameter(`ulimit ${u.Name}: hard limit ${u.Hard} is above the daemon's own hard limit ${own.hard}, and berthd lacks CAP_SYS_RESOURCE to raise it`);
    }
  }
}
