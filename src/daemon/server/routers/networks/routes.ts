/** The network endpoints: /networks, /networks/create, /networks/{id}, /networks/prune, connect, disconnect. */
import { invalidParameter, notFound } from '../../../../errdefs/index.ts';
import { bodies } from '../../bodies.ts';
import { noContent, parseFilters, readJson, writeJson } from '../../httputils.ts';
import type { Route } from '../../router.ts';
import type { NetworkBackend } from './backend.ts';

export function networkRoutes(b: NetworkBackend): Route[] {
  return [
    { method: 'GET', path: '/networks', handler: async (ctx) => writeJson(ctx, 200, b.list(parseFilters(ctx.query))) },
    {
      method: 'POST', path: '/networks/create',
      handler: async (ctx) => {
        const body = await readJson(ctx, bodies.networkCreate);
        if (!body) throw invalidParameter('network name cannot be empty');
        writeJson(ctx, 201, await b.create(body));
      },
    },
    { method: 'POST', path: '/networks/prune', handler: async (ctx) => writeJson(ctx, 200, await b.prune(parseFilters(ctx.query))) },
    {
      method: 'GET', path: '/networks/{id}',
      handler: async (ctx) => {
        // verbose adds swarm services' detail (none here); every network of Berth's is local.
        const verbose = ctx.query.get('verbose');
        if (verbose !== null && verbose !== '' && !['1', '0', 'true', 'false', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(verbose)) {
          throw invalidParameter(`invalid value for verbose: ${verbose}`);
        }
        const scope = ctx.query.get('scope') ?? '';
        if (scope && !['local', 'swarm', 'global'].includes(scope)) throw invalidParameter(`invalid scope value: ${scope}`);
        if (scope && scope !== 'local') throw notFound(`network ${ctx.params.id} not found`);
        writeJson(ctx, 200, b.inspect(ctx.params.id));
      },
    },
    {
      method: 'DELETE', path: '/networks/{id}',
      handler: async (ctx) => {
        await b.remove(ctx.params.id);
        noContent(ctx);
      },
    },
    {
      method: 'POST', path: '/networks/{id}/connect',
      handler: async (ctx) => {
        const body = await readJson(ctx, bodies.networkConnect);
        if (!body?.Container) throw invalidParameter('no container specified');
        await b.connect(ctx.params.id, body.Container, body.EndpointConfig ?? {});
        noContent(ctx, 200);
      },
    },
    {
      method: 'POST', path: '/networks/{id}/disconnect',
      handler: async (ctx) => {
        const body = await readJson(ctx, bodies.networkDisconnect);
        if (!body?.Container) throw invalidParameter('no container specified');
        await b.disconnect(ctx.params.id, body.Container, body.Force ?? false);
        noContent(ctx, 200);
      },
    },
  ];
}
