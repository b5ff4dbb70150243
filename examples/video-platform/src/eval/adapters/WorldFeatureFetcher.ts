import type { FeatureBatch, FeatureFetcher, FeatureRow, StageContext } from '@recspine/core';
import type { EvalWorld } from './EvalWorld.js';
import type { UserFeatureSource } from './UserFeatureSource.js';

/**
 * The evaluation's online feature lookup: user rows from {@link UserFeatureSource}, item rows
 * from the split snapshot. With `down: true` it throws, like a feature store whose breaker is open,
 * which sends core's runner down the degraded-model path.
 */
export class WorldFeatureFetcher implements FeatureFetcher {
  readonly name = 'world-features';
  constructor(
    private readonly w: EvalWorld,
    private readonly users: UserFeatureSource,
    private readonly down = false,
  ) {}
  fetch(_ctx: StageContext, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> {
    if (this.down) return Promise.reject(new Error('feature store unavailable (simulated outage)'));
    const items: FeatureRow[] = itemIds.map((id) => {
      const i = this.w.indexOf(id);
      return i < 0 ? {} : (this.w.catalogRows[i] as FeatureRow);
    });
    return Promise.resolve({
      userId,
      itemIds,
      user: userId === undefined ? {} : this.users.userRow(userId),
      items,
      missingGroups: new Map(),
    });
  }
}
