/**
 * IDs and unique-prefix lookup, as docker's truncindex / container view `GetByPrefix` do:
 * `docker rm 3f4` finds the one container whose ID starts with `3f4`.
 */
import { randomBytes } from 'node:crypto';
import { invalidParameter, notFound } from '../errdefs/index.ts';

const SHORT_LEN = 12;

/**
 * stringid.TruncateID: drop any `algorithm:` prefix, keep the first 12 characters.
 * `shortId('sha256:0123456789abcdef…')` → `0123456789ab`.
 */
export function shortId(id: string): string {
  const colon = id.indexOf(':');
  if (colon >= 0) id = id.slice(colon + 1);
  return id.length > SHORT_LEN ? id.slice(0, SHORT_LEN) : id;
}

/**
 * stringid.GenerateRandomID: 64 random lowercase hex characters. Regenerated while the 12-char
 * short form is all digits (it would parse as a number, which breaks its use as a hostname).
 */
export function newId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^[0-9]{12}$/.test(shortId(id))) return id;
  }
}

/** stringid.IsShortID: exactly 12 lowercase hex characters. */
export function isShortId(s: string): boolean {
  return /^[a-f0-9]{12}$/.test(s);
}

/**
 * A set of IDs resolvable by unique prefix. Kept sorted, so a lookup is a binary search.
 * IDs are normally 64-hex strings but any non-empty string without spaces is accepted.
 */
export class IdIndex {
  private readonly ids: string[] = [];

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  get size(): number {
    return this.ids.length;
  }

  /** First index whose id is ≥ s. */
  private lowerBound(s: string): number {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid] < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Add an ID (idempotent). Throws for an empty ID or one containing a space. */
  add(id: string): void {
    if (id === '') throw invalidParameter("prefix can't be empty");
    if (id.includes(' ')) throw invalidParameter("illegal character: ' '");
    const i = this.lowerBound(id);
    if (this.ids[i] !== id) this.ids.splice(i, 0, id);
  }

  /** Remove an ID; returns whether it was present. */
  delete(id: string): boolean {
    const i = this.lowerBound(id);
    if (this.ids[i] !== id) return false;
    this.ids.splice(i, 1);
    return true;
  }

  has(id: string): boolean {
    return this.ids[this.lowerBound(id)] === id;
  }

  /** All IDs starting with `prefix`, in sorted order. */
  matches(prefix: string): string[] {
    const out: string[] = [];
    for (let i = this.lowerBound(prefix); i < this.ids.length && this.ids[i].startsWith(prefix); i++) out.push(this.ids[i]);
    return out;
  }

  /**
   * The unique ID starting with `prefix`. Throws InvalidParameter `prefix can't be empty` or
   * `multiple IDs found with provided prefix: <prefix>`, or NotFound `ID does not exist`.
   */
  get(prefix: string): string {
    const id = this.find(prefix);
    if (id === undefined) throw notFound('ID does not exist');
    return id;
  }

  /** Like `get` but returns undefined when nothing matches (still throws when ambiguous/empty). */
  find(prefix: string): string | undefined {
    if (prefix === '') throw invalidParameter("prefix can't be empty");
    const i = this.lowerBound(prefix);
    if (i >= this.ids.length || !this.ids[i].startsWith(prefix)) return undefined;
    if (i + 1 < this.ids.length && this.ids[i + 1].startsWith(prefix)) {
      throw invalidParameter(`multiple IDs found with provided prefix: ${prefix}`);
    }
    return this.ids[i];
  }

  /** Iterate the IDs in sorted order. */
  [Symbol.iterator](): IterableIterator<string> {
    return this.ids.slice()[Symbol.iterator]();
  }
}
