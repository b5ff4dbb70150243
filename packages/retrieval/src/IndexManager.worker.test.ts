import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCode, randomItems, row } from '../test/helpers.js';
import { type AnnBuildSpec, IndexManager, type IndexManagerOptions } from './IndexManager.js';

const D = 16;
const tmp = mkdtempSync(join(tmpdir(), 'recspine-manager-worker-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let dirs = 0;
/** A fresh build directory per manager, so a test can check that nothing is left in it. */
function buildDir(): string {
  const d = join(tmp, `b${++dirs}`);
  mkdirSync(d);
  return d;
}

function manager(opts: Partial<IndexManagerOptions> = {}, spec: AnnBuildSpec = { backend: 'usearch', expansionSearch: 128 }): IndexManager {
  return new IndexManager({
    dims: D,
    metric: 'cos',
    spec,
    buildIn: 'worker',
    validation: { k: 20, probes: 20, minRecall: 0.9, minOverlap: 0.5 },
    ...opts,
    worker: { tmpDir: buildDir(), ...opts.worker },
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

describe('IndexManager, worker-thread builds', () => {
  it.each([
    ['usearch f16', { backend: 'usearch', quantization: 'f16', expansionSearch: 128 } as AnnBuildSpec],
    ['hnswlib', { backend: 'hnswlib', expansionSearch: 128 } as AnnBuildSpec],
  ])('builds a %s version off the serving thread, validates it and serves it', async (_name, spec) => {
    const m = manager({}, spec);
    const tmpDir = (m as unknown as { opts: IndexManagerOptions }).opts.worker?.tmpDir as string;
    const { ids, vectors } = randomItems(3000, D);
    const r = await m.rebuild({ ids, vectors, version: 'w1' });
    expect(r.accepted, JSON.stringify(r)).toBe(true);
    expect(m.version).toBe('w1');
    expect(m.current().backend).toBe(spec.backend);
    expect(m.current().quantization).toBe(spec.backend === 'usearch' ? 'f16' : 'f32');
    expect(m.state().lastValidation?.recall).toBeGreaterThanOrEqual(0.9);
    expect(m.state().lastBuild).toMatchObject({ version: 'w1', buildIn: 'worker' });
    expect(m.state().size).toBe(3000);
    expect((await m.search(row(vectors, 3, D), 1))[0]?.itemId).toBe('i3');
    // the loaded version takes deltas like any other
    const v = randomItems(1, D, 99).vectors;
    m.upsert('after-swap', v);
    expect((await m.search(v, 1))[0]?.itemId).toBe('after-swap');
    // the temporary build directory is gone
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('shares vectors already on a SharedArrayBuffer with the worker, and a second build is validated against the first', async () => {
    const m = manager();
    const { ids, vectors } = randomItems(2000, D);
    const sharedVectors = new Float32Array(new SharedArrayBuffer(vectors.byteLength));
    sharedVectors.set(vectors);
    expect((await m.rebuild({ ids, vectors: sharedVectors, version: 'A' })).accepted).toBe(true);
    const r = await m.rebuild({ ids, vectors, version: 'B' });
    expect(r.accepted).toBe(true);
    expect(r.accepted && r.report.overlapWithCurrent).toBeGreaterThan(0.9);
    expect(m.state().previousVersion).toBe('A');
  });

  it('refuses a rebuild with shuffled embeddings; traffic stays on the old version', async () => {
    const m = manager();
    const { ids, vectors } = randomItems(2000, D);
    await m.rebuild({ ids, vectors, version: 'good' });
    const r = await m.rebuild({ ids, vectors: shuffled(vectors, 7), version: 'bad' });
    expect(r.accepted).toBe(false);
    if (r.accepted) return;
    expect(r.code).toBe('RECSPINE_ERR_ANN_SWAP_REFUSED');
    expect(r.reason).toMatch(/overlap/);
    // recall against the worker's exact truth is fine: it is agreement with serving that fails
    expect(r.report?.recall).toBeGreaterThanOrEqual(0.9);
    expect(m.version).toBe('good');
    expect((await m.search(row(vectors, 42, D), 1))[0]?.itemId).toBe('i42');
  });

  it('refuses a build whose worker times out, keeps serving and removes the build directory', async () => {
    const m = manager({ worker: { timeoutMs: 1 } });
    const tmpDir = (m as unknown as { opts: IndexManagerOptions }).opts.worker?.tmpDir as string;
    const { ids, vectors } = randomItems(2000, D);
    const r = await m.rebuild({ ids, vectors, version: 'slow' });
    expect(r).toMatchObject({ accepted: false, code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' });
    expect(!r.accepted && r.reason).toMatch(/timed out after 1 ms/);
    expect(m.version).toBeUndefined();
    expect(m.state()).toMatchObject({ building: false, refusals: 1, lastRefusal: { version: 'slow' } });
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('refuses a build whose worker crashes (out of memory) and keeps the version in service', async () => {
    const ok = manager();
    const { ids, vectors } = randomItems(2000, D);
    await ok.rebuild({ ids, vectors, version: 'A' });
    // Same items, but the worker's heap is capped far below what 200k ids need: V8 kills it.
    const m = manager({ worker: { resourceLimits: { maxOldGenerationSizeMb: 4, maxYoungGenerationSizeMb: 1 } } });
    const tmpDir = (m as unknown as { opts: IndexManagerOptions }).opts.worker?.tmpDir as string;
    await m.offer(ok.current(), { ids, vectors, version: 'A' });
    const big = randomItems(200_000, D, 3, 'long-item-id-to-fill-the-heap-');
    const r = await m.rebuild({ ...big, version: 'B' });
    expect(r).toMatchObject({ accepted: false, code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' });
    expect(!r.accepted && r.reason).toMatch(/build worker (crashed|exited)/);
    expect(m.version).toBe('A');
    expect((await m.search(row(vectors, 7, D), 1))[0]?.itemId).toBe('i7');
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('refuses a build when its directory cannot be created', async () => {
    const file = join(tmp, 'not-a-dir');
    writeFileSync(file, 'x');
    const m = manager({ worker: { tmpDir: file } });
    const { ids, vectors } = randomItems(500, D);
    const r = await m.rebuild({ ids, vectors });
    expect(r).toMatchObject({ accepted: false, code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' });
    expect(!r.accepted && r.reason).toMatch(/cannot create the build directory/);
  });

  it('throws the same coded errors as a main-thread build for bad input, and stays usable', async () => {
    const m = manager();
    const { ids, vectors } = randomItems(1000, D);
    await m.rebuild({ ids, vectors, version: 'ok' });
    const bad = vectors.slice();
    bad[700 * D + 3] = Number.NaN;
    await expectCode(() => m.rebuild({ ids, vectors: bad }), 'RECSPINE_ERR_ANN_NON_FINITE');
    const dup = [...ids];
    dup[10] = 'i3';
    await expectCode(() => m.rebuild({ ids: dup, vectors }), 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM');
    await expectCode(() => m.rebuild({ ids, vectors: vectors.subarray(0, 10) }), 'RECSPINE_ERR_ANN_DIMENSION');
    expect(m.version).toBe('ok');
    expect(m.state().building).toBe(false);
    expect((await m.rebuild({ ids, vectors, version: 'again' })).accepted).toBe(true);
  });

  it('rejects a second build while one runs with RECSPINE_ERR_ANN_BUSY, and rollback too', async () => {
    const m = manager();
    const { ids, vectors } = randomItems(3000, D);
    await m.rebuild({ ids, vectors, version: 'A' });
    const second = m.rebuild({ ids, vectors, version: 'B' });
    await expectCode(() => m.rebuild({ ids, vectors }), 'RECSPINE_ERR_ANN_BUSY');
    await expectCode(() => m.rollback(), 'RECSPINE_ERR_ANN_BUSY');
    expect(m.state().building).toBe(true);
    expect((await second).accepted).toBe(true);
    expect(m.state().building).toBe(false);
  });

  it('replays deltas upserted and removed during the worker build onto the new version', async () => {
    const m = manager();
    const { ids, vectors } = randomItems(3000, D);
    await m.rebuild({ ids, vectors, version: 'A' });
    const building = m.rebuild({ ids, vectors, version: 'B' });
    await nextTurn();
    const v = randomItems(1, D, 4321).vectors;
    m.upsert('published-mid-build', v);
    m.remove('i9');
    // serving answers (from A, with the delta) while the worker builds B
    expect((await m.search(v, 1))[0]?.itemId).toBe('published-mid-build');
    expect(m.state().building).toBe(true);
    expect((await building).accepted).toBe(true);
    expect(m.version).toBe('B');
    expect((await m.search(v, 1))[0]?.itemId).toBe('published-mid-build');
    expect(m.current().has('i9')).toBe(false);
    expect(m.state().size).toBe(3000);
  });

  it('lowers only the worker thread to nice 19 (Linux), not the serving thread', async () => {
    const before = getPriority();
    const m = manager();
    const { ids, vectors } = randomItems(1000, D);
    await m.rebuild({ ids, vectors });
    if (process.platform === 'linux') expect(m.state().lastBuild?.workerNice).toBe(19);
    expect(getPriority()).toBe(before);
    const plain = manager({ worker: { lowPriority: false } });
    await plain.rebuild({ ids, vectors });
    expect(plain.state().lastBuild?.workerNice).toBeUndefined();
  });

  it('validates its options with RECSPINE_ERR_ANN_CONFIG', async () => {
    await expectCode(() => new IndexManager({ dims: D, metric: 'cos', buildIn: 'worker' }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => new IndexManager({ dims: D, metric: 'cos' }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(
      () => new IndexManager({ dims: D, metric: 'ip', spec: { backend: 'usearch', quantization: 'i8' } }),
      'RECSPINE_ERR_ANN_CONFIG',
    );
    await expectCode(
      () => new IndexManager({ dims: D, metric: 'cos', spec: { backend: 'hnswlib' }, worker: { timeoutMs: 0 } }),
      'RECSPINE_ERR_ANN_CONFIG',
    );
    // spec alone: worker builds by default; buildIn 'main' builds the same spec on the serving thread
    const main = new IndexManager({ dims: D, metric: 'cos', spec: { backend: 'hnswlib' }, buildIn: 'main' });
    const { ids, vectors } = randomItems(500, D);
    expect((await main.rebuild({ ids, vectors })).accepted).toBe(true);
    expect(main.state().lastBuild?.buildIn).toBe('main');
    expect(main.current().backend).toBe('hnswlib');
  });
});
