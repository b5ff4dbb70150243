/**
 * Scenario 8's inputs: requests and events from fast-check arbitraries (typed-but-wrong, random
 * JSON, anything) and hand-picked nasties (wrong types, huge strings, unicode, deep JSON,
 * negative/huge limits, unknown slots, malformed events, truncated bodies). Deterministic per seed.
 */
import fc from 'fast-check';

/** One HTTP call. `body` is sent byte for byte; `truncateAt` sends only that many bytes while declaring the full length, then closes. */
export interface BadCase {
  readonly kind: 'recommend' | 'events';
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly path: string;
  readonly body: string | undefined;
  readonly contentType?: string;
  readonly truncateAt?: number;
  /** Malformed events in this call (for the rejection count). */
  readonly badEvents: number;
}

const SLOTS = ['homepage', 'end-of-video', 'search'] as const;

function deep(n: number, leaf: string): string {
  return '{"a":'.repeat(n) + leaf + '}'.repeat(n);
}

/** The hand-picked nasties (every one of them, once). */
export function nasties(): BadCase[] {
  const r = (path: string, body: string | undefined, extra: Partial<BadCase> = {}): BadCase => ({
    kind: 'recommend',
    method: 'POST',
    path,
    body,
    badEvents: 0,
    ...extra,
  });
  const ev = (events: unknown, bad: number, raw?: string): BadCase => ({
    kind: 'events',
    method: 'POST',
    path: '/v1/events',
    body: raw ?? JSON.stringify(events),
    badEvents: bad,
  });
  const huge = 'x'.repeat(70 * 1024);
  const unicode = '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u202e\u0000\ud800 ☃ 🎬 ﷽ \u200b';
  const out: BadCase[] = [
    r('/v1/recommend/homepage', '{"userId":'), // truncated JSON
    r('/v1/recommend/homepage', '{"userId":"u1","limit":1', {}),
    r('/v1/recommend/homepage', '{"userId":"u1","limit":10}', { truncateAt: 12 }), // declared longer than sent
    r('/v1/recommend/homepage', 'not json at all'),
    r('/v1/recommend/homepage', ''),
    r('/v1/recommend/homepage', 'null'),
    r('/v1/recommend/homepage', '[]'),
    r('/v1/recommend/homepage', '"a string"'),
    r('/v1/recommend/homepage', '12345'),
    r('/v1/recommend/homepage', JSON.stringify({ userId: 42 })),
    r('/v1/recommend/homepage', JSON.stringify({ userId: ['u1'] })),
    r('/v1/recommend/homepage', JSON.stringify({ userId: { $gt: '' } })),
    r('/v1/recommend/homepage', JSON.stringify({ limit: -1 })),
    r('/v1/recommend/homepage', JSON.stringify({ limit: 0 })),
    r('/v1/recommend/homepage', JSON.stringify({ limit: 1e9 })),
    r('/v1/recommend/homepage', JSON.stringify({ limit: 2.5 })),
    r('/v1/recommend/homepage', '{"limit":1e400}'),
    r('/v1/recommend/homepage', '{"limit":NaN}'),
    r('/v1/recommend/homepage', JSON.stringify({ limit: '10' })),
    r('/v1/recommend/homepage', JSON.stringify({ userId: huge })),
    r('/v1/recommend/homepage', JSON.stringify({ userId: 'u'.repeat(129) })),
    r('/v1/recommend/search', JSON.stringify({ query: 'q'.repeat(513) })),
    r('/v1/recommend/search', JSON.stringify({ query: unicode })),
    r('/v1/recommend/search', JSON.stringify({ query: '   ' })),
    r('/v1/recommend/search', JSON.stringify({})),
    r('/v1/recommend/homepage', JSON.stringify({ userId: unicode })),
    r('/v1/recommend/homepage', JSON.stringify({ context: { region: unicode } })),
    r('/v1/recommend/homepage', JSON.stringify({ context: { region: 'r'.repeat(65) } })),
    r('/v1/recommend/homepage', JSON.stringify({ context: 'US' })),
    r('/v1/recommend/homepage', JSON.stringify({ context: { region: 'US', kids: true } })),
    r('/v1/recommend/homepage', JSON.stringify({ __proto__: { admin: true }, userId: 'u1' })),
    r('/v1/recommend/homepage', '{"constructor":{"prototype":{"polluted":1}}}'),
    r('/v1/recommend/homepage', deep(200, '1')),
    r('/v1/recommend/homepage', deep(5000, '1')),
    r('/v1/recommend/homepage', `[${'['.repeat(10_000)}${']'.repeat(10_000)}]`),
    r('/v1/recommend/end-of-video', JSON.stringify({ userId: 'u1' })),
    r('/v1/recommend/end-of-video', JSON.stringify({ itemId: '../../etc/passwd' })),
    r('/v1/recommend/end-of-video', JSON.stringify({ itemId: 'v999999999' })),
    r('/v1/recommend/nope', JSON.stringify({ userId: 'u1' })),
    r('/v1/recommend/%2e%2e', JSON.stringify({ userId: 'u1' })),
    r(`/v1/recommend/${'s'.repeat(2000)}`, JSON.stringify({ userId: 'u1' })),
    r('/v1/recommend/homepage', JSON.stringify({ userId: 'u1', extra: 1 })),
    r('/v1/recommend/homepage', JSON.stringify({ debug: 'yes' })),
    r('/v1/recommend/homepage', huge),
    r('/v1/recommend/homepage', JSON.stringify({ userId: 'u1' }), { contentType: 'text/plain' }),
    r('/v1/recommend/homepage', JSON.stringify({ userId: 'u1' }), { contentType: 'application/x-www-form-urlencoded' }),
    r('/v1/recommend/homepage', '\u0000\u0001\u0002'),
    r('/v1/recommend/homepage', undefined, { method: 'GET' }),
    r('/v1/users/%00', undefined, { method: 'DELETE' }),
    r(`/v1/users/${'a'.repeat(300)}`, undefined, { method: 'DELETE' }),
    ev([{}], 1),
    ev([null, 1, 'x', [], true], 5),
    ev({ events: 'nope' }, 0),
    ev({ events: [], more: 1 }, 0),
    ev([{ id: 'e', type: 'click', userId: 'u1', itemId: 'v1', atMs: -5 }], 1),
    ev([{ id: 'e', type: 'click', userId: 'u1', itemId: 'v1', atMs: 8.64e15 }], 1),
    ev([{ id: 'e', type: 'teleport', userId: 'u1', itemId: 'v1', atMs: Date.now() }], 1),
    ev([{ id: unicode, type: 'click', userId: 'u1', itemId: 'v1', atMs: Date.now() }], 1),
    ev([{ id: 'e', type: 'click', userId: huge.slice(0, 5000), itemId: 'v1', atMs: Date.now() }], 1),
    ev([{ id: 'e', type: 'watch', userId: 'u1', itemId: 'v1', atMs: Date.now(), watchMs: -1, completed: true }], 1),
    ev([{ id: 'e', type: 'watch', userId: 'u1', itemId: 'v1', atMs: Date.now(), watchMs: 10, completed: 'yes' }], 1),
    ev([{ id: 'e', type: 'search', userId: 'u1', atMs: Date.now(), query: '' }], 1),
    ev([{ id: 'e', type: 'publish', userId: 'c1', itemId: 'v1', atMs: Date.now() }], 1),
    ev([{ id: 'e', type: 'impression', userId: 'u1', itemId: 'v1', atMs: Date.now(), position: -3 }], 1),
    ev(
      Array.from({ length: 1001 }, () => ({})),
      0,
    ),
    ev(undefined, 0, '{"events":[{"id":"e","type":"click"'),
    ev(undefined, 0, deep(3000, '[]')),
  ];
  return out;
}

/** Random requests and events from fast-check arbitraries: `n` cases, deterministic for `seed`. */
export function generated(n: number, seed: number): BadCase[] {
  const anyJson = fc.jsonValue({ maxDepth: 6 });
  const str = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.constantFrom('', ' ', 'u1', 'v1', '\u0000'),
  );
  const wrong = fc.oneof(anyJson, str, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
  const recBody = fc.record(
    {
      userId: fc.oneof(str, wrong),
      limit: fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double(), wrong),
      query: fc.oneof(str, wrong),
      itemId: fc.oneof(str, wrong),
      debug: fc.oneof(fc.boolean(), wrong),
      context: fc.oneof(fc.record({ region: str, device: str, language: str }, { requiredKeys: [] }), wrong),
      [`x${seed}`]: wrong,
    },
    { requiredKeys: [] },
  );
  const slot = fc.oneof(
    fc.constantFrom(...SLOTS),
    fc.constantFrom('', 'HOMEPAGE', 'unknown', '..', 'search%00'),
    fc.stringMatching(/^[a-z0-9-]{1,40}$/),
  );
  const rec = fc.record({
    slot,
    body: fc.oneof(
      recBody.map((b) => JSON.stringify(b)),
      anyJson.map((j) => JSON.stringify(j)),
      fc.string({ maxLength: 200 }),
    ),
  });
  const types = fc.constantFrom('impression', 'click', 'watch', 'like', 'report', 'search', 'publish', 'opt_out', 'nope', '');
  const badEvent = fc.record(
    {
      id: fc.oneof(str, wrong),
      type: fc.oneof(types, wrong),
      userId: fc.oneof(str, wrong),
      itemId: fc.oneof(str, wrong),
      atMs: fc.oneof(fc.integer({ min: -1e12, max: 1e15 }), fc.double(), wrong),
      watchMs: fc.oneof(fc.double(), wrong),
      completed: fc.oneof(fc.boolean(), wrong),
      position: fc.oneof(fc.integer(), wrong),
    },
    { requiredKeys: [] },
  );
  const events = fc.array(fc.oneof(badEvent, wrong), { minLength: 1, maxLength: 8 });
  const recs = fc.sample(rec, { numRuns: Math.ceil(n / 2), seed });
  const evs = fc.sample(events, { numRuns: Math.floor(n / 2), seed: seed + 1 });
  const out: BadCase[] = [];
  for (const r of recs)
    out.push({ kind: 'recommend', method: 'POST', path: `/v1/recommend/${encodeURIComponent(r.slot)}`, body: r.body, badEvents: 0 });
  for (const e of evs) out.push({ kind: 'events', method: 'POST', path: '/v1/events', body: JSON.stringify(e), badEvents: -1 });
  return out;
}
