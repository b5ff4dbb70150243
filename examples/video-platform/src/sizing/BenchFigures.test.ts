import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MissingBenchFigureError, loadBenchFigures } from './BenchFigures.js';

const files = {
  'rank.json': { metrics: { coarseP50Ms: 0.3, coarseCandidates: 1000, fineP50Ms: 1.4, fineCandidates: 200 } },
  'rerank.json': { metrics: { chainCpuP50Ms: 0.3, candidates: 200 } },
  'retrieval-ann.json': {
    metrics: {
      backends: [
        {
          backend: 'usearch',
          quantization: 'f16',
          bytesPerItem: 276,
          dims: 64,
          items: 1e6,
          searchP50Ms: 7,
          k: 1000,
          expansionSearch: 4000,
          recallAtK: 0.96,
        },
        {
          backend: 'hnswlib',
          quantization: 'f32',
          bytesPerItem: 404,
          dims: 64,
          items: 1e6,
          searchP50Ms: 6,
          k: 1000,
          expansionSearch: 4000,
          recallAtK: 0.97,
        },
      ],
    },
  },
  'features-fetch.json': { metrics: { memoryP50Ms: 2.3, items: 200, featuresPerItem: 71, featuresReturned: 13408, redisP50Ms: 10 } },
  'features-freshness.json': { params: { partitions: 6 }, metrics: { maxSustainedEventsPerSec: 1000 } },
};

const REAL = join(import.meta.dirname, '..', '..', '..', '..', 'bench-results');
const REAL_PRESENT = ['rank.json', 'rerank.json', 'retrieval-ann.json', 'features-fetch.json', 'features-freshness.json'].every((f) =>
  existsSync(join(REAL, f)),
);

describe('loadBenchFigures', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sizing-'));
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(body));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('loadBenchFigures', () => {
    it('reads every figure with the file and JSON path it came from', () => {
      const b = loadBenchFigures(dir);
      expect(b.fine.ms).toEqual({ value: 1.4, from: 'rank.json metrics.fineP50Ms' });
      expect(b.ann.f16?.bytesPerItem.value).toBe(276);
      expect(b.ann.f32).toBeUndefined(); // only usearch entries count
      expect(b.aggregator.maxSustainedEventsPerSec.value).toBe(1000);
      expect(b.load).toBeUndefined();
      expect(b.runnerOverheadMs).toBeUndefined();
    });
    it('reads load.json and core-overhead.json when present', () => {
      writeFileSync(join(dir, 'load.json'), JSON.stringify({ params: { coarseKeep: 200 }, metrics: { qpsPerCore: 150 } }));
      writeFileSync(join(dir, 'core-overhead.json'), JSON.stringify({ metrics: { overheadP50Us: 66 } }));
      const b = loadBenchFigures(dir);
      expect(b.load?.qpsPerCore.value).toBe(150);
      expect(b.load?.coarseKeep).toBe(200);
      expect(b.runnerOverheadMs?.value).toBeCloseTo(0.066, 10);
    });
    it.each(Object.keys(files))('fails naming %s when it is missing', (name) => {
      rmSync(join(dir, name));
      expect(() => loadBenchFigures(dir)).toThrow(MissingBenchFigureError);
      expect(() => loadBenchFigures(dir)).toThrow(new RegExp(name.replace('.', '\\.')));
    });
    it('fails naming the JSON path when a figure is missing or not a finite number', () => {
      writeFileSync(join(dir, 'rank.json'), JSON.stringify({ metrics: { ...files['rank.json'].metrics, fineP50Ms: 'fast' } }));
      expect(() => loadBenchFigures(dir)).toThrow(/rank\.json has no finite number at metrics\.fineP50Ms/);
    });
    it('fails on a file that is not JSON', () => {
      writeFileSync(join(dir, 'rerank.json'), '{ truncated');
      expect(() => loadBenchFigures(dir)).toThrow(/unreadable benchmark file rerank\.json/);
    });
    // keeps the loader in step with what the benches really write
    it.skipIf(!REAL_PRESENT)('reads the real bench-results files', () => {
      for (const name of Object.keys(files)) copyFileSync(join(REAL, name), join(dir, name));
      expect(loadBenchFigures(dir).ann.f16?.dims).toBeGreaterThan(0);
    });
  });
});
