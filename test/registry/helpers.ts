/** Shared set-up for the registry server tests: a server on a free loopback port and a temp root. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RegistryServer, type RegistryOptions } from '../../src/registry/server.ts';

export interface TestRegistry {
  server: RegistryServer;
  url: string;
  root: string;
  stop(): Promise<void>;
}

export async function startRegistry(opts: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const root = opts.root ?? mkdtempSync('/tmp/breg-');
  const server = new RegistryServer({ addr: '127.0.0.1:0', ...opts, root });
  const addr = await server.listen();
  return {
    server,
    root,
    url: `${server.scheme}://127.0.0.1:${addr.port}`,
    async stop() {
      await server.close();
      if (!opts.root) rmSync(root, { recursive: true, force: true });
    },
  };
}

export const digestOf = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Pushes a blob in one POST, named by `alg` (sha256 or sha512); returns its digest. */
export async function pushBlob(url: string, repo: string, data: Buffer, headers: Record<string, string> = {}, alg: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const d = `${alg}:` + createHash(alg).update(data).digest('hex');
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${d}`, { method: 'POST', body: new Uint8Array(data), headers });
  if (res.status !== 201) throw new Error(`push blob: HTTP ${res.status} ${await res.text()}`);
  return d;
}

/** An image manifest (schema2 or OCI) over a config and layers already pushed. */
export function imageManifest(mediaType: string, config: Buffer, layers: Buffer[]): Buffer {
  const oci = mediaType.includes('oci');
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', digest: digestOf(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf(l), size: l.length })),
  }));
}

/** Pushes a config, layers and a manifest; returns the manifest digest. */
export async function pushImage(url: string, repo: string, tag: string, mediaType: string, seed: string, headers: Record<string, string> = {}): Promise<{ digest: string; manifest: Buffer; layers: Buffer[]; config: Buffer }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layers = [Buffer.from(`layer-a-${seed}`), Buffer.from(`layer-b-${seed}`)];
  for (const b of [config, ...layers]) await pushBlob(url, repo, b, headers);
  const manifest = imageManifest(mediaType, config, layers);
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': mediaType, ...headers } });
  if (res.status !== 201) throw new Error(`push manifest: HTTP ${res.status} ${await res.text()}`);
  return { digest: res.headers.get('docker-content-digest')!, manifest, layers, config };
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** A self-signed certificate for 127.0.0.1 (also its own CA), made with openssl. */
export function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert, key };
}
