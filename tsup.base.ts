import { defineConfig, type Options } from 'tsup';

/**
 * The one build configuration every publishable package shares: ESM + CJS + `.d.ts`, Node 20,
 * tree-shaken, with `node:` specifiers kept as written (vitest's module runner and bundlers
 * resolve them unambiguously). A package passes only what differs (entries, externals, shims).
 */
export function packageBuild(overrides: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    treeshake: true,
    removeNodeProtocol: false,
    ...overrides,
  });
}
