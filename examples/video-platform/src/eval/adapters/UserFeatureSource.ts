import type { FeatureRow } from '@recspine/core';
import type { WorldData } from '../../world/WorldData.js';

/**
 * The user rows the evaluation serves: the feature-store snapshot at the split, plus any fresh
 * watches appended since (`watch`), so a new watch changes the pooled history and thus the
 * user embedding.
 */
export class UserFeatureSource {
  private readonly fresh = new Map<number, number[]>();
  constructor(private readonly data: WorldData) {}

  /** Records a fresh watch of item `item` by user `u<index>`. */
  watch(userId: string, item: number): void {
    const u = userIndex(userId);
    if (u < 0) return;
    const h = this.fresh.get(u) ?? [];
    h.unshift(item);
    this.fresh.set(u, h);
  }

  /** The user's current row, or `{}` for an unknown user. */
  userRow(userId: string): FeatureRow {
    const u = userIndex(userId);
    if (u < 0 || u >= this.data.nUsers) return {};
    const hist = [...(this.fresh.get(u) ?? []), ...this.data.historyAtSplit(u)].slice(0, this.data.manifest.config.historyLength);
    return this.data.userRow(u, hist);
  }
}

/** `u<index>` → index, or -1. */
export function userIndex(userId: string): number {
  const m = /^u(\d+)$/.exec(userId);
  return m ? Number(m[1]) : -1;
}
