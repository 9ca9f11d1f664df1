/**
 * One vocabulary of error kinds for the whole engine.
 *
 * Code that knows what a failure means attaches a kind here; the API server maps kinds to
 * HTTP statuses in exactly one place (daemon/server/httpstatus.ts) and the client maps the
 * statuses back. Kinds are found by walking `cause` and checking a Symbol.for brand, never by
 * `instanceof` (bundles may hold two copies of this module) or by message text.
 */

export type ErrorKind =
  | 'NotFound'
  | 'InvalidParameter'
  | 'Conflict'
  | 'NotModified'
  | 'Unavailable'
  | 'Forbidden'
  | 'Unauthorized'
  | 'System'
  | 'Cancelled'
  | 'NotImplemented';

const BRAND = Symbol.for('berth.errdefs.EngineError');

export class EngineError extends Error {
  readonly kind: ErrorKind;
  /** Exit code a CLI should use for this failure when it has a more precise one than 125. */
  readonly exitCode: number | undefined;
  readonly [BRAND] = true;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = `EngineError(${kind})`;
    this.kind = kind;
    this.exitCode = options?.exitCode;
  }
}

function isBranded(e: unknown): e is EngineError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** The first kind found walking the cause chain, or undefined. */
export function kindOf(err: unknown): ErrorKind | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 32; depth++) {
    if (isBranded(e)) return e.kind;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The first explicit exit code found walking the cause chain. */
export function exitCodeOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 32; depth++) {
    if (isBranded(e) && e.exitCode !== undefined) return e.exitCode;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Go's errors.Wrapf(err, prefix): the message prefixed, the kind (so the status) and exit code kept. */
export function wrapError(err: unknown, prefix: string): EngineError {
  return new EngineError(kindOf(err) ?? 'System', `${prefix}: ${messageOf(err)}`, { cause: err, ...(exitCodeOf(err) !== undefined ? { exitCode: exitCodeOf(err) } : {}) });
}

export const notFound = (msg: string, cause?: unknown) => new EngineError('NotFound', msg, { cause });
export const invalidParameter = (msg: string, cause?: unknown) => new EngineError('InvalidParameter', msg, { cause });
export const conflict = (msg: string, cause?: unknown) => new EngineError('Conflict', msg, { cause });
export const notModified = (msg: string) => new EngineError('NotModified', msg);
export const unavailable = (msg: string, cause?: unknown) => new EngineError('Unavailable', msg, { cause });
export const forbidden = (msg: string, cause?: unknown) => new EngineError('Forbidden', msg, { cause });
export const unauthorized = (msg: string, cause?: unknown) => new EngineError('Unauthorized', msg, { cause });
export const system = (msg: string, cause?: unknown) => new EngineError('System', msg, { cause });
export const cancelled = (msg: string, cause?: unknown) => new EngineError('Cancelled', msg, { cause });
export const notImplemented = (msg: string) => new EngineError('NotImplemented', msg);

export const isNotFound = (e: unknown) => kindOf(e) === 'NotFound';
export const isInvalidParameter = (e: unknown) => kindOf(e) === 'InvalidParameter';
export const isConflict = (e: unknown) => kindOf(e) === 'Conflict';
export const isNotModified = (e: unknown) => kindOf(e) === 'NotModified';
