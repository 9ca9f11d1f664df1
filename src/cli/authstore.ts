/**
 * Registry credentials in the CLI config file (~/.berth/config.json, mode 0600), in docker's
 * `auths` format: { "auths": { "<server>": { "auth": base64("user:password") } } }, or in a
 * credential helper as docker keeps them: `credsStore` names the helper for every registry,
 * `credHelpers` one per registry host, and each is the program `docker-credential-<name>`
 * speaking docker-credential-helpers' protocol (get, store, erase, list; JSON on stdin and
 * stdout). Docker Hub's key is "https://index.docker.io/v1/", as in docker's config.
 */
import { childProcess } from './lazy.ts';
import { readConfig, writeConfig, type ConfigFile } from './configfile.ts';
import type { CliContext } from './context.ts';
import { StatusError } from './context.ts';
import { parseNormalizedNamed } from '../lib/reference.ts';

export const HUB_KEY = 'https://index.docker.io/v1/';

/** docker's AuthConfig, as the X-Registry-Auth and X-Registry-Config headers carry it. */
export interface AuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

function load(ctx: CliContext): ConfigFile {
  return readConfig(ctx.configDir);
}

function save(ctx: CliContext, cfg: ConfigFile): void {
  writeConfig(ctx.configDir, cfg);
}

/** The config key of a server given as typed ("localhost:5000", "https://…", or nothing for Hub). */
export function serverKey(server: string | undefined): string {
  if (!server) return HUB_KEY;
  const host = hostOf(server);
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' ? HUB_KEY : host;
}

/** docker's ConvertToHostname: a key without its scheme and path. */
function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

export function keyForImage(image: string): string {
  try {
    const d = parseNormalizedNamed(image).domain;
    return d === 'docker.io' ? HUB_KEY : d;
  } catch {
    return HUB_KEY;
  }
}

/** The helper that keeps this server's credentials: its own in credHelpers, else credsStore. */
function helperFor(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[hostOf(key)] || cfg.credsStore || undefined;
}

/** Runs `docker-credential-<helper> <action>` with `input`; its stdout, or its failure as docker words it. */
function runHelper(helper: string, action: 'get' | 'store' | 'erase' | 'list', input: string): { ok: boolean; out: string } {
  const program = `docker-credential-${helper}`;
  const r = childProcess().spawnSync(program, [action], { input, encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new StatusError(1, `error getting credentials - err: ${missing ? `exec: "${program}": executable file not found in $PATH` : r.error.message}, out: \`\``);
  }
  return { ok: r.status === 0, out: r.stdout.trim() };
}

/** A helper's answer for `key`; undefined when it holds none. */
function helperGet(helper: string, key: string): AuthConfig | undefined {
  const r = runHelper(helper, 'get', key);
  if (!r.ok) {
    if (/credentials not found/i.test(r.out)) return undefined;
    throw new StatusError(1, `error getting credentials - err: exit status 1, out: \`${r.out}\``);
  }
  const got = JSON.parse(r.out) as { Username?: string; Secret?: string };
  if (!got.Secret && !got.Username) return undefined;
  // An identity token is stored under the user name "<token>" (docker's convention).
  return got.Username === '<token>' ? { identitytoken: got.Secret ?? '', serveraddress: key } : { username: got.Username ?? '', password: got.Secret ?? '', serveraddress: key };
}

export function storeCredentials(ctx: CliContext, key: string, username: string, password: string): void {
  const cfg = load(ctx);
  const helper = helperFor(cfg, key);
  if (helper) {
    const r = runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: username, Secret: password }));
    if (!r.ok) throw new StatusError(1, `Error saving credentials: error storing credentials - err: exit status 1, out: \`${r.out}\``);
    // The file keeps the server's name only, as docker's does with a helper.
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
  } else {
    cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  }
  save(ctx, cfg);
}

/** Removes stored credentials; false if there were none. */
export function eraseCredentials(ctx: CliContext, key: string): boolean {
  const cfg = load(ctx);
  const helper = helperFor(cfg, key);
  let had = !!cfg.auths?.[key];
  if (helper) {
    had = helperGet(helper, key) !== undefined || had;
    if (had) runHelper(helper, 'erase', key);
  }
  if (!had) return false;
  if (cfg.auths?.[key]) {
    delete cfg.auths[key];
    save(ctx, cfg);
  }
  return true;
}

function fromFile(cfg: ConfigFile, key: string): AuthConfig | undefined {
  const entry = cfg.auths?.[key];
  if (entry?.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: key };
  if (!entry?.auth) return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  return { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key };
}

/** The credentials for one server key: its helper's, else the file's. */
function credentialsFor(cfg: ConfigFile, key: string): AuthConfig | undefined {
  const helper = helperFor(cfg, key);
  return (helper ? helperGet(helper, key) : undefined) ?? fromFile(cfg, key);
}

/** The X-Registry-Auth header value for an image (base64url JSON; "e30=" when none). */
export function registryAuthHeader(ctx: CliContext, image: string): string {
  const key = keyForImage(image);
  const c = credentialsFor(load(ctx), key);
  return c ? Buffer.from(JSON.stringify(c)).toString('base64url') : 'e30=';
}

/**
 * X-Registry-Config for a build: every credential the config holds, by server (docker's
 * GetAllCredentials: the file's, the default helper's list, then each registry's own helper).
 * Undefined when there are none.
 */
export function registryConfigHeader(ctx: CliContext): string | undefined {
  const all = allCredentials(ctx);
  return Object.keys(all).length ? Buffer.from(JSON.stringify(all)).toString('base64url') : undefined;
}

/** Every credential the config holds, by server (docker's GetAllCredentials). */
export function allCredentials(ctx: CliContext): Record<string, AuthConfig> {
  const cfg = load(ctx);
  const all: Record<string, AuthConfig> = {};
  for (const key of Object.keys(cfg.auths ?? {})) {
    const c = cfg.credsStore ? undefined : fromFile(cfg, key);
    if (c) all[key] = c;
  }
  if (cfg.credsStore) {
    const listed = runHelper(cfg.credsStore, 'list', '');
    const servers = listed.ok && listed.out ? Object.keys(JSON.parse(listed.out) as Record<string, string>) : [];
    for (const key of new Set([...servers, ...Object.keys(cfg.auths ?? {})])) {
      const c = helperGet(cfg.credsStore, key) ?? fromFile(cfg, key);
      if (c) all[key] = c;
    }
  }
  for (const host of Object.keys(cfg.credHelpers ?? {})) {
    const c = helperGet(cfg.credHelpers![host]!, host);
    if (c) all[host] = c;
  }
  return all;
}
