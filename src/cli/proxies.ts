/**
 * The config file's `proxies`, as docker's CLI applies them (configfile.ParseProxyConfig): the
 * entry for the daemon's address (`unix:///run/berth/berth.sock`, `tcp://…`), else `default`,
 * gives HTTP_PROXY, HTTPS_PROXY, NO_PROXY, FTP_PROXY and ALL_PROXY, in upper and lower case, to
 * each container made by run/create (as environment variables) and to each build (as build
 * arguments), except where the command line sets that name itself.
 */
import type { ConfigFile } from './configfile.ts';

const FIELDS = [['HTTP_PROXY', 'httpProxy'], ['HTTPS_PROXY', 'httpsProxy'], ['NO_PROXY', 'noProxy'], ['FTP_PROXY', 'ftpProxy'], ['ALL_PROXY', 'allProxy']] as const;

/** The proxy variables to add, given the names the command line already sets. */
export function proxyVariables(cfg: ConfigFile, daemonHost: string, given: ReadonlySet<string>): [string, string][] {
  const proxies = cfg.proxies;
  if (!proxies) return [];
  const entry = Object.hasOwn(proxies, daemonHost) ? proxies[daemonHost] : proxies.default;
  if (!entry) return [];
  const out: [string, string][] = [];
  for (const [name, field] of FIELDS) {
    const value = entry[field];
    if (!value) continue;
    for (const n of [name, name.toLowerCase()]) if (!given.has(n)) out.push([n, value]);
  }
  return out;
}
