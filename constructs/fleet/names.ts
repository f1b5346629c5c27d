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
    return (
      `${path}: expected a DNS-1123 label of at most ${DNS1123_LABEL_MAX_LENGTH} characters, ` +
      `got ${describeValue(value)}${value.length <= QUOTE_MAX_CHARS ? ` (${value.length} characters)` : ''}`
    );
  }
  return (
    `${path}: expected a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter ` +
    `or digit, at most ${DNS1123_LABEL_MAX_LENGTH} characters), got ${describeValue(value)}`
  );
}

const IPV4_CIDR_PARTS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * The problem with an IPv4 CIDR block (the EKS public endpoint, a NetworkPolicy ipBlock), or undefined when it is one: four decimal
 * octets 0-255 without leading zeros, a prefix length 0-32, and no host bits set (`203.0.113.5/24` is refused
 * with the network address `203.0.113.0/24`, which is what such a block means).
 */
export function ipv4CidrProblem(path: string, value: unknown): string | undefined {
  const m = typeof value === 'string' ? IPV4_CIDR_PARTS.exec(value) : null;
  const octets = m ? m.slice(1, 5).map((o) => (o.length > 1 && o.startsWith('0') ? NaN : Number(o))) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => !(o >= 0 && o <= 255)) || !(prefix >= 0 && prefix <= 32) || (m[5].length > 1 && m[5].startsWith('0'))) {
    return `${path}: expected an IPv4 CIDR block such as 203.0.113.0/24, got ${quote(value)}`;
  }
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (addr & mask) >>> 0;
  if (network !== addr) {
    const net = [24, 16, 8, 0].map((s) => (network >>> s) & 255).join('.');
    return `${path}: ${quote(value)} has host bits set; the block is ${net}/${prefix}`;
  }
  return undefined;
}
