/** Engine API calls used by the CLI, one method per endpoint. */
import type { ClientTls } from './dial.ts';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type {
  ContextManifestEntry,
  ContextWalkAnswer,
  ContextWalkRequest,
  ImageHistoryItem, DiskUsage,
  ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerSummary, ContainerWaitResponse,
  ImageInspect, ImageSummary, ManifestListPushRequest, ManifestListPushResult, NetworkResource, PathStat, PluginSummary, RegistryManifest, VersionResponse, Volume,
} from '../api/types.ts';
import { EngineError } from '../errdefs/index.ts';
import { Transport, isDaemonError, readAll } from './http.ts';
import { parsePlatform } from '../lib/platform.ts';

export type DeleteRecord = { Untagged?: string; Deleted?: string };

function filtersParam(f: Map<string, string[]> | undefined): string | undefined {
  if (!f || f.size === 0) return undefined;
  const o: Record<string, Record<string, boolean>> = {};
  for (const [k, vs] of f) {
    o[k] = {};
    for (const v of vs) o[k][v] = true;
  }
  return JSON.stringify(o);
}

/** What a build sends beside its query: credentials for its pulls, and (Berth's own) its secrets. */
export interface BuildHeaders {
  /** X-Registry-Config: the client's credentials for the build's pulls. */
  registryConfig?: string;
  /** X-Berth-Build-Secrets: RUN --mount=type=secret's values (base64 JSON, id → base64). */
  secrets?: string;
}

function registryConfigHeaders(h: BuildHeaders | undefined): Record<string, string> {
  return { ...(h?.registryConfig ? { 'X-Registry-Config': h.registryConfig } : {}), ...(h?.secrets ? { 'X-Berth-Build-Secrets': h.secrets } : {}) };
}

export class Client {
  readonly t: Transport;

  /**
   * `apiVersion` pins the API version (DOCKER_API_VERSION); else it is negotiated down if need
   * be. `headers` go with every request (the config file's HttpHeaders).
   */
  constructor(host: string, tls?: ClientTls, apiVersion?: string, headers?: Record<string, string>) {
    this.t = new Transport(host, apiVersion, tls, headers);
  }

  version(): Promise<VersionResponse> {
    return this.t.json('GET', '/version');
  }

  info(): Promise<Record<string, unknown>> {
    return this.t.json('GET', '/info');
  }

  /** GET /events: newline-delimited JSON messages until `until` or the signal. */
  async events(q: { since?: string; until?: string; filters?: Map<string, string[]> }, signal?: AbortSignal): Promise<Readable> {
    return this.t.check(await this.t.send('GET', '/events', { query: { since: q.since, until: q.until, filters: filtersParam(q.filters) }, ...(signal ? { signal } : {}) }));
  }

  // containers
  containerCreate(body: ContainerCreateRequest, name?: string, platform?: string): Promise<ContainerCreateResponse> {
    return this.t.json('POST', '/containers/create', { body, query: { name, platform } });
  }

  containerList(opts: { all?: boolean; limit?: number; filters?: Map<string, string[]>; size?: boolean }): Promise<ContainerSummary[]> {
    return this.t.json('GET', '/containers/json', { query: { all: opts.all || undefined, limit: opts.limit, size: opts.size || undefined, filters: filtersParam(opts.filters) } });
  }

  containerInspect(id: string, size = false): Promise<ContainerInspect> {
    return this.t.json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: size || undefined } });
  }

  containerStart(id: string): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/start`);
  }

  containerStop(id: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  containerRestart(id: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  containerPause(id: string): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/pause`);
  }

  containerUnpause(id: string): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/unpause`);
  }

  containerRename(id: string, name: string): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  containerTop(id: string, psArgs: string | undefined): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.t.json('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs } });
  }

  containerUpdate(id: string, body: Record<string, unknown>): Promise<{ Warnings: string[] | null }> {
    return this.t.json('POST', `/containers/${encodeURIComponent(id)}/update`, { body });
  }

  /** GET /containers/{id}/stats: newline-delimited JSON samples. */
  async containerStats(id: string, stream: boolean, signal?: AbortSignal): Promise<Readable> {
    return this.t.check(await this.t.send('GET', `/containers/${encodeURIComponent(id)}/stats`, { query: { stream: stream ? '1' : '0' }, ...(signal ? { signal } : {}) }));
  }

  containerKill(id: string, signal?: string): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<void> {
    // A link's name ("/parent/alias") keeps its slashes, as the docker CLI sends it.
    const path = id.split('/').map(encodeURIComponent).join('/');
    return this.t.call('DELETE', `/containers/${path}`, { query: { force: opts.force || undefined, v: opts.volumes || undefined, link: opts.link || undefined } });
  }

  /**
   * Registers the wait now (the daemon answers its headers at once) and returns a handle
   * whose `result` settles at the condition. (A bare promise would be flattened by await.)
   */
  async containerWait(id: string, condition: string): Promise<{ result: Promise<ContainerWaitResponse> }> {
    const res = await this.t.check(await this.t.send('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } }));
    const result = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) throw new Error('error waiting for container: unexpected EOF (berthd went away)');
      return JSON.parse(text) as ContainerWaitResponse;
    })();
    result.catch(() => {});
    return { result };
  }

  async containerLogs(id: string, q: Record<string, string | boolean | undefined>, signal?: AbortSignal): Promise<Readable> {
    return this.t.check(await this.t.send('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: q, ...(signal ? { signal } : {}) }));
  }

  containerAttach(id: string, q: { stdin?: boolean; stdout?: boolean; stderr?: boolean; stream?: boolean; logs?: boolean; detachKeys?: string }): Promise<Socket> {
    return this.t.hijack('POST', `/containers/${encodeURIComponent(id)}/attach`, { query: q });
  }

  containerResize(id: string, rows: number, cols: number): Promise<void> {
    return this.t.call('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: rows, w: cols } });
  }

  // exec
  execCreate(container: string, body: Record<string, unknown>): Promise<{ Id: string }> {
    return this.t.json('POST', `/containers/${encodeURIComponent(container)}/exec`, { body });
  }

  execStart(id: string, body: { Detach: boolean; Tty: boolean; ConsoleSize?: [number, number] }): Promise<Socket> {
    return this.t.hijack('POST', `/exec/${encodeURIComponent(id)}/start`, { body });
  }

  execStartDetached(id: string, body: { Detach: true; Tty: boolean }): Promise<void> {
    return this.t.call('POST', `/exec/${encodeURIComponent(id)}/start`, { body });
  }

  execResize(id: string, rows: number, cols: number): Promise<void> {
    return this.t.call('POST', `/exec/${encodeURIComponent(id)}/resize`, { query: { h: rows, w: cols } });
  }

  execInspect(id: string): Promise<{ ExitCode: number | null; Running: boolean; Pid: number }> {
    return this.t.json('GET', `/exec/${encodeURIComponent(id)}/json`);
  }

  // images
  imageList(opts: { all?: boolean; filters?: Map<string, string[]>; manifests?: boolean }): Promise<ImageSummary[]> {
    return this.t.json('GET', '/images/json', { query: { all: opts.all || undefined, filters: filtersParam(opts.filters), manifests: opts.manifests || undefined } });
  }

  /** `platform`: --platform, sent as the docker CLI sends it (the OCI platform as JSON). */
  imageHistory(name: string, platform?: string): Promise<ImageHistoryItem[]> {
    return this.t.json('GET', `/images/${name}/history`, { query: { platform: platform ? platformParams([platform]) : undefined } });
  }

  imageInspect(name: string, platform?: string): Promise<ImageInspect> {
    return this.t.json('GET', `/images/${name}/json`, { query: { platform: platform ? platformParams([platform]) : undefined } });
  }

  imageRemove(name: string, opts: { force?: boolean; noPrune?: boolean }): Promise<DeleteRecord[]> {
    return this.t.json('DELETE', `/images/${name}`, { query: { force: opts.force || undefined, noprune: opts.noPrune || undefined } });
  }

  imageTag(name: string, repo: string, tag?: string): Promise<void> {
    return this.t.call('POST', `/images/${name}/tag`, { query: { repo, tag } });
  }

  imagePrune(filters: Map<string, string[]>): Promise<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }> {
    return this.t.json('POST', '/images/prune', { query: { filters: filtersParam(filters) } });
  }

  containerPrune(filters: Map<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.t.json('POST', '/containers/prune', { query: { filters: filtersParam(filters) } });
  }

  buildPrune(all: boolean, filters?: Map<string, string[]>): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.t.json('POST', '/build/prune', { query: { all: all || undefined, filters: filtersParam(filters) } });
  }

  volumeList(filters: Map<string, string[]>): Promise<{ Volumes: Volume[]; Warnings: string[] | null }> {
    return this.t.json('GET', '/volumes', { query: { filters: filtersParam(filters) } });
  }

  volumeCreate(body: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }): Promise<Volume> {
    return this.t.json('POST', '/volumes/create', { body });
  }

  volumeInspect(name: string): Promise<Volume> {
    return this.t.json('GET', `/volumes/${encodeURIComponent(name)}`);
  }

  volumeRemove(name: string, force: boolean): Promise<void> {
    return this.t.call('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: force || undefined } });
  }

  volumePrune(filters: Map<string, string[]>): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.t.json('POST', '/volumes/prune', { query: { filters: filtersParam(filters) } });
  }

  networkList(filters: Map<string, string[]>): Promise<NetworkResource[]> {
    return this.t.json('GET', '/networks', { query: { filters: filtersParam(filters) } });
  }

  networkCreate(body: { Name: string; Driver?: string; Scope?: string; Internal?: boolean; Attachable?: boolean; Ingress?: boolean; ConfigOnly?: boolean; ConfigFrom?: { Network: string }; EnableIPv4?: boolean; EnableIPv6?: boolean; IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] }; Options?: Record<string, string>; Labels?: Record<string, string> }): Promise<{ Id: string; Warning: string }> {
    return this.t.json('POST', '/networks/create', { body });
  }

  networkInspect(ref: string, verbose = false): Promise<NetworkResource> {
    return this.t.json('GET', `/networks/${encodeURIComponent(ref)}`, { query: { verbose: verbose || undefined } });
  }

  networkConnect(ref: string, body: { Container: string; EndpointConfig: Record<string, unknown> }): Promise<void> {
    return this.t.call('POST', `/networks/${encodeURIComponent(ref)}/connect`, { body });
  }

  networkDisconnect(ref: string, body: { Container: string; Force: boolean }): Promise<void> {
    return this.t.call('POST', `/networks/${encodeURIComponent(ref)}/disconnect`, { body });
  }

  networkRemove(ref: string): Promise<void> {
    return this.t.call('DELETE', `/networks/${encodeURIComponent(ref)}`);
  }

  networkPrune(filters: Map<string, string[]>): Promise<{ NetworksDeleted: string[] | null }> {
    return this.t.json('POST', '/networks/prune', { query: { filters: filtersParam(filters) } });
  }

  /** Berth's own: a manifest as the registry holds it (`berth manifest`). */
  registryManifest(name: string, auth: string, insecure: boolean): Promise<RegistryManifest> {
    return this.t.json('GET', `/berth/distribution/${name}/manifest`, { query: { insecure: insecure || undefined }, headers: { 'X-Registry-Auth': auth } });
  }

  /** Berth's own: pushes a manifest list (`berth manifest push`). */
  pushManifestList(name: string, body: ManifestListPushRequest, auth: string, insecure: boolean): Promise<ManifestListPushResult> {
    return this.t.json('POST', `/berth/distribution/${name}/manifest`, { body, query: { insecure: insecure || undefined }, headers: { 'X-Registry-Auth': auth } });
  }

  pluginList(filters: Map<string, string[]>): Promise<PluginSummary[]> {
    return this.t.json('GET', '/plugins', { query: { filters: filtersParam(filters) } });
  }

  pluginInspect(name: string): Promise<PluginSummary> {
    return this.t.json('GET', `/plugins/${encodeURIComponent(name)}/json`);
  }

  pluginRemove(name: string, force: boolean): Promise<void> {
    return this.t.call('DELETE', `/plugins/${encodeURIComponent(name)}`, { query: { force: force || undefined } });
  }

  pluginEnable(name: string, timeout: number): Promise<void> {
    return this.t.call('POST', `/plugins/${encodeURIComponent(name)}/enable`, { query: { timeout } });
  }

  pluginDisable(name: string, force: boolean): Promise<void> {
    return this.t.call('POST', `/plugins/${encodeURIComponent(name)}/disable`, { query: { force: force || undefined } });
  }

  pluginSet(name: string, args: string[]): Promise<void> {
    return this.t.call('POST', `/plugins/${encodeURIComponent(name)}/set`, { body: args });
  }

  pluginPrivileges(remote: string): Promise<unknown[]> {
    return this.t.json('GET', '/plugins/privileges', { query: { remote } });
  }

  pluginPush(name: string): Promise<void> {
    return this.t.call('POST', `/plugins/${encodeURIComponent(name)}/push`);
  }

  pluginCreate(name: string, context: Readable): Promise<void> {
    return this.t.call('POST', '/plugins/create', { query: { name }, stream: context, headers: { 'Content-Type': 'application/x-tar' } });
  }

  systemDf(): Promise<DiskUsage> {
    return this.t.json('GET', '/system/df');
  }

  /** null when nothing changed (moby's nil slice). */
  containerChanges(id: string): Promise<{ Path: string; Kind: number }[] | null> {
    return this.t.json('GET', `/containers/${encodeURIComponent(id)}/changes`);
  }

  async containerExport(id: string): Promise<Readable> {
    return this.t.check(await this.t.send('GET', `/containers/${encodeURIComponent(id)}/export`));
  }

  /** HEAD /containers/{id}/archive: the path's stat. */
  async containerStatPath(id: string, path: string): Promise<PathStat> {
    const res = await this.t.send('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    await this.t.check(res);
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  }

  /** GET /containers/{id}/archive: a tar of the path, and its stat. */
  async containerArchive(id: string, path: string): Promise<{ stat: PathStat; body: Readable }> {
    const res = await this.t.send('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    const body = await this.t.check(res);
    return { stat: decodePathStat(res.headers['x-docker-container-path-stat']), body };
  }

  /**
   * The same tar as chunks of one reused buffer, each valid only until the next is asked for:
   * for copies that write each chunk out at once (cp into a local directory).
   */
  async containerArchiveChunks(id: string, path: string): Promise<{ stat: PathStat; chunks: AsyncIterable<Buffer> }> {
    const res = await this.t.send('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path }, reuseReads: true });
    await this.t.check(res);
    return { stat: decodePathStat(res.headers['x-docker-container-path-stat']), chunks: res.chunks };
  }

  /** PUT /containers/{id}/archive: extracts a tar into the directory `path`. */
  async containerPutArchive(id: string, path: string, src: Readable | ((dest: Writable) => Promise<void>), opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    await readAll(await this.t.check(await this.t.send('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      ...(typeof src === 'function' ? { produce: src } : { stream: src }),
      query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir ? 'true' : undefined, copyUIDGID: opts.copyUIDGID ? 'true' : undefined },
      headers: { 'Content-Type': 'application/x-tar' },
    })));
  }

  commit(container: string, q: { repo?: string; tag?: string; author?: string; comment?: string; changes?: string[]; pause?: boolean }): Promise<{ Id: string }> {
    return this.t.json('POST', '/commit', { query: { container, repo: q.repo, tag: q.tag, author: q.author, comment: q.comment, changes: q.changes, pause: q.pause === false ? '0' : undefined } });
  }

  /** GET /images/get: the archive of `names`, streamed. */
  async imageSave(names: string[], platforms: string[] = []): Promise<Readable> {
    return this.t.check(await this.t.send('GET', '/images/get', { query: { names, platform: platformParams(platforms) } }));
  }

  /**
   * Berth's own: a build context's tree with stat keys; berthd answers which bodies it lacks.
   * Given the build's parameters, a context whose bodies berthd all holds is built at once and
   * the answer is the build's stream. Against a daemon without the endpoint (404), undefined.
   */
  async prepareBuildContext(entries: ContextManifestEntry[], build?: Record<string, string | string[] | undefined>, registryConfig?: BuildHeaders): Promise<{ ID: string; Need: string[] } | { built: Readable } | undefined> {
    try {
      const res = await this.t.send('POST', '/berth/build/context', { body: { Entries: entries }, ...(build ? { query: { ...build, build: '1' } } : {}), headers: registryConfigHeaders(registryConfig) });
      const body = await this.t.check(res);
      if (res.headers['x-berth-build'] === '1') return { built: body };
      return JSON.parse((await readAll(body)).toString('utf8')) as { ID: string; Need: string[] };
    } catch (e) {
      if (isDaemonError(e) && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Berth's own: berthd walks the context directory itself (see ContextWalkRequest); with the
   * build's parameters, a context whose bodies it all holds is built at once. Against a daemon
   * without the endpoint (404), undefined.
   */
  async walkBuildContext(req: ContextWalkRequest, build: Record<string, string | string[] | undefined>, registryConfig?: BuildHeaders): Promise<ContextWalkAnswer | { built: Readable; contextSize: number } | undefined> {
    try {
      const res = await this.t.send('POST', '/berth/build/context/walk', { body: req, query: { ...build, build: '1' }, headers: registryConfigHeaders(registryConfig) });
      const body = await this.t.check(res);
      if (res.headers['x-berth-build'] === '1') return { built: body, contextSize: Number(res.headers['x-berth-context-size'] ?? 0) };
      return JSON.parse((await readAll(body)).toString('utf8')) as ContextWalkAnswer;
    } catch (e) {
      if (isDaemonError(e) && e.status === 404) return undefined;
      throw e;
    }
  }

  /** POST /build: the classic builder's JSON message stream; `registryConfig`: X-Registry-Config (and Berth's secrets). */
  async imageBuild(src: Readable | undefined, query: Record<string, string | string[] | undefined>, registryConfig?: BuildHeaders): Promise<Readable> {
    return this.t.check(await this.t.send('POST', '/build', { ...(src ? { stream: src } : {}), query, headers: { 'Content-Type': 'application/x-tar', ...registryConfigHeaders(registryConfig) } }));
  }

  /** POST /images/load: docker's JSON message stream. */
  async imageLoad(src: Readable, quiet: boolean, platforms: string[] = [], length?: number): Promise<Readable> {
    return this.t.check(await this.t.send('POST', '/images/load', { stream: src, ...(length !== undefined ? { streamLength: length } : {}), query: { quiet: quiet ? '1' : '0', platform: platformParams(platforms) }, headers: { 'Content-Type': 'application/x-tar' } }));
  }

  async imageImport(src: Readable, q: { source?: string; repo?: string; tag?: string; message?: string; changes?: string[]; platform?: string }): Promise<Readable> {
    return this.t.check(await this.t.send('POST', '/images/create', {
      // A URL source has no body: the daemon downloads it.
      ...(q.source && q.source !== '-' ? {} : { stream: src }),
      query: { fromSrc: q.source ?? '-', repo: q.repo, tag: q.tag, message: q.message, changes: q.changes, platform: q.platform },
      headers: { 'Content-Type': 'application/x-tar' },
    }));
  }

  async imagePull(image: string, tag: string | undefined, platform: string | undefined, auth = 'e30='): Promise<Readable> {
    return this.t.check(await this.t.send('POST', '/images/create', { query: { fromImage: image, tag, platform }, headers: { 'X-Registry-Auth': auth } }));
  }

  async imagePush(name: string, tag: string | undefined, auth = 'e30=', compression?: string, platform?: string): Promise<Readable> {
    return this.t.check(await this.t.send('POST', `/images/${name}/push`, { query: { tag, compression, platform }, headers: { 'X-Registry-Auth': auth } }));
  }

  login(body: { username: string; password: string; serveraddress: string }): Promise<{ Status: string; IdentityToken?: string }> {
    return this.t.json('POST', '/auth', { body });
  }

  search(term: string, limit: number, auth = 'e30=', filters?: Map<string, string[]>): Promise<{ name: string; description: string; star_count: number; is_official: boolean }[]> {
    return this.t.json('GET', '/images/search', { query: { term, limit, filters: filtersParam(filters) }, headers: { 'X-Registry-Auth': auth } });
  }
}

/** `--platform` values as the docker CLI sends them to save and load: OCI platforms as JSON. */
function platformParams(platforms: string[]): string[] | undefined {
  if (!platforms.length) return undefined;
  return platforms.map((p) => {
    const v = parsePlatform(p);
    return JSON.stringify({ architecture: v.architecture, os: v.os, ...(v.variant ? { variant: v.variant } : {}) });
  });
}

function decodePathStat(header: string | undefined): PathStat {
  if (!header) throw new EngineError('System', 'unable to get resource stat from response: the X-Docker-Container-Path-Stat header is missing');
  try {
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
  } catch (e) {
    throw new EngineError('System', `unable to decode container path stat header: ${(e as Error).message}`);
  }
}
