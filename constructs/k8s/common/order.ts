/**
 * Ordering helpers of the cdk8s constructs (internal: not exported from the layer's index), so that
 * rendered lists and maps come out in one stable order.
 */
import { compareText } from '../../catalog/text-order';

/** Code-unit order of two strings (locale-independent), for `Array.prototype.sort`. */
export const byString = compareText;

/** A copy of a string record with its keys in code-unit order. */
export const sortRecord = (r: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => compareText(a, b)));
