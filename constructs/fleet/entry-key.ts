/**
 * A number that identifies a profile row's (slice, batch, instances): a small integer (no allocation, fast to hash)
 * while batch and instances are below 2^16 and 2^10 (slice is 1-7), a string beyond. Fleet validation finds repeated
 * rows by it, and the planner keeps the first of each.
 */
export function entryKey(slice: number, batch: number, instances: number): number | string {
  return batch < 65536 && instances < 1024 ? slice + 8 * instances + 8192 * batch : `${slice}/${batch}/${instances}`;
}

/** Keys a `FirstRows` table stores in place: non-negative integers below 2^30 (every numeric `entryKey`: at most 2^29 - 1). */
const MAX_TABLE_KEY = 2 ** 30;

/**
 * The first row index recorded per (tag, `entryKey`) while one model's profile rows are read: fleet validation
 * finds repeated rows with it, the planner keeps the first of each. One table serves every model in turn
 * (`reset` between models): an open-addressing table of typed arrays whose entries are marked with a
 * generation number, so that reading a 1,000-model fleet allocates nothing per model or per row (a Map or
 * Set per model grows its table 6-8 times for ~160 rows). Keys that are not small integers (a string
 * `entryKey`, or a row with a non-integer batch in a fleet built in code), and rows beyond the number
 * announced to `reset`, go to a Map.
 */
export class FirstRows {
  private keys = new Int32Array(0);
  private tags = new Int32Array(0);
  private values = new Int32Array(0);
  private stamps = new Int32Array(0);
  private stamp = 0;
  private mask = -1;
  private used = 0;
  private other: Map<string, number> | undefined;

  /** Forgets every row recorded; `rows` is about how many the next model records (sizes the table). */
  reset(rows: number): void {
    if (2 * rows > this.mask + 1) {
      let size = 64;
      while (size < 2 * rows) size *= 2;
      this.keys = new Int32Array(size);
      this.tags = new Int32Array(size);
      this.values = new Int32Array(size);
      this.stamps = new Int32Array(size);
      this.mask = size - 1;
      this.stamp = 0;
    }
    this.stamp++;
    this.used = 0;
    this.other?.clear();
  }

  /**
   * The index recorded for this row's (tag, slice, batch, instances), or -1 after recording `index` for it.
   * `tag` (an integer in [0, 2^31)) separates rows of different GPU types.
   */
  firstOrAdd(tag: number, slice: number, batch: number, instances: number, index: number): number {
    const key = entryKey(slice, batch, instances);
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < MAX_TABLE_KEY && this.mask >= 0) {
      const { keys, tags, stamps, mask, stamp } = this;
      let h = Math.imul(key ^ Math.imul(tag, 0x27d4eb2d), 0x9e3779b1);
      h ^= h >>> 15;
      for (let i = h & mask; ; i = (i + 1) & mask) {
        if (stamps[i] !== stamp) {
          // not in the table: recorded here while the table is at most half full; once it is (more rows than
          // announced), this and every later new key go to the Map, so a key sent there is looked up there
          if (this.used < (mask + 1) >> 1) {
            stamps[i] = stamp;
            keys[i] = key;
            tags[i] = tag;
            this.values[i] = index;
            this.used++;
            return -1;
          }
          break;
        }
        if (keys[i] === key && tags[i] === tag) return this.values[i];
      }
    }
    const other = (this.other ??= new Map<string, number>());
    const k = `${tag}/${String(key)}`;
    const had = other.get(k);
    if (had !== undefined) return had;
    other.set(k, index);
    return -1;
  }
}
