/**
 * Log drivers (moby's daemon/logger): which exist, their options checked as moby's
 * ValidateLogOpt checks them at create, the daemon's defaults merged under a container's, where
 * each keeps the file `logs` reads, and what berth-shim is told at start.
 *
 * Every driver runs in the container's berth-shim, so logging goes on while berthd is down:
 * json-file and local write files; syslog and gelf send each line from the shim, keeping dual
 * logging's local cache (what `logs` reads) unless `cache-disabled`.
 */
import { access, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidParameter, messageOf } from '../../errdefs/index.ts';
import { goStringLiteral } from '../../lib/gojson.ts';
import { parseGoBool } from '../../lib/strconv.ts';
import { ramInBytes } from '../../lib/units.ts';
import { formatDuration, MILLISECOND, parseDuration, SECOND } from '../../lib/duration.ts';
import type { ShimLaunchOptions } from '../../runtime/shim.ts';
import type { ContainerRecord } from './container.ts';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** The log drivers Berth has. */
export const LOG_DRIVERS = ['fluentd', 'gelf', 'journald', 'json-file', 'local', 'none', 'syslog'];
/** dockerd's other built-in drivers: refused by name rather than as unknown plugins. */
const DOCKER_LOG_DRIVERS = new Set(['awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']);
/** The drivers `logs` cannot read: they keep dual logging's cache. */
const REMOTE = new Set(['syslog', 'gelf', 'fluentd']);

/** The attribute options every driver that takes them shares (moby's logger.Attr*), and tag. */
const ATTR_OPTS = ['env', 'env-regex', 'labels', 'labels-regex', 'tag'];
const JSON_FILE_OPTS = new Set(['max-size', 'max-file', 'compress', ...ATTR_OPTS]);
const LOCAL_OPTS = new Set(['max-size', 'max-file', 'compress']);
const SYSLOG_OPTS = new Set([...ATTR_OPTS, 'syslog-address', 'syslog-facility', 'syslog-tls-ca-cert', 'syslog-tls-cert', 'syslog-tls-key', 'syslog-tls-skip-verify', 'syslog-format']);
const CACHE_OPTS = new Set(['cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress']);

export const SYSLOG_FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', '', '', '', '', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

// ----------------------------------------------------------------------------- checks

/** A log driver and its options, checked as a container's are at create (also berthd's defaults). */
export function checkLogConfig(type: string, opts: Record<string, string>): void {
  switch (type) {
    case 'json-file':
    case 'none':
      for (const k of Object.keys(opts)) {
        if (type === 'none' || !JSON_FILE_OPTS.has(k)) throw invalidParameter(`unknown log opt '${k}' for ${type} log driver`);
      }
      return checkRegexOpts(opts);
    case 'local':
      for (const k of Object.keys(opts)) if (!LOCAL_OPTS.has(k)) throw invalidParameter(`unknown log opt '${k}' for log driver local`);
      return;
    case 'syslog':
      return checkSyslogOpts(opts);
    case 'gelf':
      return checkGelfOpts(opts);
    case 'fluentd':
      return void fluentdConfig(opts);
    case 'journald':
      for (const k of Object.keys(opts)) if (!ATTR_OPTS.includes(k)) throw invalidParameter(`unknown log opt '${k}' for journald log driver`);
      return checkRegexOpts(opts);
    default:
      if (DOCKER_LOG_DRIVERS.has(type)) throw invalidParameter(`HostConfig.LogConfig: the ${type} log driver is not supported by Berth yet (${LOG_DRIVERS.join(', ')} are); the container was not created`);
      // Any other name is a logging plugin to dockerd; Berth has none.
      throw invalidParameter(`error looking up logging plugin ${type}: plugin "${type}" not found`);
  }
}

/**
 * berthd's own defaults (daemon.json log-driver/log-opts): checked as a container's, and their
 * values too, here rather than at every container's start (dockerd finds them there).
 */
export function checkDaemonLogConfig(type: string, opts: Record<string, string>): void {
  checkLogConfig(type, opts);
  if (opts['max-size'] !== undefined) parseLogSize(opts['max-size']);
  if (opts['max-file'] !== undefined) parseLogFiles(opts['max-file']);
  logCompress(type === 'local' ? localLogOpts(opts) : opts);
}

/** moby's mergeAndVerifyLogConfig: the daemon's driver when none is named, its options under the container's when the driver is the daemon's. */
export function mergeLogConfig(own: Partial<LogConfig> | undefined, daemon: LogConfig | undefined): LogConfig {
  const Type = own?.Type || daemon?.Type || 'json-file';
  const Config = { ...(own?.Config ?? {}) };
  if (daemon && Type === daemon.Type) {
    for (const [k, v] of Object.entries(daemon.Config)) if (!(k in Config)) Config[k] = v;
  }
  checkLogConfig(Type, Config);
  return { Type, Config };
}

/** labels-regex and env-regex must compile (moby's regexp.Compile at create). */
function checkRegexOpts(opts: Record<string, string>): void {
  for (const k of ['labels-regex', 'env-regex']) {
    if (opts[k] === undefined) continue;
    try {
      new RegExp(opts[k]);
    } catch (e) {
      throw invalidParameter(`error parsing regexp: ${(e as Error).message}`);
    }
  }
}

/** Dual logging's cache-disabled (the container's `logs` then has nothing to read). */
function cacheDisabled(opts: Record<string, string>): boolean {
  const v = opts['cache-disabled'];
  if (v === undefined) return false;
  try {
    return parseGoBool(v);
  } catch (e) {
    throw invalidParameter(`invalid value for log opt cache-disabled: ${(e as Error).message}`);
  }
}

function checkSyslogOpts(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!SYSLOG_OPTS.has(k) && !CACHE_OPTS.has(k)) throw invalidParameter(`unknown log opt '${k}' for syslog log driver`);
    if (k.startsWith('syslog-tls-')) throw invalidParameter(`log-opt ${k}: syslog over TLS is not supported by Berth yet`);
  }
  parseSyslogAddress(opts['syslog-address']);
  syslogFacility(opts['syslog-facility']);
  const format = opts['syslog-format'] ?? '';
  if (!['', 'rfc3164', 'rfc5424', 'rfc5424micro'].includes(format)) throw invalidParameter('Invalid syslog format');
  checkRegexOpts(opts);
  cacheDisabled(opts);
}

/** moby's syslog address check; the address as `{ proto, where, port }` (where: a host or a path). */
export function parseSyslogAddress(address: string | undefined): { proto: string; where: string; port?: number } | undefined {
  if (!address) return undefined;
  const m = /^([a-z+]+):\/\/(.*)$/.exec(address);
  if (!m) throw invalidParameter(`unsupported scheme: '${address.includes(':') ? address.slice(0, address.indexOf(':')) : ''}'`);
  const [, proto, rest] = m;
  if (proto === 'tcp+tls') throw invalidParameter('syslog over TLS (tcp+tls) is not supported by Berth yet');
  if (proto === 'unix' || proto === 'unixgram') return { proto, where: rest };
  if (proto !== 'tcp' && proto !== 'udp') throw invalidParameter(`unsupported scheme: '${proto}'`);
  const hp = /^(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/.exec(rest);
  if (!hp) throw invalidParameter(`invalid syslog address: ${address}`);
  return { proto, where: hp[1].replace(/^\[|\]$/g, ''), port: hp[2] ? Number(hp[2]) : 514 };
}

export function syslogFacility(v: string | undefined): number {
  if (!v) return 3; // daemon
  const named = SYSLOG_FACILITIES.indexOf(v);
  if (named >= 0 && v) return named;
  if (/^\d+$/.test(v) && Number(v) <= 23) return Number(v);
  throw invalidParameter('invalid syslog facility');
}

/** moby's gelf parseAddress: udp:// or tcp://, with a port. */
function parseGelfAddress(address: string | undefined): { proto: 'udp' | 'tcp'; host: string; port: number } {
  if (!address) throw invalidParameter('gelf-address is a required parameter');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(address);
  if (!m || (m[1] !== 'udp' && m[1] !== 'tcp')) throw invalidParameter('gelf: endpoint needs to be TCP or UDP');
  const hp = /^(\[[^\]]*\]|[^:[\]]*):(\d*)$/.exec(m[2]);
  if (!hp) throw invalidParameter('gelf: please provide gelf-address as proto://host:port');
  return { proto: m[1], host: hp[1].replace(/^\[|\]$/g, ''), port: Number(hp[2]) };
}

/** Go's strconv.Atoi, as the gelf options are read. */
function atoi(v: string): number | undefined {
  return /^[+-]?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : undefined;
}

/** moby's gelf ValidateLogOpt, in its words (this driver quotes option names with %q). */
function checkGelfOpts(opts: Record<string, string>): void {
  const { proto } = parseGelfAddress(opts['gelf-address']);
  for (const [k, v] of Object.entries(opts)) {
    if (ATTR_OPTS.includes(k) || CACHE_OPTS.has(k) || k === 'gelf-address') continue;
    if (k === 'gelf-compression-level' || k === 'gelf-compression-type') {
      if (proto !== 'udp') throw invalidParameter('compression is only supported on UDP');
      const n = atoi(v);
      const ok = k === 'gelf-compression-type' ? ['gzip', 'zlib', 'none'].includes(v) : n !== undefined && n >= -1 && n <= 9;
      if (!ok) throw invalidParameter(`unknown value ${JSON.stringify(v)} for log opt ${JSON.stringify(k)} for gelf log driver`);
    } else if (k === 'gelf-tcp-max-reconnect' || k === 'gelf-tcp-reconnect-delay') {
      if (proto !== 'tcp') throw invalidParameter(`${JSON.stringify(k)} is only valid for TCP`);
      const n = atoi(v);
      if (n === undefined || n < 0) throw invalidParameter(`${JSON.stringify(k)} must be a positive integer`);
    } else {
      throw invalidParameter(`unknown log opt ${JSON.stringify(k)} for gelf log driver`);
    }
  }
  checkRegexOpts(opts);
  cacheDisabled(opts);
}

const FLUENTD_OPTS = new Set(['fluentd-address', 'fluentd-async', 'fluentd-async-reconnect-interval', 'fluentd-buffer-limit', 'fluentd-max-retries',
  'fluentd-request-ack', 'fluentd-retry-wait', 'fluentd-sub-second-precision', 'fluentd-write-timeout', 'fluentd-read-timeout']);

interface FluentdConfig {
  /** `tcp:HOST:PORT` (the host still to resolve) or `unix:PATH`. */
  proto: 'tcp' | 'unix';
  host: string;
  port: number;
  path: string;
  bufferLimit: number;
  retryWaitMs: number;
  maxRetries: number;
  async: boolean;
  asyncReconnectMs: number;
  subSecond: boolean;
  requestAck: boolean;
  writeTimeoutMs: number;
  readTimeoutMs: number;
}

/** moby's fluentd parseAddress: tcp (the default, 127.0.0.1:24224) or unix; tls refused. */
function parseFluentdAddress(address: string | undefined): Pick<FluentdConfig, 'proto' | 'host' | 'port' | 'path'> {
  const dflt = { proto: 'tcp' as const, host: '127.0.0.1', port: 24224, path: '' };
  if (!address) return dflt;
  const wrap = (m: string) => invalidParameter(`invalid fluentd-address (${address}): ${m}`);
  const full = address.includes('://') ? address : `tcp://${address}`;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(full);
  if (!m) throw wrap(`parse ${JSON.stringify(full)}: missing protocol scheme`);
  const [, scheme, authority, path] = m;
  if (scheme === 'unix') {
    if (path.replace(/^\/+/, '') === '') throw wrap('path is empty');
    return { ...dflt, proto: 'unix', host: '', port: 0, path };
  }
  if (scheme === 'tls') throw invalidParameter(`invalid fluentd-address (${address}): fluentd over TLS is not supported by Berth yet`);
  if (scheme !== 'tcp') throw wrap(`unsupported scheme: '${scheme}'`);
  if (path !== '') throw wrap('should not contain a path element');
  const hp = /^(?:[^@]*@)?(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority)!;
  const host = hp[1].replace(/^\[|\]$/g, '') || dflt.host;
  let port = dflt.port;
  if (hp[2]) {
    if (!/^\d+$/.test(hp[2]) || Number(hp[2]) > 65535) throw wrap(`invalid port: strconv.ParseUint: parsing ${JSON.stringify(hp[2])}: ${/^\d+$/.test(hp[2]) ? 'value out of range' : 'invalid syntax'}`);
    port = Number(hp[2]);
  }
  return { ...dflt, host, port };
}

/** moby's fluentd ValidateLogOpt and parseConfig, in its words. */
function fluentdConfig(opts: Record<string, string>): FluentdConfig {
  for (const k of Object.keys(opts)) {
    if (!ATTR_OPTS.includes(k) && !CACHE_OPTS.has(k) && !FLUENTD_OPTS.has(k)) throw invalidParameter(`unknown log opt '${k}' for fluentd log driver`);
  }
  checkRegexOpts(opts);
  cacheDisabled(opts);
  const addr = parseFluentdAddress(opts['fluentd-address']);
  const fail = (e: unknown) => invalidParameter(messageOf(e));
  const bool = (k: string) => {
    if (!opts[k]) return false;
    try {
      return parseGoBool(opts[k]);
    } catch (e) {
      throw fail(e);
    }
  };
  const duration = (k: string, wrap?: string) => {
    try {
      return parseDuration(opts[k]);
    } catch (e) {
      throw invalidParameter(wrap ? `${wrap}: ${messageOf(e)}` : messageOf(e));
    }
  };
  let bufferLimit = 1024 * 1024;
  if (opts['fluentd-buffer-limit']) {
    try {
      bufferLimit = ramInBytes(opts['fluentd-buffer-limit']);
    } catch (e) {
      throw fail(e);
    }
  }
  const retryWaitMs = opts['fluentd-retry-wait'] ? Math.trunc(Number(duration('fluentd-retry-wait')) / 1e6) : 1000;
  let maxRetries = 2 ** 31 - 1;
  const mr = opts['fluentd-max-retries'];
  if (mr) {
    if (!/^\d+$/.test(mr)) throw invalidParameter(`strconv.ParseUint: parsing ${JSON.stringify(mr)}: invalid syntax`);
    if (BigInt(mr) > 2n ** 32n - 1n) throw invalidParameter(`strconv.ParseUint: parsing ${JSON.stringify(mr)}: value out of range`);
    if (BigInt(mr) > 2n ** 31n - 1n) throw invalidParameter('invalid fluentd-max-retries: value out of range');
    maxRetries = Number(mr);
  }
  const async = bool('fluentd-async');
  let asyncReconnectMs = 0;
  if (opts['fluentd-async-reconnect-interval']) {
    const k = 'fluentd-async-reconnect-interval';
    const d = duration(k, `invalid value for ${k}`);
    if (d !== 0n) {
      if (d < 100n * MILLISECOND || d > 10n * SECOND) throw invalidParameter(`invalid value for ${k}: value (${JSON.stringify(formatDuration(d))}) must be between 100ms and 10s`);
      asyncReconnectMs = Number(d / MILLISECOND);
    }
  }
  const subSecond = bool('fluentd-sub-second-precision');
  const requestAck = bool('fluentd-request-ack');
  const timeout = (k: string) => {
    if (!opts[k]) return 0;
    const d = duration(k, `invalid value for ${k}: value must be a duration`);
    if (d < 0n) throw invalidParameter(`invalid value for ${k}: value must be a duration that is non-negative`);
    return Number(d / MILLISECOND) || (d > 0n ? 1 : 0);
  };
  return {
    ...addr, bufferLimit, retryWaitMs, maxRetries, async, asyncReconnectMs, subSecond, requestAck,
    writeTimeoutMs: timeout('fluentd-write-timeout'), readTimeoutMs: timeout('fluentd-read-timeout'),
  };
}

// --------------------------------------------------------------------------- files

/** Where a container's log file is: json-file's beside the container, local's and the cache hidden from the API. */
export function logPathFor(cfg: LogConfig, dir: string, id: string): string {
  // journald keeps the lines itself (`logs` reads the journal).
  if (cfg.Type === 'none' || cfg.Type === 'journald') return '';
  if (cfg.Type === 'local') return join(dir, 'local-logs', 'container.log');
  if (REMOTE.has(cfg.Type)) return cacheDisabled(cfg.Config) ? '' : join(dir, 'container-cached.log');
  return join(dir, `${id}-json.log`);
}

/** The LogPath inspect shows: moby shows json-file's only (local's and the cache are its own). */
export function shownLogPath(rec: ContainerRecord): string {
  return rec.HostConfig.LogConfig.Type === 'json-file' ? rec.LogPath : '';
}

// ---------------------------------------------------------------------------- start

type ShimLogOptions = Pick<ShimLaunchOptions, 'logPath' | 'logMaxSize' | 'logMaxFile' | 'logCompress' | 'logAttrs' | 'syslog' | 'gelf' | 'fluentd' | 'journald'>;

/**
 * What the container's shim is told of its log driver, read as moby's driver reads its options
 * when the container starts (so bad values fail the start, in moby's words).
 */
export async function shimLogOptions(rec: ContainerRecord): Promise<ShimLogOptions> {
  const { Type: type, Config: config } = rec.HostConfig.LogConfig;
  const fileOpts = type === 'local' ? localLogOpts(config) : REMOTE.has(type) ? cacheLogOpts(config) : config;
  const out: ShimLogOptions = {};
  if (rec.LogPath) {
    if (type === 'local' || REMOTE.has(type)) await mkdir(dirname(rec.LogPath), { recursive: true, mode: 0o700 });
    out.logPath = rec.LogPath;
    if (fileOpts['max-size']) out.logMaxSize = parseLogSize(fileOpts['max-size']);
    if (fileOpts['max-file']) out.logMaxFile = parseLogFiles(fileOpts['max-file']);
    if (logCompress(fileOpts)) out.logCompress = true;
    if (type === 'json-file') {
      const attrs = extraAttributes(config, rec);
      if (attrs.size) out.logAttrs = goObject(attrs);
    }
  }
  if (type === 'syslog') out.syslog = await syslogOptions(rec);
  if (type === 'gelf') out.gelf = await gelfOptions(rec);
  if (type === 'fluentd') out.fluentd = await fluentdOptions(rec);
  if (type === 'journald') out.journald = await journaldOptions(rec);
  return out;
}

export function parseLogSize(v: string): number {
  try {
    return ramInBytes(v);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
}

export function parseLogFiles(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw invalidParameter(`failed to initialize logging driver: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (n < 1) throw invalidParameter('failed to initialize logging driver: max-file cannot be less than 1');
  return n;
}

/** json-file's compress: rotated files gzipped; it needs rotation (moby's rule, at start as moby). */
export function logCompress(opts: Record<string, string>): boolean {
  const v = opts.compress;
  if (v === undefined) return false;
  let on: boolean;
  try {
    on = parseGoBool(v);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
  if (on && (!opts['max-size'] || parseLogSize(opts['max-size']) <= 0 || !opts['max-file'] || parseLogFiles(opts['max-file']) < 2)) {
    throw invalidParameter('failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  return on;
}

/**
 * The local driver's options with its defaults (moby: 20 MB, 5 files, compressed). Berth keeps
 * its files as json-file lines (moby's format for them is internal and not shown either); with
 * a single file there is nothing to compress.
 */
export function localLogOpts(opts: Record<string, string>): Record<string, string> {
  const o = { 'max-size': '20m', 'max-file': '5', compress: 'true', ...opts };
  if (parseLogFiles(o['max-file']) < 2 || parseLogSize(o['max-size']) <= 0) o.compress = 'false';
  return o;
}

/** Dual logging's cache (what `logs` reads of a remote driver's container): local's defaults, its own options. */
function cacheLogOpts(opts: Record<string, string>): Record<string, string> {
  return localLogOpts({
    ...(opts['cache-max-size'] ? { 'max-size': opts['cache-max-size'] } : {}),
    ...(opts['cache-max-file'] ? { 'max-file': opts['cache-max-file'] } : {}),
    ...(opts['cache-compress'] ? { compress: opts['cache-compress'] } : {}),
  });
}

/**
 * labels, labels-regex, env and env-regex (moby's Info.ExtraAttributes): the container's
 * labels and environment variables they name, keyed as `keyMod` makes them.
 */
export function extraAttributes(opts: Record<string, string>, rec: Pick<ContainerRecord, 'Config'>, keyMod: (k: string) => string = (k) => k): Map<string, string> {
  const labels = rec.Config.Labels ?? {};
  const extra = new Map<string, string>();
  const list = (v: string | undefined) => (v ? v.split(',') : []);
  for (const l of list(opts.labels)) if (Object.hasOwn(labels, l)) extra.set(keyMod(l), labels[l]);
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra.set(keyMod(k), v);
  }
  const envMap = new Map<string, string>();
  for (const kv of rec.Config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq >= 0) envMap.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const k of list(opts.env)) if (envMap.has(k)) extra.set(keyMod(k), envMap.get(k)!);
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of envMap) if (re.test(k)) extra.set(keyMod(k), v);
  }
  return extra;
}

/** A string map as Go's encoding/json writes a map: keys sorted by their bytes. */
function goObject(m: Map<string, string>): string {
  const keys = [...m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goStringLiteral(k)}:${goStringLiteral(m.get(k)!)}`).join(',')}}`;
}

/** moby's tag template (loggerutils.ParseLogTag) over its logger.Info; {{.ID}} by default. */
async function logTag(rec: ContainerRecord): Promise<string> {
  const { parseTemplate, dockerFuncs, STRUCT } = await import('../../lib/gotemplate/index.ts');
  const short = (id: string) => id.replace(/^[a-z0-9]+:/, '').slice(0, 12);
  // A struct to the template: unknown fields are errors.
  const info = Object.assign({ [STRUCT]: 'logger.Info' }, {
    ID: short(rec.ID), FullID: rec.ID, Name: rec.Name.replace(/^\//, ''), ImageID: short(rec.Image), ImageFullID: rec.Image,
    ImageName: rec.Config.Image ?? '', DaemonName: 'docker', Hostname: hostname(),
    Command: command(rec),
  });
  try {
    return parseTemplate(rec.HostConfig.LogConfig.Config.tag || '{{.ID}}', { funcs: dockerFuncs }).execute(info);
  } catch (e) {
    throw invalidParameter(`failed to initialize logging driver: ${messageOf(e)}`);
  }
}

/** moby's Info.Command: the entrypoint and arguments, joined by spaces. */
function command(rec: ContainerRecord): string {
  return [rec.Path, ...rec.Args].join(' ');
}

/** A host name resolved at start (the shim dials addresses), failing with `failure` (the driver's words for Go's dial error). */
async function resolve(host: string, failure: string): Promise<string> {
  if (isIP(host)) return host;
  const { lookup } = await import('node:dns/promises');
  try {
    return (await lookup(host)).address;
  } catch {
    throw invalidParameter(`failed to initialize logging driver: ${failure}`);
  }
}

/** Go's dial error for a name that does not resolve, as the gelf and fluentd drivers report it. */
const noSuchHost = (proto: string, host: string, port: number) => `dial ${proto} ${host}:${port}: lookup ${host}: no such host`;

/**
 * The syslog driver's settings for the shim: the address (a name resolved here, to an IP), the
 * format and facility, and each message's head after the timestamp, made as moby's driver
 * makes it with srslog (hostname, tag, the daemon's pid).
 */
async function syslogOptions(rec: ContainerRecord): Promise<NonNullable<ShimLaunchOptions['syslog']>> {
  const opts = rec.HostConfig.LogConfig.Config;
  const addr = parseSyslogAddress(opts['syslog-address']);
  let address = '';
  if (addr?.port !== undefined) {
    const ip = await resolve(addr.where, `dial ${addr.proto} ${addr.where}: no such host`);
    address = `${addr.proto}:${ip}:${addr.port}`;
  } else if (addr) {
    address = `${addr.proto}:${addr.where}`;
  }
  const tag = await logTag(rec);
  const format = opts['syslog-format'] ?? '';
  const head = format === '' ? `${tag}[${process.pid}]: ` : format === 'rfc3164' ? `${hostname()} ${tag}[${process.pid}]: ` : `${hostname()} ${tag} ${process.pid} ${tag} - `;
  return { address, format, facility: syslogFacility(opts['syslog-facility']), head };
}

/**
 * The gelf driver's settings for the shim: the address (resolved here), compression, TCP's
 * reconnection, and each message's JSON around the line, timestamp and level, as go-gelf
 * writes moby's message: version, host, short_message, timestamp, level, then the extra fields
 * (the container's, the tag and the attribute options, "_"-prefixed) sorted by name.
 */
async function gelfOptions(rec: ContainerRecord): Promise<NonNullable<ShimLaunchOptions['gelf']>> {
  const opts = rec.HostConfig.LogConfig.Config;
  const addr = parseGelfAddress(opts['gelf-address']);
  const ip = await resolve(addr.host, noSuchHost(addr.proto, addr.host, addr.port));
  const extra = new Map<string, string>([
    ['_container_id', rec.ID],
    ['_container_name', rec.Name.replace(/^\//, '')],
    ['_image_id', rec.Image],
    ['_image_name', rec.Config.Image ?? ''],
    ['_command', command(rec)],
    ['_tag', await logTag(rec)],
    // time.Time as Go writes it (RFC 3339, the fraction's trailing zeros trimmed).
    ['_created', rec.Created.replace(/(\.\d*?)0+Z$/, '$1Z').replace('.Z', 'Z')],
  ]);
  for (const [k, v] of extraAttributes(opts, rec, (k) => (k.startsWith('_') ? k : `_${k}`))) extra.set(k, v);
  const int = (k: string, dflt: number) => (opts[k] !== undefined ? atoi(opts[k])! : dflt);
  return {
    address: `${addr.proto}:${ip.includes(':') ? `[${ip}]` : ip}:${addr.port}`,
    compression: (opts['gelf-compression-type'] ?? 'gzip') as 'gzip' | 'zlib' | 'none',
    level: int('gelf-compression-level', 1),
    maxReconnect: int('gelf-tcp-max-reconnect', 3),
    reconnectDelay: int('gelf-tcp-reconnect-delay', 1),
    head: `{"version":"1.1","host":${goStringLiteral(hostname())},"short_message":`,
    tail: `,${goObject(extra).slice(1)}`,
  };
}

/** msgpack's str (fixstr, str8, str16, str32), as msgp.AppendString writes it. */
function mpString(s: string): Buffer {
  const b = Buffer.from(s);
  const n = b.length;
  const head = n < 32 ? Buffer.from([0xa0 | n]) : n < 256 ? Buffer.from([0xd9, n]) : n < 65536 ? Buffer.from([0xda, n >> 8, n & 255]) : Buffer.from([0xdb, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
  return Buffer.concat([head, b]);
}

/**
 * The fluentd driver's settings for the shim: the address (resolved here), fluent-logger's
 * connection settings, and each event's fixed parts in msgpack (hex, for the command line): the
 * array and tag before the time, and the record's fields besides source and log — the
 * container's ID and name, then the attribute options (which may replace any of them, as
 * moby's maps.Copy does; `keys` says whether source and log are still the line's own).
 */
async function fluentdOptions(rec: ContainerRecord): Promise<NonNullable<ShimLaunchOptions['fluentd']>> {
  const opts = rec.HostConfig.LogConfig.Config;
  const cfg = fluentdConfig(opts);
  const tag = await logTag(rec);
  let address: string;
  if (cfg.proto === 'unix') {
    address = `unix:${cfg.path}`;
  } else {
    const ip = await resolve(cfg.host, noSuchHost('tcp', cfg.host, cfg.port));
    address = `tcp:${ip.includes(':') ? `[${ip}]` : ip}:${cfg.port}`;
  }
  const fields = new Map<string, string>([['container_id', rec.ID], ['container_name', rec.Name]]);
  for (const [k, v] of extraAttributes(opts, rec)) fields.set(k, v);
  return {
    address,
    head: Buffer.concat([Buffer.from([0x94]), mpString(tag)]).toString('hex'),
    fields: Buffer.concat([...fields].flatMap(([k, v]) => [mpString(k), mpString(v)])).toString('hex'),
    nfields: fields.size,
    ownSource: !fields.has('source'),
    ownLog: !fields.has('log'),
    bufferLimit: cfg.bufferLimit,
    retryWaitMs: cfg.retryWaitMs,
    maxRetries: cfg.maxRetries,
    async: cfg.async,
    asyncReconnectMs: cfg.asyncReconnectMs,
    subSecond: cfg.subSecond,
    requestAck: cfg.requestAck,
    writeTimeoutMs: cfg.writeTimeoutMs,
    readTimeoutMs: cfg.readTimeoutMs,
  };
}

/** Where journald takes native-protocol messages (go-systemd's journal.Enabled looks here). */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** moby's journald key sanitising: upper case, other characters "_", no leading "_". */
function journalKey(k: string): string {
  let n = '';
  for (const ch of k) {
    let c = ch;
    if (c >= 'a' && c <= 'z') c = c.toUpperCase();
    else if ((c > 'Z' || c < 'A') && (c > '9' || c < '0')) c = '_';
    if (n === '' && c === '_') continue;
    n += c;
  }
  return n;
}

/** One field of the journal's native protocol: KEY=VALUE, or KEY, a 64-bit length, VALUE when it has a newline. */
function journalField(k: string, v: string): Buffer {
  const value = Buffer.from(v);
  if (!value.includes(10)) return Buffer.from(`${k}=${v}\n`);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(value.length));
  return Buffer.concat([Buffer.from(`${k}\n`), len, value, Buffer.from('\n')]);
}

/**
 * The journald driver's fixed fields for the shim (hex): the container's ID, name, image and
 * tag, the attribute options (their keys made journal field names, as moby does), and this
 * start's log epoch; the shim adds each line's time, part, ordinal, priority and message.
 */
async function journaldOptions(rec: ContainerRecord): Promise<NonNullable<ShimLaunchOptions['journald']>> {
  if (!(await access(JOURNAL_SOCKET).then(() => true, () => false))) throw invalidParameter('failed to initialize logging driver: journald is not enabled on this host');
  const tag = await logTag(rec);
  const id = rec.ID;
  const vars = new Map<string, string>([
    ['CONTAINER_ID', id.slice(0, 12)], ['CONTAINER_ID_FULL', id], ['CONTAINER_NAME', rec.Name.replace(/^\//, '')],
    ['CONTAINER_TAG', tag], ['IMAGE_NAME', rec.Config.Image ?? ''], ['SYSLOG_IDENTIFIER', tag],
    ['CONTAINER_LOG_EPOCH', randomBytes(32).toString('hex')],
  ]);
  for (const [k, v] of extraAttributes(rec.HostConfig.LogConfig.Config, rec, journalKey)) if (k) vars.set(k, v);
  return { fields: Buffer.concat([...vars].map(([k, v]) => journalField(k, v))).toString('hex') };
}
