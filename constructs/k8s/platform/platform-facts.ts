/**
 * The facts the platform checks (`platform-checks.ts`) read from a rendering's objects (`chart.toJson()`), not from
 * the declaration, so they hold for anything added to the tree, hand-written or planned: node pools
 * (`node-pool-facts.ts`), GPU workloads with their requests, node requirements, tolerations, models and maximum
 * replicas, namespaces' quotas and LimitRange defaults, and the models each model router loads on demand.
 */
import { parse as parseYaml } from 'yaml';
import { parseQuantity } from '../common/quantity';
import { TEAM_LABEL } from '../common/labels';
import { nodePoolFactsOf, type NodePoolFacts } from './node-pool-facts';

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
      limitDefaults.push({
        namespace: o.metadata?.namespace ?? '',
        cpu: parseQuantity(l.default.cpu),
        memory: parseQuantity(l.default.memory),
      });
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
    routers.push({
      name: o.metadata?.labels?.['app.kubernetes.io/instance'] ?? o.metadata?.name,
      namespace: o.metadata?.namespace ?? '',
      models,
    });
  }
  return routers;
}
