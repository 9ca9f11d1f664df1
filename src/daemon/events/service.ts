/**
 * The daemon's event log, as moby's daemon/events: every service reports what happened
 * (container create/start/die…, image pull/tag/delete…, volume and network changes) through
 * one `EventSink`; the last 256 events are kept in memory for `since` and live subscribers get
 * each new one. Nothing is written to disk: like docker, the history starts with the daemon.
 */
import type { EventMessage, EventType } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';

/** How services report an event: the actor's ID and its attributes (name, image, exitCode…). */
export type EventSink = (type: EventType, action: string, id: string, attributes?: Record<string, string>) => void;

/** moby keeps this many events for `since` (daemon/events/events.go eventsLimit). */
const LIMIT = 256;

export interface EventFilter {
  /** Inclusive bounds in nanoseconds since the epoch. */
  sinceNs?: bigint;
  untilNs?: bigint;
  filters: Map<string, string[]>;
}

/** The exact time of each stored event (a JS number cannot hold nanoseconds since 1970). */
const exactNs = new WeakMap<EventMessage, bigint>();
const nsOf = (m: EventMessage): bigint => exactNs.get(m) ?? BigInt(m.timeNano);

/** An event as docker writes it on the wire: timeNano exact to the nanosecond. */
export function encodeEvent(m: EventMessage): string {
  return JSON.stringify(m).replace(/"timeNano":[^,}]+/, `"timeNano":${nsOf(m)}`);
}

interface Subscriber {
  match: (m: EventMessage) => boolean;
  push: (m: EventMessage) => void;
}

export class EventsService {
  private readonly ring: EventMessage[] = [];
  private readonly subs = new Set<Subscriber>();
  private lastNs = 0n;

  /** The sink handed to the services. */
  readonly sink: EventSink = (type, action, id, attributes = {}) => this.log(type, action, id, attributes);

  get listeners(): number {
    return this.subs.size;
  }

  log(type: EventType, action: string, id: string, attributes: Record<string, string>): void {
    // Strictly increasing times, so that `since` of one event's time never repeats it.
    let ns = BigInt(Date.now()) * 1_000_000n;
    if (ns <= this.lastNs) ns = this.lastNs + 1n;
    this.lastNs = ns;
    const m: EventMessage = {
      ...(type === 'container' || type === 'image' ? { status: action, ...(id ? { id } : {}), ...(attributes.image ? { from: attributes.image } : {}) } : {}),
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(ns / 1_000_000_000n),
      timeNano: Number(ns),
    };
    exactNs.set(m, ns);
    this.ring.push(m);
    if (this.ring.length > LIMIT) this.ring.shift();
    for (const s of this.subs) if (s.match(m)) s.push(m);
  }

  /**
   * The events from `sinceNs` on that match, then (unless `untilNs` is past) each new one as it
   * happens until `untilNs` or the signal. Without `sinceNs` and `untilNs` only new ones come;
   * with only `untilNs` in the past, docker answers the stored events up to it.
   */
  subscribe(f: EventFilter, signal: AbortSignal): AsyncGenerator<EventMessage> {
    // Bad filters fail here, before the response's headers.
    return this.stream(compileFilter(f.filters), f, signal);
  }

  private async *stream(match: (m: EventMessage) => boolean, f: EventFilter, signal: AbortSignal): AsyncGenerator<EventMessage> {
    const inRange = (m: EventMessage) => (f.sinceNs === undefined || nsOf(m) >= f.sinceNs) && (f.untilNs === undefined || nsOf(m) <= f.untilNs);
    const queue: EventMessage[] = [];
    let wake: (() => void) | undefined;
    const sub: Subscriber = { match: (m) => match(m), push: (m) => { queue.push(m); wake?.(); } };
    const past = f.sinceNs !== undefined || f.untilNs !== undefined ? this.ring.filter((m) => inRange(m) && match(m)) : [];
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (f.untilNs !== undefined && f.untilNs <= nowNs) {
      yield* past;
      return;
    }
    this.subs.add(sub);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    let done = false;
    if (f.untilNs !== undefined) {
      timer = setTimeout(() => { done = true; wake?.(); }, Number((f.untilNs - nowNs) / 1_000_000n) + 1);
    }
    try {
      yield* past;
      while (!signal.aborted && !done) {
        if (!queue.length) {
          await new Promise<void>((r) => { wake = r; });
          wake = undefined;
          continue;
        }
        const m = queue.shift()!;
        if (f.untilNs !== undefined && nsOf(m) > f.untilNs) break;
        yield m;
      }
    } finally {
      this.subs.delete(sub);
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
    }
  }
}

const FILTER_KEYS = new Set(['container', 'image', 'event', 'type', 'label', 'volume', 'network', 'daemon', 'scope', 'plugin', 'node', 'service', 'secret', 'config']);
const TYPES = new Set(['container', 'image', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config', 'builder']);

/** Validates the filters (docker's messages) and returns the predicate (moby daemon/events/filter.go). */
export function compileFilter(filters: Map<string, string[]>): (m: EventMessage) => boolean {
  for (const [k, vals] of filters) {
    if (!FILTER_KEYS.has(k)) throw invalidParameter(`invalid filter '${k}'`);
    if (k === 'type') for (const v of vals) if (!TYPES.has(v)) throw invalidParameter(`invalid filter 'type=${v}'`);
  }
  const any = (k: string, test: (v: string) => boolean) => {
    const vals = filters.get(k);
    return !vals || !vals.length || vals.some(test);
  };
  return (m) => {
    const a = m.Actor.Attributes;
    const action = m.Action;
    if (!any('event', (v) => v === action || v === action.split(':')[0])) return false;
    if (!any('type', (v) => v === m.Type)) return false;
    if (!any('scope', (v) => v === m.scope)) return false;
    if (!any('label', (v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? v in a : a[v.slice(0, eq)] === v.slice(eq + 1);
    })) return false;
    const byActor = (k: string, type: string, names: string[]) => any(k, (v) => m.Type === type && (m.Actor.ID === v || m.Actor.ID.startsWith(v) || names.includes(v)));
    if (!byActor('container', 'container', [a.name ?? ''])) return false;
    if (!byActor('volume', 'volume', [])) return false;
    if (!byActor('network', 'network', [a.name ?? ''])) return false;
    if (!byActor('daemon', 'daemon', [a.name ?? ''])) return false;
    if (filters.get('image')?.length) {
      // A container's image attribute, or an image event's ID or name; a tag-less filter matches any tag.
      const names = m.Type === 'container' ? [a.image ?? ''] : m.Type === 'image' ? [m.Actor.ID, a.name ?? ''] : [];
      const strip = (s: string) => s.replace(/:[^:/]+$/, '');
      if (!filters.get('image')!.some((v) => names.some((n) => n && (n === v || strip(n) === v || n.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')))))) return false;
    }
    return true;
  };
}
