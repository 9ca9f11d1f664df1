import { versionAtLeast } from '../../../../api/version.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import { hijack, noContent, readJson, writeJson } from '../../httputils.ts';
import { bodies } from '../../bodies.ts';
import type { Route } from '../../router.ts';
import { parseSize } from '../containers/routes.ts';
import type { ExecBackend } from './backend.ts';

export function execRoutes(b: ExecBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/exec',
      handler: async (ctx) => {
        const body = await readJson(ctx, bodies.execCreate);
        if (body === undefined) throw invalidParameter('invalid exec config: request body is empty');
        writeJson(ctx, 201, b.create(ctx.params.id, body));
      },
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
        const body = (await readJson(ctx, bodies.execStart)) ?? {};
        const size = body.ConsoleSize;
        if (body.Detach === true) {
          await b.start(ctx.params.id, { detach: true, tty: body.Tty === true, ...(size ? { consoleSize: size } : {}) });
          if (ctx.upgrade) ctx.upgrade.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
          else noContent(ctx, 200);
          return;
        }
        b.check(ctx.params.id);
        const tty = body.Tty === true;
        const ct = tty || !versionAtLeast(ctx.version, '1.42') ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
        const stream = await hijack(ctx, ct);
        await b.start(ctx.params.id, { detach: false, tty, ...(size ? { consoleSize: size } : {}) }, stream);
      },
    },
  ];
}
