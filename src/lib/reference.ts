/**
 * Docker image references, following distribution/reference's grammar and normalization:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain [ ":" port ] "/" ] path-component [ "/" path-component ]*
 *
 * `parseNormalizedNamed` turns a "familiar" name as typed by users (`busybox`, `user/app:1`,
 * `myreg:5000/x/y@sha256:…`) into its canonical form (`docker.io/library/busybox`); the
 * `familiar*` functions go back. All errors are `InvalidParameter` with docker's texts.
 */
import { invalidParameter } from '../errdefs/index.ts';

export interface Reference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`. Never empty after normalization. */
  domain: string;
  /** Repository path below the domain, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  /** `algorithm:hex`, validated like go-digest's `digest.Parse`. */
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** distribution/reference RepositoryNameTotalLengthMax: applies to the path (not the domain). */
export const NAME_TOTAL_LENGTH_MAX = 255;

// ---- grammar (distribution/reference regexp.go) ----
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_TAG_RE = new RegExp(`^${tagPat}$`);
const ANCHORED_DIGEST_RE = new RegExp(`^${digestPat}$`);
const ANCHORED_IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const ANCHORED_DOMAIN_RE = new RegExp(`^${domainAndPort}$`);

// ---- go-digest ----
const GO_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const DIGEST_HEX_LEN: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * go-digest `digest.Parse`: returns the digest or throws `invalid checksum digest format`,
 * `invalid checksum digest length` or `unsupported digest algorithm`.
 */
export function validateDigest(d: string): string {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) throw invalidParameter('invalid checksum digest format');
  const alg = d.slice(0, i);
  const encoded = d.slice(i + 1);
  const len = Object.hasOwn(DIGEST_HEX_LEN, alg) ? DIGEST_HEX_LEN[alg] : undefined;
  if (len === undefined) {
    if (!GO_DIGEST_RE.test(d)) throw invalidParameter('invalid checksum digest format');
    throw invalidParameter('unsupported digest algorithm');
  }
  if (encoded.length !== len) throw invalidParameter('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(encoded)) throw invalidParameter('invalid checksum digest format');
  return d;
}

/** True for a bare 64-hex string, which docker treats as an image/container ID, never a name. */
export function isFullId(s: string): boolean {
  return ANCHORED_IDENTIFIER_RE.test(s);
}

/** A valid tag per the reference grammar (`[\w][\w.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return ANCHORED_TAG_RE.test(tag);
}

/** A valid registry domain (host with optional port). */
export function isValidDomain(domain: string): boolean {
  return ANCHORED_DOMAIN_RE.test(domain);
}

/**
 * distribution/reference `Parse` (no normalization): `domain` is '' when the name has none.
 * A digest-only input (`sha256:…`) is rejected since a name is required here.
 */
export function parse(s: string): Reference {
  if (s === '') throw invalidParameter('repository name must have at least one component');
  const m = REFERENCE_RE.exec(s);
  if (m === null) {
    const sl = s.toLowerCase();
    if (sl !== s && REFERENCE_RE.test(sl)) throw invalidParameter('repository name must be lowercase');
    throw invalidParameter('invalid reference format');
  }
  const name = m[1];
  const nm = ANCHORED_NAME_RE.exec(name);
  let domain = '';
  let path = name;
  if (nm !== null) {
    domain = nm[1] ?? '';
    path = nm[2];
  }
  if (path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalidParameter(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const ref: Reference = { domain, path };
  if (m[2] !== undefined && m[2] !== '') ref.tag = m[2];
  if (m[3] !== undefined && m[3] !== '') ref.digest = validateDigest(m[3]);
  return ref;
}

/** splitDockerDomain: the domain and the remainder (path plus any tag/digest). */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  if (slash === -1) {
    return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  if (maybeDomain === 'localhost') {
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remainder] = [DEFAULT_DOMAIN, maybeRemote];
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Uppercase namespaces are not allowed, so an uppercase first element is a domain.
    [domain, remainder] = [maybeDomain, maybeRemote];
  } else {
    [domain, remainder] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}

/**
 * reference.ParseNormalizedNamed: `busybox` → {domain:'docker.io', path:'library/busybox'}.
 * Adds no default tag (see `withDefaultTag`). Keeps both tag and digest when both are given.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) {
    throw invalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalidParameter(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const ref = parse(domain + '/' + remainder);
  return ref;
}

export type AnyReference = { kind: 'digest'; digest: string } | { kind: 'named'; ref: Reference };

/**
 * reference.ParseAnyReference: a bare 64-hex ID becomes `sha256:<id>`, a valid digest stays a
 * digest, anything else must be a (normalized) name.
 */
export function parseAnyReference(s: string): AnyReference {
  if (ANCHORED_IDENTIFIER_RE.test(s)) return { kind: 'digest', digest: 'sha256:' + s };
  try {
    return { kind: 'digest', digest: validateDigest(s) };
  } catch {
    // not a digest
  }
  return { kind: 'named', ref: parseNormalizedNamed(s) };
}

/**
 * reference.ParseDockerRef: normalized, `latest` added when there's neither tag nor digest, and
 * when both are present the tag is dropped (the digest wins).
 */
export function parseDockerRef(s: string): Reference {
  const r = parseNormalizedNamed(s);
  if (r.tag !== undefined && r.digest !== undefined) return { domain: r.domain, path: r.path, digest: r.digest };
  return withDefaultTag(r);
}

/** reference.TagNameOnly: add `latest` when the reference has neither tag nor digest. */
export function withDefaultTag(r: Reference): Reference {
  if (r.tag === undefined && r.digest === undefined) return { ...r, tag: DEFAULT_TAG };
  return r;
}

/** reference.WithTag: replace the tag (keeping any digest); throws `invalid tag format`. */
export function withTag(r: Reference, tag: string): Reference {
  if (!ANCHORED_TAG_RE.test(tag)) throw invalidParameter('invalid tag format');
  return { ...r, tag };
}

/** reference.WithDigest: set the digest (keeping any tag); throws `invalid digest format`. */
export function withDigest(r: Reference, digest: string): Reference {
  if (!ANCHORED_DIGEST_RE.test(digest)) throw invalidParameter('invalid digest format');
  return { ...r, digest };
}

/** reference.TrimNamed: the name alone. */
export function trimNamed(r: Reference): Reference {
  return { domain: r.domain, path: r.path };
}

/** Canonical name without tag/digest: `docker.io/library/busybox`. */
export function fullName(r: Reference): string {
  return r.domain === '' ? r.path : `${r.domain}/${r.path}`;
}

function suffix(r: Reference): string {
  return (r.tag !== undefined ? ':' + r.tag : '') + (r.digest !== undefined ? '@' + r.digest : '');
}

/** reference String(): `docker.io/library/busybox:latest@sha256:…`. */
export function referenceString(r: Reference): string {
  return fullName(r) + suffix(r);
}

/** reference.FamiliarName: `busybox`, `user/app`, `myreg:5000/x/y`. */
export function familiarName(r: Reference): string {
  let domain = r.domain;
  let path = r.path;
  if (domain === DEFAULT_DOMAIN) {
    domain = '';
    if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
      const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
      if (!rest.includes('/')) path = rest;
    }
  }
  return domain === '' ? path : `${domain}/${path}`;
}

/** reference.FamiliarString: familiarName + `:tag` + `@digest`. */
export function familiarString(r: Reference): string {
  return familiarName(r) + suffix(r);
}

/**
 * Legacy moby `parsers.ParseRepositoryTag`: splits `host:5000/x:tag` into repo and tag without
 * validating. When the input contains `@`, everything after the first `@` is returned as `tag`
 * (it is a digest), as moby does. An empty tag (`busybox:`) is reported as no tag.
 */
export function parseRepositoryTag(s: string): { repo: string; tag?: string } {
  const at = s.indexOf('@');
  if (at >= 0) {
    // strings.Split(repos, "@")[1]: up to a second '@', if any.
    const rest = s.slice(at + 1);
    const next = rest.indexOf('@');
    return withOptionalTag(s.slice(0, at), next >= 0 ? rest.slice(0, next) : rest);
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0) return { repo: s };
  const tag = s.slice(colon + 1);
  if (!tag.includes('/')) return withOptionalTag(s.slice(0, colon), tag);
  return { repo: s };
}

function withOptionalTag(repo: string, tag: string): { repo: string; tag?: string } {
  return tag === '' ? { repo } : { repo, tag };
}
