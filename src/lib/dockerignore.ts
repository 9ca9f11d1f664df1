/**
 * .dockerignore as docker reads it (moby's patternmatcher): one pattern per line, `#`
 * comments, `!` exceptions, paths cleaned and taken from the context's root, Go's
 * filepath.Match wildcards plus `**` for any number of directories. The last pattern that
 * matches a path (or one of its parents) decides.
 */
import { posix } from 'node:path';
import { globSource } from './glob.ts';

export interface IgnorePattern {
  exclusion: boolean;
  regex: RegExp;
  text: string;
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    let p = posix.normalize(line.replace(/\\/g, '/'));
    p = p.replace(/^\/+/, '');
    if (p === '.' || p === '') continue;
    out.push({ exclusion, regex: globRegex(p), text: p });
  }
  return out;
}

function globRegex(p: string): RegExp {
  return new RegExp(`^${globSource(p, { paths: true })}$`);
}

/** Whether `path` (relative to the context, with `/`) is left out. */
export function isIgnored(path: string, patterns: IgnorePattern[]): boolean {
  const parts = path.split('/');
  let ignored = false;
  for (const pat of patterns) {
    let match = pat.regex.test(path);
    // A pattern that matches a parent directory matches what is below it.
    for (let n = parts.length - 1; !match && n > 0; n--) match = pat.regex.test(parts.slice(0, n).join('/'));
    if (match) ignored = !pat.exclusion;
  }
  return ignored;
}

/** Whether a directory must still be walked: some exception could bring back something below it. */
export function mayHoldExceptions(dir: string, patterns: IgnorePattern[]): boolean {
  return patterns.some((p) => p.exclusion && (p.text.startsWith(`${dir}/`) || p.text.includes('*') || p.text.includes('?') || p.text.includes('[')));
}
