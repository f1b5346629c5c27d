/**
 * How Karpenter decides whether a NodePool can launch a node for a pod, by its labels: the rules of
 * kubernetes-sigs/karpenter v1.14.1 `pkg/scheduling/requirements.go` (`Compatible`, `Intersects`) with the
 * well-known labels of `pkg/apis/v1/labels.go` and of aws/karpenter-provider-aws v1.14.1 `pkg/apis/v1/labels.go`,
 * and the instance-type labels the AWS provider derives from EC2 (`pkg/providers/instancetype/types.go`
 * `computeRequirements`).
 *
 * - A pod requirement on a key that is neither well-known nor defined by the NodePool (its requirements, its
 *   template labels, `karpenter.sh/nodepool`) makes the NodePool incompatible ("label ... does not have known
 *   values"), unless the operator is NotIn or DoesNotExist. Labels written after boot (GPU feature discovery's
 *   `nvidia.com/gpu.product`) are never known.
 * - On keys both define, the values must intersect; well-known keys the NodePool leaves open must intersect
 *   with the values of some instance type it may launch.
 */
import { findInstanceType, type InstanceType } from '../../catalog';

/** Label keys Karpenter knows without a NodePool defining them (core and AWS provider, v1.14.1). */
export const KARPENTER_WELL_KNOWN_LABELS: ReadonlySet<string> = new Set([
  // kubernetes-sigs/karpenter pkg/apis/v1/labels.go WellKnownLabels
  'karpenter.sh/nodepool',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'karpenter.sh/capacity-type',
  'node.kubernetes.io/windows-build',
  // aws/karpenter-provider-aws pkg/apis/v1/labels.go init()
  'karpenter.k8s.aws/capacity-reservation-id',
  'karpenter.k8s.aws/capacity-reservation-type',
  'karpenter.k8s.aws/capacity-reservation-interruptible',
  'karpenter.k8s.aws/instance-hypervisor',
  'karpenter.k8s.aws/instance-encryption-in-transit-supported',
  'karpenter.k8s.aws/instance-category',
  'karpenter.k8s.aws/instance-capability-flex',
  'karpenter.k8s.aws/instance-family',
  'karpenter.k8s.aws/instance-generation',
  'karpenter.k8s.aws/instance-size',
  'karpenter.k8s.aws/instance-local-nvme',
  'karpenter.k8s.aws/instance-cpu',
  'karpenter.k8s.aws/instance-cpu-manufacturer',
  'karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz',
  'karpenter.k8s.aws/instance-memory',
  'karpenter.k8s.aws/instance-ebs-bandwidth',
  'karpenter.k8s.aws/instance-network-bandwidth',
  'karpenter.k8s.aws/instance-gpu-name',
  'karpenter.k8s.aws/instance-gpu-manufacturer',
  'karpenter.k8s.aws/instance-gpu-count',
  'karpenter.k8s.aws/instance-gpu-memory',
  'karpenter.k8s.aws/instance-accelerator-name',
  'karpenter.k8s.aws/instance-accelerator-manufacturer',
  'karpenter.k8s.aws/instance-accelerator-count',
  'topology.k8s.aws/zone-id',
  'karpenter.k8s.aws/instance-tenancy',
  'karpenter.k8s.aws/placement-group-id',
  'karpenter.k8s.aws/placement-group-partition',
]);

/** Labels Karpenter's `NormalizedLabels` maps onto well-known ones. */
const NORMALIZED: Readonly<Record<string, string>> = {
  'failure-domain.beta.kubernetes.io/zone': 'topology.kubernetes.io/zone',
  'beta.kubernetes.io/arch': 'kubernetes.io/arch',
  'beta.kubernetes.io/os': 'kubernetes.io/os',
  'beta.kubernetes.io/instance-type': 'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region': 'topology.kubernetes.io/region',
};

/** One node-selector requirement. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

/** A set of values a key may take: `undefined` = any value (Exists), `{ not }` = any value but these. */
type ValueSet =
  { readonly in: ReadonlySet<string> } | { readonly notIn: ReadonlySet<string>; readonly exists: boolean } | { readonly absent: true };

/** Lower kebab case, as the AWS provider writes EC2 names into labels (`lowerKabobCase`). */
const kebab = (s: string) => s.toLowerCase().replace(/ /g, '-');

/**
 * The labels the AWS provider gives an instance type (the subset gpufleet can derive from its catalog): the
 * instance type, family and size, CPU, memory (MiB), GPU name, manufacturer, count and memory (MiB), OS and
 * architecture. GPU instances of the catalog are x86_64 Linux nodes.
 */
export function instanceTypeLabels(it: InstanceType): Record<string, string> {
  const [family, size] = it.name.split('.');
  return {
    'node.kubernetes.io/instance-type': it.name,
    'karpenter.k8s.aws/instance-family': family,
    'karpenter.k8s.aws/instance-size': size,
    'karpenter.k8s.aws/instance-cpu': String(it.vcpu),
    'karpenter.k8s.aws/instance-memory': String(Math.round(it.memoryGiB * 1024)),
    'karpenter.k8s.aws/instance-gpu-name': kebab(it.gpuName),
    'karpenter.k8s.aws/instance-gpu-manufacturer': 'nvidia',
    'karpenter.k8s.aws/instance-gpu-count': String(it.gpuCount),
    'karpenter.k8s.aws/instance-gpu-memory': String(it.gpuMemoryMiB),
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/os': 'linux',
  };
}

function valueSet(r: LabelRequirement): ValueSet {
  const values = new Set(r.values ?? []);
  switch (r.operator) {
    case 'In':
      return { in: values };
    case 'NotIn':
      return { notIn: values, exists: false };
    case 'Exists':
      return { notIn: new Set(), exists: true };
    case 'DoesNotExist':
      return { absent: true };
    case 'Gt':
    case 'Lt':
    case 'Gte':
    case 'Lte':
      return { notIn: new Set(), exists: true }; // numeric ranges: treated as "some value"
    default:
      return { notIn: new Set(), exists: false };
  }
}

function intersects(a: ValueSet, b: ValueSet): boolean {
  if ('absent' in a || 'absent' in b) {
    // DoesNotExist meets DoesNotExist or NotIn (which admits the key being absent)
    const other = 'absent' in a ? b : a;
    return 'absent' in other || ('notIn' in other && !other.exists);
  }
  if ('in' in a && 'in' in b) return [...a.in].some((v) => b.in.has(v));
  if ('in' in a) return [...a.in].some((v) => !(b as { notIn: ReadonlySet<string> }).notIn.has(v));
  if ('in' in b) return [...b.in].some((v) => !a.notIn.has(v));
  return true;
}

/** Requirements of a NodePool, by key: its template requirements, its template labels and `karpenter.sh/nodepool`. */
export function nodePoolRequirements(nodePool: any): Map<string, LabelRequirement[]> {
  const out = new Map<string, LabelRequirement[]>();
  const add = (r: LabelRequirement) => out.set(r.key, [...(out.get(r.key) ?? []), r]);
  for (const r of nodePool?.spec?.template?.spec?.requirements ?? [])
    add({ key: String(r.key), operator: String(r.operator), values: r.values });
  for (const [k, v] of Object.entries(nodePool?.spec?.template?.metadata?.labels ?? {}))
    add({ key: k, operator: 'In', values: [String(v)] });
  add({ key: 'karpenter.sh/nodepool', operator: 'In', values: [String(nodePool?.metadata?.name)] });
  const ref = nodePool?.spec?.template?.spec?.nodeClassRef;
  if (ref?.group && ref?.kind) add({ key: `${ref.group}/${String(ref.kind).toLowerCase()}`, operator: 'In', values: [String(ref.name)] });
  return out;
}

/** Catalog instance types a NodePool may launch (its `node.kubernetes.io/instance-type` `In` values the catalog knows). */
export function nodePoolInstanceTypes(requirements: ReadonlyMap<string, readonly LabelRequirement[]>): InstanceType[] {
  const names = (requirements.get('node.kubernetes.io/instance-type') ?? [])
    .filter((r) => r.operator === 'In')
    .flatMap((r) => r.values ?? []);
  return [...new Set(names)].map((n) => findInstanceType(n)).filter((it): it is InstanceType => it !== undefined);
}

/** Why a NodePool cannot launch a node for these pod requirements (one node-selector term), or undefined. */
export function incompatibility(
  pool: ReadonlyMap<string, readonly LabelRequirement[]>,
  instanceTypes: readonly InstanceType[],
  pod: readonly LabelRequirement[],
): string | undefined {
  const reqs = pod.map((r) => ({ ...r, key: NORMALIZED[r.key] ?? r.key }));
  for (const r of reqs) {
    if (KARPENTER_WELL_KNOWN_LABELS.has(r.key) || pool.has(r.key) || r.operator === 'NotIn' || r.operator === 'DoesNotExist') continue;
    return `label "${r.key}" does not have known values`;
  }
  for (const r of reqs) {
    for (const p of pool.get(r.key) ?? []) {
      if (!intersects(valueSet(p), valueSet(r))) return `key ${r.key}, ${show(r)} not in ${show(p)}`;
    }
  }
  // well-known keys left open by the pool: some instance type must carry a matching value
  const derived = reqs.filter((r) => !pool.has(r.key) && instanceTypes.length > 0 && r.key in instanceTypeLabels(instanceTypes[0]));
  if (derived.length > 0) {
    const ok = instanceTypes.some((it) => {
      const labels = instanceTypeLabels(it);
      return derived.every((r) => intersects({ in: new Set([labels[r.key]]) }, valueSet(r)));
    });
    if (!ok) return `no instance type of the pool (${instanceTypes.map((i) => i.name).join(', ')}) matches ${derived.map(show).join(', ')}`;
  }
  return undefined;
}

function show(r: LabelRequirement): string {
  return `${r.key} ${r.operator}${r.values && r.values.length > 0 ? ` [${r.values.join(', ')}]` : ''}`;
}

/** The pod's node requirements as Karpenter reads them: nodeSelector as `In`, then one alternative per required node-affinity term. */
export function podRequirementTerms(podSpec: any): LabelRequirement[][] {
  const selector: LabelRequirement[] = Object.entries(podSpec?.nodeSelector ?? {}).map(([k, v]) => ({
    key: k,
    operator: 'In',
    values: [String(v)],
  }));
  const terms: any[] = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return [selector];
  return terms.map((t) => [...selector, ...((t.matchExpressions ?? []) as LabelRequirement[])]);
}

/** Whether a set of node labels satisfies one pod requirement term (the kube-scheduler's node-affinity rule). */
export function labelsSatisfy(labels: Readonly<Record<string, string>>, term: readonly LabelRequirement[]): boolean {
  return term.every((r) => {
    const v = labels[NORMALIZED[r.key] ?? r.key] ?? labels[r.key];
    switch (r.operator) {
      case 'In':
        return v !== undefined && (r.values ?? []).includes(v);
      case 'NotIn':
        return v === undefined || !(r.values ?? []).includes(v);
      case 'Exists':
        return v !== undefined;
      case 'DoesNotExist':
        return v === undefined;
      case 'Gt':
        return v !== undefined && Number(v) > Number((r.values ?? [])[0]);
      case 'Lt':
        return v !== undefined && Number(v) < Number((r.values ?? [])[0]);
      default:
        return false;
    }
  });
}
