/**
 * Registries for tests, on 127.0.0.1 only: Debian's reference registry (`docker-registry`)
 * and Berth's own (`berth registry serve`), each with its own port and storage directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface RunningRegistry {
  url: string;
  host: string;
  root: string;
  stop(): Promise<void>;
}

async function waitUp(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`registry exited: ${log()}`);
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200 || r.status === 401) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry did not start: ${log()}`);
}

export const HAS_DOCKER_REGISTRY = existsSync('/usr/bin/docker-registry');

/** Debian's docker-registry (distribution 2.8) with filesystem storage; optional htpasswd file. */
export async function startDockerRegistry(opts: { htpasswd?: string } = {}): Promise<RunningRegistry> {
  const root = mkdtempSync('/tmp/bt-dreg-');
  const port = await freePort();
  const auth = opts.htpasswd ? `auth:\n  htpasswd:\n    realm: test\n    path: ${opts.htpasswd}\n` : '';
  writeFileSync(join(root, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  let out = '';
  const proc = spawn('/usr/bin/docker-registry', ['serve', join(root, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, proc, () => out);
  return {
    url,
    host: `127.0.0.1:${port}`,
    root,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface BerthRegistryOptions {
  htpasswd?: string;
  auth?: 'htpasswd' | 'token';
  tls?: { cert: string; key: string };
  readOnly?: boolean;
  root?: string;
  /** A fixed port (to restart a registry where clients expect it); default: a free one. */
  port?: number;
}

/** `berth registry serve` as its own process, as a user runs it; `log()` is what it printed. */
export async function startBerthRegistry(opts: BerthRegistryOptions = {}): Promise<RunningRegistry & { log(): string }> {
  const own = !opts.root;
  const root = opts.root ?? mkdtempSync('/tmp/bt-breg-');
  const port = opts.port ?? (await freePort());
  const args = [join(ROOT, 'dist', 'berth.js'), 'registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', join(root, 'data')];
  if (opts.htpasswd) args.push('--htpasswd', opts.htpasswd);
  if (opts.auth) args.push('--auth', opts.auth);
  if (opts.tls) args.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  if (opts.readOnly) args.push('--read-only');
  let out = '';
  const proc = spawn(join(ROOT, 'node_modules', 'node', 'bin', 'node'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  if (opts.tls) {
    // fetch() would not trust the test certificate: wait for the startup line instead.
    for (let i = 0; i < 100 && !out.includes('listening on'); i++) {
      if (proc.exitCode !== null) throw new Error(`registry exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } else {
    await waitUp(url, proc, () => out);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    root,
    log: () => out,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
      }
      if (own) rmSync(root, { recursive: true, force: true });
    },
  };
}
