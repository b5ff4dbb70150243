import type { WorldConfig } from '../world/WorldConfig.js';

/**
 * The model card written beside every exported model (`<model>.card.json`): what it was trained
 * on (data window, world settings), how it did (held-out metrics), its input contract (feature
 * spec file, schema versions) and the ONNX/trainer parity it passed.
 */
export interface ModelCard {
  readonly kind: 'recspine-model-card';
  readonly schemaVersion: number;
  readonly featureSchemaVersion: number;
  readonly model: string;
  readonly version: string;
  readonly onnx: string;
  readonly featureSpec: string;
  readonly input: { readonly name: 'features'; readonly width: number };
  readonly outputs: readonly string[];
  readonly trainWindow: { readonly fromIso: string; readonly toIso: string };
  readonly evalWindow: { readonly fromIso: string; readonly toIso: string };
  readonly world: { readonly key: string; readonly config: WorldConfig };
  readonly metrics: Readonly<Record<string, number>>;
  readonly parity: { readonly rows: number; readonly maxAbsDiff: number; readonly tolerance: number; readonly runtime: string };
  readonly notes: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}
