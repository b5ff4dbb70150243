import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerOpsMetrics } from './opsMetrics.js';

describe('registerOpsMetrics', () => {
  it('exposes shed counts, bus/spill, aggregator, store, index, faults, model pushes and the spike cap at scrape time', async () => {
    const registry = new Registry();
    const shed = { in_flight: 0, loop_delay: 0, adaptive_limit: 0 };
    let cap = 1;
    registerOpsMetrics(registry, {
      shed: () => shed,
      bus: () => ({ published: 10, deadLettered: 3, spillPendingBytes: 4096 }),
      aggregator: () => ({ applied: 7, duplicates: 2 }),
      featureStore: () => ({ groupTimeouts: 5 }),
      index: () => ({ swaps: 2, refusals: 1, rollbacks: 1 }),
      faults: () => ({ throw: 4, hang: 0 }),
      modelPushes: () => ({ accepted: 0, refused: 2 }),
      plannedCap: () => cap,
    });
    shed.adaptive_limit = 9;
    cap = 0.75;
    const text = await registry.metrics();
    expect(text).toMatch(/recspine_shed_total\{reason="adaptive_limit"\} 9/);
    expect(text).toMatch(/recspine_event_bus\{stat="deadLettered"\} 3/);
    expect(text).toMatch(/recspine_event_bus\{stat="spillPendingBytes"\} 4096/);
    expect(text).toMatch(/recspine_stream_aggregator\{stat="duplicates"\} 2/);
    expect(text).toMatch(/recspine_feature_store\{stat="groupTimeouts"\} 5/);
    expect(text).toMatch(/recspine_index_lifecycle\{stat="refusals"\} 1/);
    expect(text).toMatch(/recspine_faults_injected\{fault="throw"\} 4/);
    expect(text).toMatch(/recspine_model_pushes\{outcome="refused"\} 2/);
    expect(text).toMatch(/recspine_planned_spike_cap 0.75/);
  });
});
