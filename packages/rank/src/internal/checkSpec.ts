import type { DimSpec, OnnxModelSpec, OutputSpec } from '../OnnxModelSpec.js';
import { RankErrors } from '../errors.js';
import type { ValueInfo } from './backend.js';

const DTYPES = new Set(['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool']);

/** Validates a spec on its own (before any model is involved). Throws `RECSPINE_ERR_RANK_CONFIG`. */
export function validateSpec(spec: OnnxModelSpec): void {
  const bad = (msg: string, field: string): never => {
    throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `model spec: ${msg}`, { field });
  };
  if (!Number.isInteger(spec.maxBatch) || spec.maxBatch < 1) bad(`maxBatch must be a positive integer, got ${spec.maxBatch}`, 'maxBatch');
  if (spec.inputs.length === 0) bad('at least one input is required', 'inputs');
  if (spec.outputs.length === 0) bad('at least one output is required', 'outputs');
  const seen = new Set<string>();
  for (const t of spec.inputs) {
    if (seen.has(t.name)) bad(`duplicate input ${t.name}`, `inputs.${t.name}`);
    seen.add(t.name);
    if (!DTYPES.has(t.dtype)) bad(`input ${t.name} has unsupported dtype ${t.dtype}`, `inputs.${t.name}`);
    if (t.shape[0] !== 'batch') bad(`input ${t.name} must have 'batch' as its first dimension`, `inputs.${t.name}`);
    for (const d of t.shape.slice(1)) {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1)
        bad(`input ${t.name} has a non-fixed dimension ${String(d)}`, `inputs.${t.name}`);
    }
  }
  seen.clear();
  for (const o of spec.outputs) {
    if (seen.has(o.name)) bad(`duplicate output ${o.name}`, `outputs.${o.name}`);
    seen.add(o.name);
    if (!DTYPES.has(o.dtype)) bad(`output ${o.name} has unsupported dtype ${o.dtype}`, `outputs.${o.name}`);
    if (o.range !== undefined && !(o.range[0] <= o.range[1])) bad(`output ${o.name} has an empty range`, `outputs.${o.name}`);
  }
}

function dimOk(want: DimSpec, have: number | string): boolean {
  if (want === '*') return true;
  // A symbolic model dimension accepts any size; the run-time length checks catch the rest.
  if (typeof have === 'string') return true;
  if (want === 'batch') return false; // a fixed batch size in the model cannot take our batches
  return want === have;
}

function shapeProblem(want: readonly DimSpec[] | 'perRow', have: readonly (number | string)[] | undefined): string | undefined {
  if (have === undefined || have.length === 0) return 'the model declares no shape';
  if (want === 'perRow') {
    if (have.length === 1 && dimOk('batch', have[0] as number | string)) return undefined;
    if (have.length === 2 && dimOk('batch', have[0] as number | string) && dimOk(1, have[1] as number | string)) return undefined;
    return `expected [batch] or [batch, 1], model has [${have.join(', ')}]`;
  }
  if (want.length !== have.length) return `expected rank ${want.length} [${want.join(', ')}], model has [${have.join(', ')}]`;
  for (let i = 0; i < want.length; i++) {
    if (!dimOk(want[i] as DimSpec, have[i] as number | string))
      return `dimension ${i}: expected ${String(want[i])}, model has ${String(have[i])}`;
  }
  return undefined;
}

/** Lists every way the model's declared inputs/outputs differ from the spec (empty when they match). */
export function specProblems(spec: OnnxModelSpec, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): string[] {
  const problems: string[] = [];
  const modelIn = new Map(inputs.map((v) => [v.name, v]));
  const modelOut = new Map(outputs.map((v) => [v.name, v]));
  for (const t of spec.inputs) {
    const m = modelIn.get(t.name);
    if (m === undefined) {
      problems.push(`input ${t.name}: not in the model (model inputs: ${[...modelIn.keys()].join(', ')})`);
      continue;
    }
    if (!m.isTensor || m.type !== t.dtype) problems.push(`input ${t.name}: expected ${t.dtype}, model has ${m.type ?? 'non-tensor'}`);
    const sp = shapeProblem(t.shape, m.shape);
    if (sp !== undefined) problems.push(`input ${t.name}: ${sp}`);
  }
  const declared = new Set(spec.inputs.map((t) => t.name));
  for (const name of modelIn.keys())
    if (!declared.has(name)) problems.push(`input ${name}: the model requires it but the spec does not declare it`);
  for (const o of spec.outputs as readonly OutputSpec[]) {
    const m = modelOut.get(o.name);
    if (m === undefined) {
      problems.push(`output ${o.name}: not in the model (model outputs: ${[...modelOut.keys()].join(', ')})`);
      continue;
    }
    if (!m.isTensor || m.type !== o.dtype) problems.push(`output ${o.name}: expected ${o.dtype}, model has ${m.type ?? 'non-tensor'}`);
    const sp = shapeProblem(o.shape, m.shape);
    if (sp !== undefined) problems.push(`output ${o.name}: ${sp}`);
  }
  return problems;
}
