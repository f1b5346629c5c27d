import * as autoscaling from '@pulumi/aws/autoscaling';
import * as eks from '@pulumi/aws/eks';
import * as pulumi from '@pulumi/pulumi';
import { defaultInstanceType, findGpuType, findInstanceType, INSTANCE_TYPES, instanceTypesFor, type InstanceType } from '../catalog';
import { nodeGroupName, nodePoolsOf, WHOLE_PROFILE, type TopologyNodePool } from '../planner/topology';
import type { Plan, PlanMigConfig } from '../planner/types';
import { GPU_PRODUCT_LABEL, MIG_CONFIG_LABEL, POOL_LABEL } from '../k8s/common/labels';
import { GPU_TAINT, MigStrategy, WHOLE_GPU_RESOURCE } from '../k8s/gpu/gpu-resources';
import { MigLayout } from '../k8s/gpu/mig-layout';
import { byString } from '../k8s/common/order';
import { labelValueProblem } from '../k8s/common/names';
import { isDns1123Label } from '../fleet/names';
import type { NodeGroupHost } from './gpu-cluster';
import { keepOutOfValueWalks } from './value-walks';
import { compareText } from '../catalog/text-order';

/** EKS AMI types that ship the NVIDIA driver (the GPU operator runs with its driver off). */
export type GpuAmiType = 'AL2023_x86_64_NVIDIA' | 'BOTTLEROCKET_x86_64_NVIDIA';
export const GPU_AMI_TYPES: readonly GpuAmiType[] = ['AL2023_x86_64_NVIDIA', 'BOTTLEROCKET_x86_64_NVIDIA'];

const CA = 'k8s.io/cluster-autoscaler';

/** Options shared by every GPU node group (and by `GpuNodeGroup.fromPlan`). */
export interface GpuNodeGroupOptions {
  /** @default 'AL2023_x86_64_NVIDIA' */
  readonly amiType?: GpuAmiType;
  /** The GPU operator's MIG strategy; decides the advertised resources in the autoscaler tags. @default 'mixed' */
  readonly migStrategy?: MigStrategy;
  /** Smallest group size; 0 lets the cluster-autoscaler scale the group to zero. @default 0 */
  readonly minSize?: number;
  /** Largest group size. @default - max(desiredSize, 1) */
  readonly maxSize?: number;
  /** Root volume GiB (Triton images and the model cache). @default 200 */
  readonly diskSize?: number;
  /** @default 'ON_DEMAND' */
  readonly capacityType?: 'ON_DEMAND' | 'SPOT' | 'CAPACITY_BLOCK';
  /** Subnets of the GPU nodes (GPU instances are often offered in a few AZs only). @default - the cluster's subnets */
  readonly subnetIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Extra tags of the node group. @default - none */
  readonly tags?: Record<string, string>;
}

export interface GpuNodeGroupArgs extends GpuNodeGroupOptions {
  /** The cluster the nodes join. */
  readonly cluster: NodeGroupHost;
  /** Pool name (DNS-1123 label): the `gpufleet.io/pool` node label. */
  readonly pool: string;
  /** Catalog GPU type, e.g. `A100-80GB`. */
  readonly gpuType: string;
  /** EC2 instance type carrying `gpuType`. @default - the catalog's default instance for the GPU type */
  readonly instanceType?: string;
  /** The MIG layout name: value of the `nvidia.com/mig.config` label (`all-disabled` for whole GPUs). */
  readonly migConfig: string;
  /**
   * Value of the `gpufleet.io/pool` node label when several node groups form one pool (the Triton pods require this
   * label: the cdk8s `ServingPlatform` names it after the node configuration, whatever instance types carry it).
   * @default pool
   */
  readonly poolLabel?: string;
  /**
   * Per GPU of a node its slices (`{ profile, start }`; one entry = every GPU alike; profile `whole` = MIG off), as in
   * `plan.migConfigs[i].devices`.
   */
  readonly devices: PlanMigConfig['devices'];
  /** Nodes to start with. @default - minSize */
  readonly desiredSize?: number;
}

/** Inputs of the cluster-autoscaler node-template tags. */
export interface AutoscalerTagInputs {
  readonly clusterName: string;
  readonly pool: string;
  readonly migConfig: string;
  /** Extended resources of one node, e.g. `{ 'nvidia.com/mig-1g.10gb': 56 }`. */
  readonly resources: Readonly<Record<string, number>>;
  /** Value of `nvidia.com/gpu.product` the node will carry, if known (`gpuProductLabel`). */
  readonly gpuProduct?: string;
  /** Value of the `gpufleet.io/pool` label. @default pool */
  readonly poolLabel?: string;
}

/**
 * The tags that let the cluster-autoscaler discover the group and scale it up from zero: `enabled` and
 * `<cluster>: owned`, and node templates for the labels, the GPU taint and the extended resources the
 * device plugin will advertise (so a pending pod asking for `nvidia.com/mig-1g.10gb` triggers a scale-up).
 * Keys sorted.
 *
 * cluster-autoscaler builds the template node from the instance type (`nvidia.com/gpu` = the instance's GPUs) and
 * then overwrites each resource a `node-template/resources/` tag names (cluster-autoscaler-1.33.1
 * cloudprovider/aws/aws_manager.go buildNodeFromTemplate): a group whose GPUs are all cut into MIG slices must tag
 * `nvidia.com/gpu: 0`, or pending whole-GPU pods scale it up for nothing (`nodeResources` includes it).
 */
export function clusterAutoscalerTags(i: AutoscalerTagInputs): Record<string, string> {
  const tags: Record<string, string> = {
    [`${CA}/enabled`]: 'true',
    [`${CA}/${i.clusterName}`]: 'owned',
    [`${CA}/node-template/label/${MIG_CONFIG_LABEL}`]: i.migConfig,
    [`${CA}/node-template/label/${POOL_LABEL}`]: i.poolLabel ?? i.pool,
    [`${CA}/node-template/taint/${GPU_TAINT.key}`]: `${GPU_TAINT.value}:${GPU_TAINT.effect}`,
  };
  if (i.gpuProduct) tags[`${CA}/node-template/label/${GPU_PRODUCT_LABEL}`] = i.gpuProduct;
  for (const [resource, count] of Object.entries(i.resources)) {
    tags[`${CA}/node-template/resources/${resource}`] = String(count);
  }
  return Object.fromEntries(Object.entries(tags).sort(([a], [b]) => byString(a, b)));
}

/** True when every GPU of the layout is used whole (no slices, or only `whole` ones): MIG off. */
function usesWholeGpus(devices: PlanMigConfig['devices']): boolean {
  return devices.every((slices) => slices.every((s) => s.profile === WHOLE_PROFILE));
}

/**
 * The extended resources one node of this configuration advertises: the MIG layout's resource counts
 * (`MigLayout.resourceCounts`) over the instance's GPUs — with `nvidia.com/gpu` counting only GPUs with MIG off, 0
 * when every GPU is cut (mixed strategy, k8s-device-plugin v0.20.0) — or `nvidia.com/gpu` for GPUs used whole.
 */
export function nodeResources(
  config: Pick<PlanMigConfig, 'name' | 'gpuType' | 'devices'>,
  gpusPerNode: number,
  strategy: MigStrategy = 'mixed',
): Record<string, number> {
  if (usesWholeGpus(config.devices)) return { [WHOLE_GPU_RESOURCE]: gpusPerNode };
  const counts = MigLayout.fromPlan({
    name: config.name,
    gpuType: config.gpuType,
    instanceType: '',
    devices: config.devices,
    nodes: 0,
  }).resourceCounts({ gpusPerNode, strategy });
  return Object.fromEntries(Object.entries({ [WHOLE_GPU_RESOURCE]: 0, ...counts }).sort(([a], [b]) => byString(a, b)));
}

/**
 * The `nvidia.com/gpu.product` label GPU feature discovery writes on a node of this configuration: the product
 * under the mixed strategy and for GPUs used whole, `<product>-MIG-<profile>` under the single strategy
 * (k8s-device-plugin v0.20.0 internal/lm/resource.go NewMIGResourceLabeler; FIDELITY.md).
 */
export function gpuProductLabel(product: string, devices: PlanMigConfig['devices'], strategy: MigStrategy = 'mixed'): string {
  if (strategy !== 'single' || usesWholeGpus(devices)) return product;
  const profiles = [...new Set(devices.flatMap((slices) => slices.map((s) => s.profile)))];
  return profiles.length === 1 ? `${product}-MIG-${profiles[0]}` : product;
}

/** The named EC2 instance type, or the catalog's default instance for the GPU type when none is named. */
function instanceTypeOf(name: string | undefined, gpuTypeId: string): InstanceType | undefined {
  return name ? findInstanceType(name) : (defaultInstanceType(gpuTypeId) ?? instanceTypesFor(gpuTypeId)[0]);
}

function tagKeyId(key: string): string {
  return key.replace(/^k8s\.io\/cluster-autoscaler\//, '').replace(/[^A-Za-z0-9.-]+/g, '-');
}

/** Options of `GpuNodeGroup.fromPlan`. */
export interface GpuNodeGroupsFromPlanOptions extends GpuNodeGroupOptions {
  readonly cluster: NodeGroupHost;
}

/** Options of `GpuNodeGroup.argsFromPlan`. */
export interface GpuNodeGroupArgsOptions extends GpuNodeGroupOptions {
  /**
   * Nodes each pool (`gpufleet.io/pool` value) needs at its pods' maximum replicas (`nodesNeededAtMaximum` of the
   * rendered objects): a group's default maxSize is at least this, and a smaller given maxSize is a problem.
   * @default - the plan's node count only
   */
  readonly nodesNeeded?: ReadonlyMap<string, number>;
}

/** The fields of a GpuNodeGroup, kept out of the SDK's walks of output values (./value-walks.ts). */
const NODE_GROUP_FIELDS: readonly (keyof GpuNodeGroup)[] = [
  'pool',
  'gpuType',
  'instanceType',
  'migConfig',
  'amiType',
  'minSize',
  'maxSize',
  'desiredSize',
  'resources',
  'labels',
  'autoscalerTags',
  'nodeGroup',
  'nodeGroupName',
  'autoScalingGroupName',
];

/**
 * One EKS managed node group of GPU instances carrying one MIG layout: NVIDIA AMI, the labels
 * `nvidia.com/mig.config=<layout>` (the MIG manager applies it at boot) and `gpufleet.io/pool=<pool>`,
 * the taint `nvidia.com/gpu=true:NoSchedule`, min/max/desired sizes, and the cluster-autoscaler
 * node-template tags computed from the layout — on the node group and, because EKS does not propagate
 * node group tags, on its Auto Scaling group.
 */
export class GpuNodeGroup extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:GpuNodeGroup';

  /**
   * One node group per node pool of the plan's topology (`nodePoolsOf`, constructs/planner/topology.ts) and
   * instance type, sized to the plan's node count: the pool label is the node pool's name, the same as the cdk8s
   * platform's. Throws before creating anything when a configuration is unusable.
   */
  public static fromPlan(
    name: string,
    plan: Plan,
    options: GpuNodeGroupsFromPlanOptions & Pick<GpuNodeGroupArgsOptions, 'nodesNeeded'>,
    opts?: pulumi.ComponentResourceOptions,
  ): GpuNodeGroup[] {
    const { groups, problems } = GpuNodeGroup.argsFromPlan(plan, options);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return groups.map((g) => new GpuNodeGroup(`${name}-${g.pool}`, { ...g, cluster: options.cluster }, opts));
  }

  /**
   * The args of the node groups of a plan (one per node pool of its topology and instance type, sorted by name)
   * and every problem found, without creating anything.
   */
  public static argsFromPlan(
    plan: Plan,
    options: GpuNodeGroupArgsOptions = {},
  ): { groups: Omit<GpuNodeGroupArgs, 'cluster'>[]; problems: string[] } {
    let pools: readonly TopologyNodePool[];
    try {
      pools = nodePoolsOf(plan).nodePools;
    } catch (e) {
      return { groups: [], problems: [(e as Error).message] };
    }
    if (pools.length === 0) {
      return {
        groups: [],
        problems: [`plan.migConfigs: expected at least one node configuration, got none (plan of fleet ${JSON.stringify(plan.fleet)})`],
      };
    }
    const problems: string[] = [];
    const { nodesNeeded, ...groupOptions } = options;
    // one group per node pool and instance type; the groups of a pool carry its name as their pool label
    const groups = pools.flatMap((np) =>
      np.instanceTypes.map(({ instanceType, nodes }) => {
        const index = (plan.migConfigs ?? []).findIndex((c) => c.name === np.migConfig && c.gpuType === np.config.gpuType);
        const where =
          index < 0 ? `plan.nodes (${np.config.gpuType} on ${instanceType}, whole GPUs)` : `plan.migConfigs[${index}] (${np.migConfig})`;
        const pool = nodeGroupName(np, instanceType);
        const minSize = options.minSize ?? 0;
        const needed = nodesNeeded?.get(np.name) ?? 0;
        const maxSize = options.maxSize ?? Math.max(nodes, minSize, 1, needed);
        if (options.maxSize !== undefined && options.maxSize < needed) {
          problems.push(
            `${where}: maxSize ${options.maxSize}, but the pods of pool "${np.name}" need ${needed} node(s) at their maximum replicas; ` +
              "raise maxSize or lower the autoscalers' maxReplicas",
          );
        }
        const args: Omit<GpuNodeGroupArgs, 'cluster'> = {
          ...groupOptions,
          pool,
          ...(np.name !== pool ? { poolLabel: np.name } : {}),
          gpuType: np.config.gpuType,
          instanceType,
          migConfig: np.migConfig,
          devices: np.config.devices,
          minSize,
          maxSize,
          desiredSize: Math.min(Math.max(nodes, minSize), maxSize),
        };
        problems.push(...GpuNodeGroup.problems(args, where));
        return args;
      }),
    );
    return { groups: groups.sort((a, b) => compareText(a.pool, b.pool)), problems };
  }

  /**
   * A hand-declared pool carrying a `MigLayout` (the same object the cdk8s `MigConfig` renders), e.g.
   * `GpuNodeGroup.fromMigLayout('h100', { cluster, pool: 'h100-mig', instanceType: 'p5.48xlarge', layout })`.
   */
  public static fromMigLayout(
    name: string,
    args: Omit<GpuNodeGroupArgs, 'gpuType' | 'migConfig' | 'devices'> & { readonly layout: MigLayout },
    opts?: pulumi.ComponentResourceOptions,
  ): GpuNodeGroup {
    const { layout, ...rest } = args;
    const devices = layout.devices.map((d) =>
      d.slices ? d.slices.map((sl) => ({ profile: sl.profile, start: sl.start })) : [{ profile: 'whole', start: 0 }],
    );
    return new GpuNodeGroup(name, { ...rest, gpuType: layout.gpuType.id, migConfig: layout.name, devices }, opts);
  }

  /** Every problem of the args, each `path: expected ..., got ...`. */
  public static problems(args: Omit<GpuNodeGroupArgs, 'cluster'>, where: string = 'GpuNodeGroup'): string[] {
    const p: string[] = [];
    const at = (field: string) => `${where}.${field}`;
    if (!isDns1123Label(args.pool)) p.push(`${at('pool')}: expected a DNS-1123 label, got ${JSON.stringify(args.pool)}`);
    if (args.poolLabel !== undefined && !isDns1123Label(args.poolLabel))
      p.push(`${at('poolLabel')}: expected a DNS-1123 label, got ${JSON.stringify(args.poolLabel)}`);
    if (labelValueProblem('migConfig', args.migConfig) !== undefined)
      p.push(`${at('migConfig')}: expected a label value (1-63 of a-z 0-9 - _ .), got ${JSON.stringify(args.migConfig)}`);
    const gpu = findGpuType(args.gpuType);
    if (!gpu) {
      p.push(`${at('gpuType')}: unknown GPU type ${JSON.stringify(args.gpuType)}`);
    } else if (instanceTypesFor(gpu.id).length === 0) {
      const offered = [...new Set(INSTANCE_TYPES.map((i) => i.gpuType))].sort();
      p.push(
        `${at('gpuType')}: no catalog EC2 instance type offers ${gpu.id}, so no node group can carry it; ` +
          `GPU types with instances: ${offered.join(', ')}`,
      );
    } else {
      const instance = instanceTypeOf(args.instanceType, gpu.id);
      if (!instance) {
        p.push(
          `${at('instanceType')}: unknown EC2 instance type ${JSON.stringify(args.instanceType)}; ${gpu.id} is on ${instanceTypesFor(gpu.id)
            .map((i) => i.name)
            .join(', ')}`,
        );
      } else if (instance.gpuType !== gpu.id) {
        p.push(
          `${at('instanceType')}: ${instance.name} carries ${instance.gpuType}, not ${gpu.id}; ${gpu.id} is on ${instanceTypesFor(gpu.id)
            .map((i) => i.name)
            .join(', ')}`,
        );
      } else if (args.devices.length !== 1 && args.devices.length !== instance.gpuCount) {
        p.push(
          `${at('devices')}: expected 1 layout (all GPUs alike) or ${instance.gpuCount} (one per GPU of ${instance.name}), ` +
            `got ${args.devices.length}`,
        );
      } else {
        try {
          nodeResources({ name: args.migConfig, gpuType: gpu.id, devices: args.devices }, instance.gpuCount, args.migStrategy ?? 'mixed');
        } catch (e) {
          p.push(`${at('devices')}: ${(e as Error).message}`);
        }
      }
    }
    if (args.amiType !== undefined && !GPU_AMI_TYPES.includes(args.amiType)) {
      p.push(`${at('amiType')}: expected ${GPU_AMI_TYPES.join(' or ')}, got ${JSON.stringify(args.amiType)}`);
    }
    const sizes = { minSize: args.minSize ?? 0, desiredSize: args.desiredSize ?? args.minSize ?? 0 } as Record<string, number>;
    sizes.maxSize = args.maxSize ?? Math.max(sizes.desiredSize, 1);
    let sizesOk = true;
    for (const [k, v] of Object.entries(sizes)) {
      if (!Number.isInteger(v) || v < (k === 'maxSize' ? 1 : 0)) {
        p.push(`${at(k)}: expected an integer >= ${k === 'maxSize' ? 1 : 0}, got ${JSON.stringify(v)}`);
        sizesOk = false;
      }
    }
    if (sizesOk && !(sizes.minSize <= sizes.desiredSize && sizes.desiredSize <= sizes.maxSize)) {
      p.push(`${where}: expected minSize <= desiredSize <= maxSize, got ${sizes.minSize} <= ${sizes.desiredSize} <= ${sizes.maxSize}`);
    }
    if (args.diskSize !== undefined && (!Number.isInteger(args.diskSize) || args.diskSize < 20)) {
      p.push(`${at('diskSize')}: expected an integer >= 20 (GiB), got ${JSON.stringify(args.diskSize)}`);
    }
    return p;
  }

  private static check(args: GpuNodeGroupArgs): Record<string, never> {
    const problems = GpuNodeGroup.problems(args);
    if (problems.length > 0) throw new Error(problems.join('; '));
    return {};
  }

  public readonly pool: string;
  public readonly gpuType: string;
  public readonly instanceType: string;
  public readonly migConfig: string;
  public readonly amiType: GpuAmiType;
  public readonly minSize: number;
  public readonly maxSize: number;
  public readonly desiredSize: number;
  /** Extended resources of one node (what the device plugin advertises), resource names sorted. */
  public readonly resources: Readonly<Record<string, number>>;
  /** Kubernetes labels of the nodes. */
  public readonly labels: Readonly<Record<string, string>>;
  /** Cluster-autoscaler tags (on the node group and its Auto Scaling group). */
  public readonly autoscalerTags: pulumi.Output<Record<string, string>>;
  public readonly nodeGroup: eks.NodeGroup;
  public readonly nodeGroupName: pulumi.Output<string>;
  /** The Auto Scaling group EKS created for the node group. */
  public readonly autoScalingGroupName: pulumi.Output<string>;

  constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    super(GpuNodeGroup.TYPE, name, GpuNodeGroup.check(args), opts);
    const gpu = findGpuType(args.gpuType)!;
    const instance = instanceTypeOf(args.instanceType, gpu.id)!;
    this.pool = args.pool;
    this.gpuType = gpu.id;
    this.instanceType = instance.name;
    this.migConfig = args.migConfig;
    this.amiType = args.amiType ?? 'AL2023_x86_64_NVIDIA';
    this.minSize = args.minSize ?? 0;
    this.desiredSize = args.desiredSize ?? this.minSize;
    this.maxSize = args.maxSize ?? Math.max(this.desiredSize, 1);
    this.resources = nodeResources(
      { name: args.migConfig, gpuType: gpu.id, devices: args.devices },
      instance.gpuCount,
      args.migStrategy ?? 'mixed',
    );
    const poolLabel = args.poolLabel ?? args.pool;
    this.labels = { [MIG_CONFIG_LABEL]: args.migConfig, [POOL_LABEL]: poolLabel };
    // EC2 instances carry the SXM part, the catalog's first product label
    const gpuProduct = gpuProductLabel(gpu.productLabels[0], args.devices, args.migStrategy ?? 'mixed');
    this.autoscalerTags = args.cluster.clusterName.apply((clusterName) =>
      clusterAutoscalerTags({
        clusterName,
        pool: args.pool,
        poolLabel,
        migConfig: args.migConfig,
        resources: this.resources,
        gpuProduct,
      }),
    );

    this.nodeGroup = new eks.NodeGroup(
      `${name}-nodes`,
      {
        clusterName: args.cluster.clusterName,
        nodeRoleArn: args.cluster.nodeRoleArn,
        subnetIds: args.subnetIds ?? args.cluster.subnetIds,
        amiType: this.amiType,
        instanceTypes: [instance.name],
        capacityType: args.capacityType ?? 'ON_DEMAND',
        diskSize: args.diskSize ?? 200,
        scalingConfig: { minSize: this.minSize, maxSize: this.maxSize, desiredSize: this.desiredSize },
        labels: { ...this.labels },
        taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: 'NO_SCHEDULE' }],
        updateConfig: { maxUnavailable: 1 },
        tags: this.autoscalerTags.apply((t) => ({ ...(args.tags ?? {}), ...t, [POOL_LABEL]: args.pool })),
      },
      {
        parent: this,
        // Nodes cannot join before their role has the worker, CNI and registry policies.
        dependsOn: [...args.cluster.nodeRoleDependencies],
        // The cluster-autoscaler owns the size once the group runs.
        ignoreChanges: ['scalingConfig.desiredSize'],
      },
    );
    this.nodeGroupName = this.nodeGroup.nodeGroupName;
    this.autoScalingGroupName = this.nodeGroup.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? '');

    // EKS does not copy node group tags to the Auto Scaling group, where the cluster-autoscaler reads
    // the node templates for scale-from-zero: tag the group itself (not propagated to instances).
    const keys = Object.keys(
      clusterAutoscalerTags({
        clusterName: '<cluster>',
        pool: args.pool,
        poolLabel,
        migConfig: args.migConfig,
        resources: this.resources,
        gpuProduct,
      }),
    );
    for (const key of keys) {
      new autoscaling.Tag(
        `${name}-asg-${key === `${CA}/<cluster>` ? 'cluster-owned' : tagKeyId(key)}`,
        {
          autoscalingGroupName: this.autoScalingGroupName,
          tag: this.autoscalerTags.apply((t) => {
            const realKey = key === `${CA}/<cluster>` ? Object.keys(t).find((k) => t[k] === 'owned')! : key;
            return { key: realKey, value: t[realKey], propagateAtLaunch: false };
          }),
        },
        { parent: this },
      );
    }
    this.registerOutputs({
      nodeGroupName: this.nodeGroupName,
      autoScalingGroupName: this.autoScalingGroupName,
      autoscalerTags: this.autoscalerTags,
    });
    keepOutOfValueWalks(this, NODE_GROUP_FIELDS);
  }
}
