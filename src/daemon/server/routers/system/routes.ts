import { API_VERSION, versionAtLeast } from '../../../../api/version.ts';
import { parseFilters, unixToNs, writeJson, type Ctx } from '../../httputils.ts';
import { invalidParameter } from '../../../../errdefs/index.ts';
import { waitDrain } from '../../../../lib/stdcopy.ts';
import type { Route } from '../../router.ts';
import type { SystemBackend } from './backend.ts';

function ping(ctx: Ctx): Promise<void> {
  const res = ctx.res!;
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Api-Version': API_VERSION,
    'Builder-Version': '1',
    Swarm: 'inactive',
    'Content-Length': ctx.req.method === 'HEAD' ? '0' : '2',
  });
  res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  return Promise.resolve();
}

export function systemRoutes(b: SystemBackend): Route[] {
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: async (ctx) => writeJson(ctx, 200, await b.version()) },
    {
      method: 'GET', path: '/info',
      handler: async (ctx) => {
        const info = await b.info() as Record<string, unknown>;
        // moby's version-dependent answer (system_routes.go): deprecated fields kept for older clients
        const reg = info.RegistryConfig as Record<string, unknown> | undefined;
        if (reg) {
          delete reg.AllowNondistributableArtifactsCIDRs;
          delete reg.AllowNondistributableArtifactsHostnames;
          if (!versionAtLeast(ctx.version, '1.47')) Object.assign(reg, { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null });
        }
        if (!versionAtLeast(ctx.version, '1.49')) {
          for (const k of ['ContainerdCommit', 'RuncCommit', 'InitCommit']) {
            const commit = info[k] as { ID?: string; Expected?: string } | undefined;
            if (commit) commit.Expected = commit.ID ?? '';
          }
        }
        if (!versionAtLeast(ctx.version, '1.50')) Object.assign(info, { BridgeNfIptables: false, BridgeNfIp6tables: false });
        writeJson(ctx, 200, info);
      },
    },
    {
      method: 'GET', path: '/events',
      handler: async (ctx) => {
        const sinceNs = unixToNs(ctx.query.get('since'));
        const untilNs = unixToNs(ctx.query.get('until'));
        if (sinceNs !== undefined && untilNs !== undefined && sinceNs > untilNs) {
          throw invalidParameter(`\`since\` time (${ctx.query.get('since')}) cannot be after \`until\` time (${ctx.query.get('until')})`);
        }
        const events = b.events({ filters: parseFilters(ctx.query), ...(sinceNs !== undefined ? { sinceNs } : {}), ...(untilNs !== undefined ? { untilNs } : {}) }, ctx.signal);
        const res = ctx.res!;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        for await (const m of events) {
          if (!res.write(m + '\n')) await waitDrain(res);
        }
        res.end();
      },
    },
    {
      method: 'GET', path: '/system/df',
      handler: async (ctx) => {
        // `type` came with API 1.42: older clients get everything (moby ignores it there)
        const given = versionAtLeast(ctx.version, '1.42') ? ctx.query.getAll('type') : [];
        for (const t of given) if (!['container', 'image', 'volume', 'build-cache'].includes(t)) throw invalidParameter(`unknown object type: ${t}`);
        const du = await b.diskUsage(given.length ? new Set(given) : undefined) as { Images?: { Size: number; VirtualSize?: number }[] | null };
        // below 1.44 each image also carries VirtualSize (its Size)
        if (!versionAtLeast(ctx.version, '1.44')) for (const img of du.Images ?? []) img.VirtualSize = img.Size;
        writeJson(ctx, 200, du);
      },
    },
    // Nothing to prune yet for what later issues add (build cache, networks): docker's empty answers.
    {
      method: 'POST',
      path: '/swarm/leave',
      handler: async (ctx) => writeJson(ctx, 503, { message: 'This node is not part of a swarm' }),
    },
  ];
}
