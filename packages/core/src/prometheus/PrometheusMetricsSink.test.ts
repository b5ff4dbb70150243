import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRecommender } from '../Recommender.js';
import { StaticSource } from '../StaticSource.js';
import { PrometheusMetricsSink } from './PrometheusMetricsSink.js';

describe('PrometheusMetricsSink', () => {
  describe('as the recommender metrics sink', () => {
    it('exports stage latency, source contribution, degradation and breaker metrics', async () => {
      const registry = new Registry();
      const sink = new PrometheusMetricsSink({ registry });
      const rec = createRecommender({
        slaMs: 50,
        budgets: { retrieval: 10, coarse: 5, features: 10, fine: 10, rerank: 5 },
        metrics: sink,
        breakers: { broken: { threshold: 1 } },
        slots: {
          home: {
            sources: [new StaticSource('popular', ['a', 'b', 'c']), { name: 'broken', retrieve: () => Promise.reject(new Error('down')) }],
            coarseKeep: 10,
          },
        },
      });
      await rec.recommend({ slot: 'home', limit: 2 });
      const text = await registry.metrics();
      expect(text).toMatch(/recspine_stage_seconds_count\{slot="home",stage="retrieval"\} 1/);
      expect(text).toMatch(/recspine_source_retrieved_total\{slot="home",source="popular"\} 3/);
      expect(text).toMatch(/recspine_source_in_slate_total\{slot="home",source="popular"\} 2/);
      expect(text).toMatch(/recspine_source_outcomes_total\{slot="home",source="broken",status="error"\} 1/);
      expect(text).toMatch(/recspine_degradations_total\{slot="home",mode="source_error",tier="drop_source"\} 1/);
      expect(text).toMatch(/recspine_breaker_state\{dependency="broken"\} 2/);
      expect(text).toMatch(/recspine_request_seconds_count\{slot="home",degraded="true"\} 1/);
    });
  });
});
