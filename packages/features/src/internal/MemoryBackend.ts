import type { MutationResult } from '../FeatureStore.js';
import { AUX_FIELD, guardField, keyStrings, type Backend, type EncodedMutation, type KeyList } from './Backend.js';

interface Rec {
  packed?: Buffer;
  hash?: Map<string, Buffer>;
  expiresAt: number;
}

/**
 * In-process backend with the same semantics as the Redis Lua script (see `redisScripts.ts`):
 * guards, HINCRBYFLOAT-style increments, order-independent decayed counters, TTLs.
 */
export class MemoryBackend implements Backend {
  private readonly recs = new Map<string, Rec>();

  constructor(private readonly clock: () => number = Date.now) {}

  private live(key: string): Rec | undefined {
    const r = this.recs.get(key);
    if (r === undefined) return undefined;
    if (r.expiresAt > 0 && r.expiresAt <= this.clock()) {
      this.recs.delete(key);
      return undefined;
    }
    return r;
  }

  getPacked(keys: readonly string[]): Promise<(Buffer | null)[]> {
    return Promise.resolve(keys.map((k) => this.live(k)?.packed ?? null));
  }

  getPackedList(keys: KeyList): Promise<(Buffer | null)[]> {
    return this.getPacked(keyStrings(keys));
  }

  getHash(keys: readonly string[], fields: readonly string[]): Promise<(Buffer | null)[][]> {
    return Promise.resolve(
      keys.map((k) => {
        const h = this.live(k)?.hash;
        return fields.map((f) => h?.get(f) ?? null);
      }),
    );
  }

  getAux(key: string): Promise<string | undefined> {
    return Promise.resolve(this.live(key)?.hash?.get(AUX_FIELD)?.toString('utf8'));
  }

  apply(muts: readonly EncodedMutation[]): Promise<MutationResult[]> {
    return Promise.resolve(muts.map((m) => this.applyOne(m)));
  }

  private applyOne(m: EncodedMutation): MutationResult {
    let r = this.live(m.key);
    if (m.encoding === 'packed') {
      this.recs.set(m.key, { packed: m.packed as Buffer, expiresAt: m.ttlMs > 0 ? this.clock() + m.ttlMs : 0 });
      return 'applied';
    }
    const h = r?.hash ?? new Map<string, Buffer>();
    if (m.guard !== undefined) {
      const mark = Number(h.get(guardField(m.guard.stream))?.toString() ?? '-1');
      if (m.guard.seq <= mark) return 'skipped';
      if (m.guard.fromSeq <= mark) return 'conflict';
      h.set(guardField(m.guard.stream), Buffer.from(String(m.guard.seq)));
    }
    for (let i = 0; i < m.set.length; i += 2) h.set(m.set[i] as string, toBuf(m.set[i + 1] as string | Buffer));
    for (let i = 0; i < m.incr.length; i += 2) {
      const f = m.incr[i] as string;
      const cur = Number(h.get(f)?.toString() ?? '0');
      const base = Number.isFinite(cur) ? cur : 0;
      h.set(f, Buffer.from(String(base + (m.incr[i + 1] as number))));
    }
    for (let i = 0; i < m.decay.length; i += 4) {
      const f = m.decay[i] as string;
      const d = m.decay[i + 1] as number;
      const at = m.decay[i + 2] as number;
      const hl = m.decay[i + 3] as number;
      const curV = Number(h.get(f)?.toString() ?? '0');
      let v = Number.isFinite(curV) ? curV : 0;
      const tRaw = h.get(`${f}~t`);
      const t = tRaw === undefined ? NaN : Number(tRaw.toString());
      let tNew = at;
      if (!Number.isFinite(t)) v = v + d;
      else if (at >= t) v = v * Math.pow(2, -(at - t) / hl) + d;
      else {
        v = v + d * Math.pow(2, -(t - at) / hl);
        tNew = t;
      }
      h.set(f, Buffer.from(String(v)));
      h.set(`${f}~t`, Buffer.from(String(tNew)));
    }
    if (m.aux !== undefined) h.set(AUX_FIELD, Buffer.from(m.aux, 'utf8'));
    if (r === undefined) {
      r = { hash: h, expiresAt: 0 };
      this.recs.set(m.key, r);
    } else if (r.hash === undefined) {
      // a packed record under a hash group's key cannot happen (one encoding per group); replace it
      r.hash = h;
      delete r.packed;
    }
    if (m.ttlMs > 0) r.expiresAt = this.clock() + m.ttlMs;
    return 'applied';
  }

  del(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.recs.delete(k);
    return Promise.resolve();
  }

  /** Every live key (tests use it to prove a delete left nothing behind). */
  keys(): string[] {
    return [...this.recs.keys()].filter((k) => this.live(k) !== undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function toBuf(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}
