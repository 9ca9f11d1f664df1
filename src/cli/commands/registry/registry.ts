/**
 * `berth registry serve|gc|htpasswd`: the private registry server's commands. Their flags live
 * here with the rest of the CLI; the server itself is wired in src/cmd/registry.ts and loaded
 * only when one of these runs, so the everyday CLI does not pay for it.
 */
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';

export const registryServeFlags = defineFlags({
  addr: { long: 'addr', kind: 'string', help: 'Address to listen on (HOST:PORT)', defaultText: '"127.0.0.1:5000"' },
  root: { long: 'root', kind: 'string', help: 'Storage directory', defaultText: '"/var/lib/berth-registry"' },
  config: { long: 'config', kind: 'string', help: 'JSON configuration file (keys as the long flag names; flags win)' },
  auth: { long: 'auth', kind: 'string', help: 'Authentication: "none", "htpasswd" (Basic) or "token" (Bearer, built-in /token endpoint)' },
  htpasswd: { long: 'htpasswd', kind: 'string', help: 'htpasswd file with bcrypt hashes (see "berth registry htpasswd")' },
  tokenRealm: { long: 'token-realm', kind: 'string', help: 'Token service URL announced in challenges (default: this server\'s /token)' },
  tokenService: { long: 'token-service', kind: 'string', help: 'Token service name', defaultText: '"berth-registry"' },
  tokenSecretFile: { long: 'token-secret-file', kind: 'string', help: 'File holding the token signing secret (default: random per start)' },
  tlsCert: { long: 'tls-cert', kind: 'string', help: 'TLS certificate (PEM); serve HTTPS' },
  tlsKey: { long: 'tls-key', kind: 'string', help: 'TLS private key (PEM)' },
  readOnly: { long: 'read-only', kind: 'bool', help: 'Refuse pushes and deletes' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Do not log requests' },
});

export const registryGcFlags = defineFlags({
  root: { long: 'root', kind: 'string', help: 'Storage directory', defaultText: '"/var/lib/berth-registry"' },
  config: { long: 'config', kind: 'string', help: 'JSON configuration file' },
  dryRun: { short: 'd', long: 'dry-run', kind: 'bool', help: 'Only report what would be deleted' },
  deleteUntagged: { short: 'm', long: 'delete-untagged', kind: 'bool', help: 'Also delete manifests no tag reaches' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only print the summary' },
});

export const registryHtpasswdFlags = defineFlags({
  file: { short: 'f', long: 'file', kind: 'string', help: 'Add or update the user in this htpasswd file (created if missing) instead of printing the line' },
  passwordStdin: { long: 'password-stdin', kind: 'bool', help: 'Take the password from stdin' },
  delete: { short: 'D', long: 'delete', kind: 'bool', help: 'Remove the user from the file' },
  cost: { long: 'cost', kind: 'int', help: 'bcrypt cost', default: 10 },
});

export type RegistryCommandName = 'serve' | 'gc' | 'htpasswd';

/** Runs a registry command; provided by the composition root (src/cmd). */
export type RegistryRunner = (command: RegistryCommandName, parsed: Parsed, io: Pick<CliContext, 'stdout' | 'stderr' | 'stdin'>) => Promise<number>;

let runner: (() => Promise<RegistryRunner>) | undefined;

export function setRegistryRunner(load: () => Promise<RegistryRunner>): void {
  runner = load;
}

const handler = (name: RegistryCommandName) => async (ctx: CliContext, p: Parsed): Promise<number> => {
  if (!runner) throw new Error('berth registry is not available in this build');
  return (await runner())(name, p, ctx);
};

export const registryServeCommand = defineCommand({
  name: 'serve', usage: '[OPTIONS]', short: 'Run a registry server (distribution API v2)', flags: registryServeFlags, args: { max: 0 },
  example: '  berth registry serve --addr 127.0.0.1:5000 --root /srv/registry\n  berth registry serve --htpasswd /etc/berth/htpasswd --tls-cert cert.pem --tls-key key.pem',
});
export const registryGcCommand = defineCommand({
  name: 'gc', usage: '[OPTIONS]', short: 'Delete blobs no manifest references', flags: registryGcFlags, args: { max: 0 },
});
export const registryHtpasswdCommand = defineCommand({
  name: 'htpasswd', usage: '[OPTIONS] USER [PASSWORD]', short: 'Make a bcrypt htpasswd entry for registry users', flags: registryHtpasswdFlags, args: { min: 1, max: 2 },
});

export const registryServe = handler('serve');
export const registryGc = handler('gc');
export const registryHtpasswd = handler('htpasswd');
