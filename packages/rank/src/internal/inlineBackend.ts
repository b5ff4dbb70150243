import * as ort from 'onnxruntime-node';
import type { ModelBackend, RawTensor, SessionSettings, ValueInfo, NumericArray } from './backend.js';
import { sessionOptions } from './backend.js';

/** A session on the calling thread. `session.run` computes synchronously inside a `setImmediate`. */
export async function createInlineBackend(bytes: Uint8Array, settings: SessionSettings): Promise<ModelBackend> {
  const session = await ort.InferenceSession.create(bytes, sessionOptions(settings) as ort.InferenceSession.SessionOptions);
  const info = (m: ort.InferenceSession.ValueMetadata): ValueInfo =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: m.shape } : { name: m.name, isTensor: false };
  return {
    inputs: session.inputMetadata.map(info),
    outputs: session.outputMetadata.map(info),
    async run(feeds, fetch) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
      const out = await session.run(ortFeeds, fetch as string[]);
      const res: Record<string, RawTensor> = {};
      for (const name of fetch) {
        const v = out[name] as ort.Tensor | undefined;
        if (v === undefined) continue;
        res[name] = { type: v.type as RawTensor['type'], data: v.data as NumericArray, dims: v.dims };
      }
      return res;
    },
    release: () => session.release(),
  };
}
