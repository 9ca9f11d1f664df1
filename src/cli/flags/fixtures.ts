/**
 * A docker-like command tree shared by the tests in this directory (not used by the CLI).
 */
import { defineCommand, defineFlags } from './spec.ts';

export const globalFlags = defineFlags({
  config: { long: 'config', kind: 'string', help: 'Location of client config files', defaultText: '"/root/.berth"' },
  debug: { short: 'D', long: 'debug', kind: 'bool', help: 'Enable debug mode' },
  host: { short: 'H', long: 'host', kind: 'stringArray', help: 'Daemon socket to connect to' },
  logLevel: {
    short: 'l',
    long: 'log-level',
    kind: 'string',
    default: 'info',
    help: 'Set the logging level ("debug", "info", "warn", "error", "fatal")',
    parse: (v: string) => {
      if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(v)) throw new Error(`unknown level ${v}`);
      return v as 'debug' | 'info' | 'warn' | 'error' | 'fatal';
    },
  },
  version: { short: 'v', long: 'version', kind: 'bool', help: 'Print version information and quit' },
});

export const runFlags = defineFlags({
  detach: { short: 'd', long: 'detach', kind: 'bool', help: 'Run container in background and print container ID' },
  env: { short: 'e', long: 'env', kind: 'stringArray', help: 'Set environment variables' },
  hostname: { short: 'h', long: 'hostname', kind: 'string', help: 'Container host name' },
  interactive: { short: 'i', long: 'interactive', kind: 'bool', help: 'Keep STDIN open even if not attached' },
  memory: { short: 'm', long: 'memory', kind: 'string', typeName: 'bytes', help: 'Memory limit', parse: (v: string) => parseBytes(v) },
  name: { long: 'name', kind: 'string', help: 'Assign a name to the container' },
  publish: { short: 'p', long: 'publish', kind: 'stringArray', help: "Publish a container's port(s) to the host" },
  rm: { long: 'rm', kind: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  stopTimeout: { long: 'stop-timeout', kind: 'int', help: 'Timeout (in seconds) to stop a container' },
  tty: { short: 't', long: 'tty', kind: 'bool', help: 'Allocate a pseudo-TTY' },
  healthInterval: { long: 'health-interval', kind: 'duration', help: 'Time between running the check (ms|s|m|h) (default 0s)' },
  blkioWeight: { long: 'blkio-weight', kind: 'uint', bits: 16, help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  dns: { long: 'dns-option', kind: 'stringSlice', help: 'Set DNS options', hidden: true },
  legacy: { long: 'link-local-ip', kind: 'stringArray', help: 'Container IPv4/IPv6 link-local addresses', deprecated: 'it does nothing' },
});

/** A tiny "bytes" parser for the custom-value tests. */
export function parseBytes(v: string): number {
  const m = /^(\d+)([bkmg]?)$/i.exec(v);
  if (!m) throw new Error(`invalid size: '${v}'`);
  const mult: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Number(m[1]) * mult[m[2].toLowerCase()];
}

export const run = defineCommand({
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  aliasPaths: ['container run', 'run'],
  flags: runFlags,
  args: { min: 1 },
  interspersed: false,
  group: 'common',
});

export const exec = defineCommand({
  name: 'exec',
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  aliasPaths: ['container exec', 'exec'],
  flags: defineFlags({
    detach: { short: 'd', long: 'detach', kind: 'bool', help: 'Detached mode: run command in the background' },
    env: { short: 'e', long: 'env', kind: 'stringArray', help: 'Set environment variables' },
    interactive: { short: 'i', long: 'interactive', kind: 'bool', help: 'Keep STDIN open even if not attached' },
    tty: { short: 't', long: 'tty', kind: 'bool', help: 'Allocate a pseudo-TTY' },
    user: { short: 'u', long: 'user', kind: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  }),
  args: { min: 2 },
  interspersed: false,
  group: 'common',
});

export const psFlags = defineFlags({
  all: { short: 'a', long: 'all', kind: 'bool', help: 'Show all containers (default shows just running)' },
  filter: { short: 'f', long: 'filter', kind: 'stringArray', typeName: 'filter', help: 'Filter output based on conditions provided' },
  format: { long: 'format', kind: 'string', help: 'Format output' },
  last: { short: 'n', long: 'last', kind: 'int', default: -1, help: 'Show n last created containers (includes all states)' },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only display container IDs' },
});

const psAliases = ['container ls', 'container list', 'container ps', 'ps'];

export const ps = defineCommand({
  name: 'ps',
  usage: '[OPTIONS]',
  short: 'List containers',
  aliasPaths: psAliases,
  flags: psFlags,
  args: { max: 0 },
  group: 'common',
});

export const containerLs = defineCommand({
  name: 'ls',
  aliases: ['list', 'ps'],
  usage: '[OPTIONS]',
  short: 'List containers',
  aliasPaths: psAliases,
  flags: psFlags,
  args: { max: 0 },
});

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
  link: { short: 'l', long: 'link', kind: 'bool', help: 'Remove the specified link' },
  volumes: { short: 'v', long: 'volumes', kind: 'bool', help: 'Remove anonymous volumes associated with the container' },
});

export const rm = defineCommand({
  name: 'rm',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  aliasPaths: ['container rm', 'container remove', 'rm'],
  flags: rmFlags,
  args: { min: 1 },
});

export const containerRm = defineCommand({
  name: 'rm',
  aliases: ['remove'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  aliasPaths: ['container rm', 'container remove', 'rm'],
  flags: rmFlags,
  args: { min: 1 },
});

export const tag = defineCommand({
  name: 'tag',
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliasPaths: ['image tag', 'tag'],
  args: { min: 2, max: 2 },
});

export const logs = defineCommand({
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  aliasPaths: ['container logs', 'logs'],
  flags: defineFlags({
    follow: { short: 'f', long: 'follow', kind: 'bool', help: 'Follow log output' },
    tail: { short: 'n', long: 'tail', kind: 'string', default: 'all', help: 'Number of lines to show from the end of the logs' },
  }),
  args: { min: 1, max: 1 },
});

export const port = defineCommand({
  name: 'port',
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
});

export const version = defineCommand({
  name: 'version',
  usage: '[OPTIONS]',
  short: 'Show the Berth version information',
  group: 'common',
  args: { max: 0 },
  flags: defineFlags({ format: { short: 'f', long: 'format', kind: 'string', help: 'Format output using a custom template' } }),
});

export const wait = defineCommand({
  name: 'wait',
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
});

export const secret = defineCommand({ name: 'debug-dump', short: 'Dump internal state', hidden: true, args: { max: 1 } });

export const imageRm = defineCommand({
  name: 'rm',
  aliases: ['remove', 'rmi'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  aliasPaths: ['image rm', 'image remove', 'rmi'],
  flags: defineFlags({
    force: { short: 'f', long: 'force', kind: 'bool', help: 'Force removal of the image' },
    noPrune: { long: 'no-prune', kind: 'bool', help: 'Do not delete untagged parents' },
  }),
  args: { min: 1 },
});

export const rmi = defineCommand({ ...imageRm, name: 'rmi', aliases: undefined });

export const imageLs = defineCommand({
  name: 'ls',
  aliases: ['images', 'list'],
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List images',
  flags: defineFlags({ quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only show image IDs' } }),
  args: { max: 1 },
});

export const container = defineCommand({
  name: 'container',
  short: 'Manage containers',
  // the same command objects as at the root: one declaration, two places
  subcommands: [containerLs, containerRm, run, logs, wait],
});

export const image = defineCommand({
  name: 'image',
  short: 'Manage images',
  subcommands: [imageLs, imageRm, defineCommand({ ...tag })],
});

export const root = defineCommand({
  name: 'berth',
  usage: '[OPTIONS] COMMAND',
  short: 'A self-sufficient runtime for containers',
  footer: 'For more help on how to use Berth, head to https://example.invalid/berth',
  flags: globalFlags,
  subcommands: [run, exec, ps, version, container, image, rm, rmi, tag, logs, port, wait, secret],
});
