/**
 * The one Kubernetes-name check of gpufleet: RFC 1123 labels (namespaces, model and team names,
 * most object names), at most 63 characters.
 */
import { quote, QUOTE_MAX_CHARS } from './quote';

/** Longest DNS-1123 label. */
export const DNS1123_LABEL_MAX_LENGTH = 63;

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True for a lowercase RFC 1123 label of at most 63 characters. */
export function isDns1123Label(s: unknown): s is string {
  return typeof s === 'string' && s.length <= DNS1123_LABEL_MAX_LENGTH && LABEL.test(s);
}

/**
 * Renders a received value for an error message: strings quoted (at most `QUOTE_MAX_CHARS` = 100 characters
 * of them, with the length of a longer one), lists and objects named.
 */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return quote(value);
}

/**
 * The problem with a value that must be a DNS-1123 label, or undefined when it is one, e.g.
 * `models[0].name: expected a DNS-1123 label (lowercase letters, digits and "-", ...), got "ResNet"`.
 */
export function dns1123LabelProblem(path: string, value: unknown): string | undefined {
  if (isDns1123Label(value)) return undefined;
  if (typeof value === 'string' && value.length > DNS1123_LABEL_MAX_LENGTH && LABEL.test(value)) {
    return `${path}: expected a DNS-1123 label of at most ${DNS1123_LABEL_MAX_LENGTH} characters, `
      + `got ${describeValue(value)}${value.length <= QUOTE_MAX_CHARS ? ` (${value.length} characters)` : ''}`;
  }
  return `${path}: expected a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter `
    + `or digit, at most ${DNS1123_LABEL_MAX_LENGTH} characters), got ${describeValue(value)}`;
}
