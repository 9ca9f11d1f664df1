/**
 * `berth context create|export|import|inspect|ls|rm|show|update|use`: named daemon endpoints,
 * with the docker CLI's store layout (../../contexts.ts), messages and output, so that a context
 * made by either CLI is used by the other.
 */
import { openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { defineCommand, defineFlags, type Parsed } from '../../flags/spec.ts';
import { StatusError, type CliContext } from '../../context.ts';
import { ellipsis, inspectEach, renderRows, renderTable, sortedJson, structRow } from '../../format.ts';
import { readConfig, writeConfig } from '../../configfile.ts';
import {
  DEFAULT_CONTEXT, TLS_FILES, contextExists, getContext, hostVariable, listContexts, metaDir, removeContext,
  setCurrentContext, tlsDir, validateNewName, writeContext, type ContextMeta, type DockerEndpoint, type StoredContext, type TlsFile,
} from '../../contexts.ts';
import { encodeHeader, padding, END } from '../../../lib/tar/header.ts';
import { readTar } from '../../../lib/tar/reader.ts';
import { parseGoBool } from '../../../lib/strconv.ts';
import { pathErrorText } from '../../../lib/oserror.ts';

const DEFAULT_DESCRIPTION = 'Current DOCKER_HOST based configuration';

const ENDPOINT_HELP = `Docker endpoint config:

NAME                DESCRIPTION
from                Copy named context's Docker endpoint configuration
host                Docker endpoint on which to connect
ca                  Trust certs signed only by this CA
cert                Path to TLS certificate file
key                 Path to TLS key file
skip-tls-verify     Skip TLS certificate validation`;

/** The "default" context, made from the flags and the environment as the command was given. */
function defaultContext(ctx: CliContext): StoredContext {
  const tls: StoredContext['tls'] = {};
  if (ctx.defaultTls?.ca) tls['ca.pem'] = ctx.defaultTls.ca;
  if (ctx.defaultTls?.cert) tls['cert.pem'] = ctx.defaultTls.cert;
  if (ctx.defaultTls?.key) tls['key.pem'] = ctx.defaultTls.key;
  return {
    meta: { Name: DEFAULT_CONTEXT, Metadata: { Description: DEFAULT_DESCRIPTION }, Endpoints: { docker: { Host: ctx.defaultHost, SkipTLSVerify: !!ctx.defaultTls && !ctx.defaultTls.verify } } },
    tls,
  };
}

function load(ctx: CliContext, name: string): StoredContext {
  return name === DEFAULT_CONTEXT ? defaultContext(ctx) : getContext(ctx.configDir, name);
}

/** pflag's stringToString: each element `key=value`, refused as a flag error otherwise. */
function keyValue(kv: string): [string, string] {
  const eq = kv.indexOf('=');
  if (eq < 0) throw new Error(`${kv} must be formatted as key=value`);
  return [kv.slice(0, eq), kv.slice(eq + 1)];
}

const ENDPOINT_KEYS = new Set(['from', 'host', 'ca', 'cert', 'key', 'skip-tls-verify']);

/** docker's getDockerEndpointMetadataAndTLS: a docker endpoint and its TLS material from `--docker`. */
function endpointFrom(ctx: CliContext, opts: Map<string, string>): { endpoint: DockerEndpoint; tls: StoredContext['tls'] } {
  const fail = (why: string) => new StatusError(1, `unable to create docker endpoint config: ${why}`);
  for (const k of opts.keys()) if (!ENDPOINT_KEYS.has(k)) throw fail(`unrecognized config key: ${k}`);
  const from = opts.get('from');
  if (from !== undefined) {
    // As docker: the endpoint's settings are copied, not its TLS material.
    let src: StoredContext;
    try {
      src = load(ctx, from);
    } catch (e) {
      throw fail((e as Error).message);
    }
    const ep = src.meta.Endpoints.docker;
    if (!ep) throw fail(`unable to get endpoint from context "${from}"`);
    return { endpoint: { ...ep }, tls: {} };
  }
  const tls: StoredContext['tls'] = {};
  for (const [key, file] of [['ca', 'ca.pem'], ['cert', 'cert.pem'], ['key', 'key.pem']] as const) {
    const path = opts.get(key);
    if (!path) continue;
    try {
      tls[file] = readFileSync(path);
    } catch (e) {
      throw fail(pathErrorText('open', path, e));
    }
  }
  let skip = false;
  const raw = opts.get('skip-tls-verify');
  if (raw !== undefined && raw !== '') {
    try {
      skip = parseGoBool(raw);
    } catch (e) {
      throw fail(`skip-tls-verify: ${(e as Error).message.replace(/^strconv\.ParseBool: /, '')}`);
    }
  }
  const host = opts.get('host') ?? '';
  if (host && !host.includes('://')) throw fail(`unable to apply docker endpoint options: unable to parse docker host \`${host}\``);
  return { endpoint: { ...(host ? { Host: host } : {}), SkipTLSVerify: skip }, tls };
}

// ---- create ----

const createFlags = defineFlags({
  description: { long: 'description', kind: 'string', help: 'Description of the context' },
  docker: { long: 'docker', kind: 'stringSlice', help: 'set the docker endpoint', typeName: 'stringToString', defaultText: '[]', parse: keyValue },
  from: { long: 'from', kind: 'string', help: 'create context from a named context' },
});

export const contextCreateCommand = defineCommand({
  name: 'create', usage: '[OPTIONS] CONTEXT', short: 'Create a context', long: `Create a context\n\n${ENDPOINT_HELP}`,
  example: '$ berth context create my-context --description "some description" --docker "host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file"',
  flags: createFlags, args: { min: 1, max: 1 },
});

function assertCreatable(ctx: CliContext, name: string): void {
  validateNewName(name);
  if (contextExists(ctx.configDir, name)) throw new StatusError(1, `context ${JSON.stringify(name)} already exists`);
}

export async function contextCreate(ctx: CliContext, p: Parsed<typeof createFlags>): Promise<number> {
  const name = p.args[0];
  const f = p.flags;
  assertCreatable(ctx, name);
  let made: StoredContext;
  if (f.from !== undefined || !f.docker.length) {
    // From a context (the current one when neither --from nor --docker is given): its endpoint
    // and TLS material, and its description unless one is given.
    if (f.docker.length) throw new StatusError(1, 'cannot use --docker flag when --from is set');
    const src = load(ctx, f.from ?? ctx.contextName);
    const metadata = { ...src.meta.Metadata };
    if (f.description) metadata.Description = f.description;
    made = { meta: { Name: name, Metadata: metadata, Endpoints: src.meta.Endpoints }, tls: src.tls };
  } else {
    const { endpoint, tls } = endpointFrom(ctx, new Map(f.docker));
    made = { meta: { Name: name, Metadata: f.description ? { Description: f.description } : {}, Endpoints: { docker: endpoint } }, tls };
  }
  writeContext(ctx.configDir, made);
  ctx.stdout.write(`${name}\n`);
  ctx.stderr.write(`Successfully created context ${JSON.stringify(name)}\n`);
  return 0;
}

// ---- update ----

const updateFlags = defineFlags({
  description: { long: 'description', kind: 'string', help: 'Description of the context' },
  docker: { long: 'docker', kind: 'stringSlice', help: 'set the docker endpoint', typeName: 'stringToString', defaultText: '[]', parse: keyValue },
});

export const contextUpdateCommand = defineCommand({
  name: 'update', usage: '[OPTIONS] CONTEXT', short: 'Update a context', long: `Update a context\n\n${ENDPOINT_HELP}`,
  example: '$ berth context update my-context --description "some description" --docker "host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file"',
  flags: updateFlags, args: { min: 1, max: 1 },
});

export async function contextUpdate(ctx: CliContext, p: Parsed<typeof updateFlags>): Promise<number> {
  const name = p.args[0];
  validateNewName(name);
  const c = getContext(ctx.configDir, name);
  if (p.flags.description) c.meta.Metadata = { ...c.meta.Metadata, Description: p.flags.description };
  if (p.flags.docker.length) {
    // The endpoint is replaced whole, its TLS material with it.
    const { endpoint, tls } = endpointFrom(ctx, new Map(p.flags.docker));
    c.meta.Endpoints = { ...c.meta.Endpoints, docker: endpoint };
    c.tls = tls;
  }
  writeContext(ctx.configDir, c);
  ctx.stdout.write(`${name}\n`);
  ctx.stderr.write(`Successfully updated context ${JSON.stringify(name)}\n`);
  return 0;
}

// ---- ls ----

const lsFlags = defineFlags({
  format: { long: 'format', kind: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
  quiet: { short: 'q', long: 'quiet', kind: 'bool', help: 'Only show context names' },
});

export const contextLsCommand = defineCommand({ name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List contexts', flags: lsFlags, args: { max: 0 } });

const LS_HEADERS = { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR' };

export async function contextLs(ctx: CliContext, p: Parsed<typeof lsFlags>): Promise<number> {
  const f = p.flags;
  const rows: { Name: string; Description: string; DockerEndpoint: string; Error: string; Current: boolean }[] = [];
  const def = defaultContext(ctx);
  rows.push({ Name: DEFAULT_CONTEXT, Description: DEFAULT_DESCRIPTION, DockerEndpoint: def.meta.Endpoints.docker?.Host ?? '', Error: '', Current: ctx.contextName === DEFAULT_CONTEXT });
  let listed: StoredContext[];
  try {
    listed = listContexts(ctx.configDir);
  } catch (e) {
    throw new StatusError(1, `failed to read metadata: ${(e as Error).message}`);
  }
  for (const c of listed) {
    rows.push({ Name: c.meta.Name, Description: c.meta.Metadata.Description ?? '', DockerEndpoint: c.meta.Endpoints.docker?.Host ?? '', Error: '', Current: c.meta.Name === ctx.contextName });
  }
  // A current context that cannot be read is listed with why (docker's ERROR column).
  if (!rows.some((r) => r.Current)) {
    let why = '';
    try {
      getContext(ctx.configDir, ctx.contextName);
    } catch (e) {
      why = (e as Error).message;
    }
    rows.push({ Name: ctx.contextName, Description: '', DockerEndpoint: '', Error: why, Current: true });
  }
  rows.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const table = !f.quiet && (!f.format || f.format === 'table');
  const view = rows.map((r) => sortedJson(structRow('*formatter.clientContextContext', {
    Current: r.Current,
    Description: r.Description,
    DockerEndpoint: r.DockerEndpoint,
    Error: ellipsis(r.Error, 45),
    // The default table marks the current context by its name, as docker's does.
    Name: table && r.Current ? `${r.Name} *` : r.Name,
  })));
  if (f.quiet) ctx.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
  else if (table) ctx.stdout.write(renderTable(view, [['Name', 'NAME'], ['Description', 'DESCRIPTION'], ['DockerEndpoint', 'DOCKER ENDPOINT'], ['Error', 'ERROR']]));
  else ctx.stdout.write(await renderRows(view, f.format!, LS_HEADERS));
  const variable = hostVariable();
  if (variable) {
    ctx.stderr.write(`Warning: ${variable} environment variable overrides the active context. To use a context, either set the global --context flag, or unset ${variable} environment variable.\n`);
  }
  return 0;
}

// ---- inspect ----

const inspectFlags = defineFlags({
  format: { short: 'f', long: 'format', kind: 'string', help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template" },
});

export const contextInspectCommand = defineCommand({
  name: 'inspect', usage: '[OPTIONS] [CONTEXT] [CONTEXT...]', short: 'Display detailed information on one or more contexts', flags: inspectFlags,
});

/** A context as `docker context inspect` shows it. */
function inspectView(ctx: CliContext, c: StoredContext): unknown {
  const files = TLS_FILES.filter((f) => c.tls[f]);
  const isDefault = c.meta.Name === DEFAULT_CONTEXT;
  return structRow('context.contextWithTLSListing', {
    Name: c.meta.Name,
    Metadata: isDefault ? {} : c.meta.Metadata,
    Endpoints: c.meta.Endpoints,
    TLSMaterial: files.length ? { docker: files } : {},
    Storage: isDefault
      ? { MetadataPath: '<IN MEMORY>', TLSPath: '<IN MEMORY>' }
      : { MetadataPath: metaDir(ctx.configDir, c.meta.Name), TLSPath: tlsDir(ctx.configDir, c.meta.Name) },
  });
}

export async function contextInspect(ctx: CliContext, p: Parsed<typeof inspectFlags>): Promise<number> {
  const names = p.args.length ? p.args : [ctx.contextName];
  await inspectEach(ctx, names, async (n) => inspectView(ctx, load(ctx, n)), p.flags.format, { goEscape: true });
  return 0;
}

// ---- rm ----

const rmFlags = defineFlags({
  force: { short: 'f', long: 'force', kind: 'bool', help: 'Force the removal of a context in use' },
});

export const contextRmCommand = defineCommand({ name: 'rm', aliases: ['remove'], usage: 'CONTEXT [CONTEXT...]', short: 'Remove one or more contexts', flags: rmFlags, args: { min: 1 } });

export async function contextRm(ctx: CliContext, p: Parsed<typeof rmFlags>): Promise<number> {
  const errors: string[] = [];
  for (const name of p.args) {
    if (name === DEFAULT_CONTEXT) {
      errors.push(`context "${DEFAULT_CONTEXT}" cannot be removed`);
      continue;
    }
    if (name === ctx.contextName) {
      if (!p.flags.force) {
        errors.push(`context ${JSON.stringify(name)} is in use, set -f flag to force remove`);
        continue;
      }
      // Back to the default endpoint from now on.
      const cfg = readConfig(ctx.configDir);
      if (cfg.currentContext === name) {
        delete cfg.currentContext;
        writeConfig(ctx.configDir, cfg);
      }
    }
    if (!p.flags.force && !contextExists(ctx.configDir, name)) {
      errors.push(`context ${JSON.stringify(name)} does not exist`);
      continue;
    }
    removeContext(ctx.configDir, name);
    ctx.stdout.write(`${name}\n`);
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}

// ---- show / use ----

export const contextShowCommand = defineCommand({ name: 'show', usage: '', short: 'Print the name of the current context', args: { max: 0 } });

export async function contextShow(ctx: CliContext): Promise<number> {
  ctx.stdout.write(`${ctx.contextName}\n`);
  return 0;
}

export const contextUseCommand = defineCommand({ name: 'use', usage: 'CONTEXT', short: 'Set the current berth context', args: { min: 1, max: 1, cobra: true } });

export async function contextUse(ctx: CliContext, p: Parsed): Promise<number> {
  const name = p.args[0];
  if (name !== DEFAULT_CONTEXT) {
    validateNewName(name);
    getContext(ctx.configDir, name);
  }
  // The file is not written (nor made) when nothing changes.
  if ((readConfig(ctx.configDir).currentContext || DEFAULT_CONTEXT) !== name) setCurrentContext(ctx.configDir, name);
  ctx.stdout.write(`${name}\n`);
  ctx.stderr.write(`Current context is now ${JSON.stringify(name)}\n`);
  const variable = hostVariable();
  if (name !== DEFAULT_CONTEXT && variable) {
    ctx.stderr.write(`Warning: ${variable} environment variable overrides the active context. To use ${JSON.stringify(name)}, either set the global --context flag, or unset ${variable} environment variable.\n`);
  }
  return 0;
}

// ---- export / import ----

export const contextExportCommand = defineCommand({
  name: 'export', usage: '[OPTIONS] CONTEXT [FILE|-]', short: 'Export a context to a tar archive FILE or a tar stream on STDOUT.', args: { min: 1, max: 2 },
});

/** docker's export archive: meta.json, then tls/ and each endpoint's files, times at zero. */
function exportArchive(c: StoredContext): Buffer {
  const parts: Buffer[] = [];
  const file = (name: string, body: Buffer, mode: number) => parts.push(encodeHeader({ name, type: 'file', size: body.length, mode, mtime: 0 }), body, padding(body.length));
  const dir = (name: string) => parts.push(encodeHeader({ name, type: 'directory', mode: 0o700, mtime: 0 }));
  file('meta.json', Buffer.from(JSON.stringify(c.meta)), 0o644);
  dir('tls');
  const files = TLS_FILES.filter((f) => c.tls[f]);
  if (files.length) {
    dir('tls/docker');
    for (const f of files) file(`tls/docker/${f}`, c.tls[f]!, 0o600);
  }
  parts.push(END);
  return Buffer.concat(parts);
}

export async function contextExport(ctx: CliContext, p: Parsed): Promise<number> {
  const name = p.args[0];
  if (name !== DEFAULT_CONTEXT) validateNewName(name);
  const archive = exportArchive(load(ctx, name));
  const dest = p.args[1] ?? `${name}.dockercontext`;
  if (dest === '-') {
    if (ctx.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to export to a terminal, specify a file path');
    await new Promise<void>((resolve, reject) => ctx.stdout.write(archive, (e) => (e ? reject(e) : resolve())));
    return 0;
  }
  let fd: number;
  try {
    fd = openSync(dest, 'w', 0o600);
  } catch (e) {
    throw new StatusError(1, pathErrorText('open', dest, e));
  }
  try {
    writeSync(fd, archive);
  } finally {
    closeSync(fd);
  }
  ctx.stderr.write(`Written file ${JSON.stringify(dest)}\n`);
  return 0;
}

export const contextImportCommand = defineCommand({ name: 'import', usage: 'CONTEXT FILE|-', short: 'Import a context from a tar or zip file', args: { min: 2, max: 2 } });

/** A context archive is a few small files; anything larger is not one. */
const MAX_ARCHIVE = 16 << 20;

async function readAll(src: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of src) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > MAX_ARCHIVE) throw new StatusError(1, `invalid context: the archive is larger than ${MAX_ARCHIVE >> 20} MiB`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** docker's store.Import of a tar: meta.json (renamed) and tls/<endpoint>/<file>; other entries are skipped. */
async function importArchive(name: string, data: Buffer): Promise<StoredContext> {
  if (data.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    throw new StatusError(1, 'importing a context from a zip file (a kubeconfig) is not supported by Berth: export it with `docker context export` as a tar');
  }
  let meta: ContextMeta | undefined;
  const tls: StoredContext['tls'] = {};
  // docker's own export ends after the last body, without padding or an end marker.
  const padded = data.length % 512 ? Buffer.concat([data, Buffer.alloc(512 - (data.length % 512))]) : data;
  try {
    for await (const e of readTar(Readable.from([padded]))) {
      if (e.header.type !== 'file') continue;
      const path = e.header.name;
      if (path.startsWith('/') || path.includes('..')) throw new StatusError(1, `${path}: the path leaves the archive`);
      if (path === 'meta.json') {
        const text = (await e.read()).toString('utf8');
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch (err) {
          throw new StatusError(1, `invalid context: meta.json: ${(err as Error).message}`);
        }
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new StatusError(1, 'invalid context: meta.json is not an object');
        const m = v as Partial<ContextMeta>;
        const docker = (m.Endpoints as { docker?: Partial<DockerEndpoint> } | undefined)?.docker;
        meta = {
          Name: name,
          Metadata: m.Metadata && typeof m.Metadata === 'object' ? m.Metadata : {},
          Endpoints: docker ? { docker: { ...(typeof docker.Host === 'string' ? { Host: docker.Host } : {}), SkipTLSVerify: docker.SkipTLSVerify === true } } : {},
        };
      } else if (path.startsWith('tls/')) {
        const parts = path.slice(4).split('/');
        if (parts.length !== 2) throw new StatusError(1, 'archive format is invalid');
        const [endpoint, file] = parts;
        if (endpoint === 'docker' && (TLS_FILES as readonly string[]).includes(file)) tls[file as TlsFile] = await e.read();
      }
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw new StatusError(1, `invalid context archive: ${(e as Error).message}`);
  }
  if (!meta) throw new StatusError(1, 'invalid context: no metadata found');
  return { meta, tls };
}

export async function contextImport(ctx: CliContext, p: Parsed): Promise<number> {
  const [name, source] = p.args;
  assertCreatable(ctx, name);
  let data: Buffer;
  if (source === '-') data = await readAll(ctx.stdin);
  else {
    try {
      data = readFileSync(source);
    } catch (e) {
      throw new StatusError(1, pathErrorText('open', source, e));
    }
    if (data.length > MAX_ARCHIVE) throw new StatusError(1, `invalid context: the archive is larger than ${MAX_ARCHIVE >> 20} MiB`);
  }
  writeContext(ctx.configDir, await importArchive(name, data));
  ctx.stdout.write(`${name}\n`);
  ctx.stderr.write(`Successfully imported context ${JSON.stringify(name)}\n`);
  return 0;
}

