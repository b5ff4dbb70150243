/**
 * Test and bench helper (not exported from the package): builds small, real ONNX models with
 * `onnx-proto` (MatMul / Add / Relu / Sigmoid graphs with several named outputs) and computes the
 * same forward pass independently in plain JavaScript (float64), so tests can compare
 * onnxruntime's answers with values the test computed itself.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Activation = 'sigmoid' | 'relu' | 'none';

export interface HeadDef {
  readonly name: string;
  readonly activation: Activation;
}

export interface MlpDef {
  readonly inputName?: string;
  readonly inputDim: number;
  /** Hidden layer widths (Relu after each). Empty = heads read the input directly. */
  readonly hidden: readonly number[];
  readonly heads: readonly HeadDef[];
  readonly seed?: number;
  /** 2 → outputs [batch, 1] (default); 1 → outputs [batch]. */
  readonly outputRank?: 1 | 2;
  /** Overwrite one head's bias (e.g. NaN to build a model that emits NaN). */
  readonly headBias?: Readonly<Record<string, number>>;
  /** Fixed batch size instead of a symbolic one (to build spec-mismatching models). */
  readonly fixedBatch?: number;
}

export interface Layer {
  readonly w: Float32Array; // [in, out] row-major
  readonly b: Float32Array; // [out]
  readonly inDim: number;
  readonly outDim: number;
}

export interface MlpModel {
  readonly bytes: Uint8Array;
  readonly hidden: readonly Layer[];
  readonly heads: readonly (Layer & HeadDef)[];
  readonly def: MlpDef;
}

function layer(rand: () => number, inDim: number, outDim: number): Layer {
  const w = new Float32Array(inDim * outDim);
  const scale = Math.sqrt(2 / inDim);
  for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * scale;
  const b = new Float32Array(outDim);
  for (let i = 0; i < outDim; i++) b[i] = (rand() * 2 - 1) * 0.1;
  return { w, b, inDim, outDim };
}

function initializer(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(data) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Builds an MLP with a shared trunk and one output per head. */
export function buildMlp(def: MlpDef): MlpModel {
  const rand = prng(def.seed ?? 1);
  const input = def.inputName ?? 'features';
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  const hidden: Layer[] = [];
  let cur = input;
  let dim = def.inputDim;
  def.hidden.forEach((width, k) => {
    const l = layer(rand, dim, width);
    hidden.push(l);
    inits.push(initializer(`W${k}`, [dim, width], l.w), initializer(`b${k}`, [width], l.b));
    nodes.push(
      { opType: 'MatMul', input: [cur, `W${k}`], output: [`mm${k}`] },
      { opType: 'Add', input: [`mm${k}`, `b${k}`], output: [`a${k}`] },
      { opType: 'Relu', input: [`a${k}`], output: [`h${k}`] },
    );
    cur = `h${k}`;
    dim = width;
  });
  const rank = def.outputRank ?? 2;
  const batch: number | string = def.fixedBatch ?? 'batch';
  if (rank === 1) inits.push({ name: 'axes1', dims: [1], dataType: INT64, int64Data: [1] });
  const heads: (Layer & HeadDef)[] = [];
  for (const h of def.heads) {
    const l = layer(rand, dim, 1);
    const bias = def.headBias?.[h.name];
    if (bias !== undefined) l.b[0] = bias;
    heads.push({ ...l, ...h });
    inits.push(initializer(`W_${h.name}`, [dim, 1], l.w), initializer(`b_${h.name}`, [1], l.b));
    nodes.push(
      { opType: 'MatMul', input: [cur, `W_${h.name}`], output: [`mm_${h.name}`] },
      { opType: 'Add', input: [`mm_${h.name}`, `b_${h.name}`], output: [`z_${h.name}`] },
    );
    let last = `z_${h.name}`;
    if (h.activation !== 'none') {
      nodes.push({ opType: h.activation === 'sigmoid' ? 'Sigmoid' : 'Relu', input: [last], output: [`act_${h.name}`] });
      last = `act_${h.name}`;
    }
    const out = h.name;
    if (rank === 1) nodes.push({ opType: 'Squeeze', input: [last, 'axes1'], output: [out] });
    else nodes.push({ opType: 'Identity', input: [last], output: [out] });
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'recspine-rank-tests',
    graph: {
      name: 'mlp',
      input: [valueInfo(input, [batch, def.inputDim])],
      output: def.heads.map((h) => valueInfo(h.name, rank === 1 ? [batch] : [batch, 1])),
      initializer: inits,
      node: nodes,
    },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), hidden, heads, def };
}

function act(a: Activation, v: number): number {
  if (a === 'sigmoid') return 1 / (1 + Math.exp(-v));
  if (a === 'relu') return v > 0 ? v : 0;
  return v;
}

/** The same forward pass in float64 JavaScript: head name → one value per row. */
export function referenceForward(m: MlpModel, x: ArrayLike<number>, rows: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const h of m.heads) out[h.name] = [];
  for (let r = 0; r < rows; r++) {
    let v: number[] = [];
    for (let j = 0; j < m.def.inputDim; j++) v.push(x[r * m.def.inputDim + j] as number);
    for (const l of m.hidden) {
      const next: number[] = [];
      for (let o = 0; o < l.outDim; o++) {
        let s = l.b[o] as number;
        for (let i = 0; i < l.inDim; i++) s += (v[i] as number) * (l.w[i * l.outDim + o] as number);
        next.push(s > 0 ? s : 0);
      }
      v = next;
    }
    for (const h of m.heads) {
      let s = h.b[0] as number;
      for (let i = 0; i < h.inDim; i++) s += (v[i] as number) * (h.w[i] as number);
      (out[h.name] as number[]).push(act(h.activation, s));
    }
  }
  return out;
}

/** Bytes that are not an ONNX model. */
export function corruptModelBytes(): Uint8Array {
  return new TextEncoder().encode('this is not an onnx model \u0000\u0001\u0002');
}
