import { IdTable } from '@recspine/core';
/**
 * String item ids ↔ dense numeric labels, which both native libraries need. A removed id keeps its
 * label, so a later upsert of the same id reuses it (hnswlib un-deletes it in place; usearch
 * re-adds the key).
 */
export class IdMap {
  private readonly byId = new IdTable();
  readonly labels: string[] = [];
  private live: Uint8Array = new Uint8Array(1024);
  liveCount = 0;

  static fromJSON(json: { ids: string[]; dead: number[] }): IdMap {
    const m = new IdMap();
    for (const id of json.ids) m.labelFor(id);
    for (const l of json.dead) m.kill(l);
    return m;
  }

  toJSON(): { ids: string[]; dead: number[] } {
    const dead: number[] = [];
    for (let l = 0; l < this.labels.length; l++) if (this.live[l] === 0) dead.push(l);
    return { ids: this.labels, dead };
  }

  get(id: string): number | undefined {
    return this.byId.get(id);
  }

  isLive(label: number): boolean {
    return this.live[label] === 1;
  }

  hasLive(id: string): boolean {
    const l = this.byId.get(id);
    return l !== undefined && this.live[l] === 1;
  }

  /** Returns the id's label, assigning a new one (and marking it live) if needed. */
  labelFor(id: string): number {
    let l = this.byId.get(id);
    if (l === undefined) {
      l = this.labels.length;
      this.labels.push(id);
      this.byId.set(id, l);
      if (l >= this.live.length) {
        const grown = new Uint8Array(this.live.length * 2);
        grown.set(this.live);
        this.live = grown;
      }
    }
    if (this.live[l] === 0) {
      this.live[l] = 1;
      this.liveCount++;
    }
    return l;
  }

  /** Labels the id would get, without assigning (for all-or-nothing validation). */
  peek(id: string): number | undefined {
    return this.byId.get(id);
  }

  kill(label: number): void {
    if (this.live[label] === 1) {
      this.live[label] = 0;
      this.liveCount--;
    }
  }

  *liveIds(): IterableIterator<string> {
    for (let l = 0; l < this.labels.length; l++) if (this.live[l] === 1) yield this.labels[l] as string;
  }
}
