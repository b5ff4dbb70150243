import type { FeatureSchema, FeatureStore } from '@recspine/features';
import type { FeatureAssemblerSpec } from '@recspine/rank';

/**
 * The feature-store groups a set of rank `FeatureAssemblerSpec`s read: every `{ from: 'user' | 'item',
 * key }` reference (also inside cross features' `a`/`b`) resolved to the schema group whose output
 * row holds `key` (user and context groups for `user`; item groups and prefixed creator groups for
 * `item`). `derived` maps keys computed after the fetch (e.g. `history_pool`, derived from
 * `recent_items`) to the group they are derived from. Keys no group holds are ignored (the
 * assembler substitutes defaults for them, as it would for an absent stored value).
 *
 * Why: a store read without `groups` reads every group of the schema. The serving schema also
 * carries the stream aggregator's `item_stream` and `creator_stream` groups, which no model reads;
 * they are hash groups whose packed snapshots exist only for items with recent events, so each
 * request paid a second round trip of one `HMGET` per candidate for them, and their sub-deadline
 * misses tagged almost every response `feature_groups_missing` (game day, 71 of 73).
 */
export function storeGroupsReadBy(
  schema: FeatureSchema,
  specs: readonly FeatureAssemblerSpec[],
  derived: Readonly<Record<string, string>> = {},
): string[] {
  const byRow = { user: new Map<string, string>(), item: new Map<string, string>() };
  for (const g of schema.groups) {
    const row = g.entity === 'user' || g.entity === 'context' ? byRow.user : byRow.item;
    for (const name of g.outputNames) row.set(name, g.name);
  }
  const out = new Set<string>();
  const visit = (o: unknown): void => {
    if (Array.isArray(o)) {
      for (const v of o) visit(v);
      return;
    }
    if (typeof o !== 'object' || o === null) return;
    const r = o as Record<string, unknown>;
    if ((r['from'] === 'user' || r['from'] === 'item') && typeof r['key'] === 'string') {
      const key = r['key'];
      const g = (r['from'] === 'user' ? byRow.user : byRow.item).get(key) ?? (r['from'] === 'user' ? derived[key] : undefined);
      if (g !== undefined) out.add(g);
    }
    for (const v of Object.values(r)) visit(v);
  };
  for (const s of specs) visit(s.features);
  // schema order, so the list is stable
  return schema.groups.map((g) => g.name).filter((n) => out.has(n));
}

/**
 * A view of `store` whose reads fetch only `groups` (unless a read names its own): what the
 * ranking feature fetch goes through. Writes, deletes and stats go to the store itself; closing
 * the view does not close the store.
 */
export function groupsView(store: FeatureStore, groups: readonly string[]): FeatureStore {
  return {
    name: store.name,
    schema: store.schema,
    read: (req, opts) => store.read(req.groups === undefined ? { ...req, groups } : req, opts),
    write: (m) => store.write(m),
    readAux: (e, id, g) => store.readAux(e, id, g),
    deleteEntity: (e, id) => store.deleteEntity(e, id),
    stats: () => store.stats(),
    close: () => Promise.resolve(),
  };
}
