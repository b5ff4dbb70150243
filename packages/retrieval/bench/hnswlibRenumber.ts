/**
 * Bench tool, not a library feature: renumbers the nodes of a saved hnswlib index file. The graph
 * is unchanged (same nodes, same edges, same labels), only each node's storage position (hnswlib's
 * internal id) moves, so a search walks the same path and returns the same results while reading
 * other memory. `annRenumber.ts` uses it to measure the memory-layout effect of the locality order
 * alone, apart from the graph changes that inserting in that order brings (see the README).
 *
 * Hand-written against hnswlib's `saveIndex` format (hnswalg.h, hnswlib-node 3.x) because
 * neither binding can renumber a built graph:
 *   header: offsetLevel0 u64, maxElements u64, count u64, sizeDataPerElement u64, labelOffset u64,
 *           offsetData u64, maxLevel i32, enterpoint u32, maxM u64, maxM0 u64, M u64, mult f64,
 *           efConstruction u64                                                   (96 bytes)
 *   level 0: count × sizeDataPerElement bytes, per node: [u16 links, u8 deleted flag, u8][maxM0 × u32
 *           links][vector][u64 label]
 *   upper levels, per node: u32 byte size (level × (4 + 4 maxM)), then per level [u32 count][maxM × u32]
 *
 * `labelOrder[j]` = the label of the node to store at position j (a permutation of the labels
 * 0..count-1, as `HnswlibIndex` assigns them). Throws a plain Error when the bytes are not such a
 * file or the order is not such a permutation.
 */
export function renumberHnswlibFile(src: Uint8Array, labelOrder: Uint32Array): Uint8Array {
  const HEADER = 96;
  if (src.byteLength < HEADER) throw new Error('hnswlib file: shorter than its header');
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const u64 = (off: number): number => Number(dv.getBigUint64(off, true));
  const count = u64(16);
  const sizePer = u64(24);
  const labelOffset = u64(32);
  const offsetData = u64(40);
  const enterpoint = dv.getUint32(52, true);
  const maxM = u64(56);
  const maxM0 = u64(64);
  if (labelOrder.length !== count) throw new Error(`hnswlib file: ${count} nodes, order has ${labelOrder.length}`);
  if (offsetData !== 4 + 4 * maxM0 || labelOffset + 8 !== sizePer) throw new Error('hnswlib file: unexpected level-0 layout');
  const level0 = HEADER;
  const upper = level0 + count * sizePer;
  if (src.byteLength < upper) throw new Error('hnswlib file: truncated level 0');
  // label → internal id (the node's position in the file)
  const idOf = new Uint32Array(count).fill(0xffffffff);
  for (let i = 0; i < count; i++) {
    const label = u64(level0 + i * sizePer + labelOffset);
    if (label >= count || idOf[label] !== 0xffffffff) throw new Error('hnswlib file: labels are not 0..count-1');
    idOf[label] = i;
  }
  const order = new Uint32Array(count);
  for (let j = 0; j < count; j++) {
    const l = labelOrder[j] as number;
    if (!(l < count)) throw new Error('hnswlib renumber: order is not a permutation');
    order[j] = idOf[l] as number;
  }
  const newPos = new Uint32Array(count);
  const seen = new Uint8Array(count);
  for (let j = 0; j < count; j++) {
    const old = order[j] as number;
    if (old >= count || seen[old] === 1) throw new Error('hnswlib renumber: order is not a permutation');
    seen[old] = 1;
    newPos[old] = j;
  }
  // Offsets of every node's upper-level block (u32 size then data) in the source.
  const upperOff = new Float64Array(count);
  let p = upper;
  for (let i = 0; i < count; i++) {
    if (p + 4 > src.byteLength) throw new Error('hnswlib file: truncated upper levels');
    upperOff[i] = p;
    p += 4 + dv.getUint32(p, true);
  }
  if (p !== src.byteLength) throw new Error('hnswlib file: trailing bytes');
  const out = new Uint8Array(src.byteLength);
  const ov = new DataView(out.buffer);
  out.set(src.subarray(0, HEADER), 0);
  if (count > 0) ov.setUint32(52, newPos[enterpoint] as number, true);
  /** Remaps the links of one list: [u16 n][u16 flags][links…] at `at` in `out`. */
  const remap = (at: number): void => {
    const n = ov.getUint16(at, true);
    for (let l = 0; l < n; l++) {
      const q = at + 4 + 4 * l;
      ov.setUint32(q, newPos[ov.getUint32(q, true)] as number, true);
    }
  };
  for (let j = 0; j < count; j++) {
    const old = order[j] as number;
    const at = level0 + j * sizePer;
    out.set(src.subarray(level0 + old * sizePer, level0 + (old + 1) * sizePer), at);
    remap(at);
  }
  let w = upper;
  const perLevel = 4 + 4 * maxM;
  for (let j = 0; j < count; j++) {
    const from = upperOff[order[j] as number] as number;
    const size = dv.getUint32(from, true);
    out.set(src.subarray(from, from + 4 + size), w);
    for (let lv = 0; lv * perLevel < size; lv++) remap(w + 4 + lv * perLevel);
    w += 4 + size;
  }
  return out;
}
