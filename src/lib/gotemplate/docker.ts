/**
 * What the docker CLI adds around text/template for `--format`: its template functions
 * (cli/templates/templates.go), the table-header variants of them, and the preprocessing of
 * format strings (cli/command/formatter/formatter.go: `table` prefix, trimming, `\t` `\n`).
 */

import { marshal } from './json.ts';
import { STRUCT } from './values.ts';
import type { TemplateFunc } from './funcs.ts';
import { isNil, withSignature } from './funcs.ts';

/** strings.Split: an empty separator splits into UTF-8 sequences (code points). */
function split(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

function repeatSpaces(n: number | bigint): string {
  const k = Number(n);
  if (k < 0) throw new Error('strings: negative Repeat count');
  return ' '.repeat(k);
}

/** Go's isSeparator from strings.Title. */
function isSeparator(ch: string): boolean {
  const c = ch.codePointAt(0) ?? 0;
  if (c <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\p{White_Space}/u.test(ch);
}

/** Simple (one-to-one) case mapping, as Go's unicode.ToUpper/ToLower do per rune. */
function mapRunes(s: string, f: (ch: string) => string): string {
  let out = '';
  for (const ch of s) {
    const m = f(ch);
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}

/** strings.Title: upper-case the first letter of each word. */
export function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? mapRunes(ch, (c) => c.toUpperCase()) : ch;
    prev = ch;
  }
  return out;
}

/** The docker CLI's template functions (templates.basicFunctions). */
export const dockerFuncs: Record<string, (...args: unknown[]) => unknown> = {
  // json.Encoder with SetEscapeHTML(false); an encoding error yields "".
  json: withSignature(
    (v: unknown) => {
      try {
        // The CLI's listing contexts marshal themselves as a Go map (formatter.MarshalJSON →
        // json.Marshal): keys sorted, <>& escaped. Rows made with structRow are those contexts.
        // A context with its own toJSON (system df -v's) decides for itself.
        if (v && typeof v === 'object' && (v as Record<symbol, unknown>)[STRUCT] !== undefined && !Array.isArray(v) && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
          return marshal(new Map(Object.entries(v as Record<string, unknown>)), true);
        }
        return marshal(v);
      } catch {
        return '';
      }
    },
    { params: ['any'] },
  ),
  split: withSignature((s: unknown, sep: unknown) => split(s as string, sep as string), { params: ['string', 'string'] }),
  join: withSignature(
    (elems: unknown, sep: unknown) => (isNil(elems) ? '' : (elems as string[]).join(sep as string)),
    { params: ['[]string', 'string'] },
  ),
  title: withSignature((s: unknown) => title(s as string), { params: ['string'] }),
  lower: withSignature((s: unknown) => mapRunes(s as string, (c) => c.toLowerCase()), { params: ['string'] }),
  upper: withSignature((s: unknown) => mapRunes(s as string, (c) => c.toUpperCase()), { params: ['string'] }),
  // pad adds spaces around a non-empty string.
  pad: withSignature(
    (s: unknown, prefix: unknown, suffix: unknown) => {
      const src = s as string;
      if (src === '') return src;
      return repeatSpaces(prefix as number) + src + repeatSpaces(suffix as number);
    },
    { params: ['string', 'int', 'int'] },
  ),
  // truncate keeps the first n characters (Go slices bytes; we slice code points).
  truncate: withSignature(
    (s: unknown, n: unknown) => {
      const runes = Array.from(s as string);
      const k = Number(n as number);
      if (runes.length < k) return s;
      if (k < 0) throw new Error(`runtime error: slice bounds out of range [:${k}]`);
      return runes.slice(0, k).join('');
    },
    { params: ['string', 'int'] },
  ),
};

const identity = (v: unknown): unknown => v;

/**
 * The docker CLI's templates.HeaderFunctions: executed over the header row of a table, these
 * leave the column titles intact (pad is not overridden, to keep alignment).
 */
export const dockerHeaderFuncs: Record<string, (...args: unknown[]) => unknown> = {
  json: withSignature((v: unknown) => identity(v), { params: ['string'] }),
  split: withSignature((v: unknown) => identity(v), { params: ['string', 'string'] }),
  join: withSignature((v: unknown) => identity(v), { params: ['string', 'string'] }),
  title: withSignature((v: unknown) => identity(v), { params: ['string'] }),
  lower: withSignature((v: unknown) => identity(v), { params: ['string'] }),
  upper: withSignature((v: unknown) => identity(v), { params: ['string'] }),
  truncate: withSignature((v: unknown) => identity(v), { params: ['string', 'int'] }),
} satisfies Record<string, TemplateFunc>;

/** Whether a --format value asks for a table (docker: strings.HasPrefix(format, "table")). */
export function isTableFormat(fmt: string): boolean {
  return fmt.startsWith('table');
}

/** The template part of a table format: without the `table` word and one space or tab after it. */
export function tableFormatBody(fmt: string): string {
  if (!isTableFormat(fmt)) return fmt;
  const rest = fmt.slice('table'.length);
  return rest.startsWith(' ') || rest.startsWith('\t') ? rest.slice(1) : rest;
}

/** Replace the two-character sequences `\t` and `\n` of a user's format with tab and newline. */
export function expandEscapes(fmt: string): string {
  return fmt.replace(/\\[tn]/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/**
 * The docker CLI's Context.preFormat, exactly: a `table` prefix is removed, `json` means
 * `{{json .}}`, spaces (only spaces) are trimmed from both ends, then `\t` and `\n` are expanded.
 */
export function dockerPreFormat(fmt: string): { table: boolean; format: string } {
  const table = isTableFormat(fmt);
  let f = fmt;
  if (table) f = f.slice('table'.length);
  else if (fmt === 'json') f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return { table, format: expandEscapes(f) };
}
