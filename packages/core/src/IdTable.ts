/**
 * A string → non-negative integer map for the million-entry id dictionaries of a serving process
 * (item id → index slot, → embedding row, → document), built so the garbage collector has little
 * to trace. A `Map<string, number>` of 1M entries is one ≈ 29 MB hash table of 3.5M tagged slots
 * that every full GC marks; a serving worker at 1M items held three of them, 88 of its ≈ 250 MB
 * live heap (heap snapshot, 27 Nov). Here the keys are one `string[]` (1M slots, ≈ 8 MB) and the
 * values, hashes and open-addressing table are typed arrays, which live outside the JS heap and
 * are never traced.
 *
 * Hand-written: the npm hash maps found (`hashmap`, `mnemonist`'s maps and the like) keep entries
 * in JS objects or wrap a `Map`, which is what this avoids. Linear probing with backward-shift
 * deletion (no tombstones, so lookups stay short under churn); a removed entry's place in the key
 * array is filled by the last entry, so the arrays stay dense.
 *
 * Iteration order is not insertion order once entries are deleted.
 */
export class IdTable {
  private keyOf: string[] = [];
  private valueOf: Int32Array;
  private hashOf: Int32Array;
  /** Open-addressing table: entry index + 1, 0 = empty. Capacity a power of two, at most half full. */
  private table: Int32Array;
  private mask: number;
  private n = 0;

  constructor(expectedSize = 16) {
    const cap = Math.max(16, expectedSize);
    this.valueOf = new Int32Array(cap);
    this.hashOf = new Int32Array(cap);
    let t = 32;
    while (t < cap * 2) t *= 2;
    this.table = new Int32Array(t);
    this.mask = t - 1;
  }

  /** Builds a table mapping `ids[i]` to `i` (a later duplicate wins, as with `new Map`). */
  static fromIds(ids: readonly string[]): IdTable {
    const t = new IdTable(ids.length);
    for (let i = 0; i < ids.length; i++) t.set(ids[i] as string, i);
    return t;
  }

  get size(): number {
    return this.n;
  }

  get(id: string): number | undefined {
    const p = this.find(id, hash(id));
    return p < 0 ? undefined : (this.valueOf[(this.table[p] as number) - 1] as number);
  }

  has(id: string): boolean {
    return this.find(id, hash(id)) >= 0;
  }

  /** Sets `id` → `value` (a non-negative 32-bit integer). */
  set(id: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new RangeError(`IdTable values are non-negative 32-bit integers, got ${String(value)}`);
    }
    const h = hash(id);
    const p = this.find(id, h);
    if (p >= 0) {
      this.valueOf[(this.table[p] as number) - 1] = value;
      return this;
    }
    if (this.n === this.valueOf.length) this.growEntries();
    if ((this.n + 1) * 2 > this.table.length) this.growTable();
    const e = this.n++;
    this.keyOf.push(id);
    this.valueOf[e] = value;
    this.hashOf[e] = h;
    let q = h & this.mask;
    while (this.table[q] !== 0) q = (q + 1) & this.mask;
    this.table[q] = e + 1;
    return this;
  }

  delete(id: string): boolean {
    const p = this.find(id, hash(id));
    if (p < 0) return false;
    const e = (this.table[p] as number) - 1;
    this.vacate(p);
    const last = --this.n;
    if (e !== last) {
      // Move the last entry into the hole and repoint its table slot.
      const lk = this.keyOf[last] as string;
      const lp = this.find(lk, this.hashOf[last] as number);
      this.keyOf[e] = lk;
      this.valueOf[e] = this.valueOf[last] as number;
      this.hashOf[e] = this.hashOf[last] as number;
      this.table[lp] = e + 1;
    }
    this.keyOf.pop();
    return true;
  }

  clear(): void {
    this.keyOf = [];
    this.table.fill(0);
    this.n = 0;
  }

  *keys(): IterableIterator<string> {
    for (let e = 0; e < this.n; e++) yield this.keyOf[e] as string;
  }

  *entries(): IterableIterator<[string, number]> {
    for (let e = 0; e < this.n; e++) yield [this.keyOf[e] as string, this.valueOf[e] as number];
  }

  /** The table position holding `id`, or -1. */
  private find(id: string, h: number): number {
    const t = this.table;
    let q = h & this.mask;
    for (;;) {
      const v = t[q] as number;
      if (v === 0) return -1;
      if (this.hashOf[v - 1] === h && this.keyOf[v - 1] === id) return q;
      q = (q + 1) & this.mask;
    }
  }

  /** Empties table position `p`, shifting later members of its probe run back (no tombstones). */
  private vacate(p: number): void {
    const t = this.table;
    const mask = this.mask;
    let hole = p;
    let q = (p + 1) & mask;
    for (;;) {
      const v = t[q] as number;
      if (v === 0) break;
      const home = (this.hashOf[v - 1] as number) & mask;
      // The entry at q may move into the hole when its home is not cyclically in (hole, q].
      if (((q - home) & mask) >= ((q - hole) & mask)) {
        t[hole] = v;
        hole = q;
      }
      q = (q + 1) & mask;
    }
    t[hole] = 0;
  }

  private growEntries(): void {
    const cap = this.valueOf.length * 2;
    const v = new Int32Array(cap);
    v.set(this.valueOf);
    this.valueOf = v;
    const h = new Int32Array(cap);
    h.set(this.hashOf);
    this.hashOf = h;
  }

  private growTable(): void {
    const t = new Int32Array(this.table.length * 2);
    const mask = t.length - 1;
    for (let e = 0; e < this.n; e++) {
      let q = (this.hashOf[e] as number) & mask;
      while (t[q] !== 0) q = (q + 1) & mask;
      t[q] = e + 1;
    }
    this.table = t;
    this.mask = mask;
  }
}

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser (FNV alone clusters on short ids like `v123`). */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
