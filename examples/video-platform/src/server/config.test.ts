import { describe, expect, it } from 'vitest';
import { loadConfig, workerExecArgv } from './config.js';

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

  it('reads the ANN backend (auto by default) and the young-generation size (V8 default by default)', () => {
    expect(loadConfig({}, []).ann).toBe('auto');
    expect(loadConfig({ RECSPINE_ANN: 'hnswlib' }, []).ann).toBe('hnswlib');
    expect(loadConfig({}, ['--ann', 'usearch']).ann).toBe('usearch');
    expect(loadConfig({}, []).semiSpaceMb).toBe('auto');
    expect(loadConfig({ RECSPINE_SEMI_SPACE_MB: '64' }, []).semiSpaceMb).toBe(64);
    expect(loadConfig({}, ['--semiSpaceMb=0']).semiSpaceMb).toBe(0);
    expect(loadConfig({ KAFKA_MAX_WAIT_MS: '500' }, []).kafkaMaxWaitMs).toBe(500);
    expect(loadConfig({}, []).relatedCacheMs).toBe(30_000);
    expect(loadConfig({}, []).kafkaIdlePatch).toBe(true);
    expect(loadConfig({ RECSPINE_KAFKA_IDLE_PATCH: 'false' }, []).kafkaIdlePatch).toBe(false);
    expect(loadConfig({ RECSPINE_RELATED_CACHE_MS: '0' }, []).relatedCacheMs).toBe(0);
    expect(loadConfig({}, ['--relatedCacheMs', '5000']).relatedCacheMs).toBe(5000);
    // 0 = the serving module's homepage quotas; otherwise a two-tower/popularity K of at least 10
    expect(loadConfig({}, []).retrieveK).toBe(0);
    expect(loadConfig({ RECSPINE_RETRIEVE_K: '0' }, []).retrieveK).toBe(0);
    expect(loadConfig({}, ['--retrieveK', '800']).retrieveK).toBe(800);
    expect(() => loadConfig({ RECSPINE_RETRIEVE_K: '5' }, [])).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_CONFIG' }));
  });

  it('passes the semi-space flag to the workers unless node already has one', () => {
    const own = ['--import', 'tsx'];
    expect(workerExecArgv({ semiSpaceMb: 32, workers: 1 }, own)).toEqual([
      '--import',
      'tsx',
      '--max-semi-space-size=32',
      '--no-memory-reducer',
      '--no-allocation-site-pretenuring',
      '--heap-growing-percent=100',
    ]);
    expect(workerExecArgv({ semiSpaceMb: 0, workers: 2 }, own)).toBeUndefined();
    // auto: the clustered workers get 64 MiB; a single process keeps V8's default (no fork)
    expect(workerExecArgv({ semiSpaceMb: 'auto', workers: 2 }, own)).toEqual([
      '--import',
      'tsx',
      '--max-semi-space-size=64',
      '--no-memory-reducer',
      '--no-allocation-site-pretenuring',
      '--heap-growing-percent=100',
    ]);
    // a memory-reducer flag given to node is kept as it is
    expect(workerExecArgv({ semiSpaceMb: 'auto', workers: 2 }, [...own, '--memory-reducer'])).toEqual([
      '--import',
      'tsx',
      '--memory-reducer',
      '--max-semi-space-size=64',
      '--no-allocation-site-pretenuring',
      '--heap-growing-percent=100',
    ]);
    // so is a pretenuring flag given to node
    expect(workerExecArgv({ semiSpaceMb: 'auto', workers: 2 }, [...own, '--allocation-site-pretenuring'])).toEqual([
      '--import',
      'tsx',
      '--allocation-site-pretenuring',
      '--max-semi-space-size=64',
      '--no-memory-reducer',
      '--heap-growing-percent=100',
    ]);
    // and a heap growing factor given to node
    expect(workerExecArgv({ semiSpaceMb: 'auto', workers: 2 }, [...own, '--heap-growing-percent=50'])).toEqual([
      '--import',
      'tsx',
      '--heap-growing-percent=50',
      '--max-semi-space-size=64',
      '--no-memory-reducer',
      '--no-allocation-site-pretenuring',
    ]);
    expect(workerExecArgv({ semiSpaceMb: 'auto', workers: 1 }, own)).toBeUndefined();
    // an explicit node flag wins, and a worker started with the flag does not fork again
    expect(workerExecArgv({ semiSpaceMb: 64, workers: 1 }, ['--max-semi-space-size=32'])).toBeUndefined();
    expect(workerExecArgv({ semiSpaceMb: 64, workers: 2 }, ['--max_semi_space_size', '32'])).toBeUndefined();
  });

  it.each([
    [{}, ['--ann', 'faiss'], 'ann'],
    [{}, ['--kafkaMaxWaitMs', '0'], 'kafkaMaxWaitMs'],
    [{ RECSPINE_RELATED_CACHE_MS: '-5' }, [], 'relatedCacheMs'],
    [{}, ['--kafkaIdlePatch', 'no'], 'kafkaIdlePatch'],
    [{}, ['--relatedCacheMs', '1.5'], 'relatedCacheMs'],
    [{ RECSPINE_SEMI_SPACE_MB: '-1' }, [], 'semiSpaceMb'],
    [{}, ['--semiSpaceMb', '2.5'], 'semiSpaceMb'],
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
