/** Builds tiny ONNX models in memory for tests (onnx-proto, installed at the repo root). */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxNs } from 'onnx-proto';

const { onnx } = onnxProto as unknown as { onnx: typeof OnnxNs };

/** `y = x · W` with x: float[N, inDims], W: float[inDims, outDims] (row-major), y: float[N, outDims]. */
export function matMulModel(
  inDims: number,
  outDims: number,
  weights: Float32Array,
  names = { input: 'features', output: 'user_embedding' },
): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const vi = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: F,
          shape: onnx.TensorShapeProto.create({
            dim: dims.map((d) =>
              typeof d === 'number'
                ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
                : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
            ),
          }),
        }),
      }),
    });
  const graph = onnx.GraphProto.create({
    name: 'user_tower',
    node: [onnx.NodeProto.create({ opType: 'MatMul', input: [names.input, 'W'], output: [names.output] })],
    initializer: [onnx.TensorProto.create({ name: 'W', dataType: F, dims: [inDims, outDims], floatData: Array.from(weights) })],
    input: [vi(names.input, ['N', inDims])],
    output: [vi(names.output, ['N', outDims])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ version: 17 })],
    producerName: 'recspine-test',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
