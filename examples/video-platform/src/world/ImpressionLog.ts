/**
 * The logged-traffic format: two fixed-width little-endian record files.
 *
 * `sessions.bin`, one record per session (a request served by the logging policy), **with the
 * user features that were served** (point-in-time, never recomputed later):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | u32 | user index |
 * | 4 | u32 | time, world seconds |
 * | 8 | u16 | history length served |
 * | 10 | u8 | device served (request context) |
 * | 11 | u8 | region served |
 * | 12 | f32 × dim | pooled recent-history content embedding served (zeros when empty) |
 * | 12 + 4·dim | f32 × categories | share of the served recent history in each category (zeros when empty) |
 *
 * `impressions.bin`, one record per impression, **with the item features that were served**:
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | u32 | session index |
 * | 4 | u32 | item index |
 * | 8 | u8 | 0-based position |
 * | 9 | u8 | clicked |
 * | 10 | u8 | reported |
 * | 11 | u8 | satisfied |
 * | 12 | f32 | watched fraction (0 without a click) |
 * | 16 | f32 | logging propensity of the draw |
 * | 20 | f32 | item impressions before this session (served counter) |
 * | 24 | f32 | item clicks before this session |
 * | 28 | f32 | item watched-fraction sum before this session |
 */
export const IMPRESSION_BYTES = 32;

/** Bytes of one session record for a world of latent dimension `dim` and `categories` categories. */
export function sessionBytes(dim: number, categories: number): number {
  return 12 + 4 * dim + 4 * categories;
}

/** Sessions decoded into columns. */
export interface SessionColumns {
  readonly n: number;
  readonly user: Uint32Array;
  readonly timeS: Uint32Array;
  readonly historyLen: Uint16Array;
  readonly device: Uint8Array;
  readonly region: Uint8Array;
  /** [n × dim] */
  readonly pool: Float32Array;
  /** [n × categories] */
  readonly categoryShare: Float32Array;
}

/** Impressions decoded into columns. */
export interface ImpressionColumns {
  readonly n: number;
  readonly session: Uint32Array;
  readonly item: Uint32Array;
  readonly position: Uint8Array;
  readonly click: Uint8Array;
  readonly report: Uint8Array;
  readonly sat: Uint8Array;
  readonly watch: Float32Array;
  readonly propensity: Float32Array;
  readonly itemImps: Float32Array;
  readonly itemClicks: Float32Array;
  readonly itemWatch: Float32Array;
}

/** Decodes a sessions buffer into columns. */
export function decodeSessions(buf: Uint8Array, dim: number, categories: number): SessionColumns {
  const rb = sessionBytes(dim, categories);
  const n = Math.floor(buf.byteLength / rb);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: SessionColumns = {
    n,
    user: new Uint32Array(n),
    timeS: new Uint32Array(n),
    historyLen: new Uint16Array(n),
    device: new Uint8Array(n),
    region: new Uint8Array(n),
    pool: new Float32Array(n * dim),
    categoryShare: new Float32Array(n * categories),
  };
  for (let s = 0; s < n; s++) {
    const o = s * rb;
    out.user[s] = dv.getUint32(o, true);
    out.timeS[s] = dv.getUint32(o + 4, true);
    out.historyLen[s] = dv.getUint16(o + 8, true);
    out.device[s] = dv.getUint8(o + 10);
    out.region[s] = dv.getUint8(o + 11);
    for (let d = 0; d < dim; d++) out.pool[s * dim + d] = dv.getFloat32(o + 12 + 4 * d, true);
    for (let k = 0; k < categories; k++) out.categoryShare[s * categories + k] = dv.getFloat32(o + 12 + 4 * dim + 4 * k, true);
  }
  return out;
}

/** Decodes an impressions buffer into columns. */
export function decodeImpressions(buf: Uint8Array): ImpressionColumns {
  const n = Math.floor(buf.byteLength / IMPRESSION_BYTES);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: ImpressionColumns = {
    n,
    session: new Uint32Array(n),
    item: new Uint32Array(n),
    position: new Uint8Array(n),
    click: new Uint8Array(n),
    report: new Uint8Array(n),
    sat: new Uint8Array(n),
    watch: new Float32Array(n),
    propensity: new Float32Array(n),
    itemImps: new Float32Array(n),
    itemClicks: new Float32Array(n),
    itemWatch: new Float32Array(n),
  };
  for (let r = 0; r < n; r++) {
    const o = r * IMPRESSION_BYTES;
    out.session[r] = dv.getUint32(o, true);
    out.item[r] = dv.getUint32(o + 4, true);
    out.position[r] = dv.getUint8(o + 8);
    out.click[r] = dv.getUint8(o + 9);
    out.report[r] = dv.getUint8(o + 10);
    out.sat[r] = dv.getUint8(o + 11);
    out.watch[r] = dv.getFloat32(o + 12, true);
    out.propensity[r] = dv.getFloat32(o + 16, true);
    out.itemImps[r] = dv.getFloat32(o + 20, true);
    out.itemClicks[r] = dv.getFloat32(o + 24, true);
    out.itemWatch[r] = dv.getFloat32(o + 28, true);
  }
  return out;
}
