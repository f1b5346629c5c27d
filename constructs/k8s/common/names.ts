/**
 * Name checks of the GPU-infrastructure constructs that are not DNS-1123 labels: Kubernetes label
 * values (MIG layout names become the value of the `nvidia.com/mig.config` node label) and
 * device-plugin config keys. Each returns a problem message (`path: expected ..., got ...`) or undefined.
 */
import { dns1123LabelProblem, ipv4CidrProblem } from '../../fleet/names';

const LABEL_VALUE = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;

/**
 * A gpufleet name that is also a Kubernetes label value: 1 to 63 characters, lowercase letters, digits,
 * `-`, `_` and `.`, starting and ending with a letter or digit (mig-parted config names such as
 * `all-1g.10gb` qualify).
 */
export function labelValueProblem(path: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 63 || !LABEL_VALUE.test(value)) {
    return (
      `${path}: expected 1-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit, ` +
      `got ${JSON.stringify(value)}`
    );
  }
  return undefined;
}

/** Throws the problem of `labelValueProblem`, if any. */
export function assertLabelValue(path: string, value: unknown): asserts value is string {
  const problem = labelValueProblem(path, value);
  if (problem) throw new Error(problem);
}

/** Throws when `value` is not a DNS-1123 label (Kubernetes object and namespace names); the shared fleet check. */
export function assertDnsLabel(path: string, value: unknown): asserts value is string {
  const problem = dns1123LabelProblem(path, value);
  if (problem) throw new Error(problem);
}

const IPV6_CIDR = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*\/(12[0-8]|1[01]\d|[1-9]?\d)$/;

/** A non-empty list of IPv4 or IPv6 CIDRs, as a NetworkPolicy `ipBlock.cidr` takes them. */
export function assertCidrs(path: string, cidrs: unknown): void {
  if (!Array.isArray(cidrs) || cidrs.length === 0) {
    throw new Error(`${path}: expected a non-empty list of CIDRs such as 52.216.0.0/15, got ${JSON.stringify(cidrs)?.slice(0, 100)}`);
  }
  cidrs.forEach((c, i) => {
    if (typeof c === 'string' && IPV6_CIDR.test(c)) return;
    if (typeof c !== 'string' || !c.includes('.')) {
      throw new Error(`${path}[${i}]: expected a CIDR such as 52.216.0.0/15, got ${JSON.stringify(c)?.slice(0, 100)}`);
    }
    const problem = ipv4CidrProblem(`${path}[${i}]`, c);
    if (problem) throw new Error(problem);
  });
}
