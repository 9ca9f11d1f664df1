/**
 * Repository names, tags and digests as the distribution spec defines them. Names double as
 * paths under the storage root, so the grammar is also what keeps requests inside it: no
 * component can be empty, `.`/`..`, or start with `_` (the storage's own directories).
 */
import { DIGEST_ALGORITHMS, isDigestAlgorithm, type DigestAlgorithm } from '../lib/digest.ts';
import { RegistryError } from './errcode.ts';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
export const NAME_MAX = 255;

export function isValidName(name: string): boolean {
  if (!name || name.length > NAME_MAX) return false;
  return name.split('/').every((c) => COMPONENT.test(c));
}

export function checkName(name: string): string {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', undefined, { name });
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * Parses a digest. sha256 and sha512 are stored; a well-formed digest of any other algorithm
 * is DIGEST_INVALID too (the spec's 400 for "an unsupported algorithm"), with a message
 * saying so. A valid result is safe to use as path components (`<alg>/<hex>`).
 */
export function checkDigest(d: string | null | undefined): string {
  const m = d ? DIGEST.exec(d) : null;
  if (!m) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: d ?? '' });
  checkAlgorithm(m[1], d!);
  if (m[2].length !== DIGEST_ALGORITHMS[m[1] as DigestAlgorithm] || !/^[a-f0-9]+$/.test(m[2])) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: d });
  return d!;
}

/** A digest algorithm the registry stores (`?digest-algorithm=`); DIGEST_INVALID otherwise. */
export function checkAlgorithm(alg: string, digest?: string): DigestAlgorithm {
  if (!isDigestAlgorithm(alg)) throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm: ${alg}`, digest === undefined ? { algorithm: alg } : { digest });
  return alg;
}

export function isDigestRef(ref: string): boolean {
  return ref.includes(':');
}
