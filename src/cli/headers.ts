/**
 * The HTTP headers the CLI adds to every request: the config file's `HttpHeaders`, or (replacing
 * them all, as docker's CLI does) those of BERTH_CUSTOM_HEADERS / DOCKER_CUSTOM_HEADERS, a CSV
 * list of key=value pairs. Headers the client sets itself win over them (docker's rule), so
 * these cannot change how a request is framed or which API version it asks for.
 */
import { splitCsv } from '../lib/csv.ts';
import { StatusError } from './context.ts';

/** RFC 7230's token: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Go's http.CanonicalHeaderKey: "x-foo-bar" → "X-Foo-Bar"; a name that is not a token stays as it is. */
export function canonicalHeaderKey(k: string): string {
  if (!TOKEN.test(k)) return k;
  return k.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** What the client frames itself; a custom value for these would break the exchange. */
const OWN = new Set(['Host', 'User-Agent', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Content-Type']);

function checked(headers: Record<string, string>, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = canonicalHeaderKey(k.trim());
    if (!TOKEN.test(key)) throw new StatusError(1, `invalid header field name ${JSON.stringify(k)} in ${source}`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) throw new StatusError(1, `invalid header field value for ${JSON.stringify(key)} in ${source}`);
    // Go writes a header's value without the white space around it.
    if (!OWN.has(key)) out[key] = v.replace(/^[ \t]+|[ \t]+$/g, '');
  }
  return out;
}

export function customHeaders(fromConfig: Record<string, string> | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const name = env.BERTH_CUSTOM_HEADERS ? 'BERTH_CUSTOM_HEADERS' : 'DOCKER_CUSTOM_HEADERS';
  const value = env[name];
  if (!value) return fromConfig ? checked(fromConfig, 'the config file\'s HttpHeaders') : {};
  let fields: string[];
  try {
    // encoding/csv reads one record: the first line.
    fields = splitCsv(value.split(/\r?\n/, 1)[0]!);
  } catch {
    throw new StatusError(1, `failed to parse custom headers from ${name} environment variable: value must be formatted as comma-separated key=value pairs`);
  }
  const set: Record<string, string> = {};
  for (const kv of fields) {
    const eq = kv.indexOf('=');
    const k = (eq < 0 ? kv : kv.slice(0, eq)).trim();
    if (k === '') throw new StatusError(1, `failed to set custom headers from ${name} environment variable: value contains a key=value pair with an empty key: '${kv}'`);
    if (eq < 0) throw new StatusError(1, `failed to set custom headers from ${name} environment variable: missing "=" in key=value pair: '${kv}'`);
    set[canonicalHeaderKey(k)] = kv.slice(eq + 1);
  }
  if (Object.keys(set).length === 0) return fromConfig ? checked(fromConfig, 'the config file\'s HttpHeaders') : {};
  return checked(set, name);
}
