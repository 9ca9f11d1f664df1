/**
 * Plugins' endpoints. Berth has no plugins (volume drivers, log drivers and networks are its
 * own): the list is empty, a named plugin is not found in moby's words, and installing one is
 * refused by name.
 */
import { invalidParameter, notFound, notImplemented } from '../../../../errdefs/index.ts';
import { parseFilters, writeJson, type Ctx } from '../../httputils.ts';
import type { Route } from '../../router.ts';

const notInstalled = (ctx: Ctx): Promise<void> => Promise.reject(notFound(`plugin ${JSON.stringify(ctx.params.name)} not found`));
const refused = (): Promise<void> => Promise.reject(notImplemented('plugins are not supported by Berth: none can be installed'));

export function pluginRoutes(): Route[] {
  return [
    {
      method: 'GET', path: '/plugins',
      handler: async (ctx) => {
        for (const k of parseFilters(ctx.query).keys()) if (k !== 'capability' && k !== 'enabled') throw invalidParameter(`invalid filter '${k}'`);
        writeJson(ctx, 200, []);
      },
    },
    { method: 'GET', path: '/plugins/privileges', handler: refused },
    { method: 'POST', path: '/plugins/pull', handler: refused },
    { method: 'POST', path: '/plugins/create', handler: refused },
    { method: 'GET', path: '/plugins/{name*}/json', handler: notInstalled },
    { method: 'DELETE', path: '/plugins/{name*}', handler: notInstalled },
    ...['enable', 'disable', 'push', 'set', 'upgrade'].map((op): Route => ({ method: 'POST', path: `/plugins/{name*}/${op}`, handler: notInstalled })),
  ];
}
