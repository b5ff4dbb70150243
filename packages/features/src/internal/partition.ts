/** FNV-1a of a key, modulo `n`: the in-process bus's partitioner. */
export function partitionOf(key: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % n;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
