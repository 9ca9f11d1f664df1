import { platformQuery } from '../../../../lib/platform.ts';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { versionAtLeast } from '../../../../api/version.ts';
import { bodies } from '../../bodies.ts';
import { adaptCreateToVersion } from './versions.ts';
import { invalidParameter, wrapError } from '../../../../errdefs/index.ts';
import {
  boolValue, boolValueOrDefault, hijack, intValue, noContent, parseFilters, readBody, readJson, unixToNs, writeJson, type Ctx,
} from '../../httputils.ts';
import type { Route } from '../../router.ts';
import type { ContainerBackend, LogChunk, PathStat, WaitCondition } from './backend.ts';
import { acceptKey, WebSocketStream } from '../../../../lib/websocket.ts';
import { waitDrain } from '../../../../lib/stdcopy.ts';

const RAW = 'application/vnd.docker.raw-stream';
const MUX = 'application/vnd.docker.multiplexed-stream';

/** `h`/`w` of a resize: positive integers (docker parses them with strconv.Atoi). */
export function parseSize(q: URLSearchParams): { h: number; w: number } {
  const num = (k: string) => {
    const v = q.get(k) ?? '';
    if (!/^\d+$/.test(v)) throw invalidParameter(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    const n = Number(v);
    if (n < 1 || n > 65535) throw invalidParameter(`invalid terminal size ${k}=${v}: must be between 1 and 65535`);
    return n;
  };
  return { h: num('h'), w: num('w') };
}

function stopOpts(ctx: Ctx): { signal?: string; timeout?: number } {
  const signal = ctx.query.get('signal') ?? undefined;
  const timeout = intValue(ctx.query, 't');
  return { ...(signal ? { signal } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}

/** docker's fixed-width RFC3339Nano used by `logs --timestamps`. */
function fixedNano(t: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(t);
  if (!m) return t;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** Frames a batch of log lines into one buffer (one write per batch, not per line). */
export function encodeLogBatch(batch: LogChunk[], tty: boolean, timestamps: boolean, details = false): Buffer {
  // `details` puts each line's log attributes (`k=v,…`, from json-file's labels/env options)
  // and a space before it, after the timestamp (moby).
  const extra = (e: LogChunk) => (details ? `${e.attrs ?? ''} ` : '');
  const stamps = timestamps ? batch.map((e) => `${fixedNano(e.buf.toString('latin1', e.timeStart, e.timeEnd))} ${extra(e)}`) : details ? batch.map(extra) : undefined;
  let size = 0;
  for (let i = 0; i < batch.length; i++) {
    size += batch[i].logEnd - batch[i].logStart + (batch[i].nl ? 1 : 0) + (tty ? 0 : 8) + (stamps ? stamps[i].length : 0);
  }
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i];
    const len = e.logEnd - e.logStart + (e.nl ? 1 : 0) + (stamps ? stamps[i].length : 0);
    if (!tty) {
      out[off] = e.stream === 'stderr' ? 2 : 1;
      out[off + 1] = 0;
      out[off + 2] = 0;
      out[off + 3] = 0;
      out.writeUInt32BE(len, off + 4);
      off += 8;
    }
    if (stamps) off += out.write(stamps[i], off, 'latin1');
    off += e.buf.copy(out, off, e.logStart, e.logEnd);
    if (e.nl) out[off++] = 0x0a;
  }
  return out;
}

/** The `path` query parameter of the archive routes (docker's message, missing space and all). */
function archivePathParam(q: URLSearchParams): string {
  const p = q.get('path') ?? '';
  if (!p) throw invalidParameter('bad parameter: pathcannot be empty');
  return p;
}

/** X-Docker-Container-Path-Stat: base64 of the JSON, keys in Go's order. */
function encodePathStat(s: PathStat): string {
  return Buffer.from(JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget })).toString('base64');
}

export function containerRoutes(b: ContainerBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/create',
      handler: async (ctx) => {
        const body = await readJson(ctx, bodies.containerCreate);
        if (body === undefined) throw invalidParameter('invalid JSON: got EOF while reading request body');
        adaptCreateToVersion(body, ctx.version);
        const name = ctx.query.get('name') ?? undefined;
        writeJson(ctx, 201, await b.create(body, name, platformQuery(ctx.query.getAll('platform'))));
      },
    },
    {
      method: 'GET', path: '/containers/json',
      handler: async (ctx) => {
        const all = boolValue(ctx.query, 'all');
        const limit = intValue(ctx.query, 'limit') ?? -1;
        const list = b.list({ all, limit, filters: parseFilters(ctx.query) });
        if (boolValue(ctx.query, 'size')) await b.addSizes(list);
        writeJson(ctx, 200, list);
      },
    },
    { method: 'POST', path: '/containers/prune', handler: async (ctx) => writeJson(ctx, 200, await b.prune(parseFilters(ctx.query))) },
    // null when nothing changed, as moby's nil slice is written
    { method: 'GET', path: '/containers/{id}/changes', handler: async (ctx) => writeJson(ctx, 200, await b.changes(ctx.params.id).then((ch) => (ch.length ? ch : null))) },
    {
      method: 'GET', path: '/containers/{id}/export',
      handler: async (ctx) => {
        const tar = await b.exportFs(ctx.params.id);
        ctx.res!.writeHead(200, { 'Content-Type': 'application/x-tar' });
        await pipeline(tar, ctx.res!).catch(() => ctx.res!.destroy());
      },
    },
    {
      method: 'HEAD', path: '/containers/{id}/archive',
      handler: async (ctx) => {
        const stat = await b.statPath(ctx.params.id, archivePathParam(ctx.query));
        ctx.res!.writeHead(200, { 'X-Docker-Container-Path-Stat': encodePathStat(stat), 'Content-Type': 'application/json' });
        ctx.res!.end();
      },
    },
    {
      method: 'GET', path: '/containers/{id}/archive',
      handler: async (ctx) => {
        const { stat, tar } = await b.archivePath(ctx.params.id, archivePathParam(ctx.query));
        const res = ctx.res!;
        res.writeHead(200, { 'X-Docker-Container-Path-Stat': encodePathStat(stat), 'Content-Type': 'application/x-tar' });
        // Written straight into the response (no stream between), so its buffers can be reused.
        await tar.writeTo(res).then(() => void res.end(), () => void res.destroy());
      },
    },
    {
      method: 'PUT', path: '/containers/{id}/archive',
      handler: async (ctx) => {
        const path = archivePathParam(ctx.query);
        await b.extractToDir(ctx.params.id, path, ctx.req, {
          noOverwriteDirNonDir: boolValue(ctx.query, 'noOverwriteDirNonDir'),
          copyUIDGID: boolValue(ctx.query, 'copyUIDGID'),
        });
        ctx.res!.writeHead(200);
        ctx.res!.end();
      },
    },
    {
      method: 'POST', path: '/commit',
      handler: async (ctx) => {
        const q = ctx.query;
        const container = q.get('container') ?? '';
        if (!container) throw invalidParameter('No container specified');
        // A JSON body, when given, is a Config whose set fields the image takes (docker-py's
        // `conf`); --change instructions come in the query.
        const config = await readJson(ctx, bodies.containerConfig);
        const id = await b.commit(container, {
          ...(config ? { config } : {}),
          ...(q.get('repo') ? { repo: q.get('repo')! } : {}),
          ...(q.get('tag') ? { tag: q.get('tag')! } : {}),
          ...(q.get('author') ? { author: q.get('author')! } : {}),
          ...(q.get('comment') ? { comment: q.get('comment')! } : {}),
          changes: q.getAll('changes'),
          pause: boolValueOrDefault(q, 'pause', true),
        });
        writeJson(ctx, 201, { Id: id });
      },
    },
    {
      method: 'POST', path: '/containers/{id}/pause',
      handler: async (ctx) => {
        await b.pause(ctx.params.id);
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/unpause',
      handler: async (ctx) => {
        await b.unpause(ctx.params.id);
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/rename',
      handler: async (ctx) => {
        await b.rename(ctx.params.id, ctx.query.get('name') ?? '');
        noContent(ctx);
      },
    },
    {
      method: 'GET', path: '/containers/{id}/top',
      handler: async (ctx) => writeJson(ctx, 200, await b.top(ctx.params.id, ctx.query.get('ps_args') ?? '')),
    },
    {
      method: 'POST', path: '/containers/{id}/update',
      handler: async (ctx) => writeJson(ctx, 200, await b.update(ctx.params.id, (await readJson(ctx, bodies.containerUpdate)) ?? {})),
    },
    {
      method: 'GET', path: '/containers/{id}/stats',
      handler: async (ctx) => {
        const stream = boolValueOrDefault(ctx.query, 'stream', true);
        const oneShot = boolValue(ctx.query, 'one-shot');
        if (oneShot && stream) throw invalidParameter('cannot have stream=true and one-shot=true');
        const samples = b.stats(ctx.params.id, { stream, oneShot }, ctx.signal);
        const res = ctx.res!;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (stream) res.flushHeaders();
        for await (const s of samples) {
          if (!res.write(JSON.stringify(s) + '\n')) await waitDrain(res);
        }
        res.end();
      },
    },
    { method: 'GET', path: '/containers/{id}/json', handler: async (ctx) => writeJson(ctx, 200, await b.inspect(ctx.params.id, boolValue(ctx.query, 'size'))) },
    {
      method: 'POST', path: '/containers/{id}/start',
      handler: async (ctx) => {
        // moby: a JSON object (over 7 bytes) here was a HostConfig, applied at start below API
        // 1.24 and refused from 1.24 on. Berth takes the HostConfig only at create: it refuses
        // such a body at every version rather than start without what it asks for.
        if ((await readBody(ctx)).length > 7) {
          throw invalidParameter(versionAtLeast(ctx.version, '1.24')
            ? 'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24'
            : 'a HostConfig in the start request (API below 1.24) is not supported by Berth: give it when the container is created');
        }
        await b.start(ctx.params.id);
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/stop',
      handler: async (ctx) => {
        await b.stop(ctx.params.id, stopOpts(ctx));
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/restart',
      handler: async (ctx) => {
        await b.restart(ctx.params.id, stopOpts(ctx));
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/kill',
      handler: async (ctx) => {
        // moby wraps whatever a kill meets, a missing container too
        await b.kill(ctx.params.id, ctx.query.get('signal') ?? undefined).catch((e: unknown) => {
          throw wrapError(e, `cannot kill container: ${ctx.params.id}`);
        });
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/wait',
      handler: async (ctx) => {
        const cond = ctx.query.get('condition') || 'not-running';
        if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalidParameter(`invalid condition: "${cond}"`);
        const wait = b.prepareWait(ctx.params.id, cond as WaitCondition);
        const res = ctx.res!;
        // Headers go out now, so a client knows the wait is registered before it starts the container.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        const result = await wait();
        res.end(JSON.stringify(result) + '\n');
      },
    },
    {
      // Greedy: a link's name is "/parent/alias".
      method: 'DELETE', path: '/containers/{id*}',
      handler: async (ctx) => {
        if (boolValue(ctx.query, 'link')) await b.removeLink(ctx.params.id);
        else await b.remove(ctx.params.id, { force: boolValue(ctx.query, 'force'), volumes: boolValue(ctx.query, 'v') });
        noContent(ctx);
      },
    },
    {
      method: 'GET', path: '/containers/{id}/logs',
      handler: async (ctx) => {
        const q = ctx.query;
        const stdout = boolValue(q, 'stdout');
        const stderr = boolValue(q, 'stderr');
        if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
        const tailRaw = q.get('tail') ?? 'all';
        const tail = tailRaw === 'all' || tailRaw === '' ? -1 : Number(tailRaw);
        if (!Number.isInteger(tail)) throw invalidParameter(`invalid value for "tail": ${tailRaw}`);
        const { tty } = b.streamInfo(ctx.params.id);
        const timestamps = boolValue(q, 'timestamps');
        const details = boolValue(q, 'details');
        const sinceNs = unixToNs(q.get('since'));
        const untilNs = unixToNs(q.get('until'));
        const entries = b.logs(ctx.params.id, {
          stdout, stderr, follow: boolValue(q, 'follow'), timestamps, tail: tail < 0 ? -1 : tail,
          ...(sinceNs !== undefined ? { sinceNs } : {}), ...(untilNs !== undefined ? { untilNs } : {}), signal: ctx.signal,
        });
        const res = ctx.res!;
        res.writeHead(200, { 'Content-Type': tty || !versionAtLeast(ctx.version, '1.42') ? RAW : MUX });
        res.flushHeaders();
        for await (const batch of entries) {
          // A client gone while its output waits ends this follower (it would wait for ever).
          if (!res.write(encodeLogBatch(batch, tty, timestamps, details))) await waitDrain(res);
          if (ctx.signal.aborted) break;
        }
        res.end();
      },
    },
    {
      method: 'GET', path: '/containers/{id}/attach/ws',
      handler: async (ctx) => {
        const key = ctx.req.headers['sec-websocket-key'];
        if (!ctx.upgrade || typeof key !== 'string' || !/websocket/i.test(String(ctx.req.headers.upgrade))) {
          throw invalidParameter('this endpoint needs a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Key)');
        }
        const q = ctx.query;
        const { tty } = b.streamInfo(ctx.params.id);
        const { socket, head } = ctx.upgrade;
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
        if (head.length) socket.unshift(head);
        const ws = new WebSocketStream(socket);
        // Like docker's ws attach: output is raw (no stream headers), messages are stdin.
        const streams = { stdin: boolValue(q, 'stdin'), stdout: boolValue(q, 'stdout'), stderr: boolValue(q, 'stderr') };
        if (boolValue(q, 'logs')) {
          for await (const batch of b.logs(ctx.params.id, { stdout: streams.stdout, stderr: streams.stderr, follow: false, timestamps: false, tail: -1, signal: ctx.signal })) {
            ws.write(encodeLogBatch(batch, true, false));
          }
        }
        if (!boolValue(q, 'stream')) {
          ws.end();
          return;
        }
        await b.attach(ctx.params.id, ws, { ...streams, detachKeys: q.get('detachKeys') ?? '', raw: !tty });
      },
    },
    {
      method: 'POST', path: '/containers/{id}/resize',
      handler: async (ctx) => {
        const { h, w } = parseSize(ctx.query);
        await b.resize(ctx.params.id, h, w);
        writeJson(ctx, 200, {});
      },
    },
    {
      method: 'POST', path: '/containers/{id}/attach',
      handler: async (ctx) => {
        const q = ctx.query;
        const { tty } = b.streamInfo(ctx.params.id);
        const stream: Duplex = await hijack(ctx, tty || !versionAtLeast(ctx.version, '1.42') ? RAW : MUX);
        const streams = { stdin: boolValue(q, 'stdin'), stdout: boolValue(q, 'stdout'), stderr: boolValue(q, 'stderr') };
        if (boolValue(q, 'logs')) {
          // Replay what was logged before joining the live stream, as docker's attach?logs=1 does.
          for await (const batch of b.logs(ctx.params.id, { stdout: streams.stdout, stderr: streams.stderr, follow: false, timestamps: false, tail: -1, signal: ctx.signal })) {
            if (!stream.write(encodeLogBatch(batch, tty, false))) await waitDrain(stream);
          }
        }
        if (!boolValue(q, 'stream')) {
          stream.end();
          return;
        }
        await b.attach(ctx.params.id, stream, { ...streams, detachKeys: q.get('detachKeys') ?? '' });
      },
    },
  ];
}
