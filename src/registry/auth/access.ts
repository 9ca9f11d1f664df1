/**
 * Access requests as the token spec writes them: `repository:NAME:pull,push`,
 * `registry:catalog:*`. A request to the registry needs a list of these; a token grants some.
 */

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export function formatScope(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(',')}`;
}

/** Parses one scope; the name sits between the first and the last colon. */
export function parseScope(s: string): Access | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = s.slice(last + 1).split(',').filter(Boolean);
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions };
}

/** Does `granted` cover every action of every needed access? `*` covers all. */
export function covers(granted: Access[], needed: Access[]): boolean {
  return needed.every((n) =>
    n.actions.every((act) => granted.some((g) => g.type === n.type && g.name === n.name && (g.actions.includes(act) || g.actions.includes('*')))),
  );
}
