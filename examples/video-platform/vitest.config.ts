import { defineConfig } from 'vitest/config';

// Training tests run TensorFlow.js (WASM) and onnxruntime: generous timeouts on a shared 2-core box.
export default defineConfig({
  resolve: {
    // @recspine/retrieval's build imports the bare 'timers/promises', which vitest's module runner
    // does not map to the Node builtin; point it at 'node:timers/promises'.
    alias: { 'timers/promises': 'node:timers/promises' },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'gameday/**/*.test.ts'],
    // trains the tiny world once (cached in .data/) for the server and dashboard tests
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
