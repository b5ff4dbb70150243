import { defineConfig } from 'vitest/config';

// Training tests run TensorFlow.js (WASM) and onnxruntime: generous timeouts on a shared 2-core box.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
