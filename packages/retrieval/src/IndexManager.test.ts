import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCode, randomItems, row } from '../test/helpers.js';
import { HnswlibIndex } from './HnswlibIndex.js';
import { IndexManager } from './IndexManager.js';
import { UsearchIndex } from './UsearchIndex.js';

const D = 16;
const tmp = mkdtempSync(join(tmpdir(), 'recspine-manager-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function manager(minOverlap = 0.5): IndexManager {
  return new IndexManager({
    dims: D,
    metric: 'cos',
    create: () => new UsearchIndex({ dims: D, expansionSearch: 128 }),
    validation: { k: 20, probes: 20, minRecall: 0.9, minOverlap },
    buildChunk: 500,
  });
}

function shuffled(vectors: Float32Array, seed: number): Float32Array {
  const n = vectors.length / D;
  const order = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const out = new Float32Array(vectors.length);
  order.forEach((src, dst) => out.set(vectors.subarray(src * D, (src + 1) * D), dst * D));
  return out;
}

describe('IndexManager', () => {
  describe('rebuild', () => {
    it('serves the first version once it passed validation, with the figures in state()', async () => {
      const m = manager();
      await expectCode(() => m.search(new Float32Array(D), 5), 'RECSPINE_ERR_ANN_NO_INDEX');
      const { ids, vectors } = randomItems(2000, D);
      const r = await m.rebuild({ ids, vectors, version: 'v1' });
      expect(r.accepted).toBe(true);
      expect(m.version).toBe('v1');
      const st = m.state();
      expect(st.lastValidation?.recall).toBeGreaterThanOrEqual(0.9);
      expect(st.lastValidation?.overlapWithCurrent).toBeUndefined();
      expect(st.size).toBe(2000);
      expect((await m.search(row(vectors, 3, D), 1))[0]?.itemId).toBe('i3');
    });

    it('refuses a rebuild with shuffled embeddings, and traffic stays on the old version', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(2000, D);
      await m.rebuild({ ids, vectors, version: 'good' });
      const r = await m.rebuild({ ids, vectors: shuffled(vectors, 7), version: 'bad' });
      expect(r.accepted).toBe(false);
      if (r.accepted) return;
      expect(r.code).toBe('RECSPINE_ERR_ANN_SWAP_REFUSED');
      expect(r.reason).toMatch(/overlap/);
      expect(m.version).toBe('good');
      expect(m.state().lastRefusal).toMatchObject({ version: 'bad', code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' });
      expect(m.state().refusals).toBe(1);
      expect((await m.search(row(vectors, 42, D), 1))[0]?.itemId).toBe('i42');
    });

    it('computes exact truth correctly across many scan slices', async () => {
      const m = new IndexManager({
        dims: D,
        metric: 'cos',
        create: () => new UsearchIndex({ dims: D, expansionSearch: 128 }),
        validation: { k: 20, probes: 10, minRecall: 0.9, sliceRows: 257 },
      });
      const { ids, vectors } = randomItems(3000, D);
      const r = await m.rebuild({ ids, vectors });
      expect(r.accepted).toBe(true);
      expect(m.state().lastValidation?.recall).toBeGreaterThanOrEqual(0.9);
    });

    it('refuses a version with poor recall against exact search', async () => {
      const m = new IndexManager({
        dims: D,
        metric: 'cos',
        // a degenerate graph with a tiny beam: fast and wrong
        create: () => new HnswlibIndex({ dims: D, connectivity: 2, expansionAdd: 2, expansionSearch: 1 }),
        validation: { k: 50, probes: 20, minRecall: 0.99 },
      });
      const { ids, vectors } = randomItems(3000, D);
      const r = await m.rebuild({ ids, vectors, probes: [randomItems(1, D, 99).vectors, randomItems(1, D, 98).vectors] });
      expect(r.accepted).toBe(false);
      if (!r.accepted) expect(r.reason).toMatch(/recall@50/);
      expect(m.version).toBeUndefined();
    });

    it('refuses a version that lost too many items', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(2000, D);
      await m.rebuild({ ids, vectors });
      const r = await m.rebuild({ ids: ids.slice(0, 1000), vectors: vectors.slice(0, 1000 * D) });
      expect(r.accepted).toBe(false);
      if (!r.accepted) expect(r.reason).toMatch(/size 1000/);
    });

    it('accepts a faithful nightly rebuild and keeps the previous version', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(2000, D);
      await m.rebuild({ ids, vectors, version: 'mon' });
      const r = await m.rebuild({ ids, vectors, version: 'tue' });
      expect(r.accepted).toBe(true);
      if (r.accepted) expect(r.report.overlapWithCurrent).toBeGreaterThan(0.8);
      expect(m.state()).toMatchObject({ version: 'tue', previousVersion: 'mon', swaps: 2 });
    });

    it('fails a build with NaN in its input with a coded error and keeps serving', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(1000, D);
      await m.rebuild({ ids, vectors, version: 'ok' });
      const bad = vectors.slice();
      bad[700 * D + 3] = Number.NaN;
      await expectCode(() => m.rebuild({ ids, vectors: bad }), 'RECSPINE_ERR_ANN_NON_FINITE');
      await expectCode(() => m.rebuild({ ids, vectors: vectors.subarray(0, 10) }), 'RECSPINE_ERR_ANN_DIMENSION');
      expect(m.version).toBe('ok');
      expect(m.state().building).toBe(false);
      await m.rebuild({ ids, vectors, version: 'again' });
      expect(m.version).toBe('again');
    });

    it('rejects a second build while one runs with RECSPINE_ERR_ANN_BUSY', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(3000, D);
      const first = m.rebuild({ ids, vectors });
      await expectCode(() => m.rebuild({ ids, vectors }), 'RECSPINE_ERR_ANN_BUSY');
      expect(m.state().building).toBe(true);
      expect((await first).accepted).toBe(true);
      expect(m.state().building).toBe(false);
    });
  });

  describe('rollback', () => {
    it('swaps the previous version back in with one call, and refuses when none is kept', async () => {
      const m = manager(0);
      const a = randomItems(1000, D, 1, 'a');
      const b = randomItems(1000, D, 2, 'b');
      await expectCode(() => m.rollback(), 'RECSPINE_ERR_ANN_NO_ROLLBACK');
      await m.rebuild({ ...a, version: 'A' });
      await m.rebuild({ ...b, version: 'B' });
      expect((await m.search(row(b.vectors, 0, D), 1))[0]?.itemId).toBe('b0');
      expect(m.rollback()).toBe('A');
      expect(m.version).toBe('A');
      expect((await m.search(row(a.vectors, 0, D), 1))[0]?.itemId).toBe('a0');
      expect(m.state()).toMatchObject({ rollbacks: 1, previousVersion: undefined });
      await expectCode(() => m.rollback(), 'RECSPINE_ERR_ANN_NO_ROLLBACK');
    });

    it('keeps deltas streamed after the swap when rolling back', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(1000, D);
      await m.rebuild({ ids, vectors, version: 'A' });
      await m.rebuild({ ids, vectors, version: 'B' });
      const fresh = randomItems(1, D, 555).vectors;
      m.upsert('fresh', fresh);
      m.remove('i5');
      m.rollback();
      expect((await m.search(fresh, 1))[0]?.itemId).toBe('fresh');
      expect(m.current().has('i5')).toBe(false);
    });
  });

  describe('upsert', () => {
    it('makes a delta visible to the next search and counts it', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(1000, D);
      await m.rebuild({ ids, vectors });
      const v = randomItems(1, D, 1234).vectors;
      m.upsert('brand-new', v);
      expect((await m.search(v, 1))[0]?.itemId).toBe('brand-new');
      m.remove('brand-new');
      expect((await m.search(v, 5)).map((h) => h.itemId)).not.toContain('brand-new');
      expect(m.state().deltaCount).toBe(2);
      await expectCode(() => m.remove('never-there'), 'RECSPINE_ERR_ANN_UNKNOWN_ITEM');
      await expectCode(() => m.upsert('bad', new Float32Array(D - 1)), 'RECSPINE_ERR_ANN_DIMENSION');
    });

    it('replays deltas streamed during a build onto the new version before it is swapped in', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(3000, D);
      await m.rebuild({ ids, vectors, version: 'A' });
      const building = m.rebuild({ ids, vectors, version: 'B' });
      await nextTurn();
      const v = randomItems(1, D, 4321).vectors;
      m.upsert('published-mid-build', v);
      m.remove('i9');
      expect((await building).accepted).toBe(true);
      expect(m.version).toBe('B');
      expect((await m.search(v, 1))[0]?.itemId).toBe('published-mid-build');
      expect(m.current().has('i9')).toBe(false);
    });
  });

  describe('search during a swap', () => {
    it('answers every concurrent search wholly from one version, never a half-built one', async () => {
      const m = manager(0);
      const a = randomItems(3000, D, 1, 'a');
      const b = randomItems(3000, D, 2, 'b');
      await m.rebuild({ ...a, version: 'A' });
      const q = randomItems(1, D, 3).vectors;
      const swapping = m.rebuild({ ...b, version: 'B' });
      const seen: string[] = [];
      let done = false;
      void swapping.then(() => (done = true));
      while (!done) {
        const hits = await m.search(q, 50);
        expect(hits).toHaveLength(50);
        const prefixes = new Set(hits.map((h) => h.itemId[0]));
        expect(prefixes.size).toBe(1);
        seen.push([...prefixes][0] as string);
        await nextTurn();
      }
      expect(seen[0]).toBe('a');
      expect(seen).toContain('a');
      expect((await m.search(q, 50)).every((h) => h.itemId.startsWith('b'))).toBe(true);
      // monotone: once B served, A never comes back
      expect(seen.join('')).toMatch(/^a+b*$/);
    });
  });

  describe('loadAndOffer', () => {
    it('swaps in a saved version, and refuses a corrupt file while the old version keeps serving', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(1500, D);
      await m.rebuild({ ids, vectors, version: 'live' });
      const built = new UsearchIndex({ dims: D, expansionSearch: 128 });
      built.upsertBatch(ids, vectors);
      const dir = join(tmp, 'nightly');
      await built.save(dir);
      const f = join(dir, 'index.bin');
      const good = readFileSync(f);
      writeFileSync(f, good.subarray(0, good.length - 100));
      const bad = await m.loadAndOffer(dir, { ids, vectors, version: 'corrupt' });
      expect(bad).toMatchObject({ accepted: false, code: 'RECSPINE_ERR_ANN_CORRUPT_FILE' });
      expect(m.version).toBe('live');
      expect((await m.search(row(vectors, 1, D), 1))[0]?.itemId).toBe('i1');
      writeFileSync(f, good);
      const ok = await m.loadAndOffer(dir, { ids, vectors, version: 'nightly' });
      expect(ok.accepted).toBe(true);
      expect(m.version).toBe('nightly');
    });

    it('serves a saved i8 version with the search-time overrides (beam, rescoring) it is given', async () => {
      const m = manager();
      const { ids, vectors } = randomItems(1500, D, 3);
      const built = new UsearchIndex({ dims: D, quantization: 'i8', expansionSearch: 16 });
      built.upsertBatch(ids, vectors);
      const dir = join(tmp, 'nightly-i8');
      await built.save(dir);
      const byId = new Map(ids.map((id, i) => [id, row(vectors, i, D)]));
      const noVectors = await m.loadAndOffer(
        dir,
        { ids, vectors, version: 'no-vectors' },
        { expansionSearch: 300, rescore: { oversample: 2 } },
      );
      expect(noVectors).toMatchObject({ accepted: false, code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' });
      expect(m.version).toBeUndefined();
      const r = await m.loadAndOffer(
        dir,
        { ids, vectors, version: 'i8-rescored' },
        { expansionSearch: 300, rescore: { oversample: 2, vectors: { vectorOf: (id) => byId.get(id) } } },
      );
      expect(r.accepted).toBe(true);
      expect(m.state().lastValidation?.recall).toBeGreaterThanOrEqual(0.99);
      // Rescored scores are exact cosines (the vectors are unit length): the item itself scores 1.
      const top = (await m.search(row(vectors, 7, D), 1))[0];
      expect(top?.itemId).toBe('i7');
      expect(top?.score).toBeCloseTo(1, 6);
    });
  });

  describe('onSwap', () => {
    it('tells listeners about swaps and rollbacks', async () => {
      const m = manager();
      const events: string[] = [];
      m.onSwap((v) => events.push(v));
      const { ids, vectors } = randomItems(500, D);
      await m.rebuild({ ids, vectors, version: 'x' });
      await m.rebuild({ ids, vectors, version: 'y' });
      m.rollback();
      expect(events).toEqual(['x', 'y', 'x']);
    });
  });
});
