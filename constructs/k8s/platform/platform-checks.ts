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
import { parse as parseYaml } from 'yaml';
import { WHOLE_GPU_RESOURCE } from '../gpu/gpu-resources';
import {
  KARPENTER_WELL_KNOWN_LABELS, LabelRequirement, incompatibility, nodePoolInstanceTypes, nodePoolRequirements, podRequirementTerms,
} from '../gpu/karpenter-requirements';
import { parseQuantity } from '../common/quantity';
import { DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL, TEAM_LABEL } from '../common/labels';
import type { InstanceType } from '../../catalog';

/** A node pool as the checks see it. */
export interface NodePoolFacts {
  readonly name: string;
  /** Labels its nodes carry (template labels and single-valued `In` requirements, plus `karpenter.sh/nodepool`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** GPU resources its layout provides, in layout order. */
  readonly resources: readonly string[];
  /** Profiles of the layout for messages, e.g. `3g.40gb, 2g.20gb`, or `whole GPUs`. */
  readonly layout: string;
  /** Karpenter's requirements of the pool by key (`nodePoolRequirements`). @default - `labels` as `In` requirements */
  readonly requirements?: ReadonlyMap<string, readonly LabelRequirement[]>;
  /** Catalog instance types the pool may launch. @default - none known */
  readonly instanceTypes?: readonly InstanceType[];
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface NodeRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

/** A GPU workload (a Triton pool's Deployment) as the checks see it. */
export interface PoolFacts {
  readonly name: string;
  readonly namespace: string;
  /** GPU resources one pod requests (limits), by name. */
  readonly gpuResources: Readonly<Record<string, number>>;
  /** Replicas the pool may reach: the autoscaler's maximum, else `spec.replicas`. */
  readonly maxReplicas: number;
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity: any term may match; each term's requirements must all hold. */
  readonly affinityTerms: readonly (readonly NodeRequirement[])[];
  readonly tolerations: readonly Toleration[];
  /** Models named by `--load-model=` arguments. */
  readonly models: readonly string[];
  /** CPU (cores) and memory (bytes) one pod requests. */
  readonly cpuRequest: number;
  readonly memoryRequest: number;
  /** Largest CPU / memory request of a container that sets no CPU / memory limit (a LimitRange default limit applies to it). */
  readonly unlimitedCpuRequest?: number;
  readonly unlimitedMemoryRequest?: number;
}

export interface QuotaFacts {
  readonly namespace: string;
  /** Team of the namespace (`gpufleet.io/team` label), for messages. */
  readonly team?: string;
  /** `spec.hard` as numbers (quantities parsed: cores, bytes). */
  readonly hard: Readonly<Record<string, number>>;
}

/** Container default limits of a namespace's LimitRanges (cores, bytes). */
export interface LimitDefaultsFacts {
  readonly namespace: string;
  readonly cpu?: number;
  readonly memory?: number;
}

/** A model router (its rendered `router.yaml`) as the checks see it. */
export interface RouterFacts {
  /** Name of the router (the ConfigMap's `app.kubernetes.io/instance` label, else the ConfigMap name). */
  readonly name: string;
  readonly namespace: string;
  /** Models the router manages (loads on demand). */
  readonly models: readonly string[];
}

export interface PlatformFacts {
  readonly nodePools: readonly NodePoolFacts[];
  readonly pools: readonly PoolFacts[];
  readonly quotas: readonly QuotaFacts[];
  /** @default - none */
  readonly routers?: readonly RouterFacts[];
  /** @default - none */
  readonly limitDefaults?: readonly LimitDefaultsFacts[];
}

export interface CheckOptions {
  /** Models in the repository; absent = do not check models. */
  readonly repositoryModels?: readonly string[];
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return undefined;
}

/**
 * CPU (cores) and memory (bytes) a container requests: a request defaults to the limit when only the limit is
 * set, as Kubernetes does.
 */
export function containerRequests(container: any): { cpu: number; memory: number } {
  const req = { ...(container?.resources?.limits ?? {}), ...(container?.resources?.requests ?? {}) };
  return { cpu: parseQuantity(req.cpu) ?? 0, memory: parseQuantity(req.memory) ?? 0 };
}

/** CPU (cores) and memory (bytes) one pod requests: the sum over its containers (`containerRequests`). */
export function podRequests(pod: { readonly containers?: readonly any[] } | undefined): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod?.containers ?? []) {
    const r = containerRequests(c);
    cpu += r.cpu;
    memory += r.memory;
  }
  return { cpu, memory };
}

/** Bytes as the largest binary unit that keeps a whole or one-decimal number (`300Gi`, `1.5Ti`). */
function showBytes(n: number): string {
  for (const [unit, f] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (n >= f) return `${Math.round((n / f) * 10) / 10}${unit}`;
  }
  return `${n}`;
}

interface MigConfigEntry {
  readonly 'mig-enabled'?: boolean;
  readonly 'mig-devices'?: Record<string, number>;
}

/** mig-parted configs found in ConfigMaps (`version` + `mig-configs` documents in any data key). */
function migConfigs(objects: readonly any[]): Map<string, MigConfigEntry[]> {
  const out = new Map<string, MigConfigEntry[]>();
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || !o.data) continue;
    for (const text of Object.values(o.data)) {
      if (typeof text !== 'string' || !text.includes('mig-configs')) continue;
      let doc: any;
      try {
        doc = parseYaml(text);
      } catch {
        continue;
      }
      for (const [name, entries] of Object.entries(doc?.['mig-configs'] ?? {})) {
        if (Array.isArray(entries)) out.set(name, entries as MigConfigEntry[]);
      }
    }
  }
  return out;
}

interface TimeSlicing {
  readonly renameByDefault?: boolean;
  readonly resources?: readonly { readonly name: string; readonly replicas: number }[];
}

/** Device-plugin configs with time-slicing, by config name (the ConfigMap data key). */
function timeSlicingConfigs(objects: readonly any[]): Map<string, TimeSlicing> {
  const out = new Map<string, TimeSlicing>();
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || !o.data) continue;
    for (const [key, text] of Object.entries(o.data)) {
      if (typeof text !== 'string' || !text.includes('timeSlicing')) continue;
      try {
        const ts = parseYaml(text)?.sharing?.timeSlicing;
        if (ts) out.set(key.replace(/\.ya?ml$/, ''), ts as TimeSlicing);
      } catch {
        continue;
      }
    }
  }
  return out;
}

/** Applies a time-slicing config to a layout's resources: a shared resource keeps its name, or gets `.shared` with `renameByDefault`. */
function timeSliced(base: { resources: string[]; layout: string }, ts: TimeSlicing | undefined): { resources: string[]; layout: string } {
  if (!ts) return base;
  const shared = new Map((ts.resources ?? []).map((r) => [r.name, r.replicas]));
  const resources = base.resources.map((r) => (shared.has(r) && ts.renameByDefault ? `${r}.shared` : r));
  const notes = base.resources.filter((r) => shared.has(r)).map((r) => `${r.replace('nvidia.com/', '')} time-sliced ×${shared.get(r)}`);
  return { resources, layout: notes.length ? `${base.layout} (${notes.join(', ')})` : base.layout };
}

/** Strategy of the GPU operator (ClusterPolicy or HelmRelease values), `mixed` when none is found. */
function migStrategy(objects: readonly any[]): 'mixed' | 'single' {
  for (const o of objects) {
    const s = o?.kind === 'ClusterPolicy' ? o.spec?.mig?.strategy : o?.kind === 'HelmRelease' ? o.spec?.values?.mig?.strategy : undefined;
    if (s === 'single' || s === 'mixed') return s;
  }
  return 'mixed';
}

function layoutOf(config: string | undefined, configs: Map<string, MigConfigEntry[]>, strategy: 'mixed' | 'single'): { resources: string[]; layout: string } {
  const entries = config === undefined ? undefined : configs.get(config);
  if (!entries) {
    // No MIG config (or all-disabled, or one this tree does not render): whole GPUs.
    return { resources: [WHOLE_GPU_RESOURCE], layout: config === undefined || config === 'all-disabled' ? 'whole GPUs' : `${config} (not rendered)` };
  }
  const resources: string[] = [];
  const profiles: string[] = [];
  const add = (list: string[], v: string) => (list.includes(v) ? undefined : list.push(v));
  for (const e of entries) {
    if (e['mig-enabled'] === false || !e['mig-devices']) {
      add(resources, WHOLE_GPU_RESOURCE);
      add(profiles, 'whole');
      continue;
    }
    for (const profile of Object.keys(e['mig-devices'])) {
      add(profiles, profile);
      add(resources, strategy === 'single' ? WHOLE_GPU_RESOURCE : `nvidia.com/mig-${profile.replace(/\+/g, '.')}`);
    }
  }
  // largest slices first, as operators read layouts (`3g.40gb, 2g.20gb, 1g.10gb`); whole GPUs first of all
  const size = (p: string) => (p === 'whole' ? 8 : parseInt(p, 10) || 0);
  return { resources, layout: [...profiles].sort((a, b) => size(b) - size(a) || a.localeCompare(b)).join(', ') };
}

/**
 * The kinds `collectFacts` reads. It drops every other object first, so a check that reads a kind missing here sees
 * nothing (and its tests fail), and `ServingPlatform.check` may serialise only objects of these kinds.
 */
export const CHECKED_KINDS: ReadonlySet<string> = new Set([
  'ClusterPolicy',
  'ConfigMap',
  'Deployment',
  'HelmRelease',
  'HorizontalPodAutoscaler',
  'LimitRange',
  'Namespace',
  'NodePool',
  'ResourceQuota',
  'ScaledObject',
]);

/** Collects the facts the checks need from synthesized objects (`chart.toJson()`). */
export function collectFacts(all: readonly any[]): PlatformFacts {
  const objects = all.filter((o) => CHECKED_KINDS.has(o?.kind));
  const nodePools = nodePoolFactsOf(objects);
  const pools = poolFactsOf(objects, autoscaledMaxima(objects));
  return { nodePools, pools, quotas: quotaFactsOf(objects), limitDefaults: limitDefaultsOf(objects), routers: routerFactsOf(objects) };
}

/** Karpenter NodePools: labels (with single-value `In` requirements), taints, the GPU resources and layout of a node. */
function nodePoolFactsOf(objects: readonly any[]): NodePoolFacts[] {
  const configs = migConfigs(objects);
  const strategy = migStrategy(objects);
  const sharing = timeSlicingConfigs(objects);
  const nodePools: NodePoolFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'NodePool' || !String(o.apiVersion).startsWith('karpenter.sh/')) continue;
    const template = o.spec?.template ?? {};
    const labels: Record<string, string> = { 'karpenter.sh/nodepool': o.metadata?.name, ...(template.metadata?.labels ?? {}) };
    for (const r of template.spec?.requirements ?? []) {
      if (r.operator === 'In' && Array.isArray(r.values) && r.values.length === 1) labels[r.key] = r.values[0];
    }
    const { resources, layout } = timeSliced(layoutOf(labels[MIG_CONFIG_LABEL], configs, strategy), sharing.get(labels[DEVICE_PLUGIN_CONFIG_LABEL]));
    const requirements = nodePoolRequirements(o);
    nodePools.push({ name: o.metadata?.name, labels, taints: template.spec?.taints ?? [], resources, layout, requirements, instanceTypes: nodePoolInstanceTypes(requirements) });
  }

  return nodePools;
}

/** `namespace/deployment` → the maximum replicas its HPA or ScaledObject allows. */
function autoscaledMaxima(objects: readonly any[]): Map<string, number> {
  const scaled = new Map<string, number>();
  for (const o of objects) {
    const ns = o?.metadata?.namespace ?? '';
    if (o?.kind === 'HorizontalPodAutoscaler' && o.spec?.scaleTargetRef?.kind === 'Deployment') {
      scaled.set(`${ns}/${o.spec.scaleTargetRef.name}`, o.spec.maxReplicas);
    }
    if (o?.kind === 'ScaledObject' && (o.spec?.scaleTargetRef?.kind ?? 'Deployment') === 'Deployment') {
      // KEDA's default maxReplicaCount is 100.
      scaled.set(`${ns}/${o.spec.scaleTargetRef.name}`, o.spec.maxReplicaCount ?? 100);
    }
  }

  return scaled;
}

/** Deployments that request GPU resources: requests, node requirements, tolerations, models loaded at start, maximum replicas. */
function poolFactsOf(objects: readonly any[], scaled: ReadonlyMap<string, number>): PoolFacts[] {
  const pools: PoolFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'Deployment') continue;
    const pod = o.spec?.template?.spec ?? {};
    const gpuResources: Record<string, number> = {};
    const models: string[] = [];
    const { cpu: cpuRequest, memory: memoryRequest } = podRequests(pod);
    let unlimitedCpuRequest: number | undefined;
    let unlimitedMemoryRequest: number | undefined;
    for (const c of pod.containers ?? []) {
      const { cpu, memory: mem } = containerRequests(c);
      if (c.resources?.limits?.cpu === undefined) unlimitedCpuRequest = Math.max(unlimitedCpuRequest ?? 0, cpu);
      if (c.resources?.limits?.memory === undefined) unlimitedMemoryRequest = Math.max(unlimitedMemoryRequest ?? 0, mem);
      const limits = c.resources?.limits ?? c.resources?.requests ?? {};
      for (const [k, v] of Object.entries(limits)) {
        if (k.startsWith('nvidia.com/')) gpuResources[k] = (gpuResources[k] ?? 0) + (num(v) ?? 0);
      }
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) {
        const m = /^--load-model=(.+)$/.exec(String(a));
        if (m) models.push(m[1]);
      }
    }
    if (Object.keys(gpuResources).length === 0) continue;
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name;
    const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    pools.push({
      name,
      namespace: ns,
      gpuResources,
      maxReplicas: scaled.get(`${ns}/${name}`) ?? o.spec?.replicas ?? 1,
      nodeSelector: pod.nodeSelector ?? {},
      affinityTerms: terms.map((t: any) => (t.matchExpressions ?? []) as NodeRequirement[]),
      tolerations: pod.tolerations ?? [],
      models,
      cpuRequest,
      memoryRequest,
      unlimitedCpuRequest,
      unlimitedMemoryRequest,
    });
  }

  return pools;
}

/** ResourceQuotas with their hard limits, and the team of their namespace. */
function quotaFactsOf(objects: readonly any[]): QuotaFacts[] {
  const teams = new Map<string, string>();
  for (const o of objects) {
    if (o?.kind === 'Namespace' && o.metadata?.labels?.[TEAM_LABEL]) teams.set(o.metadata.name, o.metadata.labels[TEAM_LABEL]);
  }
  const quotas: QuotaFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'ResourceQuota') continue;
    const hard: Record<string, number> = {};
    for (const [k, v] of Object.entries(o.spec?.hard ?? {})) {
      const n = parseQuantity(v);
      if (n !== undefined) hard[k] = n;
    }
    const ns = o.metadata?.namespace ?? '';
    quotas.push({ namespace: ns, team: teams.get(ns), hard });
  }
  return quotas;
}

/** Default container limits of LimitRanges. */
function limitDefaultsOf(objects: readonly any[]): LimitDefaultsFacts[] {
  const limitDefaults: LimitDefaultsFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'LimitRange') continue;
    for (const l of o.spec?.limits ?? []) {
      if (l.type !== 'Container' || !l.default) continue;
      limitDefaults.push({ namespace: o.metadata?.namespace ?? '', cpu: parseQuantity(l.default.cpu), memory: parseQuantity(l.default.memory) });
    }
  }
  return limitDefaults;
}

/** Model routers (their ConfigMaps) and the models each serves. */
function routerFactsOf(objects: readonly any[]): RouterFacts[] {
  const routers: RouterFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || o.metadata?.labels?.['app.kubernetes.io/name'] !== 'gpufleet-router') continue;
    const text = o.data?.['router.yaml'];
    if (typeof text !== 'string') continue;
    let doc: any;
    try {
      doc = parseYaml(text);
    } catch {
      continue;
    }
    const models = (Array.isArray(doc?.models) ? doc.models : []).map((m: any) => String(m?.name));
    routers.push({ name: o.metadata?.labels?.['app.kubernetes.io/instance'] ?? o.metadata?.name, namespace: o.metadata?.namespace ?? '', models });
  }
  return routers;
}

/** Karpenter's requirements of a node pool: given, or its labels as `In` requirements. */
function requirementsOf(np: NodePoolFacts): ReadonlyMap<string, readonly LabelRequirement[]> {
  return np.requirements ?? new Map(Object.entries(np.labels).map(([k, v]) => [k, [{ key: k, operator: 'In', values: [v] }]]));
}

/** The pool's node requirements: nodeSelector as `In`, one alternative per required node-affinity term. */
function termsOf(pool: PoolFacts): LabelRequirement[][] {
  return podRequirementTerms({
    nodeSelector: pool.nodeSelector,
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: pool.affinityTerms.map((t) => ({ matchExpressions: t })) } } },
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
  const perTerm = termsOf(pool).map((term) => term.filter((r) => r.operator !== 'NotIn' && r.operator !== 'DoesNotExist' && !known(r.key)).map((r) => r.key));
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
  const pools = [...facts.pools].sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
  const repo = options.repositoryModels ? new Set(options.repositoryModels) : undefined;
  for (const pool of pools) {
    problems.push(...placementProblems(pool, facts.nodePools));
    if (repo) problems.push(...missingModelProblems(`pool "${pool.name}" loads model`, pool.models, repo));
  }
  if (repo) {
    const routers = [...(facts.routers ?? [])].sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
    for (const r of routers) problems.push(...missingModelProblems(`router "${r.name}" (namespace ${r.namespace}) loads model`, r.models, repo, ' on demand'));
  }
  problems.push(...limitDefaultProblems(pools, facts.limitDefaults ?? []));
  const namespaces = [...new Set(pools.map((p) => p.namespace))].sort();
  for (const ns of namespaces) {
    const quotas = facts.quotas.filter((q) => q.namespace === ns);
    if (quotas.length === 0) continue;
    problems.push(...quotaProblems(ns, pools.filter((p) => p.namespace === ns), quotas));
  }
  return problems;
}

/** Whether the pool's pods get a node: one GPU resource, node labels some node pool declares, a layout that provides it, taints tolerated. */
function placementProblems(pool: PoolFacts, nodePools: readonly NodePoolFacts[]): string[] {
  const problems: string[] = [];
  const requested = Object.entries(pool.gpuResources);
  const units = requested.reduce((s, [, n]) => s + n, 0);
  if (units !== 1) {
    problems.push(`pool "${pool.name}" requests ${units} GPU resources (${requested.map(([r, n]) => `${r}: ${n}`).join(', ')}); a Triton pool takes exactly one GPU or MIG slice`);
  }
  const candidates = nodePools.filter((np) => admits(np, pool));
  const unknown = unknownKeys(nodePools, pool);
  for (const key of unknown) {
    problems.push(`pool "${pool.name}" requires node label "${key}", which no node pool declares and Karpenter does not know (node pools: ${nodePools.map((n) => n.name).join(', ') || 'none'}); Karpenter launches no node for its pods`);
  }
  for (const [resource] of requested) {
    if (unknown.length > 0) continue;
    if (candidates.length === 0) {
      problems.push(`pool "${pool.name}" selects nodes with ${showSelector(pool)}, but no node pool's nodes carry those labels (node pools: ${nodePools.map((n) => n.name).join(', ') || 'none'})`);
      continue;
    }
    if (!candidates.some((np) => np.resources.includes(resource))) {
      const scope = candidates.length === nodePools.length ? "no node pool's layout provides it" : `no node pool it selects (${showSelector(pool)}) provides it`;
      problems.push(`pool "${pool.name}" requests ${resource}, but ${scope} (layouts: ${showLayouts(candidates)})`);
    }
  }
  const hosts = candidates.filter((np) => requested.some(([r]) => np.resources.includes(r)));
  for (const np of hosts) {
    for (const taint of np.taints) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!pool.tolerations.some((t) => tolerates(t, taint))) {
        problems.push(`pool "${pool.name}" does not tolerate taint ${showTaint(taint)} of node pool "${np.name}" (tolerations: ${pool.tolerations.map(showToleration).join(', ') || 'none'})`);
      }
    }
    for (const t of pool.tolerations) {
      if (!t.key) continue;
      if (!np.taints.some((taint) => tolerates(t, taint))) {
        problems.push(`pool "${pool.name}" tolerates ${showToleration(t)}, but node pool "${np.name}" has no such taint (taints: ${np.taints.map(showTaint).join(', ') || 'none'})`);
      }
    }
  }
  return problems;
}

/** Models the repository does not hold, one message each. */
function missingModelProblems(subject: string, models: readonly string[], repo: ReadonlySet<string>, how = ''): string[] {
  return models.filter((m) => !repo.has(m))
    .map((m) => `${subject} "${m}"${how}, but the model repository has no model "${m}" (repository: ${[...repo].sort().join(', ') || 'empty'})`);
}

/** A LimitRange default limit lands on containers without a limit; below their request, the API server rejects the pod. */
function limitDefaultProblems(pools: readonly PoolFacts[], limitDefaults: readonly LimitDefaultsFacts[]): string[] {
  const problems: string[] = [];
  for (const pool of pools) {
    for (const d of limitDefaults.filter((l) => l.namespace === pool.namespace)) {
      if (d.cpu !== undefined && pool.unlimitedCpuRequest !== undefined && pool.unlimitedCpuRequest > d.cpu + 1e-9) {
        problems.push(`pool "${pool.name}" requests cpu ${pool.unlimitedCpuRequest} without a limit, but the LimitRange of namespace "${pool.namespace}" gives such containers a default limit of ${d.cpu}; its pods would be rejected`);
      }
      if (d.memory !== undefined && pool.unlimitedMemoryRequest !== undefined && pool.unlimitedMemoryRequest > d.memory) {
        problems.push(`pool "${pool.name}" requests memory ${showBytes(pool.unlimitedMemoryRequest)} without a limit, but the LimitRange of namespace "${pool.namespace}" gives such containers a default limit of ${showBytes(d.memory)}; its pods would be rejected`);
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
  for (const [r, d] of [...demand].sort(([a], [b]) => a.localeCompare(b))) {
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
