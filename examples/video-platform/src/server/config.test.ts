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

  it('reads the game-day knobs: admin endpoints, event spill bound, breaker half-open delay', () => {
    const c = loadConfig({ RECSPINE_ADMIN: 'true', RECSPINE_SPILL_MAX_BYTES: '1048576' }, [
      '--breakerHalfOpenMs',
      '1500',
      '--spillDir=/tmp/x',
    ]);
    expect(c.admin).toBe(true);
    expect(c.spillMaxBytes).toBe(1_048_576);
    expect(c.breakerHalfOpenMs).toBe(1500);
    expect(c.spillDir).toBe('/tmp/x');
    expect(loadConfig({}, []).admin).toBe(false);
  });

  it('reads the admission loop-delay target (off by default) and rejects a negative one', () => {
    expect(loadConfig({}, []).admissionLoopDelayMs).toBe(0);
    expect(loadConfig({ RECSPINE_ADMISSION_LOOP_DELAY_MS: '30' }, []).admissionLoopDelayMs).toBe(30);
    expect(() => loadConfig({}, ['--admissionLoopDelayMs', '-1'])).toThrow(
      expect.objectContaining({ code: 'RECSPINE_ERR_CONFIG', field: 'admissionLoopDelayMs' }),
    );
  });

  it.each([
    [{}, ['--port', 'abc'], 'port'],
    [{ RECSPINE_ADMIN: 'yes' }, [], 'admin'],
    [{}, ['--spillMaxBytes', '10'], 'spillMaxBytes'],
    [{}, ['--breakerHalfOpenMs', '0'], 'breakerHalfOpenMs'],
    [{ RECSPINE_MODE: 'prod' }, [], 'mode'],
    [{}, ['--nope', '1'], 'nope'],
    [{}, ['--plannedSpikeCap', '3'], 'plannedSpikeCap'],
    [{ KAFKA_BROKERS: 'no-port' }, [], 'kafkaBrokers'],
  ])('rejects %j %j naming %s', (env, argv, field) => {
    expect(() => loadConfig(env, argv)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_CONFIG', field }));
  });
});
