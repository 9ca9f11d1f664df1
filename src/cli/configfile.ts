/**
 * The CLI's config file, `<config dir>/config.json` (docker's `~/.docker/config.json` layout):
 * registry credentials (`auths`, `credsStore`, `credHelpers`), `detachKeys` and
 * `currentContext`. Each writer changes its own keys and keeps every other one; the file is
 * replaced atomically, mode 0600, as it may hold credentials.
 */
import { readFileSync, mkdirSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; email?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  currentContext?: string;
  [k: string]: unknown;
}

export function configPath(configDir: string): string {
  return join(configDir, 'config.json');
}

/** The file's settings; none when it is missing or unreadable (docker starts from an empty one). */
export function readConfig(configDir: string): ConfigFile {
  try {
    const cfg: unknown = JSON.parse(readFileSync(configPath(configDir), 'utf8'));
    return cfg && typeof cfg === 'object' && !Array.isArray(cfg) ? (cfg as ConfigFile) : {};
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
