import type { Quantization, SizingInputs } from './SizingInputs.js';

/** Thrown for a flag the calculator cannot use (unknown, not a number, out of range). */
export class SizingFlagError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`sizing: --${flag}: ${message}`);
    this.name = 'SizingFlagError';
  }
}

const NUMERIC: Readonly<Record<string, keyof SizingInputs>> = {
  spike: 'spikeFactor',
  'features-per-candidate': 'featuresPerCandidate',
  'user-features': 'userFeatures',
  'bytes-per-feature': 'bytesPerFeature',
  'feature-cache-hit': 'featureCacheHitRate',
  catalog: 'catalogItems',
  dims: 'embeddingDims',
  'cold-share': 'coldUserShare',
  'events-per-request': 'eventsPerRequest',
  headroom: 'headroom',
  'cores-per-node': 'coresPerNode',
  'ann-node-memory-gib': 'annNodeMemoryGiB',
  'nic-gbps': 'nicGbps',
  'partitions-per-consumer': 'partitionsPerConsumer',
};
const SHARE = new Set(['feature-cache-hit', 'cold-share']);
const SLOT_FLAGS = ['qps-', 'retrieved', 'coarse-keep'];
const OTHER = new Set(['preset', 'bench-dir', 'quantization', 'json']);

/** Flags the calculator understands, for `--help`. */
export const SIZING_FLAGS: readonly string[] = [
  '--preset steady|spike-4x|new-market (default: all three)',
  '--qps-homepage N --qps-end-of-video N --qps-search N (peak QPS per slot, before --spike)',
  '--retrieved N --coarse-keep N (every slot)',
  '--quantization f32|f16|i8',
  ...Object.keys(NUMERIC).map((k) => `--${k} N`),
  '--bench-dir DIR (default <repo>/bench-results)',
];

function parseNum(flag: string, raw: string): number {
  const v = Number(raw.replace(/_/g, ''));
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0) throw new SizingFlagError(flag, `expected a non-negative number, got "${raw}"`);
  if (SHARE.has(flag) && v >= 1) throw new SizingFlagError(flag, `expected a share in [0, 1), got ${v}`);
  return v;
}

/** Applies `--flag value` overrides to a preset; throws {@link SizingFlagError} naming a bad flag. */
export function applySizingFlags(base: SizingInputs, flags: Readonly<Record<string, string>>): SizingInputs {
  const out: Record<string, unknown> = { ...base };
  const slots: Record<string, { qps: number; retrieved: number; coarseKeep: number }> = Object.fromEntries(
    Object.entries(base.slots).map(([k, v]) => [k, { ...v }]),
  );
  for (const [flag, raw] of Object.entries(flags)) {
    const key = NUMERIC[flag];
    if (key) {
      out[key] = parseNum(flag, raw);
    } else if (flag.startsWith('qps-')) {
      const slot = slots[flag.slice(4)];
      if (!slot) throw new SizingFlagError(flag, `no slot "${flag.slice(4)}" (slots: ${Object.keys(slots).join(', ')})`);
      slot.qps = parseNum(flag, raw);
    } else if (flag === 'retrieved' || flag === 'coarse-keep') {
      const v = parseNum(flag, raw);
      for (const s of Object.values(slots)) {
        if (flag === 'retrieved') s.retrieved = v;
        else s.coarseKeep = v;
      }
    } else if (flag === 'quantization') {
      if (raw !== 'f32' && raw !== 'f16' && raw !== 'i8') throw new SizingFlagError(flag, `expected f32, f16 or i8, got "${raw}"`);
      out['quantization'] = raw satisfies Quantization;
    } else if (!OTHER.has(flag) && !SLOT_FLAGS.includes(flag)) {
      throw new SizingFlagError(flag, 'unknown flag (see --help)');
    }
  }
  for (const [name, s] of Object.entries(slots)) {
    if (s.coarseKeep > s.retrieved)
      throw new SizingFlagError('coarse-keep', `slot ${name}: keep ${s.coarseKeep} exceeds retrieved ${s.retrieved}`);
  }
  if ((out['headroom'] as number) < 1) throw new SizingFlagError('headroom', 'must be ≥ 1');
  if ((out['coresPerNode'] as number) < 1) throw new SizingFlagError('cores-per-node', 'must be ≥ 1');
  return { ...(out as unknown as SizingInputs), slots };
}
