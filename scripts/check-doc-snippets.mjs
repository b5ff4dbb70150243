#!/usr/bin/env node
// Type-checks every ```ts block of docs/*.md and packages/*/README.md against the BUILT packages
// (run `npm run build` first), with the repo's TypeScript and the repo's strict compiler options.
//
//   node scripts/check-doc-snippets.mjs          exits 1 and prints file:line for every type error
//
// Each block becomes its own ES module (so its declarations never clash with another block's),
// compiled in one TypeScript program for speed. Names a snippet uses but does not define (the
// `features`, `catalog`, `twoTower` of a quick start) come from the small ambient PREAMBLE below;
// anything a snippet defines or imports itself shadows the preamble. A block opts out only with
// `<!-- snippet: skip — <reason> -->` on the line directly above its fence; a skip without a
// reason is itself an error. Hand-written rather than a markdown library: fences are the only
// syntax needed and the line numbers must map back exactly.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside node_modules so that `@recspine/*` resolves to the workspace packages' built dist.
const OUT = join(ROOT, 'node_modules', '.cache', 'recspine-doc-snippets');

/**
 * The ambient preamble: what snippets may use without defining. Keep it small and explicit;
 * every name here is something a reader's service would already have.
 */
const PREAMBLE = `
type Core = typeof import('@recspine/core');
declare const features: import('@recspine/core').FeatureFetcher;
declare const fine: import('@recspine/core').Ranker;
declare const degraded: import('@recspine/core').Ranker;
declare const coarse: import('@recspine/core').Ranker;
declare const catalog: import('@recspine/core').ItemCatalog & { get(itemId: string): import('@recspine/core').ItemMeta | undefined };
declare const twoTower: import('@recspine/core').RetrievalSource;
declare const popular: import('@recspine/core').RetrievalSource;
declare const fresh: import('@recspine/core').RetrievalSource;
declare const coldStart: import('@recspine/core').RetrievalSource;
declare const alsoWatched: import('@recspine/core').RetrievalSource;
declare const query: import('@recspine/core').RetrievalSource;
declare const counters: { top(segment: string, k: number): Promise<import('@recspine/core').RetrievedItem[]> };
declare const redis: import('ioredis').Redis;
declare const itemIds: string[];
declare const itemMatrix: Float32Array;
declare const ids: string[];
declare const vec: Float32Array;
declare const tonightsMatrix: Float32Array;
declare const log: { warn(...args: unknown[]): void; info(...args: unknown[]): void };
declare const featureStore: { user(userId: string): Promise<import('@recspine/core').FeatureRow | undefined> };
declare const itemEmbeddingTable: { readonly ids: readonly string[]; readonly vectors: Float32Array; readonly dims: number };
declare function recentWatches(userId: string): Promise<readonly string[] | undefined>;
declare const publishBus: { on(event: 'publish', fn: (e: { id: string; at: number; contentEmbedding: Float32Array }) => void): void };
declare const retrievalPopularity: import('@recspine/features').PopularitySink;
declare const body: string;
declare const reply: { code(n: number): { send(body: unknown): void } };
declare const degradedModels: import('@recspine/rank').ModelRegistry;
declare const offlineAssembler: import('@recspine/rank').FeatureAssembler;
declare const itemCounters: import('@recspine/rerank').ItemStatsReader;
declare const slateSink: import('@recspine/rerank').SlateMetricsSink;
declare const rec: import('@recspine/core').Recommender;
declare const ctx: import('@recspine/core').StageContext;
declare const cands: import('@recspine/core').Candidate[];
`;

function collectFiles() {
  const files = [];
  for (const f of readdirSync(join(ROOT, 'docs')).sort()) if (f.endsWith('.md')) files.push(join(ROOT, 'docs', f));
  for (const p of readdirSync(join(ROOT, 'packages')).sort()) {
    const readme = join(ROOT, 'packages', p, 'README.md');
    if (existsSync(readme)) files.push(readme);
  }
  return files;
}

/** Returns the ts blocks of one markdown file: { code, startLine (1-based line of the first code line) }. */
function extract(file, problems) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) j++;
    const prev = i > 0 ? lines[i - 1].trim() : '';
    const skip = /^<!--\s*snippet:\s*skip\b(.*?)-->$/.exec(prev);
    if (skip) {
      if (skip[1].replace(/^[\s—–:-]+/, '').trim() === '') problems.push(`${relative(ROOT, file)}:${i}: snippet skip without a reason`);
    } else {
      const indent = open[1].length;
      blocks.push({
        code: lines
          .slice(i + 1, j)
          .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
          .join('\n'),
        startLine: i + 2,
      });
    }
    i = j;
  }
  return blocks;
}

function main() {
  const started = performance.now();
  for (const p of ['core', 'features', 'rank', 'rerank', 'retrieval']) {
    if (!existsSync(join(ROOT, 'packages', p, 'dist', 'index.d.ts'))) {
      console.error(`check-doc-snippets: packages/${p}/dist is missing — run \`npm run build\` first`);
      process.exit(2);
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'preamble.d.ts'), PREAMBLE);

  const problems = [];
  const map = new Map(); // generated file → { md, startLine }
  let n = 0;
  for (const md of collectFiles()) {
    for (const b of extract(md, problems)) {
      const f = join(OUT, `s${String(n++).padStart(3, '0')}.ts`);
      writeFileSync(f, `${b.code}\nexport {};\n`);
      map.set(f, { md: relative(ROOT, md), startLine: b.startLine });
    }
  }

  const base = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.base.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  const options = {
    ...base.options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    module: ts.ModuleKind.ESNext, // top-level await in snippets
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: false,
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  const program = ts.createProgram([join(OUT, 'preamble.d.ts'), ...map.keys()], options);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const where = d.file ? map.get(d.file.fileName) : undefined;
    if (d.file && where && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      problems.push(`${where.md}:${where.startLine + line}: TS${d.code}: ${msg}`);
    } else {
      problems.push(`${d.file ? relative(ROOT, d.file.fileName) : '(program)'}: TS${d.code}: ${msg}`);
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`check-doc-snippets: ${problems.length} problem(s) in ${map.size} snippets (${secs} s)`);
    process.exit(1);
  }
  console.log(`check-doc-snippets: ${map.size} snippets from docs/ and packages/*/README.md type-check (${secs} s)`);
}

main();
