/**
 * The classic builder (moby's builder/dockerfile): each instruction of each needed stage
 * becomes an image whose parent is the previous step's, so the cache is the image store
 * itself: a step is reused when a child of the current image was made with the same
 * container_config (for COPY and ADD that names the sources' content hash). RUN runs in a
 * container of the current image; COPY and ADD extract into one; both are committed. The
 * other instructions change only the config and make no container. Output is the classic
 * builder's ("Step 2/5 : RUN …", " ---> Running in …", " ---> Using cache", …).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { EngineError } from '../errdefs/index.ts';
import { log } from '../lib/log.ts';
import { goArch } from '../lib/platform.ts';
import { KeyedMutex } from '../lib/mutex.ts';
import { parseGoBool } from '../lib/strconv.ts';
import { formatDuration } from '../lib/duration.ts';
import { quote, quoteRune } from '../lib/goquote.ts';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../lib/reference.ts';
import { tarSink, writeBody } from '../lib/tar/writer.ts';
import { encodeHeader } from '../lib/tar/header.ts';
import type { BuildRequest } from '../api/types.ts';
import type { BuildBackend, BuildImage, RunConfig, StepMount } from './backend.ts';
import { mountFroms, mountKey, parseRunMount, type RunMount } from './runmount.ts';
import { isIgnored, mayHoldExceptions, parseDockerignore, type IgnorePattern } from '../lib/dockerignore.ts';
import { parseDockerfile, parseKeyValues, type Instruction } from './dockerfile/parser.ts';
import { processWord, processWords, type Env } from './dockerfile/lexer.ts';
import { resolveInContext, type ContextView } from './context.ts';
import { continues, madeBy } from './cachefrom.ts';

export interface BuildOptions extends BuildRequest {
  context: ContextView;
  signal: AbortSignal;
}

/** Lines of output (each ends with its own "\n" where docker's does) and the final ID. */
export interface BuildOutput {
  stream(text: string): void;
  aux(id: string): void;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

interface Stage {
  name: string;
  index: number;
  from: Instruction;
  steps: Instruction[];
  image?: BuildImage;
}

export class BuildError extends EngineError {
  constructor(message: string, code = 1) {
    super('InvalidParameter', message, { exitCode: code });
  }
}

/**
 * moby's sanitizeRepoAndTags: each -t parsed and completed with `latest`, duplicates dropped,
 * a digest refused, before anything is built; named as `Successfully tagged` shows them.
 */
function buildTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    if (!t) continue;
    let ref;
    try {
      ref = parseNormalizedNamed(t);
    } catch (e) {
      throw new BuildError((e as Error).message);
    }
    if (ref.digest) throw new BuildError('build tag cannot contain a digest');
    const shown = familiarString(withDefaultTag(ref));
    if (!out.includes(shown)) out.push(shown);
  }
  return out;
}

export async function build(be: BuildBackend, dockerfileText: string, opts: BuildOptions, out: BuildOutput): Promise<string> {
  const tags = buildTags(opts.tags);
  const df = parseDockerfile(dockerfileText);
  const say = (s: string) => out.stream(s);
  for (const w of df.warnings) say(`${w}\n`);
  // ARGs before the first FROM are global: usable in FROM lines, and redeclared in stages.
  // BuildKit's automatic platform ARGs are there from the start (moby's classic builder has
  // none: a multi-platform Dockerfile's `FROM --platform=$BUILDPLATFORM`, `ARG TARGETARCH`
  // read empty there); this host builds for its own platform only.
  const global = new Map<string, string>(platformArgs());
  const usedArgs = new Set<string>();
  const stages: Stage[] = [];
  /** The ARGs before the first FROM: steps of their own in the output, as moby prints them. */
  const metaArgs: Instruction[] = [];
  let first = true;
  for (const ins of df.instructions) {
    if (ins.cmd === 'from') {
      first = false;
      const words = processWords(ins.args, global, df.escape);
      if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) throw new BuildError(`Dockerfile parse error line ${ins.line}: FROM requires either one or three arguments`);
      const name = words.length === 3 ? words[2].toLowerCase() : String(stages.length);
      if (stages.some((s) => s.name === name)) throw new BuildError(`Dockerfile parse error line ${ins.line}: duplicate name ${name}`);
      stages.push({ name, index: stages.length, from: ins, steps: [] });
      continue;
    }
    if (first) {
      if (ins.cmd !== 'arg') throw new BuildError(`Dockerfile parse error line ${ins.line}: no build stage in current context`);
      metaArgs.push(ins);
      for (const [k, v] of argPairs(ins, global, df.escape)) {
        const given = opts.buildArgs.get(k);
        if (opts.buildArgs.has(k)) usedArgs.add(k);
        global.set(k, given ?? v ?? '');
      }
      continue;
    }
    stages[stages.length - 1].steps.push(ins);
  }
  if (!stages.length) throw new BuildError(df.instructions.length ? 'Dockerfile parse error: no build stage in current context' : 'the Dockerfile (Dockerfile) cannot be empty');
  let last = stages.length - 1;
  if (opts.target !== undefined) {
    last = stages.findIndex((s) => s.name === opts.target!.toLowerCase());
    if (last < 0) throw new BuildError(`failed to reach build target ${opts.target} in Dockerfile`);
  }
  // Only the stages the target needs: its FROM and COPY --from chains.
  const needed = new Set<number>();
  const need = (i: number, trail: number[]) => {
    if (trail.includes(i)) throw new BuildError(`circular dependency detected on stage: ${stages[i].name}`);
    if (needed.has(i)) return;
    needed.add(i);
    const refs = [
      processWords(stages[i].from.args, global, df.escape)[0],
      ...stages[i].steps.filter((s) => s.flags.has('from') && (s.cmd === 'copy' || s.cmd === 'add')).map((s) => String(s.flags.get('from'))),
      ...stages[i].steps.filter((s) => s.cmd === 'run').flatMap((s) => s.mounts.flatMap(mountFroms)),
    ];
    for (const r of refs) {
      const j = stageIndex(stages, r, i);
      if (j !== undefined) need(j, [...trail, i]);
    }
  };
  need(last, []);
  const total = metaArgs.length + stages.filter((s) => needed.has(s.index)).reduce((n, s) => n + 1 + s.steps.length, 0);
  let step = 0;
  for (const ins of metaArgs) say(`Step ${++step}/${total} : ${ins.original}\n`);
  // --cache-from images that are here (moby skips the others, saying so in its log). Named
  // sources replace the local cache even when none is here, as in moby.
  const sources: BuildImage[] = [];
  for (const ref of opts.cacheFrom ?? []) {
    const img = be.image(ref);
    if (img) sources.push(img);
    else log.warn('a --cache-from image is not here, skipping it', { image: ref });
  }
  const ctx: Ctx = { be, opts, say, global, usedArgs, escape: df.escape, stages, total, step: () => ++step, ...(opts.cacheFrom?.length ? { sources } : {}) };
  let final: BuildImage | undefined;
  for (const stage of stages.slice(0, last + 1)) {
    if (!needed.has(stage.index)) continue;
    final = await runStage(ctx, stage);
  }
  const unused = [...opts.buildArgs.keys()].filter((k) => !usedArgs.has(k) && !PROXY_ARGS.has(k));
  if (unused.length) say(`[Warning] One or more build-args [${unused.sort().join(' ')}] were not consumed\n`);
  if (!final) throw new BuildError('no image was built');
  if (Object.keys(opts.labels).length) {
    const cfg = { ...(final.config.config ?? {}), Labels: { ...(final.config.config?.Labels ?? {}), ...opts.labels } };
    const cmd = nop(`LABEL ${Object.entries(opts.labels).map(([k, v]) => `${k}=${v}`).join(' ')}`, cfg.Shell ?? DEFAULT_SHELL);
    final = await be.commitConfig(final, cfg, { ...cfg, Cmd: cmd }, cmd.join(' '));
  }
  out.aux(final.id);
  say(`Successfully built ${final.id.slice(7, 19)}\n`);
  for (const t of tags) {
    await be.tag(final.id, t);
    say(`Successfully tagged ${t}\n`);
  }
  return final.id;
}

/** BUILDPLATFORM, TARGETOS… for this host (the build and target platform are the same). */
function platformArgs(): [string, string][] {
  const arch = goArch();
  const out: [string, string][] = [];
  for (const side of ['BUILD', 'TARGET']) out.push([`${side}PLATFORM`, `linux/${arch}`], [`${side}OS`, 'linux'], [`${side}ARCH`, arch], [`${side}VARIANT`, '']);
  return out;
}

interface Ctx {
  be: BuildBackend;
  opts: BuildOptions;
  say: (s: string) => void;
  global: Map<string, string>;
  usedArgs: Set<string>;
  escape: string;
  stages: Stage[];
  total: number;
  /** Running a base image's ONBUILD triggers: moby shows the stage's image once, after them. */
  inTriggers?: boolean;
  step: () => number;
  /** --cache-from's images (those here): when the build names any, the cache follows moby's ImageCache. */
  sources?: BuildImage[];
}

function stageIndex(stages: Stage[], ref: string, before: number): number | undefined {
  const byName = stages.findIndex((s, i) => i < before && s.name === ref.toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(ref) && Number(ref) < before) return Number(ref);
  return undefined;
}

/**
 * The Cmd a config-only step records (its cache key, and joined, its history line), as moby's
 * withCmdComment: the shell in effect, "#(nop) " and the text as two words, so the history
 * reads `/bin/sh -c #(nop)  CMD ["sh"]` (two spaces). WORKDIR, COPY and ADD use moby's
 * withCmdCommentString, one word: `#(nop) WORKDIR /app`.
 */
function nop(text: string, shell: string[] = DEFAULT_SHELL, oneWord = false): string[] {
  return oneWord ? [...shell, `#(nop) ${text}`] : [...shell, '#(nop) ', text];
}

function argPairs(ins: Instruction, env: Env, escape: string): [string, string | undefined][] {
  const words = processWords(ins.args, env, escape);
  if (!words.length) throw new BuildError(`Dockerfile parse error line ${ins.line}: ARG requires at least one argument`);
  return words.map((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function envMap(config: RunConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

/** A step's resulting image, as the classic builder shows it after each step. */
function stepDone(ctx: Ctx, id: string): void {
  if (!ctx.inTriggers) ctx.say(` ---> ${id.slice(7, 19)}\n`);
}

async function runStage(ctx: Ctx, stage: Stage): Promise<BuildImage> {
  const { be, opts, say } = ctx;
  const fromWords = processWords(stage.from.args, ctx.global, ctx.escape);
  const base = fromWords[0];
  say(`Step ${ctx.step()}/${ctx.total} : ${stage.from.original}\n`);
  let image: BuildImage | undefined;
  const prior = stageIndex(ctx.stages, base, stage.index);
  if (prior !== undefined) {
    image = ctx.stages[prior].image;
  } else if (base.toLowerCase() !== 'scratch') {
    image = opts.pull ? undefined : be.image(base);
    if (!image) image = await be.pull(base, (l) => say(l));
  }
  if (stage.from.flags.has('platform')) {
    const p = processWord(String(stage.from.flags.get('platform')), ctx.global, ctx.escape);
    if (image && p && !p.startsWith(image.config.os)) throw new BuildError(`image ${base} is for ${image.config.os}/${image.config.architecture}, not ${p}`);
  }
  let config: RunConfig = structuredClone(image?.config.config ?? {});
  // A stage without PATH gets the default one, as moby's builder (and BuildKit) give it: an
  // imported base image has no environment at all.
  if (!(config.Env ?? []).some((e) => e.startsWith('PATH='))) config.Env = [...(config.Env ?? []), 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  const args = new Map<string, string>();
  const st: StageState = { image, config, args, cmdSet: false };
  // ONBUILD triggers of the base image run first, as steps of this stage.
  const triggers = image?.config.config?.OnBuild ?? [];
  if (triggers.length) {
    say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
    ctx.inTriggers = true;
    try {
      for (const t of triggers) {
        const parsed = parseDockerfile(t).instructions[0];
        if (!parsed) continue;
        await runStep(ctx, st, parsed);
      }
    } finally {
      ctx.inTriggers = false;
    }
    st.config.OnBuild = null;
  }
  // the stage's image, once its base's triggers ran (moby)
  if (st.image) say(` ---> ${st.image.id.slice(7, 19)}\n`);
  for (const ins of stage.steps) {
    if (opts.signal.aborted) throw new BuildError('the build was cancelled');
    say(`Step ${ctx.step()}/${ctx.total} : ${ins.original}\n`);
    await runStep(ctx, st, ins);
  }
  if (!st.image) {
    // FROM scratch with only config steps still makes an image.
    const cmd = nop('FROM scratch');
    st.image = await be.commitConfig(undefined, st.config, { ...st.config, Cmd: cmd }, cmd.join(' '));
  }
  stage.image = st.image;
  return st.image;
}

interface StageState {
  image: BuildImage | undefined;
  config: RunConfig;
  args: Map<string, string>;
  /** Whether this stage has a CMD of its own (then ENTRYPOINT keeps it, as moby's cmdSet). */
  cmdSet: boolean;
  /** MAINTAINER's name: the Author of the stage's images. */
  author?: string;
}

/** The variables an instruction's words expand with: the config's env, then the stage's ARGs. */
function wordEnv(st: StageState): Env {
  const m = new Map(st.args);
  for (const [k, v] of envMap(st.config)) m.set(k, v);
  return m;
}

async function runStep(ctx: Ctx, st: StageState, ins: Instruction): Promise<void> {
  const env = wordEnv(st);
  const w = (s: string) => processWord(s, env, ctx.escape);
  const ws = (s: string) => processWords(s, env, ctx.escape);
  const cfg = st.config;
  const meta = async (text: string, change: (c: RunConfig) => void, oneWord = false) => {
    change(cfg);
    await commitMeta(ctx, st, text, oneWord);
  };
  switch (ins.cmd) {
    case 'env': {
      const pairs = parseKeyValues(ins.args, 'env', ins.line).map(([k, v]) => [k, w(v)] as const);
      const text = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
      return meta(text, (c) => {
        const m = envMap(c);
        const order = (c.Env ?? []).map((e) => e.slice(0, e.indexOf('=')));
        for (const [k, v] of pairs) {
          if (!m.has(k)) order.push(k);
          m.set(k, v);
        }
        c.Env = order.map((k) => `${k}=${m.get(k)}`);
      });
    }
    case 'label': {
      const pairs = parseKeyValues(ins.args, 'label', ins.line).map(([k, v]) => [w(k), w(v)] as const);
      return meta(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of pairs) c.Labels[k] = v;
      });
    }
    case 'maintainer':
      st.author = ins.args;
      return meta(`MAINTAINER ${ins.args}`, () => {});
    case 'arg': {
      for (const [k, v] of argPairs(ins, env, ctx.escape)) {
        if (ctx.opts.buildArgs.has(k)) ctx.usedArgs.add(k);
        const given = ctx.opts.buildArgs.get(k);
        const value = given ?? v ?? ctx.global.get(k);
        if (value !== undefined) st.args.set(k, value);
        else st.args.delete(k);
      }
      // docker records ARG as a step of its own (no image when nothing else changes).
      return meta(`ARG ${ins.args}`, () => {});
    }
    case 'expose': {
      const raw = ws(ins.args);
      const ports = raw.map((p) => {
        const [n, proto = 'tcp'] = p.split('/');
        if (!/^\d+(-\d+)?$/.test(n)) throw new BuildError(`invalid containerPort: ${n}`);
        return `${n}/${proto.toLowerCase()}`;
      });
      // history keeps the ports as written (moby's "EXPOSE "+strings.Join(c.Ports, " "))
      return meta(`EXPOSE ${raw.join(' ')}`, (c) => {
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) c.ExposedPorts[p] = {};
      });
    }
    case 'volume': {
      const vols = ins.json ?? ws(ins.args);
      if (!vols.length || vols.some((v) => v.trim() === '')) throw new BuildError('VOLUME specified can not be an empty string');
      return meta(`VOLUME [${vols.join(' ')}]`, (c) => {
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) c.Volumes[v] = {};
      });
    }
    case 'user':
      return meta(`USER ${w(ins.args)}`, (c) => {
        c.User = w(ins.args);
      });
    case 'workdir': {
      let dir = w(ins.args);
      if (!dir) throw new BuildError('WORKDIR requires exactly one argument');
      dir = posix.resolve(cfg.WorkingDir || '/', dir);
      return meta(`WORKDIR ${dir}`, (c) => {
        c.WorkingDir = dir;
      }, true);
    }
    case 'stopsignal':
      return meta(`STOPSIGNAL ${w(ins.args)}`, (c) => {
        c.StopSignal = w(ins.args);
      });
    case 'shell':
      // moby records it with Go's %v: SHELL [/bin/sh -c]
      return meta(`SHELL [${ins.json!.join(' ')}]`, (c) => {
        c.Shell = ins.json!;
      });
    case 'cmd':
    case 'entrypoint': {
      const cmd = ins.json ?? [...(cfg.Shell ?? DEFAULT_SHELL), ins.args];
      const shown = `[${cmd.map((x) => JSON.stringify(x)).join(' ')}]`;
      return meta(`${ins.cmd.toUpperCase()} ${shown}`, (c) => {
        if (ins.cmd === 'cmd') {
          c.Cmd = cmd;
          st.cmdSet = true;
        } else {
          c.Entrypoint = cmd;
          // ENTRYPOINT resets a CMD inherited from the base image, not one of this stage (moby).
          if (!st.cmdSet) c.Cmd = null;
        }
      });
    }
    case 'healthcheck': {
      const hc = parseHealthcheck(ins);
      return meta(`HEALTHCHECK ${healthText(hc)}`, (c) => {
        c.Healthcheck = hc;
      });
    }
    case 'onbuild': {
      const trigger = ins.args.trim();
      const inner = trigger.split(/\s+/)[0]?.toLowerCase();
      if (inner === 'onbuild') throw new BuildError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (inner === 'from' || inner === 'maintainer') throw new BuildError(`${inner.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      return meta(`ONBUILD ${trigger}`, (c) => {
        c.OnBuild = [...(c.OnBuild ?? []), trigger];
      });
    }
    case 'run':
      return runInstruction(ctx, st, ins, env);
    case 'copy':
    case 'add':
      return copyInstruction(ctx, st, ins, env);
    default:
      throw new BuildError(`Dockerfile parse error line ${ins.line}: unknown instruction: ${ins.cmd.toUpperCase()}`);
  }
}

function parseHealthcheck(ins: Instruction): NonNullable<RunConfig['Healthcheck']> {
  const dur = (name: string): number | undefined => {
    const v = ins.flags.get(name);
    if (v === undefined || v === true) return undefined;
    const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
    if (!m) throw new BuildError(`Dockerfile parse error line ${ins.line}: invalid duration ${v} for --${name}`);
    const mult = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ns'];
    return Math.round(Number(m[1]) * mult);
  };
  const rest = ins.args.trim();
  if (/^none$/i.test(rest)) return { Test: ['NONE'] };
  const m = /^cmd\s+([\s\S]*)$/i.exec(rest);
  if (!m) throw new BuildError(`Dockerfile parse error line ${ins.line}: Unknown type "${rest.split(/\s+/)[0]}" in HEALTHCHECK (try CMD)`);
  let json: string[] | undefined;
  try {
    const v = JSON.parse(m[1]) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v as string[];
  } catch {
    json = undefined;
  }
  const retries = ins.flags.get('retries');
  return {
    Test: json ? ['CMD', ...json] : ['CMD-SHELL', m[1]],
    ...(dur('interval') !== undefined ? { Interval: dur('interval') } : {}),
    ...(dur('timeout') !== undefined ? { Timeout: dur('timeout') } : {}),
    ...(dur('start-period') !== undefined ? { StartPeriod: dur('start-period') } : {}),
    ...(dur('start-interval') !== undefined ? { StartInterval: dur('start-interval') } : {}),
    ...(typeof retries === 'string' ? { Retries: Number(retries) } : {}),
  };
}

/**
 * HEALTHCHECK's history text as moby writes it: Go's %q of the *HealthConfig, each field
 * quoted (`&{["CMD-SHELL" "curl -f x"] "30s" "5s" "0s" "0s" '\x03'}`), NONE included.
 */
export function healthText(hc: NonNullable<RunConfig['Healthcheck']>): string {
  const d = (ns: number | undefined) => quote(formatDuration(BigInt(ns ?? 0)));
  return `&{[${(hc.Test ?? []).map((t) => quote(t)).join(' ')}] ${d(hc.Interval)} ${d(hc.Timeout)} ${d(hc.StartPeriod)} ${d(hc.StartInterval)} ${quoteRune(hc.Retries ?? 0)}}`;
}

/** A config-only step: from the cache, or a new image with the same layers. */
async function commitMeta(ctx: Ctx, st: StageState, text: string, oneWord = false): Promise<void> {
  const cmd = nop(text, st.config.Shell ?? DEFAULT_SHELL, oneWord);
  const key: RunConfig = { ...st.config, Cmd: cmd };
  if (await useCache(ctx, st, key)) return;
  st.image = await ctx.be.commitConfig(st.image, st.config, key, cmd.join(' '), st.author);
  stepDone(ctx, st.image.id);
}

/**
 * moby's ImageCache with --cache-from: a local hit counts only on a source's own chain; else a
 * source whose history continues the current image's and whose next entry this step made is
 * used: itself at its last entry, or the image it had after that entry, rebuilt here. From
 * then on only that source is followed, as moby does.
 */
async function cachedFrom(ctx: Ctx, sources: BuildImage[], st: StageState, key: RunConfig): Promise<BuildImage | undefined> {
  const local = ctx.be.cached(st.image?.id, key);
  if (local && sources.some((s) => ctx.be.isAncestor(local.id, s.id))) return local;
  const at = st.image?.config.history?.length ?? 0;
  for (const source of sources) {
    const history = source.config.history ?? [];
    if (!continues(source.config, st.image?.config) || !madeBy(key, history[at])) continue;
    if (history.length - 1 === at) {
      if (st.image) await ctx.be.adoptParent(source.id, st.image.id);
      return source;
    }
    const restored = await ctx.be.restoreCached(st.image, source, at, st.config, key);
    if (!restored) continue;
    ctx.sources = [source];
    return restored;
  }
  return undefined;
}

async function useCache(ctx: Ctx, st: StageState, key: RunConfig): Promise<boolean> {
  if (ctx.opts.noCache) return false;
  const hit = ctx.sources ? await cachedFrom(ctx, ctx.sources, st, key) : ctx.be.cached(st.image?.id, key);
  if (!hit) return false;
  st.image = hit;
  st.config = structuredClone(hit.config.config ?? {});
  ctx.say(' ---> Using cache\n');
  stepDone(ctx, hit.id);
  return true;
}

/** The build args in effect for RUN: given to the command, and part of its cache key (moby's "|N" prefix). */
function runArgs(st: StageState): string[] {
  const env = envMap(st.config);
  const out: string[] = [];
  for (const [k, v] of [...st.args].sort(([a], [b]) => (a < b ? -1 : 1))) if (!env.has(k)) out.push(`${k}=${v}`);
  return out;
}

async function runInstruction(ctx: Ctx, st: StageState, ins: Instruction, env: Env): Promise<void> {
  for (const f of ins.flags.keys()) if (f !== 'network' && f !== 'mount' && f !== 'security') throw new BuildError(`Dockerfile parse error line ${ins.line}: RUN --${f} is not supported by Berth's builder yet`);
  // RUN --security (BuildKit's, GA in Dockerfile 1.20): sandbox is every step's; insecure
  // (privileged) needs an entitlement Berth has no way to grant
  const security = ins.flags.get('security');
  if (security !== undefined && security !== 'sandbox') {
    if (security === 'insecure') throw new BuildError(`Dockerfile parse error line ${ins.line}: RUN --security=insecure needs the security.insecure entitlement, which Berth's builder does not grant`);
    throw new BuildError(`Dockerfile parse error line ${ins.line}: unsupported security mode ${security === true ? '""' : `"${security}"`}`);
  }
  const mounts = ins.mounts.map((spec) => {
    try {
      return parseRunMount(spec, (v) => processWord(v, env, ctx.escape), st.config.WorkingDir || '/');
    } catch (e) {
      throw new BuildError(`Dockerfile parse error line ${ins.line}: ${(e as Error).message}`);
    }
  });
  const shell = st.config.Shell ?? DEFAULT_SHELL;
  let script = ins.args;
  // Heredocs go to the shell as written: it reads them itself.
  if (ins.heredocs.length) {
    const only = /^<<-?(["']?)([^<"'\s]+)\1$/.exec(script.trim());
    script = only && !ins.json ? ins.heredocs[0].content : `${script}\n${ins.heredocs.map((h) => `${h.content}${h.name}`).join('\n')}`;
  }
  const cmd = ins.json ?? [...shell, script];
  const args = runArgs(st);
  // The predefined proxy args reach RUN undeclared, and stay out of its cache key (moby).
  const proxies = [...ctx.opts.buildArgs].filter(([k, v]) => PROXY_ARGS.has(k) && v !== null && !st.args.has(k)).map(([k, v]) => `${k}=${v}`);
  // The mounts are part of the step (a bind mount's source by its content, as COPY's).
  const binds = new Map<RunMount, BindFrom>();
  for (const m of mounts) if (m.type === 'bind') binds.set(m, await bindFrom(ctx, m));
  const mountKeys = mounts.map((m) => mountKey(m) + (m.type === 'bind' ? `:${bindKey(binds.get(m)!)}` : ''));
  const keyCmd = [...mountKeys, ...(args.length ? [`|${args.length}`, ...args, ...cmd] : cmd)];
  const key: RunConfig = { ...st.config, Cmd: keyCmd };
  if (await useCache(ctx, st, key)) return;
  const network = typeof ins.flags.get('network') === 'string' ? String(ins.flags.get('network')) : ctx.opts.networkMode;
  const runCfg: RunConfig = { ...st.config, Cmd: cmd, Entrypoint: [''], Env: [...(st.config.Env ?? []), ...args, ...proxies], Labels: st.config.Labels ?? {} };
  const prepared = await prepareMounts(ctx, mounts, binds);
  try {
    await runContainerStep(ctx, st, ins, { cmd, shell, script, key, keyCmd, runCfg, network, mounts: prepared.mounts, secretEnv: prepared.env });
  } finally {
    await prepared.release();
  }
}

/** A RUN --mount=type=bind's source, resolved once for the step's key and for its mount. */
type BindFrom = { src: Source } | { img: BuildImage | undefined; path: string };

async function bindFrom(ctx: Ctx, m: Extract<RunMount, { type: 'bind' }>): Promise<BindFrom> {
  if (m.from === undefined) return { src: contextSources(ctx.opts.context, m.source, 'RUN --mount')[0] };
  return { img: await fromImage(ctx, m.from), path: posix.resolve('/', m.source) };
}

/** A bind source for the cache key: its content in the context, or the image and path it comes from. */
function bindKey(b: BindFrom): string {
  return 'src' in b ? b.src.hash : sha(Buffer.from(`${b.img?.id ?? 'scratch'}:${b.path}`));
}

/** What `--from=REF` names (COPY, RUN --mount): an earlier stage's image, else an image, pulled when missing. */
async function fromImage(ctx: Ctx, ref: string): Promise<BuildImage | undefined> {
  const idx = stageIndex(ctx.stages, ref, ctx.stages.length);
  if (idx === undefined) return ctx.be.image(ref) ?? await ctx.be.pull(ref, (l) => ctx.say(l));
  if (!ctx.stages[idx].image) throw new BuildError(`stage ${ref} has not been built`);
  return ctx.stages[idx].image;
}

/** Locked cache mounts take turns (BuildKit's sharing=locked). */
const cacheTurns = new KeyedMutex();

/**
 * Which copies of each cache mount (by id) steps are using, and how many use each: copy 0 is
 * the cache; a private mount (BuildKit's sharing=private) whose id is in use takes the first
 * copy no step is using, made when none is free, kept as the cache is.
 */
const cacheUsers = new Map<string, Map<number, number>>();

function useCacheCopy(id: string, copy: number): () => void {
  const users = cacheUsers.get(id) ?? new Map<number, number>();
  cacheUsers.set(id, users);
  users.set(copy, (users.get(copy) ?? 0) + 1);
  return () => {
    const n = (users.get(copy) ?? 1) - 1;
    if (n > 0) users.set(copy, n);
    else users.delete(copy);
    if (!users.size) cacheUsers.delete(id);
  };
}

function freeCacheCopy(id: string): number {
  const users = cacheUsers.get(id);
  let copy = 0;
  while (users?.has(copy)) copy++;
  return copy;
}

/**
 * The host side of a step's mounts: cache directories (kept across builds; locked ones in
 * turns, a private one in a copy of its own while its id is in use), bind sources unpacked into directories of their own (from the context, another
 * stage or an image; a rw one's writes go nowhere), tmpfs. `release` undoes it all.
 */
async function prepareMounts(ctx: Ctx, mounts: RunMount[], binds: Map<RunMount, BindFrom>): Promise<{ mounts: StepMount[]; env: string[]; release: () => Promise<void> }> {
  const out: StepMount[] = [];
  const env: string[] = [];
  const temps: string[] = [];
  const turns: (() => void)[] = [];
  const release = async () => {
    for (const t of turns) t();
    for (const d of temps) await ctx.be.discard(d).catch(() => {});
  };
  try {
    for (const m of mounts) {
      if (m.type === 'tmpfs') {
        out.push({ type: 'tmpfs', target: m.target, ...(m.size !== undefined ? { size: m.size } : {}) });
      } else if (m.type === 'secret') {
        const value = ctx.opts.secrets?.get(m.id);
        if (value === undefined) {
          if (m.required) throw new BuildError(`secret ${m.id}: not found`);
          continue;
        }
        if (m.env !== undefined) env.push(`${m.env}=${value.toString('utf8')}`);
        if (m.target !== undefined) {
          const dir = await ctx.be.secretFile(value, m.mode, m.uid, m.gid);
          temps.push(dir);
          out.push({ type: 'bind', source: `${dir}/secret`, target: m.target, readOnly: true });
        }
      } else if (m.type === 'cache') {
        if (m.sharing === 'locked') turns.push(await cacheTurns.lock(m.id));
        const copy = m.sharing === 'private' ? freeCacheCopy(m.id) : 0;
        turns.push(useCacheCopy(m.id, copy));
        out.push({ type: 'bind', source: await ctx.be.cacheDir(copy ? `${m.id}\0${copy}` : m.id, m.mode, m.uid, m.gid), target: m.target, readOnly: m.readOnly });
      } else {
        const b = binds.get(m)!;
        if ('src' in b) {
          const src = b.src;
          const dir = await streamTar((tar) => ctx.be.materialize(tar), (put) => sourceEntries(ctx.opts.context, put, src, '/m', { uid: 0, gid: 0 }, undefined));
          temps.push(dir);
          out.push({ type: 'bind', source: `${dir}/m`, target: m.target, readOnly: m.readOnly });
          continue;
        }
        const c = await ctx.be.createContainer(b.img, { Cmd: ['true'] }, { networkMode: 'none', extraHosts: [], shmSize: 0 });
        try {
          const p = b.path;
          if (!(await ctx.be.stat(c, p))) throw new BuildError(`RUN --mount failed: stat ${p} in ${m.from}: file does not exist`);
          const dir = await ctx.be.materialize(await ctx.be.archive(c, p));
          temps.push(dir);
          out.push({ type: 'bind', source: p === '/' ? dir : `${dir}/${posix.basename(p)}`, target: m.target, readOnly: m.readOnly });
        } finally {
          await ctx.be.removeContainer(c).catch(() => {});
        }
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { mounts: out, env, release };
}

interface StepPlan {
  cmd: string[];
  shell: string[];
  script: string;
  key: RunConfig;
  keyCmd: string[];
  runCfg: RunConfig;
  network: string;
  mounts: StepMount[];
  /** Secrets' variables: the process's only (not in the step container's record nor the image). */
  secretEnv: string[];
}

/** The RUN step proper: its container run, committed, removed. */
async function runContainerStep(ctx: Ctx, st: StageState, ins: Instruction, plan: StepPlan): Promise<void> {
  const { cmd, shell, script, key, keyCmd, runCfg, network } = plan;
  const id = await ctx.be.createContainer(st.image, runCfg, { networkMode: network === 'default' ? 'bridge' : network, extraHosts: ctx.opts.extraHosts, shmSize: ctx.opts.shmSize, ...(ctx.opts.runHost ? { runHost: ctx.opts.runHost } : {}), ...(plan.mounts.length ? { mounts: plan.mounts } : {}), ...(plan.secretEnv.length ? { secretEnv: plan.secretEnv } : {}) });
  ctx.say(` ---> Running in ${id.slice(0, 12)}\n`);
  let code: number;
  try {
    code = await ctx.be.run(id, (chunk) => ctx.say(chunk.toString('utf8')), ctx.opts.signal);
  } catch (e) {
    await ctx.be.removeContainer(id).catch(() => {});
    throw e;
  }
  if (ctx.opts.signal.aborted) {
    await ctx.be.removeContainer(id).catch(() => {});
    throw new BuildError('the build was cancelled');
  }
  // rm=false keeps every step's container, the failed one too; otherwise none stays (docker
  // keeps a failed step's unless --force-rm): a failed build leaves nothing.
  const removing = ctx.opts.remove || ctx.opts.forceRm;
  if (code !== 0) {
    if (removing) await ctx.be.removeContainer(id).catch(() => {});
    else await ctx.be.keepContainer(id);
    const shown = ins.json ? JSON.stringify(cmd) : `${shell.join(' ')} ${script}`;
    throw new BuildError(`The command '${shown}' returned a non-zero code: ${code}`, code);
  }
  try {
    // History records what the cache key holds: build args in use as moby's `|N K=V` prefix.
    st.image = await ctx.be.commit(id, st.image, st.config, key, keyCmd.join(' '), st.author, plan.mounts.map((m) => m.target));
  } finally {
    if (removing) {
      ctx.say(`Removing intermediate container ${id.slice(0, 12)}\n`);
      await ctx.be.removeContainer(id).catch(() => {});
    }
  }
  if (!removing) await ctx.be.keepContainer(id);
  stepDone(ctx, st.image.id);
}

// ---- COPY and ADD ---------------------------------------------------------------------

interface Source {
  /** Where the bytes come from: a path in the context, a temp file, or a tar of another image. */
  kind: 'path' | 'tar' | 'content';
  /** Context (or download) path, absolute. */
  path?: string;
  /** For heredocs and downloads: the file's name and content. */
  name?: string;
  content?: Buffer;
  mtime?: Date;
  /** For --from: a tar stream and its top-level name. */
  tar?: () => Promise<Readable>;
  /** What was written: for messages and the cache key. */
  shown: string;
  /** COPY --exclude's patterns, over the paths below a directory source. */
  exclude?: IgnorePattern[];
  /** The source as the instruction wrote it (a wildcard, a `/./` pivot). */
  origin?: string;
  /** COPY --parents: the source's path (from the context's root or the `/./` pivot) kept under the destination. */
  keep?: string;
  hash: string;
  isDir: boolean;
}

async function copyInstruction(ctx: Ctx, st: StageState, ins: Instruction, env: Env): Promise<void> {
  const isAdd = ins.cmd === 'add';
  const name = ins.cmd.toUpperCase();
  for (const f of ins.flags.keys()) {
    if (!['from', 'chown', 'chmod', 'link', 'exclude', ...(isAdd ? ['checksum', 'keep-git-dir'] : ['parents'])].includes(f) || (isAdd && f === 'from')) throw new BuildError(`Dockerfile parse error line ${ins.line}: ${name} --${f} is not supported by Berth's builder yet`);
  }
  const t0 = performance.now();
  let words = ins.json ?? processWords(ins.args, env, ctx.escape);
  if (ins.json) words = words.map((x) => processWord(x, env, ctx.escape));
  const heredocNames = new Map(ins.heredocs.map((h) => [`<<${h.name}`, h]));
  if (words.length < 2) throw new BuildError(`${name} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  const destRaw = words[words.length - 1];
  const srcs = words.slice(0, -1);
  const from = ins.flags.get('from');
  // COPY/ADD --exclude (BuildKit's): .dockerignore patterns over each source's own paths
  const exclude = ins.excludes.length ? parseDockerignore(ins.excludes.map((e) => processWord(e, env, ctx.escape)).join('\n')) : undefined;
  // ADD --checksum (BuildKit's): the download must have this digest
  const checksumFlag = ins.flags.get('checksum');
  const checksum = typeof checksumFlag === 'string' ? processWord(checksumFlag, env, ctx.escape) : undefined;
  if (checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(checksum)) throw new BuildError(`Dockerfile parse error line ${ins.line}: invalid checksum digest format: ${checksum}`);
  const sources: Source[] = [];
  let fromContainer: string | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (typeof from === 'string') {
      const ref = processWord(from, env, ctx.escape);
      const img = await fromImage(ctx, ref);
      fromContainer = await ctx.be.createContainer(img, { Cmd: ['true'] }, { networkMode: 'none', extraHosts: [], shmSize: 0 });
      for (const s of srcs) {
        const p = posix.resolve('/', s);
        const kind = await ctx.be.stat(fromContainer, p);
        if (!kind) throw new BuildError(`COPY failed: stat ${p}: file does not exist`);
        const c = fromContainer;
        sources.push({ kind: 'tar', tar: () => ctx.be.archive(c, p), shown: s, hash: sha(Buffer.from(`${img!.id}:${p}`)), isDir: kind === 'dir', name: posix.basename(p) });
      }
    } else {
      for (const s of srcs) {
        const h = heredocNames.get(s);
        if (h) {
          const content = Buffer.from(h.expand ? processWord(h.content.replace(/"/g, '\\"'), env, ctx.escape).replace(/\\"/g, '"') : h.content);
          sources.push({ kind: 'content', name: h.name, content, shown: s, hash: sha(content), isDir: false });
          continue;
        }
        if (isAdd && isGitRef(s)) {
          if (checksum !== undefined) throw new BuildError(`Dockerfile parse error line ${ins.line}: checksum can't be specified for a git source yet`);
          const keepFlag = ins.flags.get('keep-git-dir');
          let keepGitDir = false;
          if (keepFlag !== undefined) {
            try {
              keepGitDir = keepFlag === true || parseGoBool(keepFlag);
            } catch {
              throw new BuildError(`Dockerfile parse error line ${ins.line}: invalid value for --keep-git-dir: ${keepFlag}`);
            }
          }
          const { url, ref, subdir } = splitGitRef(s);
          if (keepGitDir && subdir) throw new BuildError(`Dockerfile parse error line ${ins.line}: ADD --keep-git-dir cannot be used with a subdirectory (${subdir})`);
          const g = await ctx.be.gitSource(url, ref, subdir, keepGitDir);
          cleanups.push(g.remove);
          sources.push({ kind: 'tar', tar: () => g.archive('git'), shown: s, hash: sha(`git:${g.commit}:${subdir ?? ''}${keepGitDir ? ':keep' : ''}`), isDir: true, name: 'git' });
          continue;
        }
        if (isAdd && /^https?:\/\//i.test(s)) {
          const src = await download(s, ctx);
          if (checksum !== undefined && `sha256:${src.hash}` !== checksum) throw new BuildError(`ADD failed: digest mismatch ${checksum}: sha256:${src.hash}`);
          sources.push(src);
          continue;
        }
        if (checksum !== undefined) throw new BuildError(`Dockerfile parse error line ${ins.line}: checksum can't be specified for non-HTTP(S) sources`);
        sources.push(...contextSources(ctx.opts.context, s, name, exclude));
      }
    }
    if (ins.flags.get('parents') === true) {
      // BuildKit's --parents: each source lands at its own path below the destination, from
      // the context's (or image's) root, or from a `/./` pivot in the source as written
      for (const src of sources) {
        const written = src.origin ?? src.shown;
        const pivot = written.indexOf('/./');
        const rel = posix.normalize(`/${src.shown}`).slice(1);
        const base = pivot >= 0 ? posix.normalize(`/${written.slice(0, pivot)}`).slice(1) : '';
        src.keep = base && (rel === base || rel.startsWith(`${base}/`)) ? rel.slice(base.length + 1) : rel;
      }
    }
    if (exclude) {
      // a source that is itself excluded (a wildcard's match) is not copied at all
      for (let i = sources.length - 1; i >= 0; i--) if (!sources[i].isDir && isIgnored(sources[i].name ?? '', exclude)) sources.splice(i, 1);
      for (const src of sources) src.exclude = exclude;
    }
    const dest = posix.resolve(st.config.WorkingDir || '/', destRaw) + (destRaw.endsWith('/') && destRaw !== '/' ? '/' : '');
    if (sources.length > 1 && !destRaw.endsWith('/')) throw new BuildError(`When using ${name} with more than one source file, the destination must be a directory and end with a /`);
    const chownSpec = typeof ins.flags.get('chown') === 'string' ? processWord(String(ins.flags.get('chown')), env, ctx.escape) : undefined;
    const chmodSpec = typeof ins.flags.get('chmod') === 'string' ? String(ins.flags.get('chmod')) : undefined;
    if (chmodSpec !== undefined && !/^[0-7]{3,4}$/.test(chmodSpec)) throw new BuildError(`invalid chmod parameter: ${chmodSpec}`);
    const kinds = sources.length === 1 ? (sources[0].isDir ? 'dir' : 'file') : 'multi';
    const hash = kinds === 'multi' ? sha(Buffer.from(sources.map((s) => s.hash).join(','))) : sources[0].hash.replace(/^sha256:/, '');
    const excludeText = ins.excludes.length ? ins.excludes.map((e) => `--exclude=${processWord(e, env, ctx.escape)} `).join('') : '';
    const text = `${name} ${chownSpec ? `--chown=${chownSpec} ` : ''}${chmodSpec ? `--chmod=${chmodSpec} ` : ''}${excludeText}${ins.flags.get('parents') === true ? '--parents ' : ''}${kinds}:${hash} in ${dest} `;
    const cmd = nop(text, st.config.Shell ?? DEFAULT_SHELL, true);
    const key: RunConfig = { ...st.config, Cmd: cmd };
    if (await useCache(ctx, st, key)) return;
    const tA = performance.now();
    const id = await ctx.be.createContainer(st.image, { ...st.config, Cmd: cmd }, { networkMode: 'none', extraHosts: [], shmSize: 0 });
    const tB = performance.now();
    try {
      const owner = chownSpec ? await ctx.be.lookupUser(id, chownSpec) : { uid: 0, gid: 0 };
      const destIsDir = dest.endsWith('/') || (await ctx.be.stat(id, dest)) === 'dir';
      const modeBits = chmodSpec ? parseInt(chmodSpec, 8) : undefined;
      const archives = isAdd ? await Promise.all(sources.map((src) => (src.kind === 'path' && !src.isDir ? isArchive(ctx.opts.context, src.path!) : Promise.resolve(false)))) : sources.map(() => false);
      const targetOf = (src: Source) => (src.keep !== undefined ? posix.join(dest, src.keep) + (src.isDir ? '/' : '') : src.isDir ? dest : destIsDir ? posix.join(dest, src.name ?? posix.basename(src.path ?? '')) : dest);
      const placed = sources.map((src) => ({ src, target: targetOf(src) }));
      if (!archives.some(Boolean) && await copyAsLayer(ctx, id, st, placed, owner, modeBits, key, cmd.join(' '))) {
        stepDone(ctx, st.image!.id);
        return;
      }
      for (const src of sources) {
        if (isAdd && src.kind === 'path' && !src.isDir && (await isArchive(ctx.opts.context, src.path!))) {
          // ADD unpacks a local archive into the destination directory (a URL's stays a file).
          await extractArchive(ctx, id, src.path!, dest.replace(/\/$/, '') || '/');
          continue;
        }
        const target = targetOf(src);
        await placeSource(ctx, id, src, target, owner, chmodSpec ? parseInt(chmodSpec, 8) : undefined);
      }
      const tC = performance.now();
      st.image = await ctx.be.commit(id, st.image, st.config, key, cmd.join(' '), st.author);
      log.debug('copy step', { createMs: (tB - tA).toFixed(1), placeMs: (tC - tB).toFixed(1), commitMs: (performance.now() - tC).toFixed(1), sourcesMs: (tA - t0).toFixed(1) });
    } finally {
      await ctx.be.removeContainer(id).catch(() => {});
    }
    stepDone(ctx, st.image.id);
  } finally {
    if (fromContainer) await ctx.be.removeContainer(fromContainer).catch(() => {});
    for (const c of cleanups) await c().catch(() => {});
  }
}

function sha(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A source in the context: one path, or what a wildcard matches; never outside it. */
function contextSources(view: ContextView, src: string, name: string, exclude?: IgnorePattern[]): Source[] {
  const clean = posix.normalize(`/${src}`).slice(1);
  if (posix.normalize(src).startsWith('../') || posix.normalize(src) === '..') throw new BuildError(`${name} failed: forbidden path outside the build context: ${src} ()`);
  let rels: string[];
  if (/[*?[]/.test(clean)) {
    rels = glob(view, clean);
    if (!rels.length) throw new BuildError(`${name} failed: no source files were specified`);
  } else {
    rels = [clean];
  }
  const out: Source[] = [];
  for (const rel of rels) {
    // The path itself may be a symlink: followed, but only within the context.
    const real = resolveInContext(view, rel);
    if (real === 'outside') throw new BuildError(`${name} failed: forbidden path outside the build context: ${src} (${view.readlink(rel) || rel})`);
    if (real === undefined) throw new BuildError(`${name} failed: file not found in build context or excluded by .dockerignore: stat ${rel || '.'}: file does not exist`);
    const st = view.lstat(real)!;
    out.push({ kind: 'path', path: real, name: posix.basename(rel || '.'), shown: rel, origin: src, hash: treeHash(view, real, exclude), isDir: st.type === 'dir' });
  }
  return out;
}

function glob(view: ContextView, pattern: string): string[] {
  const re = new RegExp(`^${pattern.split('/').map((seg) => seg.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/')}$`);
  const depth = pattern.split('/').length;
  const out: string[] = [];
  const walk = (rel: string, d: number) => {
    for (const n of view.readdir(rel)) {
      const r = rel ? `${rel}/${n}` : n;
      if (d === depth) {
        if (re.test(r)) out.push(r);
      } else if (view.lstat(r)?.type === 'dir') {
        walk(r, d + 1);
      }
    }
  };
  walk('', 1);
  return out;
}

/**
 * Whether --exclude leaves `rel` (a path below the source) out. An excluded directory is left
 * out whole unless an exception (`!pattern`) may bring something below it back; then its
 * entry stays and its contents are judged one by one.
 */
function excluded(rel: string, patterns: IgnorePattern[], isDir: boolean): boolean {
  if (!isIgnored(rel, patterns)) return false;
  return !(isDir && mayHoldExceptions(rel, patterns));
}

/** A content hash of a file or tree: names, modes, link targets and the files' content hashes (the cache key). */
function treeHash(view: ContextView, rel: string, exclude?: IgnorePattern[]): string {
  // Gathered into one update: a thousand small updates cost more than the hashing.
  const parts: string[] = [];
  const walk = (r: string, name: string) => {
    // what --exclude leaves out is no part of the key ('./x' → 'x')
    if (exclude && name !== '.' && excluded(name.slice(2), exclude, view.lstat(r)?.type === 'dir')) return;
    const st = view.lstat(r)!;
    parts.push(`${name}\0${st.type}\0${st.mode}\0`);
    if (st.type === 'symlink') parts.push(view.readlink(r));
    else if (st.type === 'file') parts.push(view.hash(r));
    else for (const n of view.readdir(r)) walk(r ? `${r}/${n}` : n, `${name}/${n}`);
  };
  walk(rel, '.');
  return createHash('sha256').update(parts.join('')).digest('hex');
}

/**
 * Whether ADD's source is a git repository, as BuildKit tells (gitutil): git@host:path, a
 * git:// or ssh:// URL, or an http(s) URL whose path ends in .git.
 */
function isGitRef(s: string): boolean {
  if (s.startsWith('git@') || /^(git|ssh):\/\//i.test(s)) return true;
  if (!/^https?:\/\//i.test(s)) return false;
  try {
    return new URL(s).pathname.endsWith('.git');
  } catch {
    return false;
  }
}

/** `URL#ref:subdir` → its parts (BuildKit's fragment). */
function splitGitRef(s: string): { url: string; ref?: string; subdir?: string } {
  const hash = s.indexOf('#');
  if (hash < 0) return { url: s };
  const frag = s.slice(hash + 1);
  const colon = frag.indexOf(':');
  const ref = colon < 0 ? frag : frag.slice(0, colon);
  const subdir = colon < 0 ? '' : frag.slice(colon + 1);
  return { url: s.slice(0, hash), ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}

async function download(url: string, ctx: Ctx): Promise<Source> {
  const res = await fetch(url, { signal: ctx.opts.signal }).catch((e: unknown) => {
    throw new BuildError(`ADD failed: ${url}: ${e instanceof Error ? e.message : String(e)}`);
  });
  if (!res.ok) throw new BuildError(`ADD failed: ${url}: ${res.status} ${res.statusText}`);
  const content = Buffer.from(await res.arrayBuffer());
  const name = posix.basename(new URL(url).pathname) || 'download';
  const lm = res.headers.get('last-modified');
  return { kind: 'content', name, content, ...(lm ? { mtime: new Date(lm) } : {}), shown: url, hash: sha(content), isDir: false };
}

type Put = (h: Parameters<typeof encodeHeader>[0], body?: Buffer | (() => AsyncIterable<Buffer>)) => Promise<void>;

/**
 * Streams a tar that `produce` writes (through `put`) into `consume` (an extraction or a
 * layer commit), with the end marker; a failure on either side stops both.
 */
async function streamTar<T>(consume: (tar: Readable) => Promise<T>, produce: (put: Put) => Promise<void>): Promise<T> {
  const sink = tarSink();
  const done = consume(sink.out);
  try {
    await produce(tarPut(sink));
    await sink.write(Buffer.alloc(1024));
    sink.out.end();
  } catch (e) {
    sink.out.destroy(e as Error);
    await done.catch(() => {});
    throw e;
  }
  return done;
}

/** A tar writer whose entries go to `sink`. */
function tarPut(sink: ReturnType<typeof tarSink>): Put {
  return async (h, body) => {
    await sink.write(encodeHeader(h));
    if (Buffer.isBuffer(body)) await writeBody(sink.write, (async function* () { yield body; })(), h.size ?? 0);
    else if (typeof body === 'function') await writeBody(sink.write, body(), h.size ?? 0);
  };
}

const strip = (p: string) => p.replace(/^\//, '');

/** Writes one source at `target` in the container, as a tar extracted at its parent. */
async function placeSource(ctx: Ctx, id: string, src: Source, target: string, owner: { uid: number; gid: number }, mode: number | undefined): Promise<void> {
  const base = target.endsWith('/') ? target.slice(0, -1) || '/' : target;
  // Missing parent directories are made (root-owned, 0755), existing ones left as they are.
  const parents: string[] = [];
  for (let p = src.isDir ? base : posix.dirname(base); p !== '/'; p = posix.dirname(p)) {
    if (await ctx.be.stat(id, p)) break;
    parents.unshift(p);
  }
  const now = new Date();
  await streamTar((tar) => ctx.be.copyInto(id, '/', tar), async (put) => {
    for (const p of parents) await put({ name: `${strip(p)}/`, type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
    await sourceEntries(ctx.opts.context, put, src, base, owner, mode);
  });
}

/**
 * The fast COPY: the sources as a new layer written straight from the context (no container
 * extraction, no diff of one), with the existing directories on the way copied up with their
 * own owners, modes and times, as the overlay would. Declines (false) where a directory on
 * the way is not a plain directory in the image (a symlink): the container path handles that.
 */
async function copyAsLayer(ctx: Ctx, id: string, st: StageState, placed: { src: Source; target: string }[], owner: { uid: number; gid: number }, mode: number | undefined, key: RunConfig, createdBy: string): Promise<boolean> {
  const dirs = new Set<string>();
  for (const { src, target } of placed) {
    const base = target.endsWith('/') ? target.slice(0, -1) || '/' : target;
    for (let p = src.isDir ? base : posix.dirname(base); p !== '/'; p = posix.dirname(p)) dirs.add(p);
  }
  const ordered = [...dirs].sort((x, y) => x.split('/').length - y.split('/').length || (x < y ? -1 : 1));
  const infos = await Promise.all(ordered.map((p) => ctx.be.pathInfo(id, p)));
  if (infos.some((i) => i && i.type !== 'dir')) return false;
  const now = new Date();
  st.image = await streamTar((tar) => ctx.be.commitTar(st.image, tar, st.config, key, createdBy, st.author), async (write) => {
    // A directory is written once (docker's layer store refuses a tar naming a path twice):
    // the destination made above, and one that two directory sources both hold.
    const dirsWritten = new Set<string>();
    const put: Put = (h, body) => {
      if (h.type === 'directory') {
        if (dirsWritten.has(h.name)) return Promise.resolve();
        dirsWritten.add(h.name);
      }
      return write(h, body);
    };
    for (let i = 0; i < ordered.length; i++) {
      const info = infos[i];
      await put(info
        ? { name: `${strip(ordered[i])}/`, type: 'directory', mode: info.mode, uid: info.uid, gid: info.gid, mtime: info.mtime }
        : { name: `${strip(ordered[i])}/`, type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: now });
    }
    for (const { src, target } of placed) await sourceEntries(ctx.opts.context, put, src, target.endsWith('/') ? target.slice(0, -1) || '/' : target, owner, mode);
  });
  return true;
}

/** One source's entries at `base` (a directory source's contents go below it). */
async function sourceEntries(view: ContextView, put: Put, src: Source, base: string, owner: { uid: number; gid: number }, mode: number | undefined): Promise<void> {
  const now = new Date();
  if (src.kind === 'content') {
    await put({ name: strip(base), type: 'file', mode: mode ?? 0o644, uid: owner.uid, gid: owner.gid, size: src.content!.length, mtime: src.mtime ?? now }, src.content);
  } else if (src.kind === 'path') {
    // Small files are read ahead, a few dozen at once, while earlier ones are written.
    const SMALL = 256 * 1024;
    const root = strip(base);
    const walk = async (r: string, name: string, top: boolean, early?: Promise<Buffer>) => {
      const st = view.lstat(r)!;
      if (!top && src.exclude && excluded(name.slice(root.length + 1), src.exclude, st.type === 'dir')) return;
      const m = mode ?? st.mode;
      if (st.type === 'dir') {
        // A directory source's contents go into the destination, which stays as it is.
        if (!top) await put({ name: `${name}/`, type: 'directory', mode: m, uid: owner.uid, gid: owner.gid, mtime: st.mtime });
        const names = view.readdir(r);
        const child = (n: string) => (r ? `${r}/${n}` : n);
        const ahead = new Map<number, Promise<Buffer>>();
        let next = 0;
        for (let i = 0; i < names.length; i++) {
          for (; next < names.length && next < i + 32; next++) {
            const cs = view.lstat(child(names[next]));
            if (cs?.type === 'file' && cs.size <= SMALL) ahead.set(next, view.read(child(names[next])));
          }
          const body = ahead.get(i);
          ahead.delete(i);
          await walk(child(names[i]), `${name}/${names[i]}`, false, body);
        }
      } else if (st.type === 'symlink') {
        await put({ name, type: 'symlink', linkname: view.readlink(r), mode: 0o777, uid: owner.uid, gid: owner.gid, mtime: st.mtime });
      } else {
        const h = { name, type: 'file' as const, mode: m, uid: owner.uid, gid: owner.gid, size: st.size, mtime: st.mtime };
        if (early) await put(h, await early);
        else await put(h, () => view.chunks(r));
      }
    };
    await walk(src.path!, strip(base), true);
  } else {
    // From another image: its tar, renamed under the target, owners replaced when asked.
    const { readTar } = await import('../lib/tar/reader.ts');
    const tar = await src.tar!();
    const top = src.name!;
    for await (const e of readTar(tar)) {
      const rest = e.header.name.replace(/^\.?\/?/, '');
      if (rest !== top && !rest.startsWith(`${top}/`)) continue;
      const sub = rest.slice(top.length);
      if (src.exclude && sub !== '' && excluded(sub.replace(/^\/|\/$/g, ''), src.exclude, e.header.type === 'directory')) continue;
      const name = src.isDir ? `${strip(base)}${sub}` : strip(base);
      if (src.isDir && sub === '' ) {
        await put({ name: `${strip(base)}/`, type: 'directory', mode: mode ?? e.header.mode, uid: owner.uid, gid: owner.gid, mtime: e.header.mtime });
        continue;
      }
      const type = e.header.type;
      const h = { name: type === 'directory' ? `${name.replace(/\/$/, '')}/` : name.replace(/\/$/, ''), type, mode: mode ?? e.header.mode, uid: owner.uid, gid: owner.gid, mtime: e.header.mtime, size: type === 'file' ? e.header.size : 0, ...(e.header.linkname ? { linkname: e.header.linkname } : {}) };
      if (type === 'file') await put(h as Parameters<typeof encodeHeader>[0], () => e.chunks());
      else if (type === 'directory' || type === 'symlink') await put(h as Parameters<typeof encodeHeader>[0]);
    }
  }
}

async function isArchive(view: ContextView, rel: string): Promise<boolean> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of view.chunks(rel)) {
    parts.push(c);
    n += c.length;
    if (n >= 512) break;
  }
  const head = Buffer.concat(parts).subarray(0, 512);
  const bytesRead = head.length;
  if (head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return true;
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true; // xz
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true; // zstd
  return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** ADD of a local archive: its entries extracted in the destination directory. */
async function extractArchive(ctx: Ctx, id: string, rel: string, dir: string): Promise<void> {
  await makeDirs(ctx, id, dir);
  await ctx.be.copyInto(id, dir, Readable.from(ctx.opts.context.chunks(rel)));
}

/** `dir` and its missing parents made in the container (root-owned, 0755); existing ones kept. */
async function makeDirs(ctx: Ctx, id: string, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = dir; p !== '/'; p = posix.dirname(p)) {
    if (await ctx.be.stat(id, p)) break;
    missing.unshift(p);
  }
  if (!missing.length) return;
  const now = new Date();
  await streamTar((tar) => ctx.be.copyInto(id, '/', tar), async (put) => {
    for (const p of missing) await put({ name: `${p.slice(1)}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: now });
  });
}
