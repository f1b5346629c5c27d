/**
 * A number that identifies a profile row's (slice, batch, instances): a small integer (no allocation, fast to hash)
 * while batch and instances are below 2^16 and 2^10 (slice is 1-7), a string beyond. Fleet validation finds repeated
 * rows by it, and the planner keeps the first of each.
 */
export function entryKey(slice: number, batch: number, instances: number): number | string {
  return batch < 65536 && instances < 1024 ? slice + 8 * instances + 8192 * batch : `${slice}/${batch}/${instances}`;
}
