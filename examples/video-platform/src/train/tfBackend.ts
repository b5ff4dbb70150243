import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

let ready: Promise<void> | undefined;

/**
 * Selects TensorFlow.js's WASM backend once per process (fast CPU kernels, no native build) and
 * waits for it. Every training entry point awaits this first.
 */
export function initTf(): Promise<void> {
  ready ??= (async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  })();
  return ready;
}
