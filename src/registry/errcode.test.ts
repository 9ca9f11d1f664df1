import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, RegistryError, errorBody } from './errcode.ts';

// The distribution spec's error code table (OCI distribution-spec, "Error Codes").
const SPEC = ['BLOB_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN', 'DIGEST_INVALID', 'MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID', 'MANIFEST_UNKNOWN', 'NAME_INVALID', 'NAME_UNKNOWN', 'SIZE_INVALID', 'UNAUTHORIZED', 'DENIED', 'UNSUPPORTED', 'TOOMANYREQUESTS'];

test('every spec error code is in the table, with a status, message and description', () => {
  for (const code of SPEC) {
    const info = ERROR_CODES[code as keyof typeof ERROR_CODES];
    assert.ok(info, code);
    assert.ok(info.status >= 400 && info.status < 600, code);
    assert.ok(info.message.length > 0 && info.description.length > 0, code);
  }
  assert.equal(ERROR_CODES.BLOB_UNKNOWN.status, 404);
  assert.equal(ERROR_CODES.UNAUTHORIZED.status, 401);
  assert.equal(ERROR_CODES.DENIED.status, 403);
  assert.equal(ERROR_CODES.UNSUPPORTED.status, 405);
  assert.equal(ERROR_CODES.TOOMANYREQUESTS.status, 429);
  // Messages are what clients print; keep them unique so a message identifies its code.
  const messages = Object.values(ERROR_CODES).map((i) => i.message);
  assert.equal(new Set(messages).size, messages.length);
});

test('the error body has the spec shape', () => {
  const body = JSON.parse(errorBody([new RegistryError('BLOB_UNKNOWN', undefined, { digest: 'sha256:x' })]));
  assert.deepEqual(body, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: 'sha256:x' } }] });
  assert.equal(new RegistryError('NAME_INVALID').status, 400);
});
