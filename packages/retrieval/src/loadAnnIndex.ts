import type { AnnIndex } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { ExactIndex } from './ExactIndex.js';
import { HnswlibIndex } from './HnswlibIndex.js';
import { IvfIndex } from './IvfIndex.js';
import { readVerified } from './internal/persist.js';
import { UsearchIndex, type UsearchRescoreOptions } from './UsearchIndex.js';

/** Search-time settings that may differ from the saved ones (they are not part of the graph). */
export interface LoadOverrides {
  /**
   * Search beam width (ef). usearch fixes it when the index object is created, so this is the way
   * to serve a saved usearch index with another recall/latency trade-off.
   */
  readonly expansionSearch?: number;
  /**
   * usearch: rescore candidates against exact vectors (see `UsearchRescoreOptions`). The vectors
   * are a runtime object, so they are never saved with the index; pass them on every load.
   * IVF `i8`: `{ oversample }` only (the saved value otherwise); the index re-scores from its own
   * f32 rows, so `vectors` is refused.
   */
  readonly rescore?: UsearchRescoreOptions;
  /** IVF only: lists scanned per search (the saved value otherwise). */
  readonly probes?: number;
  /**
   * Maps each loaded id to an equal string the caller already holds (e.g. its catalog's id
   * array), so the loaded index does not keep a second copy of every id. At 1M items the copy is a
   * million more heap objects for every major GC to mark (the video-platform server held two:
   * its catalog's ids and the loaded index's). Must return an equal string (checked): an id
   * the caller does not know can be returned as is.
   */
  readonly internIds?: (id: string) => string;
}

/**
 * Loads an index saved by `AnnIndex.save`. The manifest, sizes and SHA-256 checksums are verified
 * before any byte reaches the native library, so a corrupt, truncated or foreign file fails with
 * `RECSPINE_ERR_ANN_CORRUPT_FILE` (never a crash) and nothing is replaced.
 *
 * The native load itself is synchronous for usearch and exact (it blocks the event loop for the
 * file's size / disk bandwidth); load off the request path (the `IndexManager` does).
 *
 * @example
 * ```ts
 * const index = await loadAnnIndex('/var/lib/recs/ann/v42', { expansionSearch: 1500 });
 * const i8 = await loadAnnIndex(dir, { expansionSearch: 2000, rescore: { oversample: 2, vectors: exactIndex } });
 * ```
 */
export async function loadAnnIndex(dir: string, overrides: LoadOverrides = {}): Promise<AnnIndex> {
  const verified = await readVerified(dir);
  const { indexPath, ids } = verified;
  let manifest = verified.manifest;
  if (overrides.expansionSearch !== undefined) {
    if (!Number.isInteger(overrides.expansionSearch) || overrides.expansionSearch < 1) {
      throw RetrievalErrors.create(
        'RECSPINE_ERR_ANN_CONFIG',
        `expansionSearch must be a positive integer, got ${String(overrides.expansionSearch)}`,
        {
          stage: 'retrieval/ann/persist',
          field: 'expansionSearch',
        },
      );
    }
    manifest = { ...manifest, options: { ...manifest.options, expansionSearch: overrides.expansionSearch } };
  }
  const idsJson = ids as { ids?: unknown; dead?: unknown };
  if (!Array.isArray(idsJson.ids) || !Array.isArray(idsJson.dead ?? [])) {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_CORRUPT_FILE', `index at ${dir}: ids.json has the wrong shape`, {
      stage: 'retrieval/ann/persist',
    });
  }
  const idList = { ids: idsJson.ids as string[], dead: (idsJson.dead ?? []) as number[] };
  if (overrides.internIds !== undefined) {
    const intern = overrides.internIds;
    const loaded = idList.ids;
    for (let i = 0; i < loaded.length; i++) {
      const id = loaded[i];
      if (typeof id !== 'string') continue; // a dead slot's placeholder, validated by the backend loader
      const mine = intern(id);
      if (mine !== id) {
        throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `internIds returned ${JSON.stringify(mine)} for id ${JSON.stringify(id)}`, {
          stage: 'retrieval/ann/persist',
          field: 'internIds',
        });
      }
      loaded[i] = mine;
    }
  }
  if (overrides.rescore !== undefined && manifest.backend !== 'usearch' && manifest.backend !== 'ivf') {
    throw RetrievalErrors.create(
      'RECSPINE_ERR_ANN_CONFIG',
      `rescore is a usearch and IVF (i8) option; the index at ${dir} is ${String(manifest.backend)}`,
      {
        stage: 'retrieval/ann/persist',
        field: 'rescore',
      },
    );
  }
  switch (manifest.backend) {
    case 'usearch':
      return UsearchIndex.restore(manifest, indexPath, idList, overrides.rescore);
    case 'hnswlib':
      return HnswlibIndex.restore(manifest, indexPath, idList);
    case 'ivf':
      if (overrides.expansionSearch !== undefined) {
        throw RetrievalErrors.create(
          'RECSPINE_ERR_ANN_CONFIG',
          `expansionSearch is an HNSW option; the index at ${dir} is ivf (use probes)`,
          {
            stage: 'retrieval/ann/persist',
            field: 'expansionSearch',
          },
        );
      }
      return IvfIndex.restore(manifest, indexPath, idList, overrides.probes, overrides.rescore);
    case 'exact':
      return ExactIndex.restore(manifest, indexPath, idList);
    default:
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CORRUPT_FILE', `index at ${dir}: unknown backend ${String(manifest.backend)}`, {
        stage: 'retrieval/ann/persist',
      });
  }
}
