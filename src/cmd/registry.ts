/**
 * Composition root of `berth registry`: reads flags and the optional JSON config, builds the
 * server, storage and access control, and handles signals. Loaded lazily by `berth`.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { Parsed } from '../cli/flags/spec.ts';
import type { RegistryCommandName } from '../cli/commands/registry/registry.ts';
import { RegistryServer, splitAddr, type AuthMode } from '../registry/server.ts';
import { RegistryStorage } from '../registry/storage/storage.ts';
import { collectGarbage } from '../registry/gc.ts';
import { htpasswdLine, parseHtpasswd } from '../registry/auth/htpasswd.ts';
import { writeFileAtomicSync } from '../lib/atomic.ts';
import { humanSize } from '../lib/units.ts';

interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

const DEFAULT_ROOT = '/var/lib/berth-registry';
const CONFIG_KEYS = ['addr', 'root', 'auth', 'htpasswd', 'token-realm', 'token-service', 'token-secret-file', 'tls-cert', 'tls-key', 'read-only'] as const;
type Config = Partial<Record<(typeof CONFIG_KEYS)[number], string | boolean>>;

class UsageError extends Error {}

function loadConfig(path: string | undefined): Config {
  if (!path) return {};
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`unable to configure the registry with ${path}: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`unable to configure the registry with ${path}: expected a JSON object`);
  for (const k of Object.keys(v)) if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new UsageError(`unable to configure the registry with ${path}: unknown key ${JSON.stringify(k)} (known: ${CONFIG_KEYS.join(', ')})`);
  return v as Config;
}

function str(flags: Record<string, unknown>, key: string, cfg: Config, cfgKey: keyof Config): string | undefined {
  const f = flags[key];
  if (typeof f === 'string' && f !== '') return f;
  const c = cfg[cfgKey];
  return typeof c === 'string' ? c : undefined;
}

async function serve(p: Parsed, io: Io): Promise<number> {
  const f = p.flags as Record<string, unknown>;
  const cfg = loadConfig(f.config as string | undefined);
  const auth = str(f, 'auth', cfg, 'auth');
  if (auth !== undefined && !['none', 'htpasswd', 'token'].includes(auth)) throw new UsageError(`invalid --auth ${JSON.stringify(auth)}: expected none, htpasswd or token`);
  const tlsCert = str(f, 'tlsCert', cfg, 'tls-cert');
  const tlsKey = str(f, 'tlsKey', cfg, 'tls-key');
  if (!!tlsCert !== !!tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
  const secretFile = str(f, 'tokenSecretFile', cfg, 'token-secret-file');
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const htpasswd = str(f, 'htpasswd', cfg, 'htpasswd');
  if (htpasswd) parseHtpasswd(read('htpasswd file', htpasswd).toString('utf8'), htpasswd);
  const tokenRealm = str(f, 'tokenRealm', cfg, 'token-realm');
  const tokenService = str(f, 'tokenService', cfg, 'token-service');
  const usage = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  };
  const addrText = str(f, 'addr', cfg, 'addr') ?? '127.0.0.1:5000';
  usage(() => splitAddr(addrText));
  const server = usage(() => new RegistryServer({
    root: str(f, 'root', cfg, 'root') ?? DEFAULT_ROOT,
    addr: addrText,
    readOnly: f.readOnly === true || cfg['read-only'] === true,
    ...(auth ? { auth: auth as AuthMode } : {}),
    ...(htpasswd ? { htpasswd } : {}),
    ...(tokenRealm ? { tokenRealm } : {}),
    ...(tokenService ? { tokenService } : {}),
    ...(secretFile ? { tokenSecret: read('token secret', secretFile) } : {}),
    ...(tlsCert && tlsKey ? { tls: { cert: read('TLS certificate', tlsCert), key: read('TLS key', tlsKey) } } : {}),
    ...(f.quiet ? {} : { log: (l: string) => io.stderr.write(`${new Date().toISOString()} ${l}\n`) }),
  }));
  let addr;
  try {
    addr = await server.listen();
  } catch (e) {
    throw new UsageError(`cannot listen on ${addrText}: ${(e as Error).message}`);
  }
  io.stderr.write(`berth registry listening on ${server.scheme}://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port} (root ${server.storage.paths.root})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function gc(p: Parsed, io: Io): Promise<number> {
  const f = p.flags as Record<string, unknown>;
  const cfg = loadConfig(f.config as string | undefined);
  const root = str(f, 'root', cfg, 'root') ?? DEFAULT_ROOT;
  if (!existsSync(root)) throw new UsageError(`registry root ${root} does not exist`);
  const storage = new RegistryStorage(root);
  const dryRun = f.dryRun === true;
  const r = await collectGarbage(storage, { dryRun, deleteUntagged: f.deleteUntagged === true, ...(f.quiet ? {} : { log: (l: string) => io.stdout.write(`${l}\n`) }) });
  const verb = dryRun ? 'would be deleted' : 'deleted';
  io.stdout.write(`${r.marked} blobs marked, ${r.deletedBlobs.length} blobs ${verb} (${humanSize(r.freedBytes)})` +
    `${r.deletedManifests.length ? `, ${r.deletedManifests.length} manifests ${verb}` : ''}${r.deletedUploads.length ? `, ${r.deletedUploads.length} stale uploads ${verb}` : ''}\n`);
  return 0;
}

async function readStdin(stdin: NodeJS.ReadStream): Promise<string> {
  let s = '';
  for await (const c of stdin) s += (c as Buffer).toString();
  return s.replace(/\r?\n$/, '');
}

async function htpasswd(p: Parsed, io: Io): Promise<number> {
  const f = p.flags as Record<string, unknown>;
  const [user, given] = p.args;
  const file = f.file as string | undefined;
  if (f.delete) {
    if (!file) throw new UsageError('--delete needs --file');
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${user}:`)) : [];
    writeFileAtomicSync(file, lines.map((l) => `${l}\n`).join(''), 0o600);
    return 0;
  }
  if (given !== undefined && f.passwordStdin) throw new UsageError('--password and --password-stdin are mutually exclusive');
  const password = given ?? (f.passwordStdin ? await readStdin(io.stdin) : undefined);
  if (!password) throw new UsageError('a password is required: give it as the second argument or with --password-stdin');
  const line = await htpasswdLine(user, password, f.cost as number);
  if (!file) {
    io.stdout.write(`${line}\n`);
    return 0;
  }
  const kept = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${user}:`)) : [];
  writeFileAtomicSync(file, [...kept, line].map((l) => `${l}\n`).join(''), 0o600);
  return 0;
}

export async function runRegistry(command: RegistryCommandName, p: Parsed, io: Io): Promise<number> {
  try {
    if (command === 'serve') return await serve(p, io);
    if (command === 'gc') return await gc(p, io);
    return await htpasswd(p, io);
  } catch (e) {
    io.stderr.write(`berth registry ${command}: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 125 : 1;
  }
}
