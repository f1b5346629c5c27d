/**
 * The facts `gpufleet check` reasons about, read from the objects of a rendering (the YAML manifests of `dist/`):
 * Karpenter NodePools with their EC2NodeClasses and NodeOverlays, what the GPU operator's device plugin will
 * advertise on their nodes (the mig-parted config their `nvidia.com/mig.config` names, under the operator's MIG
 * strategy, and time-slicing), the GPU workloads with their autoscalers, and the declared prerequisites.
 * Nothing here is taken from gpufleet's declarations: only from the objects, as the consumers read them.
 */
import { parse as parseYaml } from 'yaml';
import { GPU_TYPES, type GpuType, type InstanceType } from '../../catalog';
import {
  LabelRequirement,
  instanceTypeLabels,
  nodePoolInstanceTypes,
  nodePoolRequirements,
  podRequirementTerms,
} from '../gpu/karpenter-requirements';
import { DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL } from '../common/labels';
import { NodeAllocatableOptions } from '../gpu/node-allocatable';
import { ResolvedPrerequisites, readPrerequisites } from '../platform/platform-prerequisites';
import { parseQuantity } from '../common/quantity';
import { compareText } from '../../catalog/text-order';

/** The name of an object for findings: `Kind namespace/name` (or `Kind name` for cluster objects). */
export function objectRef(o: any): string {
  const ns = o?.metadata?.namespace;
  return `${o?.kind ?? '?'} ${ns ? `${ns}/` : ''}${o?.metadata?.name ?? '?'}`;
}

/** One entry of a mig-parted config. */
export interface MigPartedEntry {
  readonly 'device-filter'?: string | readonly string[];
  readonly devices: 'all' | readonly number[];
  readonly 'mig-enabled': boolean;
  readonly 'mig-devices'?: Readonly<Record<string, number>>;
}

/** Time-slicing of a device-plugin config. */
export interface TimeSlicingFacts {
  readonly renameByDefault: boolean;
  readonly replicas: ReadonlyMap<string, number>;
}

/** The GPU operator as its values configure it. */
export interface OperatorFacts {
  readonly ref: string;
  readonly namespace: string;
  readonly strategy: 'mixed' | 'single';
  readonly migConfigName?: string;
  readonly migDefault: string;
  readonly devicePluginConfigName?: string;
  readonly devicePluginDefault?: string;
}

/** A Karpenter NodePool. */
export interface NodePoolModel {
  readonly object: any;
  readonly ref: string;
  readonly name: string;
  readonly requirements: ReadonlyMap<string, readonly LabelRequirement[]>;
  /** Template labels plus `karpenter.sh/nodepool`. */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly { key: string; value?: string; effect: string }[];
  readonly instanceTypes: readonly InstanceType[];
  /** Instance types it names that the catalog does not know. */
  readonly unknownInstanceTypes: readonly string[];
  readonly gpuType?: GpuType;
  /** `spec.limits`, quantities parsed (cores, bytes, counts). */
  readonly limits: Readonly<Record<string, number>>;
  /** kubelet settings of its EC2NodeClass that change allocatable. */
  readonly allocatable: NodeAllocatableOptions;
  readonly migConfig?: string;
  readonly devicePluginConfig?: string;
}

/** A NodeOverlay. */
export interface OverlayModel {
  readonly ref: string;
  readonly name: string;
  readonly weight: number;
  readonly requirements: readonly LabelRequirement[];
  readonly capacity: Readonly<Record<string, number>>;
}

/** A pod template that requests GPU resources, with its replica range. */
export interface GpuWorkload {
  readonly object: any;
  readonly ref: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly podSpec: any;
  /** GPU resources one pod requests (`nvidia.com/gpu`, `nvidia.com/mig-*`). */
  readonly gpu: Readonly<Record<string, number>>;
  /** CPU (millicores) and memory (MiB) one pod requests. */
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly terms: readonly LabelRequirement[][];
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** The autoscaler that sets the range, if any. */
  readonly scaledBy?: string;
}

/** Everything the check reads. */
export interface RenderingModel {
  readonly objects: readonly any[];
  readonly operator?: OperatorFacts;
  readonly migConfigs: ReadonlyMap<string, readonly MigPartedEntry[]>;
  /** Where the mig-parted configs were read from (`ConfigMap ns/name`), if found. */
  readonly migConfigSource?: string;
  readonly devicePluginConfigs: ReadonlyMap<string, TimeSlicingFacts | undefined>;
  readonly nodePools: readonly NodePoolModel[];
  readonly overlays: readonly OverlayModel[];
  readonly workloads: readonly GpuWorkload[];
  readonly prerequisites?: ResolvedPrerequisites;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

function num(v: unknown): number {
  return parseQuantity(v) ?? 0;
}

function operatorOf(objects: readonly any[]): OperatorFacts | undefined {
  for (const o of objects) {
    const values =
      o?.kind === 'HelmRelease' && o.spec?.chart?.spec?.chart === 'gpu-operator'
        ? o.spec.values
        : o?.kind === 'ClusterPolicy'
          ? o.spec
          : undefined;
    if (!values) continue;
    const ns = o.kind === 'HelmRelease' ? (o.spec?.targetNamespace ?? o.metadata?.namespace ?? 'default') : 'gpu-operator';
    return {
      ref: objectRef(o),
      namespace: ns,
      strategy: values.mig?.strategy === 'single' ? 'single' : 'mixed',
      migConfigName: values.migManager?.config?.name,
      migDefault: values.migManager?.config?.default ?? 'all-disabled',
      devicePluginConfigName: values.devicePlugin?.config?.name,
      devicePluginDefault: values.devicePlugin?.config?.default,
    };
  }
  return undefined;
}

function configMap(objects: readonly any[], name: string | undefined, namespace: string): any {
  return name === undefined
    ? undefined
    : objects.find((o) => o?.kind === 'ConfigMap' && o.metadata?.name === name && (o.metadata?.namespace ?? 'default') === namespace);
}

/** mig-parted configs (`version: v1`, `mig-configs`) of one ConfigMap. */
export function migConfigsOf(cm: any): Map<string, MigPartedEntry[]> {
  const out = new Map<string, MigPartedEntry[]>();
  for (const text of Object.values(cm?.data ?? {})) {
    if (typeof text !== 'string') continue;
    const doc = parseYaml(text);
    for (const [name, entries] of Object.entries(doc?.['mig-configs'] ?? {})) {
      if (Array.isArray(entries)) out.set(name, entries as MigPartedEntry[]);
    }
  }
  return out;
}

function devicePluginConfigsOf(cm: any): Map<string, TimeSlicingFacts | undefined> {
  const out = new Map<string, TimeSlicingFacts | undefined>();
  for (const [key, text] of Object.entries(cm?.data ?? {})) {
    if (typeof text !== 'string') continue;
    const ts = parseYaml(text)?.sharing?.timeSlicing;
    out.set(
      key,
      ts
        ? {
            renameByDefault: ts.renameByDefault === true,
            replicas: new Map((ts.resources ?? []).map((r: any) => [String(r.name), Number(r.replicas)])),
          }
        : undefined,
    );
  }
  return out;
}

function gpuTypeOf(instanceTypes: readonly InstanceType[]): GpuType | undefined {
  const ids = [...new Set(instanceTypes.map((i) => i.gpuType))];
  return ids.length === 1 ? GPU_TYPES.find((g) => g.id === ids[0]) : undefined;
}

function nodePoolsOf(objects: readonly any[]): NodePoolModel[] {
  const classes = new Map(objects.filter((o) => o?.kind === 'EC2NodeClass').map((o) => [o.metadata?.name, o]));
  return objects
    .filter((o) => o?.kind === 'NodePool' && String(o.apiVersion).startsWith('karpenter.sh/'))
    .map((o) => {
      const requirements = nodePoolRequirements(o);
      const instanceTypes = nodePoolInstanceTypes(requirements);
      const named = (requirements.get('node.kubernetes.io/instance-type') ?? [])
        .filter((r) => r.operator === 'In')
        .flatMap((r) => r.values ?? []);
      const template = o.spec?.template ?? {};
      const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}), 'karpenter.sh/nodepool': o.metadata?.name };
      const kubelet = classes.get(template.spec?.nodeClassRef?.name)?.spec?.kubelet ?? {};
      const mib = (v: unknown) => (parseQuantity(v) === undefined ? undefined : parseQuantity(v)! / 2 ** 20);
      const milli = (v: unknown) => (parseQuantity(v) === undefined ? undefined : Math.round(parseQuantity(v)! * 1000));
      const limits: Record<string, number> = {};
      for (const [k, v] of Object.entries(o.spec?.limits ?? {})) limits[k] = num(v);
      return {
        object: o,
        ref: objectRef(o),
        name: o.metadata?.name,
        requirements,
        labels,
        taints: template.spec?.taints ?? [],
        instanceTypes,
        unknownInstanceTypes: named.filter((n) => !instanceTypes.some((i) => i.name === n)),
        gpuType: gpuTypeOf(instanceTypes),
        limits,
        allocatable: {
          kubeReservedMemoryMiB: mib(kubelet.kubeReserved?.memory),
          kubeReservedCpuMillis: milli(kubelet.kubeReserved?.cpu),
          systemReserved: { cpuMillis: milli(kubelet.systemReserved?.cpu), memoryMiB: mib(kubelet.systemReserved?.memory) },
          evictionHardMemoryMiB: mib(kubelet.evictionHard?.['memory.available']),
        },
        migConfig: labels[MIG_CONFIG_LABEL],
        devicePluginConfig: labels[DEVICE_PLUGIN_CONFIG_LABEL],
      };
    });
}

function overlaysOf(objects: readonly any[]): OverlayModel[] {
  return objects
    .filter((o) => o?.kind === 'NodeOverlay')
    .map((o) => ({
      ref: objectRef(o),
      name: o.metadata?.name,
      weight: Number(o.spec?.weight ?? 0),
      requirements: (o.spec?.requirements ?? []) as LabelRequirement[],
      capacity: Object.fromEntries(Object.entries(o.spec?.capacity ?? {}).map(([k, v]) => [k, num(v)])),
    }));
}

/** The pod template of a workload object. */
function podSpecOf(o: any): any {
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

/**
 * CPU (millicores), memory (MiB) and GPU resources one pod requests: per resource the larger of the sum over containers
 * and the largest init container.
 */
function podRequestsOf(pod: any): { cpuMillis: number; memoryMiB: number; gpu: Record<string, number> } {
  const sum: Record<string, number> = {};
  const add = (to: Record<string, number>, c: any) => {
    const req = { ...(c?.resources?.limits ?? {}), ...(c?.resources?.requests ?? {}) };
    for (const [k, v] of Object.entries(req)) to[k] = (to[k] ?? 0) + num(v);
  };
  for (const c of pod?.containers ?? []) add(sum, c);
  for (const c of pod?.initContainers ?? []) {
    const one: Record<string, number> = {};
    add(one, c);
    for (const [k, v] of Object.entries(one)) sum[k] = Math.max(sum[k] ?? 0, v);
  }
  const gpu = Object.fromEntries(
    Object.entries(sum).filter(([k, v]) => (k === 'nvidia.com/gpu' || k.startsWith('nvidia.com/mig-')) && v > 0),
  );
  return { cpuMillis: Math.round((sum.cpu ?? 0) * 1000), memoryMiB: (sum.memory ?? 0) / 2 ** 20, gpu };
}

function workloadsOf(objects: readonly any[]): GpuWorkload[] {
  const scalers = new Map<string, { min: number; max: number; ref: string }>();
  for (const o of objects) {
    const ns = o?.metadata?.namespace ?? 'default';
    const target = o?.spec?.scaleTargetRef;
    if (o?.kind === 'HorizontalPodAutoscaler' && target?.name) {
      scalers.set(`${target.kind}/${ns}/${target.name}`, { min: o.spec.minReplicas ?? 1, max: o.spec.maxReplicas, ref: objectRef(o) });
    }
    if (o?.kind === 'ScaledObject' && target?.name) {
      // KEDA's defaults: minReplicaCount 0, maxReplicaCount 100 (keda v2.20.2 ScaledObject CRD)
      scalers.set(`${target.kind ?? 'Deployment'}/${ns}/${target.name}`, {
        min: o.spec.minReplicaCount ?? 0,
        max: o.spec.maxReplicaCount ?? 100,
        ref: objectRef(o),
      });
    }
  }
  const out: GpuWorkload[] = [];
  for (const o of objects) {
    if (!WORKLOAD_KINDS.has(o?.kind)) continue;
    const pod = podSpecOf(o);
    const { cpuMillis, memoryMiB, gpu } = podRequestsOf(pod);
    if (Object.keys(gpu).length === 0) continue;
    const ns = o.metadata?.namespace ?? 'default';
    const scaler = scalers.get(`${o.kind}/${ns}/${o.metadata?.name}`);
    const replicas = o.kind === 'Pod' || o.kind === 'Job' || o.kind === 'CronJob' ? (o.spec?.parallelism ?? 1) : (o.spec?.replicas ?? 1);
    out.push({
      object: o,
      ref: objectRef(o),
      kind: o.kind,
      namespace: ns,
      name: o.metadata?.name,
      podSpec: pod,
      gpu,
      cpuMillis,
      memoryMiB,
      terms: podRequirementTerms(pod),
      minReplicas: scaler ? scaler.min : replicas,
      maxReplicas: scaler ? scaler.max : replicas,
      ...(scaler ? { scaledBy: scaler.ref } : {}),
    });
  }
  return out.sort((a, b) => compareText(a.ref, b.ref));
}

/** Reads the model of a rendering. */
export function readRendering(objects: readonly any[]): RenderingModel {
  const operator = operatorOf(objects);
  const migCm = operator ? configMap(objects, operator.migConfigName, operator.namespace) : undefined;
  const dpCm = operator ? configMap(objects, operator.devicePluginConfigName, operator.namespace) : undefined;
  return {
    objects,
    operator,
    migConfigs: migCm ? migConfigsOf(migCm) : new Map(),
    ...(migCm ? { migConfigSource: objectRef(migCm) } : {}),
    devicePluginConfigs: dpCm ? devicePluginConfigsOf(dpCm) : new Map(),
    nodePools: nodePoolsOf(objects).sort((a, b) => compareText(a.name, b.name)),
    overlays: overlaysOf(objects).sort((a, b) => compareText(a.name, b.name)),
    workloads: workloadsOf(objects),
    prerequisites: readPrerequisites(objects),
  };
}

/** The labels a node of this NodePool carries at launch on this instance type (template labels, well-known labels). */
export function launchLabels(np: NodePoolModel, it: InstanceType): Record<string, string> {
  const single = Object.fromEntries(
    [...np.requirements]
      .filter(([, rs]) => rs.length === 1 && rs[0].operator === 'In' && (rs[0].values ?? []).length === 1)
      .map(([k, rs]) => [k, rs[0].values![0]]),
  );
  return { ...single, ...instanceTypeLabels(it), ...np.labels };
}

/** The GPU type of a mig-parted entry's device filter (PCI device ids), if the catalog knows it. */
export function gpuTypesOfFilter(filter: string | readonly string[] | undefined): GpuType[] {
  if (filter === undefined) return [...GPU_TYPES];
  const ids = (typeof filter === 'string' ? [filter] : filter).map((f) => f.toUpperCase().replace(/^0X/, '0x'));
  return GPU_TYPES.filter((g) => g.pciDeviceIds.some((p) => ids.includes(p.toUpperCase().replace(/^0X/, '0x'))));
}
