/**
 * Merges partial ANN runs (e.g. `--backends hnswlib --name retrieval-ann-hnswlib`, run beside the
 * usearch run to share a long 1M session) into bench-results/retrieval-ann.json:
 *
 *   npx tsx bench/mergeAnn.ts retrieval-ann-hnswlib [retrieval-ann-hnswlib-m32 …]
 *
 * Each part's backends[] rows go into backends[] (unless an entry for the same backend,
 * quantisation and build order is already there: then into `alternatives[]`), its sweep[] rows into sweep[]; every
 * row is tagged with the part's connectivity, its builds{} join builds{}, and the parts' params
 * are kept under params.parts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../bench/kit.js';

interface Result {
  params: Record<string, unknown>;
  metrics: { backends: Record<string, unknown>[]; sweep?: Record<string, unknown>[]; alternatives?: Record<string, unknown>[] } & Record<
    string,
    unknown
  >;
}
const file = (name: string): string => join(REPO_ROOT, 'bench-results', `${name}.json`);
const main = JSON.parse(readFileSync(file('retrieval-ann'), 'utf8')) as Result;
const tag = (r: Record<string, unknown>, p: Record<string, unknown>): Record<string, unknown> => ({
  ...r,
  connectivity: r.connectivity ?? p.connectivity,
});
main.metrics.backends = main.metrics.backends.map((r) => tag(r, main.params));
main.metrics.sweep = (main.metrics.sweep ?? []).map((r) => tag(r, main.params));
const parts: Record<string, unknown>[] = [];
for (const name of process.argv.slice(2)) {
  const part = JSON.parse(readFileSync(file(name), 'utf8')) as Result;
  parts.push({ name, ...part.params });
  for (const r of part.metrics.backends) {
    const row = tag(r, part.params);
    // One entry per backend, quantisation and build order (rows from before `buildOrder` existed: input).
    const order = (x: Record<string, unknown>): unknown => x.buildOrder ?? 'input';
    const dup = main.metrics.backends.some(
      (b) => b.backend === row.backend && b.quantization === row.quantization && order(b) === order(row),
    );
    if (dup) (main.metrics.alternatives ??= []).push(row);
    else main.metrics.backends.push(row);
  }
  for (const r of part.metrics.sweep ?? []) main.metrics.sweep.push(tag(r, part.params));
  main.metrics.builds = {
    ...(main.metrics.builds as Record<string, unknown> | undefined),
    ...(part.metrics.builds as Record<string, unknown> | undefined),
  };
}
main.params = { ...main.params, parts };
writeFileSync(file('retrieval-ann'), JSON.stringify(main, null, 2) + '\n');
console.log(`merged ${process.argv.slice(2).join(', ')} into ${file('retrieval-ann')}`);
