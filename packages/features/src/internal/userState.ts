import type { FeatureValue } from '@recspine/core';
import type { RecEvent } from '../RecEvent.js';

const HOUR = 3_600_000;
const RECENT = 50;

/** Persisted rolling state of one user (JSON in the `user_stream` record's aux field). */
export interface UserState {
  v: 1;
  /** Highest seq applied per stream: redelivered events at or below it are skipped. */
  hwm: Record<string, number>;
  /**
   * Keys ({@link eventIdKey}) of the ids of the most recent applied events (newest last, bounded):
   * a re-published copy of an event (new offset, same id — e.g. a send that timed out, was spilled
   * and drained) is skipped. Absent in states written before it existed.
   */
  ids?: string[];
  /** Fingerprint of the aggregator config the stored features were derived with (see StreamAggregator). */
  fp?: string;
  recent: string[];
  recentCats: string[];
  /** Hourly buckets of the last 24 h: [hour, impressions, clicks, watches, completions, watchSeconds, {category: count}]. */
  hours: [number, number, number, number, number, number, Record<string, number>][];
  session:
    | { id: string; started: number; last: number; events: number; watches: number; clicks: number; watchSec: number; cats: string[] }
    | undefined;
  lastEvent: number;
  lastQuery: string | undefined;
}

/**
 * A compact 53-bit key of an event id (two 32-bit FNV-1a variants, base 36, ≤ 11 chars), so the
 * state's id window stays small whatever the ids look like (UUIDs are 36 chars). Two different ids
 * of one user share a key with probability ~2⁻⁵³ per pair: with a 256-id window, about one wrongly
 * skipped event per 3.5·10¹³ events.
 */
export function eventIdKey(id: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    b ^= b >>> 15;
  }
  return ((b & 0x1fffff) * 0x100000000 + a).toString(36);
}

export function emptyState(): UserState {
  return { v: 1, hwm: {}, ids: [], recent: [], recentCats: [], hours: [], session: undefined, lastEvent: 0, lastQuery: undefined };
}

export function parseState(aux: string | undefined): UserState {
  if (aux === undefined) return emptyState();
  try {
    const s = JSON.parse(aux) as UserState;
    if (s?.v === 1 && typeof s.hwm === 'object' && Array.isArray(s.recent) && Array.isArray(s.hours)) {
      if (!Array.isArray(s.ids)) s.ids = [];
      return s;
    }
  } catch {
    // corrupt state: start over (counted by the caller as a fresh user)
  }
  return emptyState();
}

/** Applies one event (already known to be new) to the state. */
export function applyEvent(s: UserState, e: RecEvent, sessionGapMs: number): void {
  if (e.type === 'opt_out') return;
  const at = e.atMs;
  s.lastEvent = Math.max(s.lastEvent, at);
  // session: an explicit session id wins; otherwise a gap of inactivity starts a new session
  const sid = e.sessionId;
  const cur = s.session;
  if (cur === undefined || (sid !== undefined ? sid !== cur.id : at - cur.last > sessionGapMs)) {
    s.session = { id: sid ?? `${e.userId}:${at}`, started: at, last: at, events: 0, watches: 0, clicks: 0, watchSec: 0, cats: [] };
  }
  const ss = s.session as NonNullable<UserState['session']>;
  ss.last = Math.max(ss.last, at);
  ss.events++;
  const hour = Math.floor(at / HOUR);
  let b = s.hours.find((h) => h[0] === hour);
  if (b === undefined) {
    b = [hour, 0, 0, 0, 0, 0, {}];
    s.hours.push(b);
    s.hours.sort((x, y) => x[0] - y[0]);
  }
  const category = 'category' in e ? e.category : undefined;
  switch (e.type) {
    case 'impression':
      b[1]++;
      break;
    case 'click':
      b[2]++;
      ss.clicks++;
      break;
    case 'watch': {
      b[3]++;
      if (e.completed) b[4]++;
      b[5] += e.watchMs / 1000;
      ss.watches++;
      ss.watchSec += e.watchMs / 1000;
      s.recent = [e.itemId, ...s.recent.filter((x) => x !== e.itemId)].slice(0, RECENT);
      if (category !== undefined) {
        b[6][category] = (b[6][category] ?? 0) + 1;
        s.recentCats = [category, ...s.recentCats].slice(0, RECENT);
        ss.cats = [category, ...ss.cats.filter((c) => c !== category)].slice(0, 20);
      }
      break;
    }
    case 'search':
      s.lastQuery = e.query;
      break;
    default:
      break;
  }
}

/** Drops buckets older than 24 h before `nowMs` (the user's latest event). */
export function trim(s: UserState): void {
  const minHour = Math.floor(s.lastEvent / HOUR) - 23;
  s.hours = s.hours.filter((h) => h[0] >= minHour);
}

/** The `user_stream` features derived from the state. */
export function userFeatures(
  s: UserState,
  categories: readonly string[],
  catIndex: ReadonlyMap<string, number>,
): Record<string, FeatureValue> {
  let imp = 0;
  let clk = 0;
  let wat = 0;
  let cmp = 0;
  let sec = 0;
  const cats = new Map<string, number>();
  for (const h of s.hours) {
    imp += h[1];
    clk += h[2];
    wat += h[3];
    cmp += h[4];
    sec += h[5];
    for (const [c, n] of Object.entries(h[6])) cats.set(c, (cats.get(c) ?? 0) + n);
  }
  const vec = new Float32Array(categories.length + 1);
  for (const [c, n] of cats) {
    const i = catIndex.get(c) ?? categories.length;
    vec[i] = (vec[i] as number) + n;
  }
  const top = [...cats]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([c]) => c);
  const ss = s.session;
  const out: Record<string, FeatureValue> = {
    recent_items: s.recent,
    recent_categories: s.recentCats,
    category_counts_24h: vec,
    top_categories_24h: top,
    impressions_24h: imp,
    clicks_24h: clk,
    watches_24h: wat,
    completions_24h: cmp,
    watch_seconds_24h: sec,
    last_event_ms: s.lastEvent,
  };
  if (ss !== undefined) {
    out.session_id = ss.id;
    out.session_started_ms = ss.started;
    out.session_events = ss.events;
    out.session_watches = ss.watches;
    out.session_clicks = ss.clicks;
    out.session_watch_seconds = ss.watchSec;
    out.session_categories = ss.cats;
  }
  if (s.lastQuery !== undefined) out.last_query = s.lastQuery;
  return out;
}
