/** `berth pull`, `push`, `login`, `logout`, `search`. */
import { platformDefault } from '../../platformenv.ts';
import { PUSH_COMPRESSIONS } from '../../../api/types.ts';
import { readFileSync } from 'node:fs';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { errorText, StatusError, type CliContext } from '../../context.ts';
import { showProgress } from '../../progress.ts';
import { eraseCredentials, registryAuthHeader, serverKey, storeCredentials, HUB_KEY } from '../../authstore.ts';
import { fullName, parseNormalizedNamed, referenceString, withDefaultTag, familiarName, type Reference } from '../../../lib/reference.ts';
import { renderTable, ellipsis } from '../../format.ts';
import { parseFilterFlags } from '../container/ps.ts';

function parseRef(s: string): Reference {
  try {
    return parseNormalizedNamed(s);
  } catch (e) {
    throw new StatusError(1, errorText(e));
  }
}

const pullFlags = defineFlags({
  allTags: { short: 'a', long: 'all-tags', kind: 'bool', help: 'Download all tagged images in the repository' },
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image verification', default: true },
  platform: { long: 'platform', kind: 'string', help: 'Set platform if server is multi-platform capable', ...platformDefault() },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress verbose output' },
});

export const pullCommand = defineCommand({
  name: 'pull', usage: '[OPTIONS] NAME[:TAG|@DIGEST]', short: 'Download an image from a registry',
  aliasPaths: ['image pull', 'pull'], flags: pullFlags, args: { min: 1, max: 1 }, group: 'common',
});

/** Pulls with progress on stderr-or-stdout as docker does (run prints to stderr). */
export async function pullWithProgress(ctx: CliContext, image: string, opts: { platform?: string; quiet?: boolean; all?: boolean; forRun?: boolean }, out: NodeJS.WriteStream): Promise<Reference> {
  let ref = parseRef(image);
  if (!ref.tag && !ref.digest && !opts.all) {
    // `pull` says so; `run`/`create` have already named the image with its tag ("Unable to find…").
    if (!opts.quiet && !opts.forRun) out.write('Using default tag: latest\n');
    ref = withDefaultTag(ref);
  }
  const name = fullName(ref);
  const tag = ref.digest ?? ref.tag;
  const res = await ctx.client.imagePull(name, tag, opts.platform, registryAuthHeader(ctx, image));
  await showProgress(res, out, { ...(opts.quiet ? { quiet: true } : {}) });
  return ref;
}

export async function pull(ctx: CliContext, p: Parsed<typeof pullFlags>): Promise<number> {
  const image = p.args[0];
  if (p.flags.allTags && /[:@]/.test(image.slice(image.lastIndexOf('/') + 1))) throw new StatusError(1, 'tag can\'t be used with --all-tags/-a');
  const ref = await pullWithProgress(ctx, image, { ...(p.flags.platform ? { platform: p.flags.platform } : {}), quiet: p.flags.quiet, all: p.flags.allTags }, ctx.stdout);
  ctx.stdout.write(`${p.flags.allTags ? fullName(ref) : referenceString(ref)}\n`);
  return 0;
}

const pushFlags = defineFlags({
  allTags: { short: 'a', long: 'all-tags', kind: 'bool', help: 'Push all tags of an image to the repository' },
  disableContentTrust: { long: 'disable-content-trust', kind: 'bool', help: 'Skip image signing', default: true },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Suppress verbose output' },
  compression: { long: 'compression', kind: 'string', help: 'Compression of layers that need compressing: gzip or zstd (Berth)', default: 'gzip' },
  platform: { long: 'platform', kind: 'string', help: "Push a platform-specific manifest as a single-platform image to the registry.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)" },
});

export const pushCommand = defineCommand({
  name: 'push', usage: '[OPTIONS] NAME[:TAG]', short: 'Upload an image to a registry',
  aliasPaths: ['image push', 'push'], flags: pushFlags, args: { min: 1, max: 1 }, group: 'common',
});

export async function push(ctx: CliContext, p: Parsed<typeof pushFlags>): Promise<number> {
  const image = p.args[0];
  let ref = parseRef(image);
  if (ref.digest) throw new StatusError(1, 'invalid reference format: cannot push a digest reference');
  if (!ref.tag && !p.flags.allTags) {
    if (!p.flags.quiet) ctx.stdout.write('Using default tag: latest\n');
    ref = withDefaultTag(ref);
  }
  if (!(PUSH_COMPRESSIONS as readonly string[]).includes(p.flags.compression)) throw new StatusError(125, `invalid argument "${p.flags.compression}" for "--compression" flag: use ${PUSH_COMPRESSIONS.join(' or ')}`);
  if (!p.flags.disableContentTrust) throw new StatusError(1, 'content trust is not supported by Berth: give --disable-content-trust');
  // --platform: as the docker CLI sends it (an OCI platform, JSON); berthd confirms it is the image's.
  let platform: string | undefined;
  if (p.flags.platform) {
    const [os, architecture, variant] = p.flags.platform.split('/');
    platform = JSON.stringify({ architecture: architecture ?? '', os, ...(variant ? { variant } : {}) });
  }
  const res = await ctx.client.imagePush(familiarName(ref), ref.tag, registryAuthHeader(ctx, image), p.flags.compression === 'gzip' ? undefined : p.flags.compression, platform);
  await showProgress(res, ctx.stdout, { quiet: p.flags.quiet });
  if (p.flags.quiet) ctx.stdout.write(`${referenceString(ref)}\n`);
  return 0;
}

const loginFlags = defineFlags({
  password: { short: 'p', long: 'password', kind: 'string', help: 'Password or Personal Access Token (PAT)' },
  passwordStdin: { long: 'password-stdin', kind: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
  username: { short: 'u', long: 'username', kind: 'string', help: 'Username' },
});

export const loginCommand = defineCommand({
  name: 'login', usage: '[OPTIONS] [SERVER]', short: 'Authenticate to a registry',
  long: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.', flags: loginFlags, args: { max: 1 }, group: 'common',
});

async function prompt(ctx: CliContext, question: string, hidden: boolean): Promise<string> {
  if (!ctx.stdin.isTTY) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
  ctx.stdout.write(question);
  if (hidden) ctx.stdin.setRawMode(true);
  return new Promise((resolve) => {
    if (hidden) {
      let v = '';
      const onData = (d: Buffer) => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            ctx.stdin.setRawMode(false);
            ctx.stdin.off('data', onData);
            ctx.stdin.pause();
            ctx.stdout.write('\n');
            return resolve(v);
          }
          if (ch === '\u0003') process.exit(130);
          if (ch === '\u007f') v = v.slice(0, -1);
          else v += ch;
        }
      };
      ctx.stdin.on('data', onData);
      ctx.stdin.resume();
    } else {
      const rl = process.getBuiltinModule('node:readline').createInterface({ input: ctx.stdin, terminal: false });
      rl.once('line', (l) => {
        rl.close();
        resolve(l.trim());
      });
    }
  });
}

export async function login(ctx: CliContext, p: Parsed<typeof loginFlags>): Promise<number> {
  const f = p.flags;
  const key = serverKey(p.args[0]);
  let password = f.password;
  if (f.password !== undefined && f.passwordStdin) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
  if (f.passwordStdin) {
    if (!f.username) throw new StatusError(1, 'Must provide --username with --password-stdin');
    password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const username = f.username ?? (await prompt(ctx, 'Username: ', false));
  if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
  if (password === undefined) password = await prompt(ctx, 'Password: ', true);
  if (!password) throw new StatusError(1, 'Error: Password Required');
  try {
    await ctx.client.login({ username, password, serveraddress: key });
  } catch (e) {
    throw new StatusError(1, errorText(e));
  }
  storeCredentials(ctx, key, username, password);
  ctx.stdout.write('Login Succeeded\n');
  return 0;
}

export const logoutCommand = defineCommand({
  name: 'logout', usage: '[SERVER]', short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.', args: { max: 1 }, group: 'common',
});

export async function logout(ctx: CliContext, p: Parsed): Promise<number> {
  const key = serverKey(p.args[0]);
  if (!eraseCredentials(ctx, key)) {
    ctx.stdout.write(`Not logged in to ${key === HUB_KEY ? 'https://index.docker.io/v1/' : key}\n`);
    return 0;
  }
  ctx.stdout.write(`Removing login credentials for ${key}\n`);
  return 0;
}

const searchFlags = defineFlags({
  filter: { short: 'f', long: 'filter', kind: 'stringArray', help: 'Filter output based on conditions provided', typeName: 'filter' },
  format: { long: 'format', kind: 'string', help: 'Pretty-print search using a Go template' },
  limit: { long: 'limit', kind: 'int', help: 'Max number of search results', default: 25 },
  noTrunc: { long: 'no-trunc', kind: 'bool', help: "Don't truncate output" },
});

export const searchCommand = defineCommand({
  name: 'search', usage: '[OPTIONS] TERM', short: 'Search Docker Hub or a registry for images', flags: searchFlags, args: { min: 1, max: 1 },
});

export async function search(ctx: CliContext, p: Parsed<typeof searchFlags>): Promise<number> {
  const results = await ctx.client.search(p.args[0], p.flags.limit, registryAuthHeader(ctx, p.args[0]), parseFilterFlags(p.flags.filter));
  const rows = results.map((r) => ({
    Name: r.name,
    Description: p.flags.noTrunc ? r.description : ellipsis(r.description, 45),
    StarCount: String(r.star_count),
    IsOfficial: r.is_official ? '[OK]' : '',
  }));
  if (p.flags.format) {
    const { renderRows } = await import('../../format.ts');
    ctx.stdout.write(await renderRows(rows, p.flags.format, { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL' }));
    return 0;
  }
  ctx.stdout.write(renderTable(rows, [['Name', 'NAME'], ['Description', 'DESCRIPTION'], ['StarCount', 'STARS'], ['IsOfficial', 'OFFICIAL']]));
  return 0;
}
