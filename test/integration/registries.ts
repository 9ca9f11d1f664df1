/**
 * Registries for tests, on 127.0.0.1 only: Debian's reference registry (`docker-registry`)
 * and Berth's own (`berth registry serve`), each with its own port and storage directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

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
