/**
 * A Karpenter v1 GPU node pool: `NodePool` + `EC2NodeClass` for GPU instance types of the catalog, labelled with
 * the MIG layout the GPU operator applies, tainted for GPU pods only, with disruption settings that leave loaded
 * Triton pods alone, and optionally a `NodeOverlay` that tells Karpenter the MIG resources the layout advertises.
 */
import { Construct } from 'constructs';
import { InstanceType, defaultInstanceType, getInstanceType, resolveGpuType, supportsMig } from '../../catalog';
import {
  Ec2NodeClass,
  Ec2NodeClassSpecBlockDeviceMappings,
  Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType,
} from '../../../imports/karpenter-ec2nodeclass-karpenter.k8s.aws';
import {
  NodeOverlay,
  NodeOverlaySpecCapacity,
  NodeOverlaySpecRequirementsOperator,
} from '../../../imports/karpenter-nodeoverlay-karpenter.sh';
import {
  NodePool,
  NodePoolSpecDisruptionBudgets,
  NodePoolSpecDisruptionConsolidationPolicy,
  NodePoolSpecLimits,
  NodePoolSpecTemplateSpecRequirementsOperator,
  NodePoolSpecTemplateSpecTaintsEffect,
} from '../../../imports/karpenter-nodepool-karpenter.sh';
import { GPU_TAINT, MigStrategy, WHOLE_GPU_RESOURCE } from './gpu-resources';
import { GpuNodeImage } from './gpu-operator-values';
import { GPU_NODE_KUBE_RESERVED } from './node-allocatable';
import { DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL, POOL_LABEL } from '../common/labels';
import { MIG_ALL_DISABLED } from './mig-config';
import { MigLayout } from './mig-layout';
import { assertDnsLabel, assertLabelValue } from '../common/names';
import { sortRecord } from '../common/order';
import { compareText } from '../../catalog/text-order';

/**
 * The EKS-optimized AMI family of the GPU nodes (Karpenter alias `<family>@<version>`; Karpenter picks the NVIDIA variant
 * for GPU instances).
 */
export type GpuNodeAmiFamily = 'al2023' | 'bottlerocket';
/** Karpenter capacity types. */
export type CapacityType = 'on-demand' | 'spot' | 'reserved';

/** Props of `GpuNodePool`. */
export interface GpuNodePoolProps {
  /** Pool name (DNS-1123 label): the NodePool, EC2NodeClass and the `gpufleet.io/pool` label value. */
  readonly name: string;
  /** Catalog GPU type id, e.g. `H100-80GB`. */
  readonly gpuType: string;
  /** EKS cluster name: the default subnet and security-group selectors use the tag `karpenter.sh/discovery=<clusterName>`. */
  readonly clusterName: string;
  /** IAM role name of the nodes (EC2NodeClass `role`). */
  readonly nodeRole: string;
  /**
   * EC2 instance types (all must carry `gpuType`).
   * @default - the catalog's default instance type of the GPU (e.g. p5.48xlarge for H100-80GB)
   */
  readonly instanceTypes?: readonly string[];
  /**
   * The MIG layout of the pool's nodes (label `nvidia.com/mig.config=<layout.name>`); add it to the `MigConfig` too.
   * @default - `all-disabled` on MIG-capable GPUs, no label on others
   */
  readonly migLayout?: MigLayout;
  /**
   * Device-plugin config (a `TimeSlicingConfig` name) for the nodes (label `nvidia.com/device-plugin.config`).
   * @default - the GPU operator's default device-plugin config
   */
  readonly devicePluginConfig?: string;
  /**
   * Capacity types.
   * @default ['on-demand']
   */
  readonly capacityTypes?: readonly CapacityType[];
  /**
   * Most nodes of the pool: the NodePool's `limits` on `cpu` are this × the vCPUs of the largest instance type (CPU is
   * the one resource a NodeOverlay can not change, so the limit counts nodes whatever the overlays advertise).
   * @default 2
   */
  readonly maxNodes?: number;
  /**
   * AMI family.
   * @default 'al2023'
   */
  readonly amiFamily?: GpuNodeAmiFamily;
  /**
   * AMI version of the alias; pin one (e.g. `v20260801`) in production, `latest` drifts on every AMI release.
   * @default 'latest'
   */
  readonly amiVersion?: string;
  /**
   * Tags that select the subnets.
   * @default { 'karpenter.sh/discovery': clusterName }
   */
  readonly subnetSelectorTags?: Readonly<Record<string, string>>;
  /**
   * Tags that select the security groups.
   * @default { 'karpenter.sh/discovery': clusterName }
   */
  readonly securityGroupSelectorTags?: Readonly<Record<string, string>>;
  /**
   * Size of the volume that holds container images (Triton images are large).
   * @default '200Gi'
   */
  readonly volumeSize?: string;
  /**
   * How long a node must be empty before Karpenter removes it (consolidation is `WhenEmpty` only: loaded Triton pods are
   * never moved to save cost).
   * @default '30m'
   */
  readonly consolidateAfter?: string;
  /**
   * Disruption budgets.
   * @default [{ nodes: '1' }] - at most one node of the pool disrupted at a time
   */
  readonly disruptionBudgets?: readonly NodePoolSpecDisruptionBudgets[];
  /**
   * Node lifetime before Karpenter replaces it (`Never` to keep nodes).
   * @default '720h'
   */
  readonly expireAfter?: string;
  /**
   * Render Karpenter `NodeOverlay`s that tell Karpenter the GPU resources the device plugin will advertise: the layout's
   * MIG resources and its whole GPUs (`nvidia.com/gpu`, 0 when every GPU is cut), or the time-sliced `nvidia.com/gpu`
   * count. Karpenter otherwise sees only the instance's GPUs. Needs Karpenter's NodeOverlay feature gate (alpha, off by
   * default: `--feature-gates NodeOverlay=true`).
   * @default - true when `migLayout` or `timeSlicingReplicas` is given
   */
  readonly nodeOverlay?: boolean;
  /**
   * Replicas of every GPU under the device-plugin config (`devicePluginConfig`, time-slicing without rename): each node
   * advertises GPUs × this `nvidia.com/gpu`.
   * @default - no time-slicing
   */
  readonly timeSlicingReplicas?: number;
  /**
   * The GPU operator's MIG strategy, for the NodeOverlay's resource names.
   * @default 'mixed'
   */
  readonly migStrategy?: MigStrategy;
  /**
   * Extra node labels.
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * NodePool weight (higher is tried first).
   * @default - none
   */
  readonly weight?: number;
}

const DURATION = /^(([0-9]+(s|m|h))+|Never)$/;
const VOLUME_SIZE = /^[0-9]+(Gi|G|Ti|T)$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The catalog instance types of a node pool: the named ones (each must carry `gpuType`), sorted and unique, or the
 * catalog's default instance type of the GPU. Throws naming the prop and the value.
 */
export function gpuNodePoolInstanceTypes(pool: string, gpuType: string, names?: readonly string[]): InstanceType[] {
  if (names !== undefined && names.length === 0) throw new Error('instanceTypes: expected at least one instance type, got none');
  const resolved =
    names !== undefined
      ? names.map((n, i) => {
          let it: InstanceType;
          try {
            it = getInstanceType(n);
          } catch (e) {
            throw new Error(`instanceTypes[${i}]: ${(e as Error).message}`, { cause: e });
          }
          if (it.gpuType !== gpuType) {
            throw new Error(`instanceTypes[${i}]: ${it.name} carries ${it.gpuType} GPUs, the pool "${pool}" is for ${gpuType}`);
          }
          return it;
        })
      : [
          defaultInstanceType(gpuType) ??
            fail(`instanceTypes: the catalog has no priced instance type for ${gpuType}; list instanceTypes explicitly`),
        ];
  const unique = new Map(resolved.map((i) => [i.name, i]));
  return [...unique.values()].sort((a, b) => compareText(a.name, b.name));
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * A Karpenter GPU node pool.
 *
 * ```ts
 * new GpuNodePool(chart, 'H100Pool', {
 *   name: 'h100-mig', gpuType: 'H100-80GB', instanceTypes: ['p5.48xlarge'],
 *   migLayout: layout, clusterName: 'prod', nodeRole: 'KarpenterNodeRole-prod',
 * });
 * ```
 */
export class GpuNodePool extends Construct {
  public readonly name: string;
  public readonly gpuType: string;
  public readonly instanceTypes: readonly InstanceType[];
  /** The `nvidia.com/mig.config` value, undefined for GPUs without MIG. */
  public readonly migConfigName?: string;
  /** The node image as `gpuOperatorValues` names it. */
  public readonly nodeImage: GpuNodeImage;
  /** Node labels of the pool. */
  public readonly labels: Readonly<Record<string, string>>;
  public readonly nodePool: NodePool;
  public readonly nodeClass: Ec2NodeClass;
  /** NodeOverlays advertising the GPU resources, one per GPU count among the instance types. */
  public readonly nodeOverlays: readonly NodeOverlay[];
  /** Most nodes of the pool (the `cpu` limit / the largest instance's vCPUs). */
  public readonly maxNodes: number;
  /** The MIG layout of the nodes, if any. */
  public readonly layout?: MigLayout;
  /** The GPU operator's MIG strategy the overlays assume. */
  public readonly migStrategy: MigStrategy;
  /** Time-slicing replicas of every GPU, if time-sliced. */
  public readonly timeSlicingReplicas?: number;

  public constructor(scope: Construct, id: string, props: GpuNodePoolProps) {
    super(scope, id);
    assertDnsLabel('name', props.name);
    this.name = props.name;
    const gpu = resolveGpuType(props.gpuType);
    this.gpuType = gpu.id;
    this.instanceTypes = gpuNodePoolInstanceTypes(this.name, this.gpuType, props.instanceTypes);
    assertLabelValue('clusterName', props.clusterName);
    if (typeof props.nodeRole !== 'string' || !/^[\w+=,.@-]{1,64}$/.test(props.nodeRole)) {
      throw new Error(`nodeRole: expected an IAM role name (1-64 of letters, digits and +=,.@_-), got ${JSON.stringify(props.nodeRole)}`);
    }
    const layout = props.migLayout;
    if (layout) checkMigLayout(this.name, gpu.id, layout, this.instanceTypes);
    this.layout = layout;
    this.migConfigName = layout?.name ?? (supportsMig(gpu) ? MIG_ALL_DISABLED : undefined);
    const ami = checkedAmi(props);
    this.nodeImage = ami.family === 'al2023' ? 'al2023-nvidia' : 'bottlerocket-nvidia';
    const capacityTypes = checkedCapacityTypes(props.capacityTypes);
    const maxNodes = props.maxNodes ?? 2;
    if (!Number.isInteger(maxNodes) || maxNodes < 1) throw new Error(`maxNodes: expected an integer >= 1, got ${maxNodes}`);
    for (const [prop, value] of [
      ['consolidateAfter', props.consolidateAfter ?? '30m'],
      ['expireAfter', props.expireAfter ?? '720h'],
    ]) {
      if (!DURATION.test(value)) throw new Error(`${prop}: expected a duration such as 30m, 1h or Never, got ${JSON.stringify(value)}`);
    }
    const volumeSize = props.volumeSize ?? '200Gi';
    if (!VOLUME_SIZE.test(volumeSize)) throw new Error(`volumeSize: expected a size such as 200Gi, got ${JSON.stringify(volumeSize)}`);
    if (props.devicePluginConfig !== undefined) assertLabelValue('devicePluginConfig', props.devicePluginConfig);
    checkNodeLabels(props.labels ?? {});

    this.labels = sortRecord({
      ...(props.labels ?? {}),
      [POOL_LABEL]: this.name,
      ...(this.migConfigName ? { [MIG_CONFIG_LABEL]: this.migConfigName } : {}),
      ...(props.devicePluginConfig ? { [DEVICE_PLUGIN_CONFIG_LABEL]: props.devicePluginConfig } : {}),
    });
    this.nodeClass = this.renderNodeClass(props, ami, volumeSize);
    this.maxNodes = maxNodes;
    this.nodePool = this.renderNodePool(props, capacityTypes);
    this.nodePool.addDependency(this.nodeClass);
    const replicas = props.timeSlicingReplicas;
    if (replicas !== undefined) {
      if (!Number.isInteger(replicas) || replicas < 2)
        throw new Error(`timeSlicingReplicas: expected an integer >= 2, got ${JSON.stringify(replicas)}`);
      if (layout) throw new Error(`timeSlicingReplicas: time-slicing applies to whole GPUs, but the pool has MIG layout "${layout.name}"`);
      if (props.devicePluginConfig === undefined)
        throw new Error('timeSlicingReplicas: needs the devicePluginConfig that time-slices the GPUs');
    }
    this.migStrategy = props.migStrategy ?? 'mixed';
    this.timeSlicingReplicas = replicas;
    this.nodeOverlays =
      (props.nodeOverlay ?? (layout !== undefined || replicas !== undefined)) ? this.renderOverlays(layout, replicas) : [];
  }

  /** The EC2NodeClass: the NVIDIA AMI, the node role, subnets and security groups, volumes, kube-reserved memory. */
  private renderNodeClass(props: GpuNodePoolProps, ami: CheckedAmi, volumeSize: string): Ec2NodeClass {
    const discovery = { 'karpenter.sh/discovery': props.clusterName };
    return new Ec2NodeClass(this, 'NodeClass', {
      metadata: { name: this.name },
      spec: {
        amiSelectorTerms: [{ alias: `${ami.family}@${ami.version}` }],
        role: props.nodeRole,
        subnetSelectorTerms: [{ tags: sortRecord(props.subnetSelectorTags ?? discovery) }],
        securityGroupSelectorTerms: [{ tags: sortRecord(props.securityGroupSelectorTags ?? discovery) }],
        blockDeviceMappings: this.blockDevices(ami.family, volumeSize),
        // kube-reserved memory for 110 pods (11 MiB × pods + 255 MiB, the EKS/Karpenter formula), so the memory pods may
        // request does not depend on the instance's ENI limits (see node-allocatable.ts); CPU stays Karpenter's formula
        kubelet: { kubeReserved: { ...GPU_NODE_KUBE_RESERVED } },
        tags: { [POOL_LABEL]: this.name },
      },
    });
  }

  /** The Karpenter NodePool: CPU limit of `maxNodes` nodes, empty-only consolidation, labels, requirements, GPU taint. */
  private renderNodePool(props: GpuNodePoolProps, capacityTypes: string[]): NodePool {
    const maxCpu = this.maxNodes * Math.max(...this.instanceTypes.map((i) => i.vcpu));
    return new NodePool(this, 'Resource', {
      metadata: { name: this.name },
      spec: {
        ...(props.weight !== undefined ? { weight: props.weight } : {}),
        // Karpenter launches no node that would take the pool past a limit (NodePool `limits`): on CPU, the instance's
        // vCPUs, whatever NodeOverlays say about GPU resources
        limits: { cpu: NodePoolSpecLimits.fromNumber(maxCpu) },
        disruption: {
          // GPU nodes carry loaded models: never consolidate a busy node to save cost, only remove empty ones
          consolidationPolicy: NodePoolSpecDisruptionConsolidationPolicy.WHEN_EMPTY,
          consolidateAfter: props.consolidateAfter ?? '30m',
          budgets: [...(props.disruptionBudgets ?? [{ nodes: '1' }])],
        },
        template: {
          metadata: { labels: this.labels },
          spec: {
            nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: this.nodeClass.name },
            expireAfter: props.expireAfter ?? '720h',
            requirements: [
              {
                key: 'node.kubernetes.io/instance-type',
                operator: NodePoolSpecTemplateSpecRequirementsOperator.IN,
                values: this.instanceTypes.map((i) => i.name),
              },
              { key: 'karpenter.sh/capacity-type', operator: NodePoolSpecTemplateSpecRequirementsOperator.IN, values: capacityTypes },
              { key: 'kubernetes.io/os', operator: NodePoolSpecTemplateSpecRequirementsOperator.IN, values: ['linux'] },
            ],
            taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: NodePoolSpecTemplateSpecTaintsEffect.NO_SCHEDULE }],
          },
        },
      },
    });
  }

  private blockDevices(amiFamily: GpuNodeAmiFamily, volumeSize: string): Ec2NodeClassSpecBlockDeviceMappings[] {
    const ebs = (size: string) => ({
      volumeSize: size,
      volumeType: Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType.GP3,
      encrypted: true,
      deleteOnTermination: true,
    });
    return amiFamily === 'al2023'
      ? [{ deviceName: '/dev/xvda', rootVolume: true, ebs: ebs(volumeSize) }]
      : // Bottlerocket: a small OS volume and a data volume for images and containers
        [
          { deviceName: '/dev/xvda', rootVolume: true, ebs: ebs('4Gi') },
          { deviceName: '/dev/xvdb', ebs: ebs(volumeSize) },
        ];
  }

  /** GPU resources the device plugin advertises on one node of `gpus` GPUs (`MigLayout.resourceCounts`, or time-sliced GPUs). */
  public gpuResourcesPerNode(gpus: number): Record<string, number> {
    if (this.layout) {
      const counts = this.layout.resourceCounts({ gpusPerNode: gpus, strategy: this.migStrategy });
      // mixed strategy: GPUs in MIG mode advertise no nvidia.com/gpu (k8s-device-plugin v0.20.0)
      return { [WHOLE_GPU_RESOURCE]: 0, ...counts };
    }
    return { [WHOLE_GPU_RESOURCE]: gpus * (this.timeSlicingReplicas ?? 1) };
  }

  private renderOverlays(layout: MigLayout | undefined, replicas: number | undefined): NodeOverlay[] {
    if (!layout && replicas === undefined)
      throw new Error('nodeOverlay: needs a migLayout or timeSlicingReplicas (the overlay advertises their GPU resources)');
    const byGpuCount = new Map<number, string[]>();
    for (const it of this.instanceTypes) byGpuCount.set(it.gpuCount, [...(byGpuCount.get(it.gpuCount) ?? []), it.name]);
    const overlays: NodeOverlay[] = [];
    for (const [gpus, types] of [...byGpuCount].sort(([a], [b]) => a - b)) {
      // The overlay replaces Karpenter's view of these resources (`ApplyCapacityOverlay`, kubernetes-sigs/karpenter
      // v1.14.1 pkg/cloudprovider/types.go): nvidia.com/gpu becomes what the device plugin really advertises, so no
      // whole-GPU pod makes Karpenter launch a MIG node it can not run on, and a time-sliced node counts its replicas.
      const counts = this.gpuResourcesPerNode(gpus);
      const capacity = Object.fromEntries(
        Object.entries(counts)
          .sort(([a], [b]) => compareText(a, b))
          .map(([r, n]) => [r, NodeOverlaySpecCapacity.fromNumber(n)]),
      );
      const suffix = byGpuCount.size > 1 ? `-${gpus}gpu` : '';
      overlays.push(
        new NodeOverlay(this, `Overlay${suffix}`, {
          metadata: { name: `${this.name}-gpu-capacity${suffix}` },
          spec: {
            requirements: [
              { key: POOL_LABEL, operator: NodeOverlaySpecRequirementsOperator.IN, values: [this.name] },
              { key: 'node.kubernetes.io/instance-type', operator: NodeOverlaySpecRequirementsOperator.IN, values: types },
            ],
            capacity,
          },
        }),
      );
    }
    return overlays;
  }
}

/** The layout is for the pool's GPU type and, unless it covers all devices, lists one entry per GPU of each instance type. */
function checkMigLayout(pool: string, gpuType: string, layout: MigLayout, instanceTypes: readonly InstanceType[]): void {
  if (layout.gpuType.id !== gpuType) {
    throw new Error(`migLayout: layout "${layout.name}" is for ${layout.gpuType.id}, the pool "${pool}" has ${gpuType}`);
  }
  for (const it of instanceTypes) {
    if (!layout.allDevices && layout.devices.length !== it.gpuCount) {
      throw new Error(`migLayout: layout "${layout.name}" lists ${layout.devices.length} devices, ${it.name} has ${it.gpuCount} GPUs`);
    }
  }
}

/** The AMI family and release of the nodes. */
interface CheckedAmi {
  readonly family: GpuNodeAmiFamily;
  readonly version: string;
}

function checkedAmi(props: GpuNodePoolProps): CheckedAmi {
  const family = props.amiFamily ?? 'al2023';
  if (family !== 'al2023' && family !== 'bottlerocket') {
    throw new Error(`amiFamily: expected "al2023" or "bottlerocket", got ${JSON.stringify(family)}`);
  }
  const version = props.amiVersion ?? 'latest';
  if (!/^(latest|v[0-9][0-9A-Za-z.-]*)$/.test(version)) {
    throw new Error(`amiVersion: expected "latest" or a release such as v20260801 / v1.40.0, got ${JSON.stringify(version)}`);
  }
  return { family, version };
}

/** Capacity types, at least one, deduplicated and sorted. */
function checkedCapacityTypes(given: readonly string[] | undefined): string[] {
  const capacityTypes = [...new Set(given ?? ['on-demand'])].sort();
  capacityTypes.forEach((c, i) => {
    if (!['on-demand', 'spot', 'reserved'].includes(c)) {
      throw new Error(`capacityTypes[${i}]: expected "on-demand", "spot" or "reserved", got ${JSON.stringify(c)}`);
    }
  });
  if (capacityTypes.length === 0) throw new Error('capacityTypes: expected at least one capacity type, got none');
  return capacityTypes;
}

/** More node labels: none the pool sets itself, none Karpenter reserves, valid keys and values. */
function checkNodeLabels(labels: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(labels)) {
    if ([POOL_LABEL, MIG_CONFIG_LABEL, DEVICE_PLUGIN_CONFIG_LABEL].includes(key)) {
      throw new Error(`labels: "${key}" is set by GpuNodePool from its props, remove it from labels`);
    }
    if (!LABEL_KEY.test(key) || key.split('/').pop()!.length > 63) {
      throw new Error(`labels: expected label keys of the form [prefix/]name, got ${JSON.stringify(key)}`);
    }
    // the rules of Karpenter's NodePool CRD (CEL, not checked by schema validation)
    const domain = key.includes('/') ? key.split('/')[0] : '';
    if (domain.endsWith('karpenter.sh') || domain.endsWith('karpenter.k8s.aws') || key === 'kubernetes.io/hostname') {
      throw new Error(`labels: "${key}" is a label Karpenter reserves (karpenter.sh, karpenter.k8s.aws, kubernetes.io/hostname)`);
    }
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      throw new Error(
        `labels["${key}"]: expected a label value (at most 63 letters, digits, '-', '_' or '.'), got ${JSON.stringify(value)}`,
      );
    }
  }
}
