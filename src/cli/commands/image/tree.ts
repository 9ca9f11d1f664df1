/**
 * `berth images --tree`: images with their platform manifests (API 1.47's `manifests=1`),
 * drawn as docker CLI 28's tree view draws them, byte for byte: the legend, the colours on a
 * terminal (and the bold titles it prints even when piped), the name column sized to its
 * widest entry, columns dropped when the terminal is too narrow, and the "In Use" chip.
 */
import type { ImageSummary } from '../../../api/types.ts';
import { humanSizeWithPrecision } from '../../../lib/units.ts';
import { shortId } from '../../format.ts';

// aec's escape sequences, as docker's tui package composes them.
const ESC = '\x1b[';
const RESET = `${ESC}0m`;
const DEFAULT_F = `${ESC}39m`;
const BOLD = `${ESC}1m`;
const FAINT = `${ESC}2m`;
type Color = string | null;
const apply = (c: Color, s: string) => (c === null ? s : c + s + RESET);

const TITLE = DEFAULT_F + BOLD;
const SPACING = 3;

interface Details { id: string; diskUsage: string; inUse: boolean; contentSize: string }
interface Sub { platform: string; available: boolean; details: Details }
interface Top { names: string[]; details: Details; children: Sub[]; created: number }

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
  value?: (d: Details) => string;
  color?: Color;
}

function cleanAnsi(s: string): string {
  return s.replace(/\x1b[^m]*m/g, '');
}

const width = (s: string) => [...cleanAnsi(s)].length;

/** tui.Ellipsis: at most `length` runes, the last one replaced by "…" when cut. */
function ellipsis(s: string, length: number): string {
  let out = '';
  let n = 0;
  let inEscape = false;
  let tooLong = false;
  for (const r of s) {
    if (r === '\x1b') {
      out += r;
      inEscape = true;
      continue;
    }
    if (inEscape) {
      out += r;
      if (r === 'm') {
        inEscape = false;
        if (tooLong) break;
      }
      continue;
    }
    n++;
    if (n === length) tooLong = true;
    if (!tooLong) out += r;
  }
  return tooLong ? out + '…' : out;
}

function cell(c: Column, clr: Color, s: string): string {
  const n = width(s);
  if (n > c.width) return apply(clr, ellipsis(s, c.width));
  const fill = ' '.repeat(c.width - n);
  return c.align === 'right' ? fill + apply(clr, s) : apply(clr, s) + fill;
}

const platformText = (p: { os: string; architecture: string; variant?: string }) =>
  p.os ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';

/** The tree of `list` (dangling images already left out unless -a); `columns` is the terminal's width, 0 when piped. */
export function renderTree(list: ImageSummary[], opts: { isTerm: boolean; columns: number }): string {
  const { isTerm } = opts;
  const color = (c: string): Color => (isTerm ? c : null);
  let imageSpacing = false;
  const tops: Top[] = list.map((img) => {
    const details: Details = { id: img.Id, diskUsage: humanSizeWithPrecision(img.Size, 3), inUse: img.Containers > 0, contentSize: '' };
    let content = 0;
    const children: Sub[] = [];
    for (const m of img.Manifests ?? []) {
      content += m.Size.Content;
      if (m.Kind !== 'image') continue;
      const sub: Sub = {
        platform: platformText(m.ImageData.Platform),
        available: m.Available,
        details: { id: m.ID, diskUsage: humanSizeWithPrecision(m.Size.Total, 3), inUse: m.ImageData.Containers.length > 0, contentSize: humanSizeWithPrecision(m.Size.Content, 3) },
      };
      if (sub.details.inUse) details.inUse = true;
      children.push(sub);
      imageSpacing = true;
    }
    details.contentSize = humanSizeWithPrecision(content, 3);
    return { names: img.RepoTags, details, children, created: img.Created };
  });
  tops.sort((a, b) => b.created - a.created);

  const cols = opts.columns > 0 ? Math.max(opts.columns, 20) : 80;
  const out: string[] = [];
  out.push(apply(isTerm ? `${ESC}93m` : null, "WARNING: This is an experimental feature. The output may change and shouldn't be depended on.") + '\n');
  // The legend, right-aligned: one chip ("U In Use").
  const chip = isTerm ? `${ESC}38;5;0m${ESC}48;5;14m U ${RESET}` : 'U';
  const info = isTerm ? `${BOLD}${ESC}106m${ESC}30mi${RESET}${RESET} ${ESC}96mInfo → ${RESET}${RESET}` : ' Info -> ';
  const legend = `${info} ${chip} In Use `;
  out.push(' '.repeat(Math.max(cols - width(legend), 0)) + legend + '\n\n');

  // The chip's column only when a platform manifest is in use (docker looks at the children).
  const chipUsed = tops.some((t) => t.children.some((c) => c.details.inUse));
  const placeholder = isTerm ? '   ' : ' ';
  let columns: Column[] = [
    { title: 'Image', width: 0, align: 'left' },
    { title: 'ID', width: 12, align: 'left', value: (d) => shortId(d.id) },
    { title: 'Disk usage', width: 10, align: 'right', value: (d) => d.diskUsage },
    { title: 'Content size', width: 12, align: 'right', value: (d) => d.contentSize },
    {
      title: 'Extra', width: Math.max('Extra'.length, chipUsed ? width(chip) : 0), align: 'left', color: null,
      value: (d) => (chipUsed ? (d.inUse ? chip : placeholder) : ''),
    },
  ];
  // The name column takes what the others leave, down to 12; columns that do not fit go.
  let nameWidth = cols;
  for (let i = 1; i < columns.length; i++) {
    const d = columns[i]!.width + SPACING;
    if (nameWidth - d < 12) {
      columns = columns.slice(0, i);
      break;
    }
    nameWidth -= d;
  }
  // Go's len(): bytes, so the tree's "└─ " counts 7.
  let widest = columns[0]!.title.length;
  for (const t of tops) {
    for (const n of t.names) widest = Math.max(widest, Buffer.byteLength(n));
    for (const c of t.children) widest = Math.max(widest, Buffer.byteLength(c.platform) + Buffer.byteLength('└─ '));
  }
  columns[0]!.width = Math.min(nameWidth, widest);

  out.push(columns.map((c, i) => (i > 0 ? ' '.repeat(SPACING) : '') + cell(c, TITLE, c.title.toUpperCase())).join('') + '\n');
  const normal = color(DEFAULT_F);
  const details = (clr: Color, d: Details) =>
    columns.filter((c) => c.value).map((c) => ' '.repeat(SPACING) + cell(c, c.color !== undefined ? c.color : clr, c.value!(d))).join('');
  for (const t of tops) {
    let line = '';
    if (t.names.length === 0) line += cell(columns[0]!, color(DEFAULT_F + FAINT), '<untagged>');
    const names = [...t.names].sort((a, b) => b.length - a.length);
    names.forEach((n, i) => {
      if (i < names.length - 1) line += apply(color(`${ESC}34m${BOLD}`), opts.columns > 0 && isTerm ? ellipsis(n, opts.columns) : n) + '\n';
      else line += cell(columns[0]!, color(`${ESC}34m${BOLD}`), n);
    });
    line += details(normal, t.details);
    if (t.children.length > 0 || imageSpacing) line += '\n';
    t.children.forEach((c, i) => {
      const clr = c.available ? normal : color(DEFAULT_F + FAINT);
      line += cell(columns[0]!, clr, (i === t.children.length - 1 ? '└─ ' : '├─ ') + c.platform) + details(clr, c.details) + '\n';
    });
    out.push(line + '\n');
  }
  return out.join('');
}
