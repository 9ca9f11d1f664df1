/**
 * The CLI's config file, `<config dir>/config.json` (docker's `~/.docker/config.json` layout):
 * registry credentials (`auths`, `credsStore`, `credHelpers`), `detachKeys`, `currentContext`,
 * the listings' default formats (`psFormat`, `imagesFormat`, …), `HttpHeaders` sent with every
 * request, `proxies` given to containers and builds, and `pruneFilters`. Each writer changes
 * its own keys and keeps every other one; the file is replaced atomically, mode 0600, as it may
 * hold credentials.
 */
import { readFileSync, mkdirSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export interface ProxyConfig {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  ftpProxy?: string;
  allProxy?: string;
}

export interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; email?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  currentContext?: string;
  detachKeys?: string;
  HttpHeaders?: Record<string, string>;
  psFormat?: string;
  imagesFormat?: string;
  networksFormat?: string;
  pluginsFormat?: string;
  volumesFormat?: string;
  statsFormat?: string;
  proxies?: Record<string, ProxyConfig>;
  pruneFilters?: string[];
  cliPluginsExtraDirs?: string[];
  [k: string]: unknown;
}

export function configPath(configDir: string): string {
  return join(configDir, 'config.json');
}

type Shape = 'string' | 'strings' | 'stringMap' | 'proxies' | 'auths';

/** The settings read here, with the Go types docker's ConfigFile gives them (for its messages). */
const SHAPES: Record<string, [Shape, string]> = {
  auths: ['auths', 'map[string]types.AuthConfig'],
  credsStore: ['string', 'string'],
  currentContext: ['string', 'string'],
  detachKeys: ['string', 'string'],
  psFormat: ['string', 'string'],
  imagesFormat: ['string', 'string'],
  networksFormat: ['string', 'string'],
  pluginsFormat: ['string', 'string'],
  volumesFormat: ['string', 'string'],
  statsFormat: ['string', 'string'],
  credHelpers: ['stringMap', 'map[string]string'],
  HttpHeaders: ['stringMap', 'map[string]string'],
  pruneFilters: ['strings', '[]string'],
  cliPluginsExtraDirs: ['strings', '[]string'],
  proxies: ['proxies', 'map[string]configfile.ProxyConfig'],
};

const FOLDED = new Map(Object.keys(SHAPES).map((k) => [k.toLowerCase(), k]));

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

const isStringMap = (v: unknown) => jsonKind(v) === 'object' && Object.values(v as object).every((x) => typeof x === 'string');

function fits(shape: Shape, v: unknown): boolean {
  switch (shape) {
    case 'string': return typeof v === 'string';
    case 'strings': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'stringMap': return isStringMap(v);
    case 'proxies': return jsonKind(v) === 'object' && Object.values(v as object).every(isStringMap);
    case 'auths': return jsonKind(v) === 'object' && Object.values(v as object).every((x) => jsonKind(x) === 'object');
  }
}

/**
 * The file's settings and, when it could not be read whole, docker's warning. Like Go's
 * decoder, a setting of the wrong type is left out and the rest kept; a file that is not JSON
 * gives none (docker's CLI goes on with an empty one too).
 */
export function loadConfig(configDir: string): { cfg: ConfigFile; warning?: string } {
  const path = configPath(configDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { cfg: {} };
    return { cfg: {}, warning: `WARNING: Error loading config file: ${(e as Error).message}` };
  }
  if (text.trim() === '') return { cfg: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { cfg: {}, warning: `WARNING: Error parsing config file (${path}): ${(e as Error).message}` };
  }
  if (jsonKind(parsed) !== 'object') {
    return { cfg: {}, warning: `WARNING: Error parsing config file (${path}): json: cannot unmarshal ${jsonKind(parsed)} into Go value of type configfile.ConfigFile` };
  }
  // Go matches keys to fields without regard to case; a later key overrides an earlier one.
  const raw = parsed as Record<string, unknown>;
  const cfg: ConfigFile = {};
  let warning: string | undefined;
  for (const [key, v] of Object.entries(raw)) {
    const field = Object.hasOwn(SHAPES, key) ? key : FOLDED.get(key.toLowerCase());
    if (!field) {
      cfg[key] = v;
      continue;
    }
    const [shape, goType] = SHAPES[field]!;
    if (v === undefined || v === null || fits(shape, v)) {
      if (v !== null) cfg[field] = v;
      continue;
    }
    warning ??= `WARNING: Error parsing config file (${path}): json: cannot unmarshal ${jsonKind(v)} into Go struct field ConfigFile.${field} of type ${goType}`;
  }
  return warning ? { cfg, warning } : { cfg };
}

/**
 * The file as it is, for a writer that changes some keys and keeps the others (none when it is
 * missing or unreadable: docker starts from an empty one).
 */
export function readConfig(configDir: string): ConfigFile {
  try {
    const cfg: unknown = JSON.parse(readFileSync(configPath(configDir), 'utf8'));
    return jsonKind(cfg) === 'object' ? (cfg as ConfigFile) : {};
  } catch {
    return {};
  }
}

export function writeConfig(configDir: string, cfg: ConfigFile): void {
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const path = configPath(configDir);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
