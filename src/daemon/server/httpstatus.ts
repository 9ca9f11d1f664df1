/** The only place where error kinds become HTTP statuses (moby's httpstatus.FromError). */
import { kindOf, type ErrorKind } from '../../errdefs/index.ts';

const STATUS: Record<ErrorKind, number> = {
  NotFound: 404,
  InvalidParameter: 400,
  Conflict: 409,
  NotModified: 304,
  Unavailable: 503,
  Forbidden: 403,
  Unauthorized: 401,
  System: 500,
  Cancelled: 499,
  NotImplemented: 501,
};

export function statusFromError(err: unknown): number {
  const kind = kindOf(err);
  return kind ? STATUS[kind] : 500;
}
