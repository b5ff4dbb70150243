import { readFileSync } from 'node:fs';
import { VideoPlatformErrors } from '../errors.js';
import type { FeatureColumnsLine, ImpressionRecord, LoggedFeatures } from '../server/ImpressionLogger.js';

/** One served impression with the model input row it was ranked on. */
export interface ServedRow {
  readonly requestId: string;
  readonly ts: number;
  readonly userId: string | undefined;
  readonly itemId: string;
  readonly slot: string;
  readonly arm: string | undefined;
  readonly position: number;
  readonly propensity: number;
  readonly explored: boolean;
  /** Row of {@link ServedLog.X} for the model version `model@version`. */
  readonly row: number;
}

/** The served impressions of one model version, as a training matrix. */
export interface ServedMatrix {
  readonly model: string;
  readonly version: string;
  readonly columns: readonly string[];
  readonly width: number;
  /** `[rows.length × width]`: exactly the inputs the model read when it ranked each served item. */
  readonly X: Float32Array;
  readonly rows: readonly ServedRow[];
}

/** What {@link readServedLog} returns: one matrix per `model@version`, and the count of impressions without features. */
export interface ServedLog {
  readonly byModel: ReadonlyMap<string, ServedMatrix>;
  /** Served items logged without features (slates ordered by coarse or retrieval scores). */
  readonly withoutFeatures: number;
}

/**
 * Reads a server impression log (`RECSPINE_IMPRESSION_LOG`, written by the server's
 * `ImpressionLogger`) into training matrices: per `model@version`, the exact feature rows the
 * model read for every served item, with the join keys a label job needs (request id, time, user,
 * item, slot, arm) and the logging policy's position and propensity (for inverse-propensity
 * weighting of explored positions). Items the model did not score (NaN rows) are skipped.
 *
 * @throws RECSPINE_ERR_VP_ARTIFACT when a line is not JSON, a record's features lack their
 * `feature-columns` line, or a feature block's size disagrees with its width.
 */
export function readServedLog(path: string): ServedLog {
  const columns = new Map<string, readonly string[]>();
  const parts = new Map<string, { model: string; version: string; width: number; chunks: Float32Array[]; rows: ServedRow[] }>();
  let withoutFeatures = 0;
  const bad = (line: number, why: string): never => {
    throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `${path}:${line}: ${why}`, { stage: 'impression-log' });
  };
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const text = lines[ln] as string;
    if (text.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch {
      bad(ln + 1, 'not JSON');
    }
    if ((rec as { kind?: string }).kind === 'feature-columns') {
      const c = rec as FeatureColumnsLine;
      columns.set(`${c.model}@${c.version}`, c.columns);
      continue;
    }
    const r = rec as Omit<ImpressionRecord, 'features'> & { features?: LoggedFeatures };
    const f = r.features;
    if (f === undefined) {
      withoutFeatures += r.items.length;
      continue;
    }
    const key = `${f.model}@${f.version}`;
    const cols = columns.get(key);
    if (cols === undefined) bad(ln + 1, `features of ${key} before its feature-columns line`);
    if (cols?.length !== f.width) bad(ln + 1, `${key}: width ${f.width} but ${cols?.length} columns`);
    const buf = Buffer.from(f.f32, 'base64');
    if (buf.byteLength !== r.items.length * f.width * 4) bad(ln + 1, `${key}: ${buf.byteLength} feature bytes for ${r.items.length} items`);
    const m = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    let p = parts.get(key);
    if (p === undefined) {
      p = { model: f.model, version: f.version, width: f.width, chunks: [], rows: [] };
      parts.set(key, p);
    }
    for (let i = 0; i < r.items.length; i++) {
      const row = m.subarray(i * f.width, (i + 1) * f.width);
      if (Number.isNaN(row[0])) continue;
      const it = r.items[i] as ImpressionRecord['items'][number];
      p.rows.push({
        requestId: r.requestId,
        ts: r.ts,
        userId: r.userId ?? undefined,
        itemId: it.itemId,
        slot: r.slot,
        arm: r.arm ?? undefined,
        position: it.position,
        propensity: it.propensity,
        explored: it.explored,
        row: p.rows.length,
      });
      p.chunks.push(row);
    }
  }
  const byModel = new Map<string, ServedMatrix>();
  for (const [key, p] of parts) {
    const X = new Float32Array(p.rows.length * p.width);
    p.chunks.forEach((c, i) => X.set(c, i * p.width));
    byModel.set(key, { model: p.model, version: p.version, columns: columns.get(key) ?? [], width: p.width, X, rows: p.rows });
  }
  return { byModel, withoutFeatures };
}
