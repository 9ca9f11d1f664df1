/**
 * Go text/template for TypeScript, as used by the docker CLI's `--format` flags.
 *
 *   const t = parseTemplate('{{.ID}}: {{.Repository}}', { funcs: dockerFuncs });
 *   t.execute({ ID: 'abc', Repository: 'nginx' }); // "abc: nginx"
 *
 * Data is plain JS: objects and Maps are Go maps (a missing key prints `<no value>`), arrays
 * slices, integral numbers ints, other numbers float64, null nil. Objects carrying the STRUCT
 * symbol (`{ [STRUCT]: 'TypeName', ... }`) and class instances behave like Go structs: an
 * unknown field is an exec error, and function-valued properties are methods.
 */

import { TemplateError } from './errors.ts';
import { executeTemplate } from './exec.ts';
import type { TemplateFunc } from './funcs.ts';
import { isBuiltin } from './funcs.ts';
import { parse } from './parser.ts';
import { dockerFuncs } from './docker.ts';

export { TemplateError } from './errors.ts';
export { STRUCT, LENIENT } from './values.ts';
export { withSignature } from './funcs.ts';
export type { FuncSignature, GoType } from './funcs.ts';
export {
  dockerFuncs,
  dockerHeaderFuncs,
  dockerPreFormat,
  expandEscapes,
  isTableFormat,
  tableFormatBody,
} from './docker.ts';
export { sprint, sprintf, sprintln } from './fmt.ts';

export interface TemplateOptions {
  /** Functions callable from the template, in addition to (and overriding) the builtins. */
  funcs?: Record<string, (...args: unknown[]) => unknown>;
  /** The template's name, as Go's template.New(name): it appears in error messages. */
  name?: string;
  /**
   * Go's Option("missingkey=error"): a missing map key is an exec error ("map has no entry
   * for key"), except in maps marked LENIENT.
   */
  missingKey?: 'default' | 'error';
}

export interface ExecuteOptions {
  /**
   * Replace functions for this execution (Go's Funcs on a parsed template), e.g. the docker
   * header functions for a table's header row. Names must have existed at parse time.
   */
  funcs?: Record<string, (...args: unknown[]) => unknown>;
}

export interface Template {
  /** Execute the top-level template. Throws TemplateError on exec errors. */
  execute(data: unknown, opts?: ExecuteOptions): string;
  /** Execute a template defined with {{define}} or {{block}}. */
  executeTemplate(name: string, data: unknown, opts?: ExecuteOptions): string;
  /** Names of all templates in this set, the top-level "" included. */
  readonly names: readonly string[];
}

/** Parse a template. Throws TemplateError on parse errors (`template: :1: ...`). */
export function parseTemplate(text: string, opts?: TemplateOptions): Template {
  const funcs: Record<string, TemplateFunc> = { ...(opts?.funcs ?? {}) };
  const hasFunction = (name: string): boolean =>
    (Object.hasOwn(funcs, name) && typeof funcs[name] === 'function') || isBuiltin(name);
  const parsed = parse(text, { hasFunction, parseName: opts?.name });
  const missingKeyError = opts?.missingKey === 'error';
  const run = (name: string, data: unknown, eopts?: ExecuteOptions): string => {
    const merged = eopts?.funcs ? { ...funcs, ...eopts.funcs } : funcs;
    return executeTemplate({ parsed, funcs: merged, missingKeyError }, name, data);
  };
  return {
    execute: (data, eopts) => run(parsed.parseName, data, eopts),
    executeTemplate: (name, data, eopts) => run(name, data, eopts),
    names: [...parsed.templates.keys()],
  };
}

/** parseTemplate with the docker CLI's functions (json, split, join, title, ...). */
export function parseDockerTemplate(text: string): Template {
  return parseTemplate(text, { funcs: dockerFuncs });
}

export function isTemplateError(e: unknown): e is TemplateError {
  return e instanceof TemplateError;
}
