/**
 * The distribution spec's error codes, as one table: code, HTTP status, message, description.
 * Every error the registry answers with comes from here, so clients (docker, skopeo, Berth)
 * can switch on `code`. The table is tested against the spec's list (errcode.test.ts).
 */

export interface ErrorCodeInfo {
  readonly status: number;
  readonly message: string;
  readonly description: string;
}

export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry', description: 'This error may be returned when a blob is unknown to the registry in a specified repository. This can be returned with a standard get or if a manifest references an unknown layer during upload.' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid', description: 'The blob upload encountered an error and can no longer proceed.' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry', description: 'If a blob upload has been cancelled or was never started, this error code may be returned.' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content', description: 'When a blob is uploaded, the registry will check that the content matches the digest provided by the client. The error may include a detail structure with the key "digest", including the invalid digest string.' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry', description: 'This error may be returned when a manifest blob is unknown to the registry.' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid', description: 'During upload, manifests undergo several checks ensuring validity. If those checks fail, this error may be returned, unless a more specific error is included. The detail will contain information the failed validation.' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown', description: 'This error is returned when the manifest, identified by name and tag is unknown to the repository.' },
  NAME_INVALID: { status: 400, message: 'invalid repository name', description: 'Invalid repository name encountered either during manifest validation or any API operation.' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry', description: 'This is returned if the name used during an operation is unknown to the registry.' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length', description: 'When a layer is uploaded, the provided size will be checked against the uploaded content. If they do not match, this error will be returned.' },
  UNAUTHORIZED: { status: 401, message: 'authentication required', description: 'The access controller was unable to authenticate the client. Often this will be accompanied by a Www-Authenticate HTTP response header indicating how to authenticate.' },
  DENIED: { status: 403, message: 'requested access to the resource is denied', description: 'The access controller denied access for the operation on a resource.' },
  UNSUPPORTED: { status: 405, message: 'The operation is unsupported.', description: 'The operation was unsupported due to a missing implementation or invalid set of parameters.' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests', description: 'Returned when a client attempts to contact a service too many times.' },
  // Codes distribution adds beyond the spec's list; clients know them too.
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested', description: 'Returned when the "n" parameter (number of results to return) is not an integer, or "n" is negative.' },
  RANGE_INVALID: { status: 416, message: 'invalid content range', description: 'When a layer is uploaded, the provided range is checked against the uploaded chunk. This error is returned if the range is out of order.' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI', description: 'During a manifest upload, if the tag in the manifest does not match the uri tag, this error will be returned.' },
  UNKNOWN: { status: 500, message: 'unknown error', description: 'Generic error returned when the error does not have an API classification.' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A registry error: a code from the table, an optional message override and detail. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  /** Extra response headers (WWW-Authenticate for UNAUTHORIZED). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, detail?: unknown, headers: Record<string, string> = {}) {
    super(message ?? ERROR_CODES[code].message);
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export const registryError = (code: ErrorCode, message?: string, detail?: unknown): RegistryError => new RegistryError(code, message, detail);

/** The spec's error body: `{"errors":[{"code","message","detail"}]}`. */
export function errorBody(errors: RegistryError[]): string {
  return JSON.stringify({
    errors: errors.map((e) => ({ code: e.code, message: e.message, ...(e.detail !== undefined ? { detail: e.detail } : {}) })),
  });
}
