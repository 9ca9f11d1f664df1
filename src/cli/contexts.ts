/**
 * Contexts: named daemon endpoints the CLI switches between (`berth context`, `--context`,
 * BERTH_CONTEXT / DOCKER_CONTEXT), stored exactly as the docker CLI stores them, so that both
 * CLIs share them when their config directories are the same:
 *
 *   <config dir>/contexts/meta/<sha256 of the name>/meta.json
 *       {"Name":"web","Metadata":{"Description":"…"},"Endpoints":{"docker":{"Host":"tcp://…","SkipTLSVerify":false}}}
 *   <config dir>/contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem
 *   <config dir>/config.json   "currentContext": "web"   (absent for "default")
 *
 * "default" is never stored: it is the endpoint the flags and the environment give (-H,
 * BERTH_HOST, DOCKER_HOST, else Berth's socket). Files are replaced atomically (temp, rename).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientTls } from '../client/dial.ts';
import { StatusError } from './context.ts';
import { readConfig, writeConfig } from './configfile.ts';
import { pathErrorText } from '../lib/oserror.ts';

export const DEFAULT_CONTEXT = 'default';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const TLS_FILES = ['ca.pem', 'cert.pem', 'key.pem'] as const;
export type TlsFile = (typeof TLS_FILES)[number];

export interface DockerEndpoint {
  Host?: string;
  SkipTLSVerify: boolean;
}

export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string; [k: string]: unknown };
  Endpoints: { docker?: DockerEndpoint; [k: string]: unknown };
}

export interface StoredContext {
  meta: ContextMeta;
  /** The docker endpoint's TLS material, by file name. */
  tls: Partial<Record<TlsFile, Buffer>>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** docker's store.ValidateContextName, for names being created or imported. */
export function validateNewName(name: string): void {
  if (!name) throw new StatusError(1, 'context name cannot be empty');
  if (name === DEFAULT_CONTEXT) throw new StatusError(1, `"${DEFAULT_CONTEXT}" is a reserved context name`);
  if (!NAME.test(name)) throw new StatusError(1, `context name ${JSON.stringify(name)} is invalid, names are validated against regexp ${JSON.stringify(NAME.source)}`);
}

function idOf(name: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(name).digest('hex');
}

export function metaDir(configDir: string, name: string): string {
  return join(configDir, 'contexts', 'meta', idOf(name));
}

export function tlsDir(configDir: string, name: string): string {
  return join(configDir, 'contexts', 'tls', idOf(name));
}

export class ContextNotFound extends StatusError {}

function parseMeta(text: string, file: string): ContextMeta {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StatusError(1, `parsing ${file}: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || typeof (v as { Name?: unknown }).Name !== 'string') throw new StatusError(1, `parsing ${file}: not a context's metadata`);
  const m = v as Partial<ContextMeta> & { Name: string };
  const docker = m.Endpoints?.docker as Partial<DockerEndpoint> | undefined;
  return {
    Name: m.Name,
    Metadata: m.Metadata && typeof m.Metadata === 'object' ? m.Metadata : {},
    Endpoints: {
      ...(m.Endpoints ?? {}),
      ...(docker ? { docker: { ...(typeof docker.Host === 'string' ? { Host: docker.Host } : {}), SkipTLSVerify: docker.SkipTLSVerify === true } } : {}),
    },
  };
}

function readTls(dir: string): StoredContext['tls'] {
  const tls: StoredContext['tls'] = {};
  for (const f of TLS_FILES) {
    try {
      tls[f] = readFileSync(join(dir, 'docker', f));
    } catch {
      // absent: that part of the material is not set
    }
  }
  return tls;
}

/** A stored context, or docker's "context not found" naming the file looked for. */
export function getContext(configDir: string, name: string): StoredContext {
  const file = join(metaDir(configDir, name), 'meta.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ContextNotFound(1, `context ${JSON.stringify(name)}: context not found: ${pathErrorText('open', file, e)}`);
  }
  return { meta: parseMeta(text, file), tls: readTls(tlsDir(configDir, name)) };
}

export function contextExists(configDir: string, name: string): boolean {
  return existsSync(join(metaDir(configDir, name), 'meta.json'));
}

/** Every stored context (the default one is not stored). */
export function listContexts(configDir: string): StoredContext[] {
  const root = join(configDir, 'contexts', 'meta');
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  const out: StoredContext[] = [];
  for (const id of ids) {
    const file = join(root, id, 'meta.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a directory without metadata is not a context (docker skips it too)
    }
    const meta = parseMeta(text, file);
    out.push({ meta, tls: readTls(join(configDir, 'contexts', 'tls', id)) });
  }
  return out;
}

/** Writes (or replaces) a context: its TLS material first, then its metadata, each swapped in whole. */
export function writeContext(configDir: string, c: StoredContext): void {
  const meta = metaDir(configDir, c.meta.Name);
  const tls = tlsDir(configDir, c.meta.Name);
  const files = TLS_FILES.filter((f) => c.tls[f]);
  rmSync(`${tls}.tmp`, { recursive: true, force: true });
  if (files.length) {
    mkdirSync(join(`${tls}.tmp`, 'docker'), { recursive: true, mode: 0o700 });
    for (const f of files) writeFileSync(join(`${tls}.tmp`, 'docker', f), c.tls[f]!, { mode: 0o600 });
    rmSync(tls, { recursive: true, force: true });
    renameSync(`${tls}.tmp`, tls);
  } else {
    rmSync(tls, { recursive: true, force: true });
  }
  mkdirSync(meta, { recursive: true, mode: 0o755 });
  writeFileSync(join(meta, 'meta.json.tmp'), JSON.stringify(c.meta), { mode: 0o644 });
  renameSync(join(meta, 'meta.json.tmp'), join(meta, 'meta.json'));
}

export function removeContext(configDir: string, name: string): void {
  rmSync(metaDir(configDir, name), { recursive: true, force: true });
  rmSync(tlsDir(configDir, name), { recursive: true, force: true });
}

/** The variable naming a host that overrides any context, if one is set. */
export function hostVariable(): string | undefined {
  if (process.env.BERTH_HOST) return 'BERTH_HOST';
  if (process.env.DOCKER_HOST) return 'DOCKER_HOST';
  return undefined;
}

/**
 * The context a command uses, in docker's order: --context; "default" when -H or a host
 * variable is given; BERTH_CONTEXT / DOCKER_CONTEXT; config.json's currentContext; "default".
 */
export function currentContextName(configDir: string, flag: string | undefined, hosts: string[], stored: () => string | undefined = () => readConfig(configDir).currentContext): string {
  if (flag) return flag;
  if (hosts.length || hostVariable()) return DEFAULT_CONTEXT;
  const env = process.env.BERTH_CONTEXT || process.env.DOCKER_CONTEXT;
  if (env) return env;
  return stored() || DEFAULT_CONTEXT;
}

export function setCurrentContext(configDir: string, name: string): void {
  const cfg = readConfig(configDir);
  if (name === DEFAULT_CONTEXT) delete cfg.currentContext;
  else cfg.currentContext = name;
  writeConfig(configDir, cfg);
}

/** How a stored context's docker endpoint is reached: its host, and TLS when it has material or skips verification. */
export function contextEndpoint(c: StoredContext): { host: string; tls?: ClientTls } {
  const ep = c.meta.Endpoints.docker;
  const host = ep?.Host || DEFAULT_HOST;
  const hasTls = TLS_FILES.some((f) => c.tls[f]);
  if (!hasTls && !ep?.SkipTLSVerify) return { host };
  return {
    host,
    tls: {
      verify: !ep?.SkipTLSVerify,
      ...(c.tls['ca.pem'] ? { ca: c.tls['ca.pem'] } : {}),
      ...(c.tls['cert.pem'] ? { cert: c.tls['cert.pem'] } : {}),
      ...(c.tls['key.pem'] ? { key: c.tls['key.pem'] } : {}),
    },
  };
}
