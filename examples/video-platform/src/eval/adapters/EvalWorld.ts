import type { FeatureRow, ItemMeta } from '@recspine/core';
import type { ModelsManifest } from '../../train/trainModels.js';
import type { WorldData } from '../../world/WorldData.js';

/**
 * What the evaluation's local adapters share: the loaded world (observable side only), the item
 * embeddings, the popularity order and the in-process catalog, keyed by item id `v<i>`.
 */
export class EvalWorld {
  readonly catalog = new Map<string, ItemMeta>();
  readonly catalogRows: FeatureRow[];
  readonly index = new Map<string, number>();
  readonly ids: string[];
  constructor(
    readonly data: WorldData,
    readonly manifest: ModelsManifest,
    readonly itemEmbeddings: Float32Array,
    readonly embeddingDim: number,
    readonly popularity: Int32Array,
  ) {
    const N = data.nItems;
    this.ids = Array.from({ length: N }, (_, i) => `v${i}`);
    this.catalogRows = new Array<FeatureRow>(N);
    for (let i = 0; i < N; i++) {
      const id = this.ids[i] as string;
      this.index.set(id, i);
      const row = data.itemRowAtSplit(i);
      this.catalogRows[i] = row;
      const br = data.itemBlockedRegion[i] as number;
      this.catalog.set(id, {
        creatorId: `c${data.itemCreator[i] as number}`,
        category: row['category'] as string,
        language: row['language'] as string,
        publishedAtMs: row['published_at_ms'] as number,
        embedding: itemEmbeddings.subarray(i * embeddingDim, (i + 1) * embeddingDim),
        kidsRestricted: data.itemKids[i] === 1,
        misinformation: data.itemMisinfo[i] === 1,
        ...(br === 255 ? {} : { blockedRegions: [data.regionNames[br] as string] }),
      });
    }
  }

  /** Item index of an id, or -1. */
  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  /** Whether item `i` is published at `nowMs`. */
  published(i: number, nowMs: number): boolean {
    return this.data.ms(this.data.itemPublishedS[i] as number) <= nowMs;
  }
}
