import type { ItemMeta } from './Candidate.js';
import type { ItemCatalog } from './ItemCatalog.js';

/** A catalog over a `Map` (the embedded default). */
export class MapItemCatalog implements ItemCatalog {
  constructor(private readonly map: ReadonlyMap<string, ItemMeta>) {}
  get(itemId: string): ItemMeta | undefined {
    return this.map.get(itemId);
  }
}
