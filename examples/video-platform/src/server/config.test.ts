import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('reads env, then lets flags override it', () => {
    const c = loadConfig({ PORT: '9000', RECSPINE_MODE: 'production', KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.1:9093' }, [
      '--port',
      '9100',
      '--plannedSpikeCap=0.75',
    ]);
    expect(c.port).toBe(9100);
    expect(c.mode).toBe('production');
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(c.plannedSpikeCap).toBe(0.75);
  });

  it.each([
    [{}, ['--port', 'abc'], 'port'],
    [{ RECSPINE_MODE: 'prod' }, [], 'mode'],
    [{}, ['--nope', '1'], 'nope'],
    [{}, ['--plannedSpikeCap', '3'], 'plannedSpikeCap'],
    [{ KAFKA_BROKERS: 'no-port' }, [], 'kafkaBrokers'],
  ])('rejects %j %j naming %s', (env, argv, field) => {
    expect(() => loadConfig(env, argv)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_CONFIG', field }));
  });
});
