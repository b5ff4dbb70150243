#!/usr/bin/env node
// Packs every publishable package with `npm pack`, installs the tarballs into a fresh project
// outside the workspace, type-checks the README's quick start there, and runs it as ESM and as CJS.
// Proves the packages work when installed from npm, not only inside the monorepo.
//
//   node scripts/pack-test.mjs            (after `npm run build`)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const packages = ['core', 'retrieval', 'features', 'rank', 'rerank'];
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_fund: 'false', npm_config_audit: 'false' };
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
let failures = 0;
const check = (name, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures++;
};

// 1. The README shows exactly the quick start that is tested here.
const qs = readFileSync(join(root, 'docs/quickstart/quickstart.ts'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const block = readme.match(/<!-- quickstart:start -->\s*```ts\n([\s\S]*?)```\s*<!-- quickstart:end -->/);
check('README quick start matches docs/quickstart/quickstart.ts', block !== null && block[1] === qs);

// 2. @recspine/core installs with no native build: its dependencies are pure JS.
const corePkg = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8'));
check(
  '@recspine/core has no native dependency',
  Object.keys(corePkg.dependencies ?? {}).every((d) => d === 'cockatiel'),
  JSON.stringify(corePkg.dependencies),
);

// 3. Pack.
const dir = mkdtempSync(join(tmpdir(), 'recspine-pack-'));
const tarballs = join(dir, 'tarballs');
mkdirSync(tarballs);
const deps = {};
for (const p of packages) {
  const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tarballs], join(root, 'packages', p)));
  const files = out[0].files.map((f) => f.path);
  check(
    `@recspine/${p} tarball holds only dist, README, LICENSE, package.json`,
    files.every((f) => /^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(f)),
    `${files.length} files`,
  );
  deps[`@recspine/${p}`] = `file:${join(tarballs, out[0].filename)}`;
}

// 4. A fresh project outside the workspace.
const app = join(dir, 'app');
mkdirSync(app);
writeFileSync(
  join(app, 'package.json'),
  JSON.stringify(
    {
      name: 'recspine-pack-test',
      private: true,
      dependencies: { ...deps, typescript: '5.9.3', '@types/node': '^20', 'prom-client': '^15' },
    },
    null,
    2,
  ),
);
writeFileSync(join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app);
copyFileSync(join(root, 'docs/quickstart/quickstart.ts'), join(app, 'quickstart.mts'));
copyFileSync(join(root, 'docs/quickstart/quickstart.ts'), join(app, 'quickstart.cts'));
writeFileSync(
  join(app, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      types: ['node'],
      outDir: 'out',
      skipLibCheck: false,
    },
    files: ['quickstart.mts', 'quickstart.cts'],
  }),
);
try {
  run(join(app, 'node_modules/.bin/tsc'), ['-p', '.'], app);
  check('type-check of the quick start against the installed packages (ESM and CJS resolution)', true);
} catch (e) {
  check('type-check of the quick start against the installed packages', false, String(e.stdout ?? e));
}
for (const [kind, file] of [
  ['ESM', 'out/quickstart.mjs'],
  ['CJS', 'out/quickstart.cjs'],
]) {
  try {
    const out = run(process.execPath, [file], app);
    const src = readFileSync(join(app, file), 'utf8');
    const isRightKind = kind === 'ESM' ? /^import /m.test(src) : /require\("@recspine\/core"\)/.test(src);
    check(`quick start runs as ${kind}`, isRightKind && /degraded: no/.test(out), out.split('\n')[0]);
  } catch (e) {
    check(`quick start runs as ${kind}`, false, String(e));
  }
}
// 5. Every subpath export resolves from both module systems (prom-client is the optional peer it needs).
for (const spec of ['@recspine/core/prometheus']) {
  try {
    run(process.execPath, ['-e', `require(${JSON.stringify(spec)})`], app);
    run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(spec)})`], app);
    check(`${spec} resolves as CJS and ESM`, true);
  } catch (e) {
    check(`${spec} resolves as CJS and ESM`, false, String(e));
  }
}
if (failures === 0) rmSync(dir, { recursive: true, force: true });
else console.log(`left ${dir} for inspection`);
console.log(`pack-test: ${failures === 0 ? 'passed' : `${failures} failed`}`);
process.exit(failures === 0 ? 0 : 1);
