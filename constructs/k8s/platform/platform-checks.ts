/**
 * Synth-time checks across a serving platform's objects. They read the rendered Kubernetes objects
 * (not the declaration), so they hold for anything added to the tree, hand-written or planned:
 *
 * - every Triton pool requests exactly one GPU/MIG resource, and some node pool that its node
 *   selector admits — by Karpenter's rules (`karpenter-requirements.ts`): a required label that no
 *   node pool declares and Karpenter does not know admits none — provides that resource in its MIG layout;
 * - the pool tolerates every taint of those nodes, and each of its tolerations matches a taint there;
 * - every model the pool loads (`--load-model=`), and every model a model router loads on demand
 *   (its `router.yaml`), is in the model repository;
 * - every namespace's ResourceQuota covers what its pools may request (maximum replicas × one slice, CPU,
 *   memory, pods), and its LimitRange default limits do not reject the pools' pods.
 *
 * Each problem names both ends, e.g.
 * `pool "vision-1g" requests nvidia.com/mig-1g.10gb, but no node pool's layout provides it (layouts: h100-mixed: 3g.40gb, 2g.20gb)`.
 */
import { KARPENTER_WELL_KNOWN_LABELS, LabelRequirement, incompatibility, podRequirementTerms } from '../gpu/karpenter-requirements';
import type { NodePoolFacts, Taint } from './node-pool-facts';
import {
  collectFacts,
  type LimitDefaultsFacts,
  type PlatformFacts,
  type PoolFacts,
  type QuotaFacts,
  type Toleration,
} from './platform-facts';
import { compareText } from '../../catalog/text-order';

export interface CheckOptions {
  /** Models in the repository; absent = do not check models. */
  readonly repositoryModels?: readonly string[];
}

/** Bytes as the largest binary unit that keeps a whole or one-decimal number (`300Gi`, `1.5Ti`). */
function showBytes(n: number): string {
  for (const [unit, f] of [
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (n >= f) return `${Math.round((n / f) * 10) / 10}${unit}`;
  }
  return `${n}`;
}

/** Karpenter's requirements of a node pool: given, or its labels as `In` requirements. */
function requirementsOf(np: NodePoolFacts): ReadonlyMap<string, readonly LabelRequirement[]> {
  return np.requirements ?? new Map(Object.entries(np.labels).map(([k, v]) => [k, [{ key: k, operator: 'In', values: [v] }]]));
}

/** The pool's node requirements: nodeSelector as `In`, one alternative per required node-affinity term. */
function termsOf(pool: PoolFacts): LabelRequirement[][] {
  return podRequirementTerms({
    nodeSelector: pool.nodeSelector,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: pool.affinityTerms.map((t) => ({ matchExpressions: t })) },
      },
    },
  });
}

/** Whether Karpenter can launch a node of this node pool for the pool's pods (some term compatible). */
function admits(np: NodePoolFacts, pool: PoolFacts): boolean {
  return termsOf(pool).some((term) => incompatibility(requirementsOf(np), np.instanceTypes ?? [], term) === undefined);
}

/**
 * Required label keys that no node pool defines and Karpenter does not know: Karpenter finds every NodePool
 * incompatible ("label ... does not have known values") and launches nothing (kubernetes-sigs/karpenter v1.14.1
 * pkg/scheduling/requirements.go Compatible). Keys of the first term whose every alternative has one.
 */
function unknownKeys(nodePools: readonly NodePoolFacts[], pool: PoolFacts): string[] {
  const known = (key: string) => KARPENTER_WELL_KNOWN_LABELS.has(key) || nodePools.some((np) => requirementsOf(np).has(key));
  const perTerm = termsOf(pool).map((term) =>
    term.filter((r) => r.operator !== 'NotIn' && r.operator !== 'DoesNotExist' && !known(r.key)).map((r) => r.key),
  );
  return perTerm.every((keys) => keys.length > 0) ? [...new Set(perTerm[0])].sort() : [];
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

const showTaint = (t: Taint) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`;
const showToleration = (t: Toleration) =>
  `${t.key ?? '*'}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}${t.effect ? `:${t.effect}` : ''}`;
const showLayouts = (nps: readonly NodePoolFacts[]) => nps.map((n) => `${n.name}: ${n.layout}`).join('; ') || 'none';
const showSelector = (p: PoolFacts) => {
  const parts = Object.entries(p.nodeSelector).map(([k, v]) => `${k}=${v}`);
  for (const term of p.affinityTerms) parts.push(term.map((r) => `${r.key} ${r.operator} ${(r.values ?? []).join('|')}`.trim()).join(', '));
  return parts.join('; ') || 'any node';
};

/** Checks the facts; returns one message per problem (empty when the platform is consistent). */
export function checkPlatformFacts(facts: PlatformFacts, options: CheckOptions = {}): string[] {
  const problems: string[] = [];
  const pools = [...facts.pools].sort((a, b) => compareText(a.name, b.name) || compareText(a.namespace, b.namespace));
  const repo = options.repositoryModels ? new Set(options.repositoryModels) : undefined;
  for (const pool of pools) {
    problems.push(...placementProblems(pool, facts.nodePools));
    if (repo) problems.push(...missingModelProblems(`pool "${pool.name}" loads model`, pool.models, repo));
  }
  if (repo) {
    const routers = [...(facts.routers ?? [])].sort((a, b) => compareText(a.name, b.name) || compareText(a.namespace, b.namespace));
    for (const r of routers)
      problems.push(...missingModelProblems(`router "${r.name}" (namespace ${r.namespace}) loads model`, r.models, repo, ' on demand'));
  }
  problems.push(...limitDefaultProblems(pools, facts.limitDefaults ?? []));
  const namespaces = [...new Set(pools.map((p) => p.namespace))].sort();
  for (const ns of namespaces) {
    const quotas = facts.quotas.filter((q) => q.namespace === ns);
    if (quotas.length === 0) continue;
    problems.push(
      ...quotaProblems(
        ns,
        pools.filter((p) => p.namespace === ns),
        quotas,
      ),
    );
  }
  return problems;
}

/**
 * Whether the pool's pods get a node: one GPU resource, node labels some node pool declares, a layout that provides
 * it, taints tolerated.
 */
function placementProblems(pool: PoolFacts, nodePools: readonly NodePoolFacts[]): string[] {
  const problems: string[] = [];
  const requested = Object.entries(pool.gpuResources);
  const units = requested.reduce((s, [, n]) => s + n, 0);
  if (units !== 1) {
    problems.push(
      `pool "${pool.name}" requests ${units} GPU resources (${requested.map(([r, n]) => `${r}: ${n}`).join(', ')}); ` +
        'a Triton pool takes exactly one GPU or MIG slice',
    );
  }
  const candidates = nodePools.filter((np) => admits(np, pool));
  const unknown = unknownKeys(nodePools, pool);
  const nodePoolNames = nodePools.map((n) => n.name).join(', ') || 'none';
  for (const key of unknown) {
    problems.push(
      `pool "${pool.name}" requires node label "${key}", which no node pool declares and Karpenter does not know ` +
        `(node pools: ${nodePoolNames}); Karpenter launches no node for its pods`,
    );
  }
  for (const [resource] of requested) {
    if (unknown.length > 0) continue;
    if (candidates.length === 0) {
      problems.push(
        `pool "${pool.name}" selects nodes with ${showSelector(pool)}, but no node pool's nodes carry those labels ` +
          `(node pools: ${nodePoolNames})`,
      );
      continue;
    }
    if (!candidates.some((np) => np.resources.includes(resource))) {
      const scope =
        candidates.length === nodePools.length
          ? "no node pool's layout provides it"
          : `no node pool it selects (${showSelector(pool)}) provides it`;
      problems.push(`pool "${pool.name}" requests ${resource}, but ${scope} (layouts: ${showLayouts(candidates)})`);
    }
  }
  const hosts = candidates.filter((np) => requested.some(([r]) => np.resources.includes(r)));
  for (const np of hosts) {
    for (const taint of np.taints) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!pool.tolerations.some((t) => tolerates(t, taint))) {
        problems.push(
          `pool "${pool.name}" does not tolerate taint ${showTaint(taint)} of node pool "${np.name}" ` +
            `(tolerations: ${pool.tolerations.map(showToleration).join(', ') || 'none'})`,
        );
      }
    }
    for (const t of pool.tolerations) {
      if (!t.key) continue;
      if (!np.taints.some((taint) => tolerates(t, taint))) {
        problems.push(
          `pool "${pool.name}" tolerates ${showToleration(t)}, but node pool "${np.name}" has no such taint ` +
            `(taints: ${np.taints.map(showTaint).join(', ') || 'none'})`,
        );
      }
    }
  }
  return problems;
}

/** Models the repository does not hold, one message each. */
function missingModelProblems(subject: string, models: readonly string[], repo: ReadonlySet<string>, how = ''): string[] {
  return models
    .filter((m) => !repo.has(m))
    .map(
      (m) =>
        `${subject} "${m}"${how}, but the model repository has no model "${m}" (repository: ${[...repo].sort().join(', ') || 'empty'})`,
    );
}

/** A LimitRange default limit lands on containers without a limit; below their request, the API server rejects the pod. */
function limitDefaultProblems(pools: readonly PoolFacts[], limitDefaults: readonly LimitDefaultsFacts[]): string[] {
  const problems: string[] = [];
  for (const pool of pools) {
    for (const d of limitDefaults.filter((l) => l.namespace === pool.namespace)) {
      if (d.cpu !== undefined && pool.unlimitedCpuRequest !== undefined && pool.unlimitedCpuRequest > d.cpu + 1e-9) {
        problems.push(
          `pool "${pool.name}" requests cpu ${pool.unlimitedCpuRequest} without a limit, ` +
            `but the LimitRange of namespace "${pool.namespace}" gives such containers a default limit of ${d.cpu}; ` +
            'its pods would be rejected',
        );
      }
      if (d.memory !== undefined && pool.unlimitedMemoryRequest !== undefined && pool.unlimitedMemoryRequest > d.memory) {
        problems.push(
          `pool "${pool.name}" requests memory ${showBytes(pool.unlimitedMemoryRequest)} without a limit, ` +
            `but the LimitRange of namespace "${pool.namespace}" gives such containers a default limit of ${showBytes(d.memory)}; ` +
            'its pods would be rejected',
        );
      }
    }
  }
  return problems;
}

/** A namespace's quotas against its pools at their maximum replicas: GPU resources, CPU, memory and pods. */
function quotaProblems(ns: string, nsPools: readonly PoolFacts[], quotas: readonly QuotaFacts[]): string[] {
  const problems: string[] = [];
  const demand = new Map<string, { total: number; parts: string[] }>();
  for (const p of nsPools) {
    for (const [r, n] of Object.entries(p.gpuResources)) {
      const d = demand.get(r) ?? { total: 0, parts: [] };
      d.total += n * p.maxReplicas;
      d.parts.push(`${p.name}: ${p.maxReplicas} × ${n}`);
      demand.set(r, d);
    }
  }
  for (const [r, d] of [...demand].sort(([a], [b]) => compareText(a, b))) {
    for (const q of quotas) {
      const allowed = q.hard[`requests.${r}`];
      if (allowed === undefined || allowed >= d.total) continue;
      const who = q.team ? `team "${q.team}" (namespace ${ns})` : `namespace "${ns}"`;
      problems.push(`${who} quota allows ${allowed} ${r}, but its pools may request ${d.total} (${d.parts.join(', ')})`);
    }
  }
  // CPU, memory and pods of the pools at their maximum (other pods of the namespace come on top).
  const totals: [string, (n: number) => string, (p: PoolFacts) => number][] = [
    ['requests.cpu', (n) => `${Math.round(n * 1000) / 1000}`, (p) => p.cpuRequest],
    ['requests.memory', showBytes, (p) => p.memoryRequest],
    ['pods', (n) => `${n}`, () => 1],
  ];
  for (const [key, show, per] of totals) {
    const total = nsPools.reduce((s, p) => s + per(p) * p.maxReplicas, 0);
    for (const q of quotas) {
      const allowed = q.hard[key];
      if (allowed === undefined || allowed >= total - 1e-9) continue;
      const who = q.team ? `team "${q.team}" (namespace ${ns})` : `namespace "${ns}"`;
      const parts = nsPools.filter((p) => per(p) > 0).map((p) => `${p.name}: ${p.maxReplicas} × ${show(per(p))}`);
      problems.push(`${who} quota allows ${key} ${show(allowed)}, but its pools may request ${show(total)} (${parts.join(', ')})`);
    }
  }
  return problems;
}

/** `collectFacts` then `checkPlatformFacts`. */
export function checkPlatformObjects(objects: readonly any[], options: CheckOptions = {}): string[] {
  return checkPlatformFacts(collectFacts(objects), options);
}
