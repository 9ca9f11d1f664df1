/**
 * `build --secret id=ID[,src=FILE|,env=VAR][,type=file|env]` as buildx reads it: a file's
 * content or an environment variable's value, for RUN --mount=type=secret. With neither src
 * nor env, the variable named ID is taken, else the file named ID (BuildKit's secrets
 * provider). The values travel to berthd in one header of Berth's own (X-Berth-Build-Secrets),
 * never in the query, the context or the image.
 */
import { readFileSync } from 'node:fs';
import { splitCsv } from '../../../lib/csv.ts';
import { StatusError } from '../../context.ts';

/** The secrets' values by id. */
export function readSecrets(specs: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const spec of specs) {
    let id = '';
    let src: string | undefined;
    let fromEnv: string | undefined;
    let type: string | undefined;
    for (const field of splitCsv(spec)) {
      const eq = field.indexOf('=');
      const key = eq < 0 ? field : field.slice(0, eq);
      const value = eq < 0 ? '' : field.slice(eq + 1);
      switch (key.toLowerCase()) {
        case 'id': id = value; break;
        case 'src': case 'source': src = value; break;
        case 'env': fromEnv = value; break;
        case 'type':
          if (value !== 'file' && value !== 'env') throw new StatusError(1, `ERROR: unsupported secret type "${value}"`);
          type = value;
          break;
        default: throw new StatusError(1, `ERROR: unexpected key '${key}' in '${field}'`);
      }
    }
    if (type === 'env' && fromEnv === undefined) {
      fromEnv = src;
      src = undefined;
    }
    if (!id) id = src ? src.slice(src.lastIndexOf('/') + 1) : (fromEnv ?? '');
    if (!id) throw new StatusError(1, `ERROR: invalid secret ${spec}: an id is required`);
    let value: Buffer;
    if (fromEnv !== undefined) {
      const v = env[fromEnv];
      if (v === undefined) throw new StatusError(1, `ERROR: secret ${id}: environment variable ${fromEnv} is not set`);
      value = Buffer.from(v);
    } else if (src === undefined && env[id] !== undefined) {
      value = Buffer.from(env[id]!);
    } else {
      const file = src ?? id;
      try {
        value = readFileSync(file);
      } catch (e) {
        throw new StatusError(1, `ERROR: failed to read secret ${id} from ${file}: ${(e as Error).message}`);
      }
    }
    out.set(id, value);
  }
  return out;
}

/** The header's value: base64 of `{"id": "base64 value", …}`. */
export function secretsHeader(secrets: Map<string, Buffer>): string | undefined {
  if (!secrets.size) return undefined;
  return Buffer.from(JSON.stringify(Object.fromEntries([...secrets].map(([k, v]) => [k, v.toString('base64')])))).toString('base64');
}
