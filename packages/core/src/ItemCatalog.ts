import type { ItemMeta } from './Candidate.js';

/**
 * In-process item metadata, looked up once per candidate per request after retrieval merges the
 * sources (creator, category, embedding, policy flags). Must be synchronous and fast: an
 * in-memory map, refreshed off the request path.
 */
export interface ItemCatalog {
  get(itemId: string): ItemMeta | undefined;
}
