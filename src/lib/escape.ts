/**
 * Detach keys (docker's `--detach-keys`, default ctrl-p,ctrl-q): parsing the key list and
 * watching a stdin stream for the sequence, as moby's term.escapeProxy does — bytes of a
 * partial match are held back and released if the sequence breaks off.
 */
import { invalidParameter } from '../errdefs/index.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** "ctrl-p,ctrl-q" → [16, 17]; "a" → [97]; ctrl- takes a-z, @, [, \, ], ^, _. */
export function parseDetachKeys(spec: string): number[] {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length > 1 && k.toLowerCase().startsWith('ctrl-')) {
      const c = k.slice(5).toLowerCase();
      if (c.length === 1 && c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c.length === 1 && '@[\\]^_'.includes(c)) out.push('@[\\]^_'.indexOf(c) === 0 ? 0 : 27 + '[\\]^_'.indexOf(c));
      else throw invalidParameter(`Invalid detach keys (${spec}) provided: unknown character: '${k}'`);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    } else {
      throw invalidParameter(`Invalid detach keys (${spec}) provided: unknown character: '${k}'`);
    }
  }
  if (!out.length) throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  return out;
}

/** Feeds stdin chunks through; reports when the detach sequence has been typed. */
export class EscapeWatcher {
  private readonly keys: number[];
  private matched = 0;

  constructor(keys: number[]) {
    this.keys = keys;
  }

  /** Returns the bytes to forward and whether the user detached (nothing after the keys is forwarded). */
  push(chunk: Buffer): { data: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      // The sequence broke off: release what was held back, then reconsider this byte.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]);
      this.matched = 0;
      if (b === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return { data: Buffer.from(out), detached: true };
      } else {
        out.push(b);
      }
    }
    return { data: out.length === chunk.length ? chunk : Buffer.from(out), detached: false };
  }
}
