import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // keep 'node:' specifiers as written (vitest's module runner and bundlers resolve them unambiguously)
  removeNodeProtocol: false,
});
