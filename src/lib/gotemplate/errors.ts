/**
 * The one error type of the template package. Messages follow Go's text/template wording,
 * e.g. `template: :1: function "foo" not defined` (parse) or
 * `template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type T` (exec).
 */
export class TemplateError extends Error {
  /** 'parse' for errors from parseTemplate, 'exec' for errors from execute. */
  readonly phase: 'parse' | 'exec';

  constructor(message: string, phase: 'parse' | 'exec' = 'exec') {
    super(message);
    this.name = 'TemplateError';
    this.phase = phase;
  }
}

/** The message of anything thrown, as Go would print an error value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
