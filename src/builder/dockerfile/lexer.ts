/**
 * Word processing as moby's shell lexer does it for Dockerfile instructions (buildkit's
 * frontend/dockerfile/shell): quotes removed ('…' literal, "…" with escapes), the escape
 * character, and variables: $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word},
 * ${VAR+word}, ${VAR:?message}, ${VAR?message}, and BuildKit's (Dockerfile 1.7) trimming and
 * substitution with shell patterns: ${VAR#pat}, ${VAR##pat}, ${VAR%pat}, ${VAR%%pat},
 * ${VAR/pat/repl}, ${VAR//pat/repl}. Unset variables expand to nothing.
 */
import { invalidParameter } from '../../errdefs/index.ts';
import { globSource } from '../../lib/glob.ts';

export type Env = Map<string, string>;

/** One word: quotes and escapes removed, variables expanded. */
export function processWord(word: string, env: Env, escape = '\\'): string {
  return new Lexer(word, env, escape).words(false).join('');
}

/** Several words split on unquoted white space (EXPOSE, VOLUME, USER … in shell form). */
export function processWords(text: string, env: Env, escape = '\\'): string[] {
  return new Lexer(text, env, escape).words(true);
}

class Lexer {
  private i = 0;
  private readonly s: string;
  private readonly env: Env;
  private readonly esc: string;

  constructor(s: string, env: Env, esc: string) {
    this.s = s;
    this.env = env;
    this.esc = esc;
  }

  words(split: boolean): string[] {
    const out: string[] = [];
    let cur = '';
    let started = false;
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (split && /\s/.test(c)) {
        if (started) out.push(cur);
        cur = '';
        started = false;
        this.i++;
        continue;
      }
      started = true;
      if (c === this.esc) {
        this.i++;
        if (this.i < this.s.length) cur += this.s[this.i++];
        else cur += c;
      } else if (c === "'") {
        cur += this.single();
      } else if (c === '"') {
        cur += this.double();
      } else if (c === '$') {
        cur += this.variable();
      } else {
        cur += c;
        this.i++;
      }
    }
    if (started || !split) out.push(cur);
    return out;
  }

  private single(): string {
    this.i++;
    const end = this.s.indexOf("'", this.i);
    if (end < 0) throw invalidParameter(`unexpected end of statement while looking for matching single-quote`);
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }

  private double(): string {
    this.i++;
    let v = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '"') {
        this.i++;
        return v;
      }
      if (c === this.esc) {
        const n = this.s[this.i + 1];
        // Inside double quotes the escape keeps its meaning only before these.
        if (n === '"' || n === '$' || n === this.esc || n === '`') {
          v += n;
          this.i += 2;
          continue;
        }
        if (n === '\n') {
          this.i += 2;
          continue;
        }
        v += c;
        this.i++;
        continue;
      }
      if (c === '$') {
        v += this.variable();
        continue;
      }
      v += c;
      this.i++;
    }
    throw invalidParameter('unexpected end of statement while looking for matching double-quote');
  }

  private variable(): string {
    this.i++; // $
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const name = this.name();
      if (!name) throw invalidParameter(`bad substitution: \${${this.s.slice(this.i).split('}')[0]}}`);
      const t = this.s[this.i];
      if (t === '}') {
        this.i++;
        return this.env.get(name) ?? '';
      }
      let op = t;
      this.i++;
      if (op === '#' || op === '%' || op === '/') return this.trim(op, this.env.get(name) ?? '');
      if (op === ':') {
        op = `:${this.s[this.i]}`;
        this.i++;
      }
      const word = this.until('}');
      const value = this.env.get(name);
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      switch (op) {
        case ':-': return nonEmpty ? value! : word;
        case '-': return set ? value! : word;
        case ':+': return nonEmpty ? word : '';
        case '+': return set ? word : '';
        case ':?':
        case '?':
          if (op === ':?' ? nonEmpty : set) return value!;
          throw invalidParameter(`${name}: ${word || 'is not allowed to be unset'}`);
        default:
          throw invalidParameter(`unsupported modifier (${op}) in substitution`);
      }
    }
    const name = this.name();
    // A "$" with no name after it stays as it is.
    if (!name) return '$';
    return this.env.get(name) ?? '';
  }

  /** ${VAR#pat} and the like (the operator's first character read): the value trimmed or substituted. */
  private trim(op: string, value: string): string {
    const twice = this.s[this.i] === op;
    if (twice) this.i++;
    if (op === '/') {
      const pattern = this.until('/', '}');
      const replacement = this.s[this.i - 1] === '}' ? '' : this.until('}');
      const re = new RegExp(globSource(pattern, { paths: false }), 's');
      return value.replace(twice ? new RegExp(re.source, 'g') : re, () => replacement);
    }
    const pattern = this.until('}');
    const whole = new RegExp(`^${globSource(pattern, { paths: false })}$`, 's');
    const n = value.length;
    if (op === '#') {
      // shortest (#) or longest (##) prefix that matches
      for (let k = 0; k <= n; k++) {
        const i = twice ? n - k : k;
        if (whole.test(value.slice(0, i))) return value.slice(i);
      }
    } else {
      // shortest (%) or longest (%%) suffix that matches
      for (let k = 0; k <= n; k++) {
        const i = twice ? k : n - k;
        if (whole.test(value.slice(i))) return value.slice(0, i);
      }
    }
    return value;
  }

  private name(): string {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*|[0-9])/.exec(this.s.slice(this.i));
    if (!m) return '';
    this.i += m[1].length;
    return m[1];
  }

  /** The word of a ${…} modifier, itself processed, up to the closing brace (or `also`, a pattern's end). */
  private until(close: string, also?: string): string {
    let v = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === close || c === also) {
        this.i++;
        return v;
      }
      if (c === this.esc && this.i + 1 < this.s.length) {
        v += this.s[this.i + 1];
        this.i += 2;
      } else if (c === '$') {
        v += this.variable();
      } else if (c === "'") {
        v += this.single();
      } else if (c === '"') {
        v += this.double();
      } else {
        v += c;
        this.i++;
      }
    }
    throw invalidParameter(`syntax error: missing '}'`);
  }
}

