import onnxProto from 'onnx-proto';
import type { MlpWeights } from './internal/Mlp.js';

const { onnx } = onnxProto;

/** ONNX opset the exporter targets (Gemm, Relu, Sigmoid, LpNormalization are all stable there). */
export const ONNX_OPSET = 13;

/**
 * Writes an MLP's trained weights as an ONNX model with the `onnx-proto` protobuf classes:
 * one float32 input `features` `[batch, F]`, a `Gemm`+`Relu` chain for the trunk, one `Gemm`
 * per head followed by `Sigmoid` (ranker heads, each output `[batch, 1]`) or
 * `LpNormalization(p=2)` (tower embedding `[batch, D]`). With `objective` set, an extra output
 * `value = ctr · (watch + a · satisfaction − b · report)` is computed in the graph (what the rank
 * package's `MultiTaskRanker` then uses as its single weighted head). The batch dimension is symbolic.
 *
 * @example
 * ```ts
 * const bytes = exportMlpToOnnx(model.weights(), { name: 'fine', docString: 'multi-task ranker' });
 * writeFileSync('fine.onnx', bytes);
 * ```
 */
export function exportMlpToOnnx(
  w: MlpWeights,
  opts: { readonly name: string; readonly docString?: string; readonly version?: string },
): Uint8Array {
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const tensor = (name: string, dims: number[], data: Float32Array) =>
    initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
      }),
    );
  const node = (opType: string, inputs: string[], output: string, attrs: InstanceType<typeof onnx.AttributeProto>[] = []) =>
    nodes.push(onnx.NodeProto.create({ opType, input: inputs, output: [output], name: `${opType}_${nodes.length}`, attribute: attrs }));
  const intAttr = (name: string, i: number) => onnx.AttributeProto.create({ name, i, type: onnx.AttributeProto.AttributeType.INT });

  const inputWidth = w.trunk[0]?.inputs ?? Object.values(w.heads)[0]?.inputs ?? 0;
  let h = 'features';
  w.trunk.forEach((d, k) => {
    tensor(`trunk${k}.W`, [d.inputs, d.outputs], d.W);
    tensor(`trunk${k}.b`, [d.outputs], d.b);
    node('Gemm', [h, `trunk${k}.W`, `trunk${k}.b`], `trunk${k}.z`);
    node('Relu', [`trunk${k}.z`], `trunk${k}.a`);
    h = `trunk${k}.a`;
  });
  const outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  for (const [name, d] of Object.entries(w.heads)) {
    tensor(`${name}.W`, [d.inputs, d.outputs], d.W);
    tensor(`${name}.b`, [d.outputs], d.b);
    node('Gemm', [h, `${name}.W`, `${name}.b`], `${name}.logit`);
    if (w.l2normalize) node('LpNormalization', [`${name}.logit`], name, [intAttr('axis', 1), intAttr('p', 2)]);
    else node('Sigmoid', [`${name}.logit`], name);
    outputs.push(valueInfo(name, d.outputs));
  }
  const obj = w.objective;
  if (obj !== undefined && ['ctr', 'watch', 'report', 'satisfaction'].every((h) => h in w.heads)) {
    // value = ctr · (watch + a · satisfaction − b · report), the ranking objective, as graph nodes.
    tensor('objective.sat_w', [], Float32Array.of(obj.satisfaction));
    tensor('objective.report_w', [], Float32Array.of(obj.report));
    node('Mul', ['satisfaction', 'objective.sat_w'], 'objective.sat');
    node('Mul', ['report', 'objective.report_w'], 'objective.rep');
    node('Add', ['watch', 'objective.sat'], 'objective.ws');
    node('Sub', ['objective.ws', 'objective.rep'], 'objective.inner');
    node('Mul', ['ctr', 'objective.inner'], 'value');
    outputs.push(valueInfo('value', 1));
  }
  const graph = onnx.GraphProto.create({
    name: opts.name,
    node: nodes,
    initializer: initializers,
    input: [valueInfo('features', inputWidth)],
    output: outputs,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: '@recspine/example-video-platform',
    producerVersion: opts.version ?? '1',
    docString: opts.docString ?? '',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: ONNX_OPSET })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(name: string, width: number): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: [onnx.TensorShapeProto.Dimension.create({ dimParam: 'batch' }), onnx.TensorShapeProto.Dimension.create({ dimValue: width })],
        }),
      }),
    }),
  });
}
