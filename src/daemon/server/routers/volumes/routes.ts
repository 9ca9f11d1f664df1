/** The volume endpoints: /volumes, /volumes/create, /volumes/{name}, /volumes/prune. */
import { versionAtLeast } from '../../../../api/version.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import { bodies } from '../../bodies.ts';
import { boolValue, noContent, parseFilters, readJson, writeJson } from '../../httputils.ts';
import type { Route } from '../../router.ts';
import type { VolumeBackend } from './backend.ts';

export function volumeRoutes(b: VolumeBackend): Route[] {
  return [
    { method: 'GET', path: '/volumes', handler: async (ctx) => writeJson(ctx, 200, { Volumes: b.list(parseFilters(ctx.query)), Warnings: null }) },
    {
      method: 'POST', path: '/volumes/create',
      handler: async (ctx) => {
        const body = (await readJson(ctx, bodies.volumeCreate)) ?? {};
        if (body.ClusterVolumeSpec) throw invalidParameter('cluster volumes need a swarm, which Berth does not run');
        writeJson(ctx, 201, await b.create(body));
      },
    },
    { method: 'POST', path: '/volumes/prune', handler: async (ctx) => writeJson(ctx, 200, await b.prune(parseFilters(ctx.query), !versionAtLeast(ctx.version, '1.42'))) },
    { method: 'GET', path: '/volumes/{name}', handler: async (ctx) => writeJson(ctx, 200, b.inspect(ctx.params.name)) },
    {
      method: 'PUT', path: '/volumes/{name}',
      handler: async () => {
        throw invalidParameter('volume updates are for cluster volumes, which need a swarm');
      },
    },
    {
      method: 'DELETE', path: '/volumes/{name}',
      handler: async (ctx) => {
        await b.remove(ctx.params.name, boolValue(ctx.query, 'force'));
        noContent(ctx);
      },
    },
  ];
}
