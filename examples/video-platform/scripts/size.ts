/**
 * The sizing calculator: `npm run size -w examples/video-platform [-- --preset spike-4x --qps-homepage 30000 …]`.
 * Prints rec-service, feature-store, Kafka and ANN fleet sizes for the three presets (steady state,
 * a 4× event spike with coarse keep trimmed 200 → 150, a cold-start-heavy new market), each figure
 * with its chain of derivation, from the measured figures in bench-results/*.json; writes
 * bench-results/sizing.json.
 */
import { join } from 'node:path';
import { REPO_ROOT, parseFlags, writeResult } from '../../../bench/kit.js';
import { loadBenchFigures, MissingBenchFigureError } from '../src/sizing/BenchFigures.js';
import { computeSizing } from '../src/sizing/computeSizing.js';
import { formatSizing } from '../src/sizing/formatSizing.js';
import { PRESETS } from '../src/sizing/SizingInputs.js';
import { SIZING_FLAGS, SizingFlagError, applySizingFlags } from '../src/sizing/applySizingFlags.js';

function main(): number {
  if (process.argv.includes('--help')) {
    console.log(`usage: npm run size -w examples/video-platform -- [flags]\n  ${SIZING_FLAGS.join('\n  ')}`);
    return 0;
  }
  const flags = parseFlags();
  try {
    const dir = flags['bench-dir'] ?? join(REPO_ROOT, 'bench-results');
    const bench = loadBenchFigures(dir);
    const chosen = flags['preset'] ? PRESETS.filter((p) => p.name === flags['preset']) : PRESETS;
    if (chosen.length === 0)
      throw new SizingFlagError('preset', `unknown preset "${flags['preset']}" (${PRESETS.map((p) => p.name).join(', ')})`);
    const results = chosen.map((p) => computeSizing(applySizingFlags(p, flags), bench));
    if (!bench.load) {
      console.log(
        'note: bench-results/load.json not found — rec-service cost is derived from the per-op benchmarks (rank, rerank, features-fetch, core-overhead).\n',
      );
    }
    for (const r of results) console.log(formatSizing(r) + '\n');
    const file = writeResult('sizing', { presets: chosen.map((p) => applySizingFlags(p, flags)), benchDir: dir }, { results });
    console.log(`wrote ${file}`);
    return 0;
  } catch (e) {
    if (e instanceof MissingBenchFigureError || e instanceof SizingFlagError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main();
