/**
 * Route table: method + path pattern → handler. `{name}` matches one segment, `{name*}`
 * matches one or more (image names contain slashes: /images/localhost:5000/a/b/json).
 */
import type { Handler } from './httputils.ts';

export interface Route {
  method: string;
  path: string;
  handler: Handler;
}

interface Compiled {
  method: string;
  re: RegExp;
  names: string[];
  handler: Handler;
}

function compile(r: Route): Compiled {
  const names: string[] = [];
  const src = r.path.replace(/[.+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\*)?\}/g, (_m, name: string, star: string | undefined) => {
    names.push(name);
    return star ? '(.+)' : '([^/]+)';
  });
  return { method: r.method, re: new RegExp(`^${src}$`), names, handler: r.handler };
}

export class Router {
  private readonly routes: Compiled[] = [];

  add(routes: Route[]): void {
    for (const r of routes) this.routes.push(compile(r));
  }

  /** Finds the handler; `methodMismatch` tells a 405 from a 404. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | { methodMismatch: boolean } {
    let mismatch = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        mismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]);
      });
      return { handler: r.handler, params };
    }
    return { methodMismatch: mismatch };
  }
}
