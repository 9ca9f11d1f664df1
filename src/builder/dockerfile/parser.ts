/**
 * The Dockerfile parser (moby's parser package): parser directives at the top (`escape`,
 * `syntax` and `check` accepted), comments, continuation lines with the escape character
 * (comment and empty lines inside them skipped), heredocs for RUN, COPY and ADD, instruction
 * names in any case, leading `--flag=value` options, and JSON (exec) or shell forms. Errors
 * name the line as the classic builder does ("Dockerfile parse error line 7: …").
 */
import { invalidParameter } from '../../errdefs/index.ts';

export const INSTRUCTIONS = new Set([
  'from', 'run', 'cmd', 'entrypoint', 'copy', 'add', 'env', 'arg', 'label', 'expose', 'volume', 'user',
  'workdir', 'stopsignal', 'healthcheck', 'shell', 'onbuild', 'maintainer',
]);

export interface Heredoc {
  name: string;
  content: string;
  /** Unquoted delimiters expand variables in RUN's content (the shell does it). */
  expand: boolean;
}

export interface Instruction {
  /** Lower case: "run". */
  cmd: string;
  /** As written, continuation lines joined: what `Step N/M :` prints. */
  original: string;
  line: number;
  flags: Map<string, string | true>;
  /** Every `--mount=…` of a RUN, in order (a flag that may repeat). */
  mounts: string[];
  /** Every `--exclude=…` of a COPY or ADD (BuildKit's; it may repeat too). */
  excludes: string[];
  /** The arguments after the flags, continuation lines joined with nothing between. */
  args: string;
  /** The exec form: a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Dockerfile {
  instructions: Instruction[];
  escape: string;
  warnings: string[];
}

export function parseError(line: number, msg: string): Error {
  return invalidParameter(`Dockerfile parse error line ${line}: ${msg}`);
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  const warnings: string[] = [];
  let i = 0;
  // Directives: only in the first lines, before any comment, blank line or instruction.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (seen.has(key)) throw parseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(i + 1, `invalid escape token '${m[2]}' does not match ${'`'} or \\`);
      escape = m[2];
    } else if (key !== 'syntax' && key !== 'check') {
      break; // an unknown directive is a comment, as in moby
    }
  }
  const instructions: Instruction[] = [];
  const isComment = (l: string) => /^\s*#/.test(l);
  const continues = (l: string) => {
    const t = l.replace(/\s+$/, '');
    return t.endsWith(escape) && !t.endsWith(escape + escape) ? t.slice(0, -1) : undefined;
  };
  while (i < lines.length) {
    const raw = lines[i];
    if (raw.trim() === '' || isComment(raw)) {
      i++;
      continue;
    }
    const start = i + 1;
    let logical = '';
    let cur: string | undefined = raw;
    let emptyContinuation = false;
    for (;;) {
      const cont: string | undefined = continues(cur);
      if (cont === undefined) {
        logical += cur;
        i++;
        break;
      }
      logical += cont;
      i++;
      // Skip comment lines and note empty ones inside a continuation.
      while (i < lines.length && (isComment(lines[i]) || lines[i].trim() === '')) {
        if (lines[i].trim() === '') emptyContinuation = true;
        i++;
      }
      if (i >= lines.length) break;
      cur = lines[i];
    }
    if (emptyContinuation) warnings.push(`[WARNING]: Empty continuation line found in: ${logical.trim()}`);
    const text = logical.trim();
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
    const cmd = m[1].toLowerCase();
    if (!INSTRUCTIONS.has(cmd)) throw parseError(start, `unknown instruction: ${m[1].toUpperCase()}`);
    const { flags, mounts, excludes, rest } = splitFlags(m[2], start);
    const ins: Instruction = { cmd, original: text, line: start, flags, mounts, excludes, args: rest, heredocs: [] };
    const json = ['run', 'cmd', 'entrypoint', 'shell', 'copy', 'add', 'volume'].includes(cmd) && rest.startsWith('[') ? parseJsonArray(rest, start, cmd) : undefined;
    if (['run', 'copy', 'add'].includes(cmd) && !json) {
      for (const h of heredocWords(rest, escape)) {
        const { chomp, quoted: quote, name } = h;
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw parseError(start, `unterminated heredoc ${name}`);
          let l = lines[i++];
          if (chomp) l = l.replace(/^\t+/, '');
          if (l === name) break;
          body.push(l);
        }
        ins.heredocs.push({ name, content: body.length ? `${body.join('\n')}\n` : '', expand: !quote });
      }
    }
    if (json) ins.json = json;
    if (cmd === 'shell' && !ins.json) throw parseError(start, 'SHELL requires the arguments to be in JSON form');
    instructions.push(ins);
  }
  return { instructions, escape, warnings };
}

/**
 * The heredocs an instruction opens, as buildkit finds them: a shell word (quotes respected)
 * that is `[n]<<[-]NAME`, NAME quoted or not (quoted: no expansion in the body). `<<` inside
 * quotes or inside a word (`$((1<<2))`) is no heredoc, and exec form has none.
 */
export function heredocWords(text: string, escape: string): { chomp: boolean; quoted: boolean; name: string }[] {
  const out: { chomp: boolean; quoted: boolean; name: string }[] = [];
  for (const word of shellWords(text, escape)) {
    const m = /^(\d*)<<(-?)([^<]*)$/.exec(word);
    if (!m || !m[3]) continue;
    const raw = m[3];
    const quoted = /["']/.test(raw);
    const name = raw.replace(/["']/g, '');
    if (name) out.push({ chomp: m[2] === '-', quoted, name });
  }
  return out;
}

/** Splits shell text into words as written (quotes and escapes kept in them). */
function shellWords(s: string, escape: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      cur += ch;
      if (ch === quote) quote = undefined;
      else if (quote === '"' && ch === escape && i + 1 < s.length) cur += s[++i];
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
      started = true;
    } else if (ch === escape && i + 1 < s.length) {
      cur += ch + s[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (started) words.push(cur);
  return words;
}

/** A JSON array of strings, or undefined where moby falls back to the shell form. */
function parseJsonArray(s: string, line: number, cmd: string): string[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    // SHELL has no shell form: its argument must be JSON.
    if (cmd === 'shell') throw parseError(line, 'SHELL requires the arguments to be in JSON form');
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    if (cmd === 'shell') throw parseError(line, 'SHELL requires the arguments to be in JSON form');
    return undefined;
  }
  return v as string[];
}

/** Leading `--name=value` / `--name` options. */
function splitFlags(s: string, line: number): { flags: Map<string, string | true>; mounts: string[]; excludes: string[]; rest: string } {
  const flags = new Map<string, string | true>();
  const mounts: string[] = [];
  const excludes: string[] = [];
  let rest = s;
  for (;;) {
    const m = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=("[^"]*"|\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    if (flags.has(m[1]) && m[1] !== 'mount' && m[1] !== 'exclude') throw parseError(line, `Duplicate flag specified: ${m[1]}`);
    const value = m[2] === undefined ? true : m[2].replace(/^"|"$/g, '');
    flags.set(m[1], value);
    if (m[1] === 'mount') mounts.push(value === true ? '' : value);
    if (m[1] === 'exclude') excludes.push(value === true ? '' : value);
    rest = rest.slice(m[0].length);
  }
  return { flags, mounts, excludes, rest: rest.trim() };
}

/**
 * ENV and LABEL arguments: `k=v k2="v 2"` pairs, or the legacy `ENV k v…` (one pair, the
 * rest of the line its value). Values are returned as written (quotes still in), for the
 * lexer to process.
 */
export function parseKeyValues(args: string, cmd: string, line: number): [string, string][] {
  const words = splitQuoted(args);
  if (!words.length) throw parseError(line, `${cmd.toUpperCase()} requires at least one argument`);
  if (!words[0].includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(args.trim());
    if (!m) throw parseError(line, `${cmd.toUpperCase()} must have two arguments`);
    return [[m[1], m[2]]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw parseError(line, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Splits on white space outside quotes, keeping the quotes (for the lexer). */
export function splitQuoted(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === escape && i + 1 < s.length) {
      cur += c + s[++i];
      started = true;
      continue;
    }
    if (quote) {
      cur += c;
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
      continue;
    }
    cur += c;
    started = true;
  }
  if (started) out.push(cur);
  return out;
}
