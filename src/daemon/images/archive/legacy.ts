/**
 * docker's oldest archive layout (before docker 1.10): a `repositories` file
 * ({"repo":{"tag":"<v1 id>"}}) and one directory per v1 image, `<id>/json`, `<id>/layer.tar`,
 * `<id>/VERSION`. Each v1 image becomes an image of its own, on its parent's, as moby's
 * tarexport legacyLoad makes them: the v1 JSON becomes the config (MakeConfigFromV1Config —
 * through moby's V1Image struct first when docker_version is older than 1.8.3), with the
 * parent's diff IDs and history plus its own, and keys sorted as Go marshals a map, so the
 * image IDs are dockerd's.
 */
import { createHash } from 'node:crypto';
import { invalidParameter } from '../../../errdefs/index.ts';
import { decompressStream } from '../../../lib/decompress.ts';
import { encodeGoJson, goStringLiteral, JsonNumber, parseKeepingNumbers } from '../../../lib/gojson.ts';
import { compareVersions } from '../../../api/version.ts';
import type { ImageService } from '../service.ts';

export interface LegacyImage {
  /** The config as dockerd would write it; its sha256 is the image ID. */
  config: Buffer;
  /** Blob digests of the layers, bottom first. */
  layers: string[];
  /** The v1 ID of the parent image, if any. */
  parent?: string;
  v1Id: string;
}

const bad = (why: string) => invalidParameter(`invalid archive: ${why}`);
const DROPPED_KEYS = ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway'];

type Json = null | boolean | string | JsonNumber | Json[] | { [k: string]: Json };

/** The v1 IDs the archive holds: directories with a `json` file. */
export function legacyIds(metadata: Map<string, Buffer>): string[] {
  return [...metadata.keys()].map((n) => /^([^/]+)\/json$/.exec(n)?.[1]).filter((x): x is string => !!x).sort();
}

/** The tags of `repositories`: reference → v1 ID. */
export function legacyTags(metadata: Map<string, Buffer>): [string, string][] {
  const raw = metadata.get('repositories');
  if (!raw) return [];
  let repos: unknown;
  try {
    repos = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw bad(`repositories is not valid JSON: ${(e as Error).message}`);
  }
  if (!repos || typeof repos !== 'object' || Array.isArray(repos)) throw bad('repositories is not an object');
  const out: [string, string][] = [];
  for (const [repo, tags] of Object.entries(repos as Record<string, unknown>)) {
    if (!tags || typeof tags !== 'object') throw bad(`repositories: ${repo} has no tags`);
    for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
      if (typeof id !== 'string') throw bad(`repositories: ${repo}:${tag} names no image`);
      out.push([`${repo}:${tag}`, id]);
    }
  }
  return out;
}

/** moby's versions.LessThan: dotted numbers, non-numbers count as 0. */
function versionLess(v: string, than: string): boolean {
  const norm = (s: string) => s.split('.').map((p) => (/^\d+$/.test(p) ? p : '0')).join('.');
  return compareVersions(norm(v), norm(than)) < 0;
}

/** Go's time.Time JSON: RFC3339 with nanoseconds, trailing zeros of the fraction trimmed. */
function goTime(v: Json | undefined): string {
  if (typeof v !== 'string') return '0001-01-01T00:00:00Z';
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(v);
  if (!m) throw bad(`invalid created time ${JSON.stringify(v)}`);
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  return `${m[1]}${frac ? `.${frac}` : ''}${m[3]}`;
}

const obj = (v: Json | undefined): Record<string, Json> | undefined => (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber) ? v : undefined);

/** moby's container.Config marshalled by Go: its field order, omitempty where it has it. */
function containerConfigJson(v: Json | undefined): string {
  const c = obj(v) ?? {};
  const field = (name: string, zero: string, omitEmpty = false): string | undefined => {
    const x = c[name];
    const empty = x === undefined || x === null || x === '' || x === false || (Array.isArray(x) && x.length === 0) || (obj(x) && Object.keys(obj(x)!).length === 0);
    if (omitEmpty && empty) return undefined;
    if (x === undefined) return `"${name}":${zero}`;
    // StrSlice fields take a bare string too, and marshal as a list.
    if (typeof x === 'string' && ['Cmd', 'Entrypoint', 'Shell'].includes(name)) return `"${name}":[${goStringLiteral(x)}]`;
    return `"${name}":${encodeGoJson(x, { sortKeys: name === 'ExposedPorts' || name === 'Volumes' || name === 'Labels' })}`;
  };
  const parts = [
    field('Hostname', '""'), field('Domainname', '""'), field('User', '""'),
    field('AttachStdin', 'false'), field('AttachStdout', 'false'), field('AttachStderr', 'false'),
    field('ExposedPorts', 'null', true), field('Tty', 'false'), field('OpenStdin', 'false'), field('StdinOnce', 'false'),
    field('Env', 'null'), field('Cmd', 'null'), field('Healthcheck', 'null', true), field('ArgsEscaped', 'false', true),
    field('Image', '""'), field('Volumes', 'null'), field('WorkingDir', '""'), field('Entrypoint', 'null'),
    field('NetworkDisabled', 'false', true), field('MacAddress', '""', true), field('OnBuild', 'null'),
    field('Labels', 'null'), field('StopSignal', '""', true), field('StopTimeout', 'null', true), field('Shell', 'null', true),
  ];
  return `{${parts.filter((p) => p !== undefined).join(',')}}`;
}

/** The v1 JSON as moby's V1Image struct marshals it (for images older than docker 1.8.3). */
function throughV1Image(j: Record<string, Json>): Map<string, string> {
  const out = new Map<string, string>();
  const str = (k: string) => {
    const v = j[k];
    if (typeof v === 'string' && v !== '') out.set(k, goStringLiteral(v));
  };
  str('id');
  str('parent');
  str('comment');
  out.set('created', goStringLiteral(goTime(j.created)));
  str('container');
  out.set('container_config', containerConfigJson(j.container_config));
  str('docker_version');
  str('author');
  if (obj(j.config)) out.set('config', containerConfigJson(j.config));
  str('architecture');
  str('variant');
  str('os');
  const size = j.Size;
  if (size instanceof JsonNumber && size.text !== '0') out.set('Size', size.text);
  return out;
}

/** The diff ID of a layer blob: the sha256 of its uncompressed tar. */
async function diffIdOf(images: ImageService, digest: string): Promise<string> {
  const { stream } = await decompressStream(images.content.openVerified(digest));
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/**
 * Builds the images of a legacy archive, parents first. `layerBlob` finds the stored blob of
 * `<id>/layer.tar`; `knownDiffId` the diff ID of a blob already unpacked while it arrived.
 */
export async function legacyImages(
  images: ImageService,
  metadata: Map<string, Buffer>,
  layerBlob: (name: string) => string | undefined,
  knownDiffId: (digest: string) => string | undefined,
): Promise<LegacyImage[]> {
  const built = new Map<string, LegacyImage & { diffIds: string[]; history: string[] }>();
  const order: LegacyImage[] = [];
  const visit = async (id: string, depth: number): Promise<LegacyImage & { diffIds: string[]; history: string[] }> => {
    const done = built.get(id);
    if (done) return done;
    if (depth > 127) throw bad('max depth exceeded');
    const raw = metadata.get(`${id}/json`);
    if (!raw) throw bad(`${id}/json is missing`);
    let j: Record<string, Json> | undefined;
    try {
      j = obj(parseKeepingNumbers(raw.toString('utf8')) as Json);
    } catch (e) {
      throw bad(`${id}/json is not valid JSON: ${(e as Error).message}`);
    }
    if (!j) throw bad(`${id}/json is not an object`);
    const os = typeof j.os === 'string' && j.os ? j.os : 'linux';
    if (os !== 'linux') throw invalidParameter(`cannot load ${os} image on linux`);
    const parentId = typeof j.parent === 'string' && j.parent ? j.parent : undefined;
    const parent = parentId ? await visit(parentId, depth + 1) : undefined;
    const blob = layerBlob(`${id}/layer.tar`);
    if (!blob) throw bad(`${id}/layer.tar is missing`);
    const diffId = knownDiffId(blob) ?? await diffIdOf(images, blob);
    // HistoryFromConfig: the v1 image's own step.
    const cc = obj(j.container_config);
    const cmd = Array.isArray(cc?.Cmd) ? cc.Cmd.filter((x): x is string => typeof x === 'string') : [];
    const hist = [`"created":${goStringLiteral(goTime(j.created))}`];
    if (typeof j.author === 'string' && j.author) hist.push(`"author":${goStringLiteral(j.author)}`);
    if (cmd.length) hist.push(`"created_by":${goStringLiteral(cmd.join(' '))}`);
    if (typeof j.comment === 'string' && j.comment) hist.push(`"comment":${goStringLiteral(j.comment)}`);
    const history = [...(parent?.history ?? []), `{${hist.join(',')}}`];
    const diffIds = [...(parent?.diffIds ?? []), diffId];
    // MakeConfigFromV1Config: every key kept (or V1Image's for old images), minus the v1 ones.
    const fields = typeof j.docker_version === 'string' && !versionLess(j.docker_version, '1.8.3')
      ? new Map(Object.entries(j).map(([k, v]) => [k, encodeGoJson(v)]))
      : throughV1Image(j);
    for (const k of DROPPED_KEYS) fields.delete(k);
    fields.set('rootfs', `{"type":"layers","diff_ids":[${diffIds.map((d) => `"${d}"`).join(',')}]}`);
    fields.set('history', `[${history.join(',')}]`);
    const keys = [...fields.keys()].sort();
    const config = Buffer.from(`{${keys.map((k) => `${goStringLiteral(k)}:${fields.get(k)}`).join(',')}}`);
    const img = { config, layers: [...(parent?.layers ?? []), blob], ...(parentId ? { parent: parentId } : {}), v1Id: id, diffIds, history };
    built.set(id, img);
    order.push(img);
    return img;
  };
  for (const id of legacyIds(metadata)) await visit(id, 0);
  return order;
}
