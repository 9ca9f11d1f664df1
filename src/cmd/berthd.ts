/**
 * berthd: the composition root of the daemon. Reads flags and /etc/berth/daemon.json, checks
 * the host (cgroups, runtimes, shim), opens the daemon and serves the API.
 */
import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { readFileSync, existsSync, mkdirSync, writeFileSync, rmSync, chmodSync, chownSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION, checkMinVersion } from '../api/version.ts';
import { log, setLogLevel, isLogLevel, type LogLevel } from '../lib/log.ts';
import { Spawner, useSpawner } from '../lib/spawner.ts';
import { messageOf } from '../errdefs/index.ts';
import { checkDaemonLogConfig, LOG_DRIVERS } from '../daemon/container/logdriver.ts';
import { SeccompBpfCache, SeccompProfiles } from '../runtime/seccomp.ts';
import { validateSettings } from '../distribution/resolve.ts';
import { Daemon, type NetworkSettings } from '../daemon/daemon.ts';
import { DEFAULT_POOLS } from '../network/service.ts';
import { networkRoutes } from '../daemon/server/routers/networks/routes.ts';
import { buildRoutes } from '../daemon/server/routers/build/routes.ts';
import { Router } from '../daemon/server/router.ts';
import { ApiServer, answers } from '../daemon/server/server.ts';
import { IdleCollector } from '../lib/idlegc.ts';
import { DEFAULT_GROUP, parseEndpoints } from '../daemon/server/endpoints.ts';
import { checkTraversable, loadRemap } from '../daemon/usernsremap.ts';
import { lockDataRoot } from '../daemon/rootlock.ts';
import { setLayerIdMapping } from '../lib/idmap.ts';
import { systemRoutes } from '../daemon/server/routers/system/routes.ts';
import { volumeRoutes } from '../daemon/server/routers/volumes/routes.ts';
import { containerRoutes } from '../daemon/server/routers/containers/routes.ts';
import { imageRoutes } from '../daemon/server/routers/images/routes.ts';
import { execRoutes } from '../daemon/server/routers/exec/routes.ts';
import { swarmRoutes } from '../daemon/server/routers/swarm/routes.ts';
import { pluginRoutes } from '../daemon/server/routers/plugins/routes.ts';

const DEFAULT_CONFIG = '/etc/berth/daemon.json';
/** What lives under the exec root: shims (c), execs (e), OCI runtime state, network namespaces, compiled seccomp filters. */
const EXEC_ROOT_DIRS = ['c', 'e', 'runtime', 'netns', 'seccomp'];
const KNOWN_RUNTIMES: Record<string, string[]> = { crun: ['/usr/bin/crun', '/usr/local/bin/crun'], runc: ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc'] };

interface FileConfig {
  'data-root'?: string;
  'exec-root'?: string;
  'default-runtime'?: string;
  'log-level'?: string;
  hosts?: string[];
  debug?: boolean;
  'cgroup-parent'?: string;
  runtimes?: Record<string, { path: string }>;
  'seccomp-profile'?: string;
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
  'max-concurrent-downloads'?: number;
  'max-concurrent-uploads'?: number;
  'min-api-version'?: string;
  group?: string;
  'userns-remap'?: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  bridge?: string;
  bip?: string;
  ipv6?: boolean;
  'fixed-cidr-v6'?: string;
  'default-address-pools'?: { base: string; size: number }[];
  mtu?: number;
  iptables?: boolean;
  'live-restore'?: boolean;
  'shutdown-stops-containers'?: boolean;
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
}
const FILE_KEYS = new Set(['bridge', 'bip', 'ipv6', 'fixed-cidr-v6', 'default-address-pools', 'mtu', 'iptables', 'data-root', 'exec-root', 'default-runtime', 'log-level', 'hosts', 'debug', 'cgroup-parent', 'runtimes', 'seccomp-profile',
  'registry-mirrors', 'insecure-registries', 'max-concurrent-downloads', 'max-concurrent-uploads', 'min-api-version', 'group', 'userns-remap', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey',
  'live-restore', 'shutdown-stops-containers', 'log-driver', 'log-opts']);

const HELP = `
Usage:  berthd [OPTIONS]

A self-sufficient runtime for containers, compatible with the Docker Engine API ${API_VERSION}.

Options:
  -b, --bridge string             Attach containers to a network bridge (default "berth0", made if missing; "none": no default bridge)
      --bip string                Specify default-bridge IPv4 network (e.g. 172.17.0.1/16)
      --cgroup-parent string      Set parent cgroup for all containers (default "/berth")
      --config-file string        Daemon configuration file (default "${DEFAULT_CONFIG}")
      --data-root string          Root directory of persistent Berth state (default "/var/lib/berth")
  -D, --debug                     Enable debug mode
      --default-address-pool pool-options   Default address pools for node specific local networks (base=A.B.C.D/N,size=M)
      --default-runtime string    Default OCI runtime for containers (crun or runc) (default "crun")
      --fixed-cidr-v6 string      IPv6 subnet of the default bridge (with --ipv6; default: a /64 of the engine's ULA /48)
      --exec-root string          Root directory for execution state files (default "/run/berth")
      --insecure-registry list    Enable insecure registry communication (127.0.0.0/8 always is)
      --ipv6                      Enable IPv6 networking on the default bridge
      --iptables                  Enable addition of iptables rules (default true; --iptables=false leaves the firewall alone)
  -h, --help                      Print usage
  -G, --group string              Group for the unix socket (default "berth")
  -H, --host list                 Daemon socket(s) to listen on: unix:///path or tcp://HOST:PORT (default unix:///run/berth/berth.sock)
      --live-restore              Keep containers running while the daemon is down (default true; --live-restore=false stops them at shutdown)
      --log-driver string         Default driver for container logs: json-file, local, syslog, gelf, fluentd, journald or none (default "json-file")
      --log-opt map               Default log driver options for containers (max-size, max-file) (default map[])
  -l, --log-level string          Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
      --max-concurrent-downloads int   Set the max concurrent downloads (default 3)
      --mtu int                   Set the containers network MTU (default 1500)
  -p, --pidfile string            Path to use for daemon PID file (default "/run/berth/berthd.pid")
      --registry-mirror list      Preferred registry mirror for docker.io
      --shutdown-stops-containers Stop running containers when the daemon shuts down (docker's behaviour without live-restore)
      --seccomp-profile string    Path to the default seccomp profile, or "unconfined" (default: docker's, built in)
      --shim-path string          Path to berth-shim (default: next to this installation)
      --tls                       Use TLS; implied by --tlsverify
      --userns-remap string       User/Group setting for user namespaces ("default" creates the berthremap user)
      --tlscacert string          Trust certs signed only by this CA
      --tlscert string            Path to TLS certificate file
      --tlskey string             Path to TLS key file
      --tlsverify                 Use TLS and verify the remote (client certificates required)
  -v, --version                   Print version information and quit
`;

function fail(msg: string): never {
  process.stderr.write(`berthd: ${msg}\n`);
  process.exit(1);
}

function readFileConfig(path: string, explicit: boolean): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    fail(`unable to configure the daemon with file ${path}: ${messageOf(e)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(`unable to configure the daemon with file ${path}: ${messageOf(e)}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail(`unable to configure the daemon with file ${path}: the configuration must be a JSON object`);
  const unknown = Object.keys(v as object).filter((k) => !FILE_KEYS.has(k));
  if (unknown.length) fail(`unable to configure the daemon with file ${path}: the following directives don't match any configuration option: ${unknown.join(', ')}`);
  return v as FileConfig;
}

/** The shim lives at <install>/shim/berth-shim; the bundle is <install>/dist/berthd.js. */
function defaultShimPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'shim', 'berth-shim');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return '/usr/local/libexec/berth/berth-shim';
}

function cgroupVersion(): 1 | 2 {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1;
}

/**
 * crun refuses a hybrid layout where cgroup2 holds controllers ("cgroups in hybrid mode not
 * supported, drop all controllers from cgroupv2"). Mounting those controllers' v1
 * hierarchies moves them off cgroup2; returns a warning if that fails.
 */
function repairHybridCgroups(): string | undefined {
  const unified = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (!existsSync(unified)) return undefined;
  const controllers = readFileSync(unified, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const c of controllers) {
    const dir = `/sys/fs/cgroup/${c}`;
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync('mount', ['-t', 'cgroup', '-o', c, 'cgroup', dir], { stdio: 'pipe' });
      log.info('mounted v1 cgroup hierarchy so crun accepts the hybrid layout', { controller: c });
    } catch (e) {
      return `cgroup2 holds the ${c} controller and mounting its v1 hierarchy failed (${messageOf(e).split('\n')[0]})`;
    }
  }
  return undefined;
}

function findRuntimes(extra: Record<string, { path: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, paths] of Object.entries(KNOWN_RUNTIMES)) {
    const p = paths.find((x) => existsSync(x));
    if (p) out[name] = p;
  }
  for (const [name, r] of Object.entries(extra ?? {})) out[name] = r.path;
  return out;
}

/** docker-init is tini-static; Debian's tini package installs it as /usr/bin/tini-static. */
function findInit(): string | undefined {
  return ['/usr/bin/docker-init', '/usr/sbin/docker-init', '/usr/libexec/docker/docker-init', '/usr/bin/tini-static'].find((p) => existsSync(p));
}

function checkPidfile(pidfile: string): void {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        fail(`pid file found, ensure berthd is not running or delete ${pidfile}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPERM') fail(`pid file found, ensure berthd is not running or delete ${pidfile}`);
      }
    }
  } catch {
    // no pid file: fine
  }
}

async function main(): Promise<void> {
  let args;
  // Go's flag package takes --bool=false; parseArgs does not: given as --no-bool.
  const argv = process.argv.slice(2).map((a) => (/^--[a-z-]+=(false|true)$/.test(a) ? (a.endsWith('=false') ? `--no-${a.slice(2, a.indexOf('='))}` : a.slice(0, a.indexOf('='))) : a));
  try {
    args = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        'config-file': { type: 'string' },
        'data-root': { type: 'string' },
        'exec-root': { type: 'string' },
        'default-runtime': { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        host: { type: 'string', short: 'H', multiple: true },
        debug: { type: 'boolean', short: 'D' },
        pidfile: { type: 'string', short: 'p' },
        'cgroup-parent': { type: 'string' },
        'shim-path': { type: 'string' },
        'seccomp-profile': { type: 'string' },
        'registry-mirror': { type: 'string', multiple: true },
        'log-driver': { type: 'string' },
        'log-opt': { type: 'string', multiple: true },
        'insecure-registry': { type: 'string', multiple: true },
        'max-concurrent-downloads': { type: 'string' },
        group: { type: 'string', short: 'G' },
        'userns-remap': { type: 'string' },
        tls: { type: 'boolean' },
        tlsverify: { type: 'boolean' },
        tlscacert: { type: 'string' },
        tlscert: { type: 'string' },
        tlskey: { type: 'string' },
        bridge: { type: 'string', short: 'b' },
        bip: { type: 'string' },
        ipv6: { type: 'boolean' },
        'fixed-cidr-v6': { type: 'string' },
        'default-address-pool': { type: 'string', multiple: true },
        mtu: { type: 'string' },
        iptables: { type: 'boolean' },
        'live-restore': { type: 'boolean' },
        'shutdown-stops-containers': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    fail(`${messageOf(e)}\nSee 'berthd --help'.`);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (args.version) {
    process.stdout.write(`Berth version ${ENGINE_VERSION}, API ${API_VERSION}\n`);
    return;
  }
  const configFile = args['config-file'] ?? DEFAULT_CONFIG;
  const file = readFileConfig(configFile, args['config-file'] !== undefined);
  const debug = args.debug ?? file.debug ?? false;
  const level = args['log-level'] ?? file['log-level'] ?? (debug ? 'debug' : 'info');
  if (!isLogLevel(level)) fail(`unable to parse logging level: ${level}`);
  setLogLevel(level as LogLevel);

  const baseRoot = resolve(args['data-root'] ?? file['data-root'] ?? '/var/lib/berth');
  // userns-remap: container root is an unprivileged host user, and the daemon's state lives
  // in <data-root>/<uid>.<gid>, with every layer stored shifted (moby's layout).
  let remap: ReturnType<typeof loadRemap>;
  try {
    remap = loadRemap(args['userns-remap'] ?? file['userns-remap'] ?? '');
  } catch (e) {
    fail(messageOf(e));
  }
  const dataRoot = remap ? join(baseRoot, `${remap.mapping.root.uid}.${remap.mapping.root.gid}`) : baseRoot;
  if ((args['userns-remap'] ?? file['userns-remap']) === 'root') log.warn('User namespaces: root cannot be remapped with itself; user namespaces are OFF');
  const execRoot = resolve(args['exec-root'] ?? file['exec-root'] ?? '/run/berth');
  const hosts = args.host ?? file.hosts ?? [`unix://${join(execRoot, 'berth.sock')}`];
  const groupName = args.group ?? file.group;
  let listen: ReturnType<typeof parseEndpoints>;
  try {
    listen = parseEndpoints(hosts, {
      tls: args.tls ?? file.tls ?? false,
      verify: args.tlsverify ?? file.tlsverify ?? false,
      ...(args.tlscacert ?? file.tlscacert ? { ca: args.tlscacert ?? file.tlscacert } : {}),
      ...(args.tlscert ?? file.tlscert ? { cert: args.tlscert ?? file.tlscert } : {}),
      ...(args.tlskey ?? file.tlskey ? { key: args.tlskey ?? file.tlskey } : {}),
    }, { name: groupName ?? DEFAULT_GROUP, explicit: groupName !== undefined });
  } catch (e) {
    fail(messageOf(e));
  }
  const pidfile = args.pidfile ?? join(execRoot, 'berthd.pid');

  // The containers' default log driver and options, checked as a container's are.
  const logDriver = args['log-driver'] ?? file['log-driver'] ?? 'json-file';
  const logOpts: Record<string, string> = {};
  if (args['log-opt']) {
    for (const kv of args['log-opt']) {
      const eq = kv.indexOf('=');
      if (eq < 1) fail(`invalid value "${kv}" for flag --log-opt: invalid key value pair format: ${kv}`);
      logOpts[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  } else if (file['log-opts'] !== undefined) {
    if (!file['log-opts'] || typeof file['log-opts'] !== 'object' || Object.values(file['log-opts']).some((v) => typeof v !== 'string')) fail('log-opts in the configuration file must map option names to strings');
    Object.assign(logOpts, file['log-opts']);
  }
  if (!LOG_DRIVERS.includes(logDriver)) fail(`the ${logDriver} log driver is not supported by Berth yet: ${LOG_DRIVERS.join(', ')} are`);
  try {
    checkDaemonLogConfig(logDriver, logOpts);
  } catch (e) {
    fail(`failed to set log opts: ${messageOf(e).replace(/^HostConfig\.LogConfig: /, '').replace(/; the container was not created$/, '').replace(/^failed to initialize logging driver: /, '')}`);
  }

  const warnings: string[] = [];
  const runtimes = findRuntimes(file.runtimes);
  let defaultRuntime = args['default-runtime'] ?? file['default-runtime'] ?? 'crun';
  if (!runtimes[defaultRuntime]) {
    if (defaultRuntime === 'crun' && runtimes.runc) {
      warnings.push('WARNING: crun is not installed; using runc as the default runtime');
      defaultRuntime = 'runc';
    } else {
      fail(`default runtime ${defaultRuntime} is not installed (looked for: ${(KNOWN_RUNTIMES[defaultRuntime] ?? [defaultRuntime]).join(', ')})`);
    }
  }
  const cgv = cgroupVersion();
  if (cgv === 1) {
    const problem = repairHybridCgroups();
    if (problem && defaultRuntime === 'crun') {
      if (runtimes.runc) {
        warnings.push(`WARNING: ${problem}; crun cannot run here, falling back to runc`);
        defaultRuntime = 'runc';
      } else {
        warnings.push(`WARNING: ${problem}; crun may refuse to start containers`);
      }
    }
  }
  for (const w of warnings) log.warn(w);
  const swapAccounting = cgv === 1 ? existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') : true;

  // Settings are checked before anything is written: a bad one leaves no directory or pidfile.
  const registry = {
    mirrors: args['registry-mirror'] ?? file['registry-mirrors'] ?? [],
    insecure: args['insecure-registry'] ?? file['insecure-registries'] ?? [],
    certsDir: join(dirname(configFile), 'certs.d'),
  };
  if (!Array.isArray(registry.mirrors) || !Array.isArray(registry.insecure)) fail(`unable to configure the daemon with file ${configFile}: registry-mirrors and insecure-registries must be lists`);
  try {
    validateSettings(registry);
  } catch (e) {
    fail(messageOf(e));
  }
  const maxDownloads = Number(args['max-concurrent-downloads'] ?? file['max-concurrent-downloads'] ?? 3);
  if (!Number.isInteger(maxDownloads) || maxDownloads < 1) fail('max-concurrent-downloads must be a positive integer');
  // moby reads DOCKER_MIN_API_VERSION; daemon.json's min-api-version is Berth's own key.
  const minApiVersion = process.env.DOCKER_MIN_API_VERSION || file['min-api-version'] || MIN_API_VERSION;
  const badMin = checkMinVersion(String(minApiVersion));
  if (badMin) fail(`${process.env.DOCKER_MIN_API_VERSION ? 'DOCKER_MIN_API_VERSION' : `min-api-version in ${configFile}`}: ${badMin}`);
  // Seccomp fails closed: a profile that is missing or does not parse stops berthd.
  let seccomp: SeccompProfiles;
  try {
    seccomp = SeccompProfiles.fromSetting(args['seccomp-profile'] ?? file['seccomp-profile']);
  } catch (e) {
    fail(messageOf(e));
  }
  mkdirSync(baseRoot, { recursive: true, mode: 0o711 });
  mkdirSync(dataRoot, { recursive: true, mode: 0o711 });
  if (remap) {
    chmodSync(baseRoot, 0o711);
    try {
      checkTraversable(baseRoot);
    } catch (e) {
      fail(messageOf(e));
    }
    chownSync(dataRoot, 0, remap.mapping.root.gid);
    chmodSync(dataRoot, 0o710);
    setLayerIdMapping(remap.mapping);
    log.info('User namespaces: ID ranges will be mapped', { user: remap.user, uids: remap.mapping.spec.uids, gids: remap.mapping.spec.gids });
  }
  mkdirSync(execRoot, { recursive: true, mode: 0o700 });
  // The default socket lives in the exec root, so a member of the socket's group must be able to
  // pass through it (0711, as the socket is 0660 root:berth); what else lives there — shim and
  // exec sockets, runtime state, network namespaces, the seccomp cache — stays root's (0700).
  for (const sub of EXEC_ROOT_DIRS) {
    mkdirSync(join(execRoot, sub), { recursive: true, mode: 0o700 });
    chmodSync(join(execRoot, sub), 0o700);
  }
  chmodSync(execRoot, listen.endpoints.some((ep) => ep.kind === 'unix' && dirname(ep.path) === execRoot) ? 0o711 : 0o700);
  for (const ep of listen.endpoints) if (ep.kind === 'unix') mkdirSync(dirname(ep.path), { recursive: true });
  // Checked before anything is set up (bridges, firewall rules), not only when listening.
  for (const ep of listen.endpoints) if (ep.kind === 'unix' && (await answers(ep.path))) fail(`another daemon is listening on ${ep.path}`);
  try {
    await lockDataRoot(dataRoot);
  } catch (e) {
    fail(messageOf(e));
  }
  checkPidfile(pidfile);
  writeFileSync(pidfile, `${process.pid}\n`);

  const shimPath = args['shim-path'] ?? process.env.BERTH_SHIM ?? defaultShimPath();
  // Started first, while berthd is small: it runs the start path's commands (lib/spawner.ts).
  const spawnerPath = join(dirname(shimPath), 'berth-spawner');
  if (existsSync(spawnerPath)) useSpawner(Spawner.start(spawnerPath, [...new Set(Object.values(runtimes))]));
  const network = networkSettings(args, file, configFile);
  const daemon = await Daemon.open({
    network,
    dataRoot,
    execRoot,
    debug,
    warnings,
    registry,
    maxConcurrentDownloads: maxDownloads,
    minApiVersion,
    liveRestore: (args['shutdown-stops-containers'] ?? file['shutdown-stops-containers'] ?? false) ? false : (args['live-restore'] ?? file['live-restore'] ?? true),
    // How long a registry may stay silent (tests shorten it to exercise stalls).
    registryTimeoutMs: Number(process.env.BERTH_REGISTRY_TIMEOUT_MS ?? 30_000),
    runtime: {
      runtimes,
      defaultRuntime,
      shimPath,
      cgroupParent: args['cgroup-parent'] ?? file['cgroup-parent'] ?? '/berth',
      cgroupVersion: cgv,
      swapAccounting,
      ...(remap ? { idmap: remap.mapping } : {}),
      kernelTcp: cgv === 1 && existsSync('/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes'),
      logConfig: { Type: logDriver, Config: logOpts },
      ...(findInit() ? { initPath: findInit()! } : {}),
      seccomp,
      ...(existsSync(join(dirname(shimPath), 'berth-seccomp-bpf'))
        ? { seccompBpf: new SeccompBpfCache(join(dirname(shimPath), 'berth-seccomp-bpf'), join(execRoot, 'seccomp')) }
        : {}),
    },
  });
  const missing = daemon.missingBinaries();
  if (missing.length) fail(`missing ${missing.join(', ')} (run 'npm run build' to build berth-shim)`);

  const router = new Router();
  router.add(systemRoutes(daemon));
  router.add(containerRoutes(daemon.containerBackend()));
  router.add(imageRoutes(daemon.imageBackend()));
  router.add(execRoutes(daemon.execBackend()));
  router.add(volumeRoutes(daemon.volumeBackend()));
  router.add(networkRoutes(daemon.networkBackend()));
  router.add(buildRoutes(daemon.buildBackend()));
  router.add(swarmRoutes());
  router.add(pluginRoutes());
  // Memory a burst of requests grew goes back to the system once they stop (lib/idlegc.ts).
  const idle = new IdleCollector();
  const server = new ApiServer(router, minApiVersion, () => idle.touch());
  for (const w of listen.warnings) log.warn(w);
  for (const ep of listen.endpoints) {
    await server.listen(ep);
    log.info(`API listen on ${ep.kind === 'unix' ? ep.path : ep.kind === 'fd' ? `fd://${ep.fd}` : `${ep.host}:${ep.port}`}`, { version: ENGINE_VERSION, runtime: defaultRuntime, dataRoot });
  }

  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Processing signal '${sig}'`);
    // Containers keep running under their shims and the next berthd picks them up again,
    // unless asked to stop them (docker's shutdown without live-restore).
    const stopContainers = !daemon.config.liveRestore;
    await server.close();
    idle.stop();
    await daemon.containers.shutdown(stopContainers).catch((e: unknown) => log.warn('stopping containers at shutdown', { error: e }));
    rmSync(pidfile, { force: true });
    for (const ep of listen.endpoints) if (ep.kind === 'unix') rmSync(ep.path, { force: true });
    log.info('Daemon shutdown complete');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('terminated'));
  process.on('SIGINT', () => void shutdown('interrupt'));
  process.on('SIGPIPE', () => {});
}

main().catch((e: unknown) => {
  log.error('failed to start daemon', { error: messageOf(e) });
  process.stderr.write(`berthd: failed to start daemon: ${messageOf(e)}\n`);
  process.exit(1);
});

/**
 * The default bridge and address pools: `bridge` names the default bridge (Berth makes it when
 * missing; dockerd wants an existing one), `bip` its address, `default-address-pools` where
 * networks get subnets, `mtu`, and `iptables: false` to leave the firewall alone.
 */
function networkSettings(args: { bridge?: string; bip?: string; ipv6?: boolean; 'fixed-cidr-v6'?: string; mtu?: string; iptables?: boolean; 'default-address-pool'?: string[] }, file: FileConfig, configFile: string): NetworkSettings {
  const bridge = args.bridge ?? file.bridge ?? 'berth0';
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(bridge)) fail(`bridge: invalid interface name ${JSON.stringify(bridge)} (at most 15 characters)`);
  const bip = args.bip ?? file.bip;
  if (bridge === 'none' && bip !== undefined) fail('You specified -b & --bip, mutually exclusive options. Please specify only one');
  if (bip !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(bip)) fail(`bip: invalid address ${JSON.stringify(bip)} (want A.B.C.D/N)`);
  // dockerd's --default-address-pool base=A.B.C.D/N,size=M (repeatable) replaces the file's.
  const flagPools = args['default-address-pool']?.map((v) => {
    const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
    if (!kv.base || !/^\d+$/.test(kv.size ?? '') || Object.keys(kv).some((k) => k !== 'base' && k !== 'size')) fail(`--default-address-pool: invalid value ${JSON.stringify(v)} (want base=A.B.C.D/N,size=M)`);
    return { base: kv.base, size: Number(kv.size) };
  });
  const pools = flagPools ?? file['default-address-pools'] ?? DEFAULT_POOLS;
  if (!Array.isArray(pools) || pools.some((p) => typeof p?.base !== 'string' || typeof p?.size !== 'number')) fail(`default-address-pools in ${configFile}: want [{"base":"A.B.C.D/N","size":N}, …]`);
  const mtu = Number(args.mtu ?? file.mtu ?? 1500);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) fail(`mtu: invalid value ${JSON.stringify(args.mtu ?? file.mtu)}`);
  if (file.ipv6 !== undefined && typeof file.ipv6 !== 'boolean') fail(`ipv6 in ${configFile} must be true or false`);
  if (file['fixed-cidr-v6'] !== undefined && typeof file['fixed-cidr-v6'] !== 'string') fail(`fixed-cidr-v6 in ${configFile} must be a string`);
  const ipv6 = args.ipv6 ?? file.ipv6 ?? false;
  const fixedCidrV6 = args['fixed-cidr-v6'] ?? file['fixed-cidr-v6'];
  if (fixedCidrV6 !== undefined && (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(fixedCidrV6) || !isIPv6(fixedCidrV6.split('/')[0]!) || Number(fixedCidrV6.split('/')[1]) > 126)) {
    fail(`fixed-cidr-v6: invalid subnet ${JSON.stringify(fixedCidrV6)} (want an IPv6 prefix of at most /126, e.g. fd00:1::/64)`);
  }
  if (fixedCidrV6 !== undefined && !ipv6) fail('fixed-cidr-v6 needs ipv6 (--ipv6): IPv6 is off on the default bridge');
  if (bridge === 'none' && ipv6) fail('--ipv6 needs the default bridge (it is "none")');
  return { bridge, ...(bip ? { bip } : {}), ...(ipv6 ? { ipv6 } : {}), ...(fixedCidrV6 ? { fixedCidrV6 } : {}), pools, mtu, iptables: args.iptables ?? file.iptables ?? true };
}
