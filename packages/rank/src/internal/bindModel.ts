import type { FeatureAssembler } from '../FeatureAssembler.js';
import type { ModelProvider } from '../ModelProvider.js';
import { RankErrors } from '../errors.js';

/**
 * Checks at build time that the assembler's layout fits the model's float input and that every
 * named output is one value per row. Returns the input name.
 */
export function bindModel(
  owner: string,
  provider: ModelProvider,
  assembler: FeatureAssembler,
  input: string | undefined,
  outputs: readonly string[],
): string {
  const spec = provider.spec;
  const inp = input === undefined ? (spec.inputs.length === 1 ? spec.inputs[0] : undefined) : spec.inputs.find((t) => t.name === input);
  if (inp === undefined) {
    throw RankErrors.create(
      'RECSPINE_ERR_RANK_CONFIG',
      `${owner}: ${input === undefined ? 'the model has several inputs; name one with `input`' : `the model has no input ${input}`}`,
      {
        field: 'input',
      },
    );
  }
  if (spec.inputs.length !== 1) {
    throw RankErrors.create(
      'RECSPINE_ERR_RANK_CONFIG',
      `${owner}: rankers feed one float32 [batch, F] input; the model spec has ${spec.inputs.length}`,
      {
        field: 'input',
      },
    );
  }
  if (inp.dtype !== 'float32' || inp.shape.length !== 2 || inp.shape[1] !== assembler.width) {
    throw RankErrors.create(
      'RECSPINE_ERR_RANK_SPEC_MISMATCH',
      `${owner}: the model input ${inp.name} is ${inp.dtype} [${inp.shape.join(', ')}] but the feature spec has ${assembler.width} columns`,
      { field: 'assembler' },
    );
  }
  for (const name of outputs) {
    const o = spec.outputs.find((x) => x.name === name);
    const perRow =
      o !== undefined &&
      (o.shape === 'perRow' ||
        (o.shape.length === 1 && o.shape[0] === 'batch') ||
        (o.shape.length === 2 && o.shape[0] === 'batch' && o.shape[1] === 1));
    if (!perRow) {
      throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `${owner}: output ${name} is not a per-row output of the model spec`, {
        field: `heads.${name}`,
      });
    }
  }
  return inp.name;
}
