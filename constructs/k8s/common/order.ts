/**
 * Ordering helpers of the cdk8s constructs (internal: not exported from the layer's index), so that
 * rendered lists and maps come out in one stable order.
 */

/** Code-unit order of two strings (locale-independent), for `Array.prototype.sort`. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A copy of a string record with its keys in `localeCompare` order. */
export const sortRecord = (r: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
