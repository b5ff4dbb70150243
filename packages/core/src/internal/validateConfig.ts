import { CoreErrors } from '../errors.js';
import type { RecommenderConfig, SourceSpec, StageBudgets } from '../RecommenderConfig.js';

// Hand-written rather than a schema library: the config holds live objects (sources, rankers,
// filters) that a schema library can only check as opaque customs, the numeric checks are a few
// lines, and core stays free of dependencies. Runs once, at build time.

const fail = (field: string, message: string): never => {
  throw CoreErrors.create('RECSPINE_ERR_CONFIG', `invalid config at \`${field}\`: ${message}`, { field });
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveMs(v: unknown, field: string, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    fail(field, `must be a ${allowZero ? 'non-negative' : 'positive'} finite number of ms, got ${String(v)}`);
  }
  return v as number;
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(field, `must be a positive integer, got ${String(v)}`);
  return v as number;
}

function hasMethod(v: unknown, method: string): boolean {
  return isObj(v) && typeof v[method] === 'function';
}

function stage(v: unknown, field: string, method: string, named = true): void {
  if (!hasMethod(v, method)) fail(field, `must be an object with a ${method}() method`);
  if (named) {
    const name = (v as { name?: unknown }).name;
    if (typeof name !== 'string' || name.length === 0) fail(`${field}.name`, 'must be a non-empty string');
  }
}

const BUDGET_KEYS: readonly (keyof StageBudgets)[] = ['retrieval', 'coarse', 'features', 'fine', 'rerank'];

function budgets(v: unknown, field: string, partial: boolean): void {
  if (!isObj(v)) return void fail(field, 'must be an object');
  for (const k of Object.keys(v)) {
    if (!BUDGET_KEYS.includes(k as keyof StageBudgets)) fail(`${field}.${k}`, `unknown stage; expected one of ${BUDGET_KEYS.join(', ')}`);
  }
  for (const k of BUDGET_KEYS) {
    if (v[k] === undefined && partial) continue;
    positiveMs(v[k], `${field}.${k}`);
  }
}

const KNOWN_TOP = new Set([
  'slaMs',
  'budgets',
  'shared',
  'slots',
  'finalizeReserveMs',
  'minStageMs',
  'maxLimit',
  'breakers',
  'metrics',
  'degrader',
  'overrunToleranceMs',
]);
const KNOWN_SLOT = new Set([
  'sources',
  'retrieveK',
  'coarseKeep',
  'coarse',
  'rerank',
  'policy',
  'policyEarly',
  'backfillFromTail',
  'slaMs',
  'budgets',
]);
const KNOWN_SHARED = new Set(['features', 'coarse', 'fine', 'degraded', 'policy', 'catalog', 'fallback']);
const SLOT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

/** Throws `RECSPINE_ERR_CONFIG` naming the first bad key. */
export function validateConfig(config: RecommenderConfig): void {
  if (!isObj(config)) fail('(root)', 'config must be an object');
  const c = config as unknown as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KNOWN_TOP.has(k)) fail(k, 'unknown key');
  positiveMs(c.slaMs, 'slaMs');
  budgets(c.budgets, 'budgets', false);
  if (c.finalizeReserveMs !== undefined) positiveMs(c.finalizeReserveMs, 'finalizeReserveMs', true);
  if (c.minStageMs !== undefined) positiveMs(c.minStageMs, 'minStageMs', true);
  if (c.overrunToleranceMs !== undefined) positiveMs(c.overrunToleranceMs, 'overrunToleranceMs', true);
  if (c.maxLimit !== undefined) positiveInt(c.maxLimit, 'maxLimit');
  if (c.metrics !== undefined) {
    for (const m of ['stage', 'source', 'degradation', 'request', 'breaker']) {
      if (!hasMethod(c.metrics, m)) fail(`metrics.${m}`, 'must be a function');
    }
  }
  if (c.degrader !== undefined) stage(c.degrader, 'degrader', 'decide', false);
  if (c.breakers !== undefined) {
    if (!isObj(c.breakers)) fail('breakers', 'must be an object');
    for (const [name, b] of Object.entries(c.breakers as Record<string, unknown>)) {
      if (!isObj(b)) fail(`breakers.${name}`, 'must be an object');
      const o = b as Record<string, unknown>;
      if (o.kind !== undefined && o.kind !== 'consecutive' && o.kind !== 'sampling')
        fail(`breakers.${name}.kind`, "must be 'consecutive' or 'sampling'");
      if (o.threshold !== undefined) {
        if (o.kind === 'sampling') {
          if (typeof o.threshold !== 'number' || !(o.threshold > 0 && o.threshold <= 1))
            fail(`breakers.${name}.threshold`, 'must be in (0, 1] for a sampling breaker');
        } else positiveInt(o.threshold, `breakers.${name}.threshold`);
      }
      if (o.windowMs !== undefined) positiveMs(o.windowMs, `breakers.${name}.windowMs`);
      if (o.halfOpenAfterMs !== undefined) positiveMs(o.halfOpenAfterMs, `breakers.${name}.halfOpenAfterMs`);
      if (o.minimumRps !== undefined) positiveMs(o.minimumRps, `breakers.${name}.minimumRps`, true);
    }
  }

  const shared = c.shared;
  if (shared !== undefined) {
    if (!isObj(shared)) fail('shared', 'must be an object');
    const s = shared as Record<string, unknown>;
    for (const k of Object.keys(s)) if (!KNOWN_SHARED.has(k)) fail(`shared.${k}`, 'unknown key');
    if (s.features !== undefined) stage(s.features, 'shared.features', 'fetch');
    for (const k of ['coarse', 'fine', 'degraded'] as const) if (s[k] !== undefined) stage(s[k], `shared.${k}`, 'score');
    if (s.catalog !== undefined) stage(s.catalog, 'shared.catalog', 'get', false);
    if (s.fallback !== undefined) stage(s.fallback, 'shared.fallback', 'slate', false);
    if (s.policy !== undefined) {
      if (!Array.isArray(s.policy)) fail('shared.policy', 'must be an array');
      (s.policy as unknown[]).forEach((p, i) => stage(p, `shared.policy[${i}]`, 'allows'));
    }
  }

  if (!isObj(c.slots) || Object.keys(c.slots).length === 0) fail('slots', 'must be an object with at least one slot');
  const sourceNames = new Map<string, unknown>();
  for (const [slot, raw] of Object.entries(c.slots as Record<string, unknown>)) {
    const f = `slots.${slot}`;
    if (!SLOT_NAME.test(slot)) fail(f, 'slot names are 1-64 chars of [A-Za-z0-9_-]');
    if (!isObj(raw)) fail(f, 'must be an object');
    const sc = raw as Record<string, unknown>;
    for (const k of Object.keys(sc)) if (!KNOWN_SLOT.has(k)) fail(`${f}.${k}`, 'unknown key');
    if (!Array.isArray(sc.sources) || sc.sources.length === 0) fail(`${f}.sources`, 'must be a non-empty array');
    const seen = new Set<string>();
    (sc.sources as unknown[]).forEach((entry, i) => {
      const sf = `${f}.sources[${i}]`;
      const spec = (hasMethod(entry, 'retrieve') ? { source: entry } : entry) as SourceSpec;
      if (!isObj(spec)) fail(sf, 'must be a RetrievalSource or { source, budgetMs?, k? }');
      stage(spec.source, hasMethod(entry, 'retrieve') ? sf : `${sf}.source`, 'retrieve');
      const name = spec.source.name;
      if (name === 'fallback') fail(`${sf}.name`, "'fallback' is reserved for the fallback slate");
      if (seen.has(name)) fail(`${sf}.name`, `duplicate source name '${name}' in this slot`);
      seen.add(name);
      const prior = sourceNames.get(name);
      if (prior !== undefined && prior !== spec.source) fail(`${sf}.name`, `source name '${name}' is used by two different sources`);
      sourceNames.set(name, spec.source);
      if (spec.budgetMs !== undefined) positiveMs(spec.budgetMs, `${sf}.budgetMs`);
      if (spec.k !== undefined) positiveInt(spec.k, `${sf}.k`);
    });
    if (sc.retrieveK !== undefined) positiveInt(sc.retrieveK, `${f}.retrieveK`);
    positiveInt(sc.coarseKeep, `${f}.coarseKeep`);
    if (sc.coarse !== undefined) stage(sc.coarse, `${f}.coarse`, 'score');
    if (sc.rerank !== undefined) {
      if (!Array.isArray(sc.rerank)) fail(`${f}.rerank`, 'must be an array');
      (sc.rerank as unknown[]).forEach((r, i) => stage(r, `${f}.rerank[${i}]`, 'rerank'));
    }
    if (sc.policy !== undefined) {
      if (!Array.isArray(sc.policy)) fail(`${f}.policy`, 'must be an array');
      (sc.policy as unknown[]).forEach((p, i) => stage(p, `${f}.policy[${i}]`, 'allows'));
    }
    for (const k of ['policyEarly', 'backfillFromTail'])
      if (sc[k] !== undefined && typeof sc[k] !== 'boolean') fail(`${f}.${k}`, 'must be a boolean');
    if (sc.slaMs !== undefined) positiveMs(sc.slaMs, `${f}.slaMs`);
    if (sc.budgets !== undefined) budgets(sc.budgets, `${f}.budgets`, true);
    const sla = (sc.slaMs as number | undefined) ?? (c.slaMs as number);
    const reserve = (c.finalizeReserveMs as number | undefined) ?? 2;
    if (reserve >= sla) fail(`${f}.slaMs`, `must exceed finalizeReserveMs (${reserve})`);
  }
}
