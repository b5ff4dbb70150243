import type { Candidate, ItemMeta, StageContext } from '@recspine/core';
import { configCheck } from './validate.js';

/** What a filter does with a candidate it cannot judge (no metadata). */
export type OnMissing = 'allow' | 'reject';

export function onMissing(v: OnMissing | undefined, fallback: OnMissing, field: string): boolean {
  const x = v ?? fallback;
  configCheck(x === 'allow' || x === 'reject', field, "must be 'allow' or 'reject'");
  return x === 'allow';
}

/** ASCII case-insensitive equality without allocating (region codes). */
export function sameCode(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 97 && x <= 122) x -= 32;
    if (y >= 97 && y <= 122) y -= 32;
    if (x !== y) return false;
  }
  return true;
}

export function listHas(list: readonly string[], code: string): boolean {
  for (const r of list) if (typeof r === 'string' && sameCode(r, code)) return true;
  return false;
}

export type MetaOf = (ctx: StageContext, c: Candidate) => ItemMeta | undefined;
