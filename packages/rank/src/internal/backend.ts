import type { TensorDType } from '../OnnxModelSpec.js';

/** Numeric typed arrays a model can take or return. */
export type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A model's declared input/output, as onnxruntime reports it. */
export interface ValueInfo {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  /** Numbers are fixed sizes; strings are symbolic dimensions. Empty when unknown. */
  readonly shape?: readonly (number | string)[];
}

/** One tensor crossing the backend boundary. */
export interface RawTensor {
  readonly type: TensorDType;
  readonly data: NumericArray;
  readonly dims: readonly number[];
}

/** Where a session lives: in this thread, or in a worker of a pool. */
export interface ModelBackend {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(feeds: Readonly<Record<string, RawTensor>>, fetch: readonly string[]): Promise<Record<string, RawTensor>>;
  release(): Promise<void>;
}

/** The session options every backend applies (see `OnnxModel` for why these defaults). */
export interface SessionSettings {
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly spinning: boolean;
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Builds onnxruntime session options from our settings (shared by the inline backend and the worker script). */
export function sessionOptions(s: SessionSettings): Record<string, unknown> {
  return {
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: s.interOpThreads,
    executionMode: 'sequential',
    graphOptimizationLevel: s.graphOptimizationLevel,
    enableCpuMemArena: true,
    enableMemPattern: true,
    extra: { session: { intra_op: { allow_spinning: s.spinning ? '1' : '0' }, inter_op: { allow_spinning: s.spinning ? '1' : '0' } } },
  };
}
