/**
 * Registry credentials in the CLI config file (~/.berth/config.json, mode 0600), in docker's
 * `auths` format: { "auths": { "<server>": { "auth": base64("user:password") } } }.
 * Docker Hub's key is "https://index.docker.io/v1/", as in docker's config.
 */
import { readFileSync, mkdirSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from './context.ts';
import { parseNormalizedNamed } from '../lib/reference.ts';

export const HUB_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [k: string]: unknown;
}

function path(ctx: CliContext): string {
  return join(ctx.configDir, 'config.json');
}

function load(ctx: CliContext): ConfigFile {
  try {
    return JSON.parse(readFileSync(path(ctx), 'utf8')) as ConfigFile;
  } catch {
    return {};
  }
}

function save(ctx: CliContext, cfg: ConfigFile): void {
  mkdirSync(ctx.configDir, { recursive: true, mode: 0o700 });
  const tmp = `${path(ctx)}.tmp`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path(ctx));
}

/** The config key of a server given as typed ("localhost:5000", "https://…", or nothing for Hub). */
export function serverKey(server: string | undefined): string {
  if (!server) return HUB_KEY;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' ? HUB_KEY : host;
}

export function keyForImage(image: string): string {
  try {
    const d = parseNormalizedNamed(image).domain;
    return d === 'docker.io' ? HUB_KEY : d;
  } catch {
    return HUB_KEY;
  }
}

export function storeCredentials(ctx: CliContext, key: string, username: string, password: string): void {
  const cfg = load(ctx);
  cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  save(ctx, cfg);
}

/** Removes stored credentials; false if there were none. */
export function eraseCredentials(ctx: CliContext, key: string): boolean {
  const cfg = load(ctx);
  if (!cfg.auths?.[key]) return false;
  delete cfg.auths[key];
  save(ctx, cfg);
  return true;
}

/** The X-Registry-Auth header value for an image (base64url JSON; "e30=" when none). */
export function registryAuthHeader(ctx: CliContext, image: string): string {
  const key = keyForImage(image);
  const entry = load(ctx).auths?.[key];
  if (!entry?.auth) return 'e30=';
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  return Buffer.from(JSON.stringify({ username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key })).toString('base64url');
}
