/**
 * Repository names, tags and digests as the distribution spec defines them. Names double as
 * paths under the storage root, so the grammar is also what keeps requests inside it: no
 * component can be empty, `.`/`..`, or start with `_` (the storage's own directories).
 */
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

/** Parses a digest; only sha256 is stored, other well-formed algorithms are unsupported. */
export function checkDigest(d: string | null | undefined): string {
  const m = d ? DIGEST.exec(d) : null;
  if (!m) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: d ?? '' });
  if (m[1] !== 'sha256') throw new RegistryError('UNSUPPORTED', `unsupported digest algorithm: ${m[1]}`, { digest: d });
  if (!/^[a-f0-9]{64}$/.test(m[2])) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: d });
  return d!;
}

export function isDigestRef(ref: string): boolean {
  return ref.includes(':');
}
