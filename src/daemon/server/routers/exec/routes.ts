import { versionAtLeast } from '../../../../api/version.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import { hijack, noContent, readJson, writeJson } from '../../httputils.ts';
import type { Route } from '../../router.ts';
import { parseSize } from '../containers/routes.ts';
import type { ExecBackend } from './backend.ts';

export function execRoutes(b: ExecBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/exec',
      handler: async (ctx) => writeJson(ctx, 201, b.create(ctx.params.id, await readJson(ctx))),
    },
    { method: 'GET', path: '/exec/{id}/json', handler: async (ctx) => writeJson(ctx, 200, b.inspect(ctx.params.id)) },
    {
      method: 'POST', path: '/exec/{id}/resize',
      handler: async (ctx) => {
        const { h, w } = parseSize(ctx.query);
        await b.resize(ctx.params.id, h, w);
        writeJson(ctx, 200, {});
      },
    },
    {
      method: 'POST', path: '/exec/{id}/start',
      handler: async (ctx) => {
        const body = ((await readJson(ctx)) ?? {}) as { Detach?: unknown; Tty?: unknown; ConsoleSize?: unknown };
        if (typeof body !== 'object') throw invalidParameter('invalid exec start config');
        const size = Array.isArray(body.ConsoleSize) && body.ConsoleSize.length === 2 ? (body.ConsoleSize as [number, number]) : undefined;
        if (body.Detach === true) {
          await b.start(ctx.params.id, { detach: true, ...(size ? { consoleSize: size } : {}) });
          if (ctx.upgrade) ctx.upgrade.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
          else noContent(ctx, 200);
          return;
        }
        const { tty } = b.check(ctx.params.id);
        const ct = tty || !versionAtLeast(ctx.version, '1.42') ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
        const stream = hijack(ctx, ct);
        await b.start(ctx.params.id, { detach: false, ...(size ? { consoleSize: size } : {}) }, stream);
      },
    },
  ];
}
