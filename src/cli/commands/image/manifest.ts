/**
 * `berth manifest create|inspect|annotate|push|rm`: manifest lists (multi-platform images)
 * made from images already in a registry, as docker's `manifest` command makes them. Lists
 * being made are kept as docker keeps them, so either CLI picks up the other's with the same
 * config directory:
 *
 *   <config dir>/manifests/<list ref>/<manifest ref>   one docker ImageManifest (JSON) each,
 *                                                       names with ':' → '-' and '/' → '_'
 *
 * The registry is reached through berthd (its insecure registries, certs.d and mirrors apply;
 * loopback registries need no --insecure there), where docker's CLI reaches it itself. A list
 * is written byte for byte as docker writes it (so the same images give the same digest).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import type { OciPlatform, RegistryManifest } from '../../../api/types.ts';
import { parseNormalizedNamed, referenceString, withDefaultTag, type Reference } from '../../../lib/reference.ts';
import { goIndent } from '../../../lib/jsonindent.ts';
import { ociPlatform } from '../../../lib/platform.ts';
import { registryAuthHeader } from '../../authstore.ts';
import { isDaemonError } from '../../../client/http.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const LISTS = new Set([OCI_INDEX, DOCKER_LIST]);

/** docker's types.ImageManifest, as stored and as `inspect -v` shows it. */
interface ImageManifest {
  Ref: string;
  Descriptor: RegistryManifest['Descriptor'];
  Raw: string;
  SchemaV2Manifest?: unknown;
  OCIManifest?: unknown;
}

/** docker's normalizeReference: a name without tag or digest gets `latest`. */
function normalize(s: string): Reference {
  let r: Reference;
  try {
    r = parseNormalizedNamed(s);
  } catch (e) {
    throw new StatusError(1, (e as Error).message);
  }
  return r.digest ? r : withDefaultTag(r);
}

function safeName(ref: string): string {
  return ref.replaceAll(':', '-').replaceAll('/', '_');
}

function listDir(ctx: CliContext, list: Reference): string {
  return join(ctx.configDir, 'manifests', safeName(referenceString(list)));
}

/** The manifests of a list being made, in docker's order (by file name); none when there is no such list. */
function readList(ctx: CliContext, list: Reference): ImageManifest[] | undefined {
  const dir = listDir(ctx, list);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.endsWith('.tmp')).sort();
  } catch {
    return undefined;
  }
  return names.map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as ImageManifest);
}

function writeManifest(ctx: CliContext, list: Reference, m: ImageManifest): void {
  const dir = listDir(ctx, list);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, safeName(m.Ref));
  writeFileSync(`${file}.tmp`, JSON.stringify(m), { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
}

/** The stored form of a fetched image manifest: the registry's bytes and their parsed shape. */
function imageManifest(ref: string, got: RegistryManifest): ImageManifest {
  const parsed = JSON.parse(Buffer.from(got.Raw, 'base64').toString('utf8')) as unknown;
  return { Ref: ref, Descriptor: got.Descriptor, Raw: got.Raw, ...(got.Descriptor.mediaType === OCI_MANIFEST ? { OCIManifest: parsed } : { SchemaV2Manifest: parsed }) };
}

/**
 * A registry's answer, through berthd. Its errors are the registry's, shown as docker's CLI
 * shows them (it asks the registry itself), not as the daemon's.
 */
async function registry<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (isDaemonError(e)) throw new StatusError(1, e.message);
    throw e;
  }
}

function fetch(ctx: CliContext, ref: Reference | string, insecure: boolean): Promise<RegistryManifest> {
  const name = typeof ref === 'string' ? ref : referenceString(ref);
  return registry(ctx.client.registryManifest(name, registryAuthHeader(ctx, name), insecure));
}

function platformJson(p: OciPlatform | undefined): OciPlatform | undefined {
  return p && ociPlatform(p);
}

/**
 * The list as docker builds it (manifestlist.FromDescriptors): an OCI index when the first
 * manifest is OCI, else a Docker manifest list; 3-space indentation, as docker marshals it.
 */
function buildList(manifests: ImageManifest[]): { mediaType: string; raw: Buffer } {
  for (const m of manifests) {
    if (!m.Descriptor.platform?.architecture || !m.Descriptor.platform.os) throw new StatusError(1, `manifest ${m.Ref} must have an OS and Architecture to be pushed to a registry`);
  }
  return listOf(manifests.map((m) => m.Descriptor));
}

function listOf(descriptors: { mediaType: string; size: number; digest: string; platform?: OciPlatform }[]): { mediaType: string; raw: Buffer } {
  const mediaType = descriptors[0]?.mediaType === OCI_MANIFEST ? OCI_INDEX : DOCKER_LIST;
  const list = {
    schemaVersion: 2,
    mediaType,
    manifests: descriptors.map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest, platform: platformJson(d.platform) })),
  };
  return { mediaType, raw: Buffer.from(JSON.stringify(list, null, 3)) };
}

// ---- create ----

const createFlags = defineFlags({
  amend: { short: 'a', long: 'amend', kind: 'bool', help: 'Amend an existing manifest list' },
  insecure: { long: 'insecure', kind: 'bool', help: 'Allow communication with an insecure registry' },
});

export const manifestCreateCommand = defineCommand({
  name: 'create', usage: 'MANIFEST_LIST MANIFEST [MANIFEST...]', short: 'Create a local manifest list for annotating and pushing to a registry', flags: createFlags, args: { min: 2 },
});

export async function manifestCreate(ctx: CliContext, p: Parsed<typeof createFlags>): Promise<number> {
  const list = normalize(p.args[0]);
  if (existsSync(listDir(ctx, list)) && !p.flags.amend) throw new StatusError(1, 'refusing to amend an existing manifest list with no --amend flag');
  // Every manifest is fetched before anything is written: a failure leaves no half-made list.
  const got: ImageManifest[] = [];
  for (const arg of p.args.slice(1)) {
    const ref = normalize(arg);
    const m = await fetch(ctx, ref, p.flags.insecure);
    if (LISTS.has(m.Descriptor.mediaType)) throw new StatusError(1, `${referenceString(ref)} is a manifest list`);
    got.push(imageManifest(referenceString(ref), m));
  }
  for (const m of got) writeManifest(ctx, list, m);
  ctx.stdout.write(`Created manifest list ${referenceString(list)}\n`);
  return 0;
}

// ---- inspect ----

const inspectFlags = defineFlags({
  insecure: { long: 'insecure', kind: 'bool', help: 'Allow communication with an insecure registry' },
  verbose: { short: 'v', long: 'verbose', kind: 'bool', help: 'Output additional info including layers and platform' },
});

export const manifestInspectCommand = defineCommand({
  name: 'inspect', usage: '[OPTIONS] [MANIFEST_LIST] MANIFEST', short: 'Display an image manifest, or manifest list', flags: inspectFlags, args: { min: 1, max: 2 },
});

function rawText(m: ImageManifest | RegistryManifest): string {
  return Buffer.from(m.Raw, 'base64').toString('utf8');
}

export async function manifestInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  const f = p.flags;
  const verbose = (v: unknown) => ctx.stdout.write(`${JSON.stringify(v, null, '\t')}\n`);
  if (p.args.length === 2) {
    // One manifest of a list being made.
    const list = normalize(p.args[0]);
    const ref = referenceString(normalize(p.args[1]));
    const m = readList(ctx, list)?.find((x) => x.Ref === ref);
    if (!m) throw new StatusError(1, `No such manifest: ${ref}`);
    if (f.verbose) verbose(m);
    else ctx.stdout.write(`${goIndent(rawText(m), '\t')}\n`);
    return 0;
  }
  const ref = normalize(p.args[0]);
  const local = readList(ctx, ref);
  if (local) {
    if (f.verbose) verbose(local);
    else ctx.stdout.write(`${buildList(local).raw.toString('utf8')}\n`);
    return 0;
  }
  const got = await fetch(ctx, ref, f.insecure);
  if (!LISTS.has(got.Descriptor.mediaType)) {
    if (f.verbose) verbose(imageManifest(got.Ref, got));
    else ctx.stdout.write(`${goIndent(rawText(got), '\t')}\n`);
    return 0;
  }
  const index = JSON.parse(rawText(got)) as { manifests?: { mediaType: string; size: number; digest: string; platform?: OciPlatform }[] };
  if (!f.verbose) {
    // As docker shows a registry's list: rebuilt from its entries, as it would push it.
    ctx.stdout.write(`${listOf(index.manifests ?? []).raw.toString('utf8')}\n`);
    return 0;
  }
  // Verbose: each manifest it names, with the list's platform for it.
  const out: ImageManifest[] = [];
  for (const d of index.manifests ?? []) {
    const child = await fetch(ctx, `${got.Ref.replace(/@.*$/, '')}@${d.digest}`, f.insecure);
    const platform = platformJson(d.platform);
    out.push(imageManifest(`${got.Ref.replace(/@.*$/, '')}@${d.digest}`, { ...child, Descriptor: { mediaType: child.Descriptor.mediaType, digest: child.Descriptor.digest, size: child.Descriptor.size, ...(platform ? { platform } : {}) } }));
  }
  verbose(out);
  return 0;
}

// ---- annotate ----

const annotateFlags = defineFlags({
  arch: { long: 'arch', kind: 'string', help: 'Set architecture' },
  os: { long: 'os', kind: 'string', help: 'Set operating system' },
  osFeatures: { long: 'os-features', kind: 'stringSlice', help: 'Set operating system feature', typeName: 'strings' },
  osVersion: { long: 'os-version', kind: 'string', help: 'Set operating system version' },
  variant: { long: 'variant', kind: 'string', help: 'Set architecture variant' },
});

export const manifestAnnotateCommand = defineCommand({
  name: 'annotate', usage: '[OPTIONS] MANIFEST_LIST MANIFEST', short: 'Add additional information to a local image manifest', flags: annotateFlags, args: { min: 2, max: 2 },
});

/** docker's validOSArches (cli/command/manifest/util.go). */
const VALID_OS_ARCH = new Set([
  'darwin/386', 'darwin/amd64', 'darwin/arm', 'darwin/arm64', 'dragonfly/amd64', 'freebsd/386', 'freebsd/amd64', 'freebsd/arm',
  'linux/386', 'linux/amd64', 'linux/arm', 'linux/arm64', 'linux/ppc64le', 'linux/mips64', 'linux/mips64le', 'linux/riscv64', 'linux/s390x',
  'netbsd/386', 'netbsd/amd64', 'netbsd/arm', 'openbsd/386', 'openbsd/amd64', 'openbsd/arm', 'plan9/386', 'plan9/amd64', 'solaris/amd64',
  'windows/386', 'windows/amd64', 'windows/arm', 'windows/arm64',
]);

export async function manifestAnnotate(ctx: CliContext, p: Parsed<typeof annotateFlags>): Promise<number> {
  const f = p.flags;
  const list = normalize(p.args[0]);
  const ref = referenceString(normalize(p.args[1]));
  const manifests = readList(ctx, list);
  const m = manifests?.find((x) => x.Ref === ref);
  if (!m) throw new StatusError(1, `manifest for image ${ref} does not exist in ${referenceString(list)}`);
  const platform: OciPlatform = { ...(m.Descriptor.platform ?? { architecture: '', os: '' }) };
  if (f.os !== undefined) platform.os = f.os;
  if (f.arch !== undefined) platform.architecture = f.arch;
  if (f.osFeatures.length) platform['os.features'] = f.osFeatures;
  if (f.osVersion !== undefined) platform['os.version'] = f.osVersion;
  if (f.variant !== undefined) platform.variant = f.variant;
  if (!VALID_OS_ARCH.has(`${platform.os}/${platform.architecture}`)) {
    throw new StatusError(1, `manifest entry for image has unsupported os/arch combination: ${f.os ?? ''}/${f.arch ?? ''}`);
  }
  writeManifest(ctx, list, { ...m, Descriptor: { ...m.Descriptor, platform: platformJson(platform)! } });
  return 0;
}

// ---- push ----

const pushFlags = defineFlags({
  insecure: { long: 'insecure', kind: 'bool', help: 'Allow push to an insecure registry' },
  purge: { short: 'p', long: 'purge', kind: 'bool', help: 'Remove the local manifest list after push' },
});

export const manifestPushCommand = defineCommand({
  name: 'push', usage: '[OPTIONS] MANIFEST_LIST', short: 'Push a manifest list to a repository', flags: pushFlags, args: { min: 1, max: 1 },
});

export async function manifestPush(ctx: CliContext, p: Parsed<typeof pushFlags>): Promise<number> {
  const list = normalize(p.args[0]);
  const name = referenceString(list);
  const manifests = readList(ctx, list);
  if (!manifests?.length) throw new StatusError(1, `No such manifest: ${name}`);
  for (const m of manifests) {
    const domain = parseNormalizedNamed(m.Ref).domain;
    if (domain !== list.domain) throw new StatusError(1, `cannot use source images from a different registry than the target image: ${domain} != ${list.domain}`);
  }
  const built = buildList(manifests);
  const r = await registry(ctx.client.pushManifestList(name, {
    MediaType: built.mediaType,
    Raw: built.raw.toString('base64'),
    Manifests: manifests.map((m) => ({ Ref: m.Ref, MediaType: m.Descriptor.mediaType, Raw: m.Raw })),
  }, registryAuthHeader(ctx, name), p.flags.insecure));
  for (const x of r.Pushed) ctx.stdout.write(`Pushed ref ${x.Ref} with digest: ${x.Digest}\n`);
  ctx.stdout.write(`${r.Digest}\n`);
  if (p.flags.purge) rmSync(listDir(ctx, list), { recursive: true, force: true });
  return 0;
}

// ---- rm ----

export const manifestRmCommand = defineCommand({
  name: 'rm', usage: 'MANIFEST_LIST [MANIFEST_LIST...]', short: 'Delete one or more manifest lists from local storage', args: { min: 1 },
});

export async function manifestRm(ctx: CliContext, p: Parsed): Promise<number> {
  const errors: string[] = [];
  for (const arg of p.args) {
    const list = normalize(arg);
    const dir = listDir(ctx, list);
    if (!existsSync(dir)) {
      errors.push(`No such manifest: ${referenceString(list)}`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}
