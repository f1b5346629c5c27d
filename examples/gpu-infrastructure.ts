/**
 * Example GPU infrastructure: an H100-80GB MIG pool (p5.48xlarge, every GPU cut into 3g.40gb + 2g.20gb + 2 × 1g.10gb),
 * an L4 time-sliced pool (g6.xlarge, 4 pods per GPU), and the NVIDIA GPU operator with gpufleet's mig-parted and
 * device-plugin ConfigMaps, released by Flux.
 */
import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { GpuNodePool, GpuOperator, MigLayout } from '../constructs/k8s';

/** Options of `buildGpuInfrastructure`. */
export interface GpuInfrastructureOptions extends ChartProps {
  /**
   * EKS cluster name (Karpenter discovery tag).
   * @default 'gpufleet'
   */
  readonly clusterName?: string;
  /**
   * IAM role of the GPU nodes.
   * @default 'KarpenterNodeRole-gpufleet'
   */
  readonly nodeRole?: string;
  /**
   * Add the MIG layouts in reverse order (the output must not change; used by the determinism test).
   * @default false
   */
  readonly reverseLayouts?: boolean;
}

/** What `buildGpuInfrastructure` creates. */
export interface GpuInfrastructure {
  readonly chart: Chart;
  readonly operator: GpuOperator;
  readonly h100Pool: GpuNodePool;
  readonly l4Pool: GpuNodePool;
  readonly layouts: readonly MigLayout[];
}

/** Builds the example GPU infrastructure into a new chart `id` of `scope`. */
export function buildGpuInfrastructure(scope: Construct, id: string = 'gpu-infrastructure', options: GpuInfrastructureOptions = {}): GpuInfrastructure {
  const { clusterName = 'gpufleet', nodeRole = 'KarpenterNodeRole-gpufleet', reverseLayouts = false, ...chartProps } = options;
  const chart = new Chart(scope, id, chartProps);

  const balanced = MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
  const small = MigLayout.fromProfiles('h100-1g-x7', 'H100-80GB', { '1g.10gb': 7 });
  const layouts = reverseLayouts ? [small, balanced] : [balanced, small];

  const operator = new GpuOperator(chart, 'GpuOperator', { nodeImage: 'al2023-nvidia', migStrategy: 'mixed' });
  for (const layout of layouts) operator.migConfig.addLayout(layout);
  const l4Sharing = operator.timeSlicing.addConfig({ name: 'l4-x4', replicas: 4 });

  const h100Pool = new GpuNodePool(chart, 'H100Pool', {
    name: 'h100-mig',
    gpuType: 'H100-80GB',
    instanceTypes: ['p5.48xlarge'],
    migLayout: balanced,
    clusterName,
    nodeRole,
    maxNodes: 2,
  });
  const l4Pool = new GpuNodePool(chart, 'L4Pool', {
    name: 'l4-shared',
    gpuType: 'L4',
    instanceTypes: ['g6.xlarge'],
    devicePluginConfig: l4Sharing,
    capacityTypes: ['on-demand', 'spot'],
    clusterName,
    nodeRole,
    maxNodes: 4,
  });
  return { chart, operator, h100Pool, l4Pool, layouts: [balanced, small] };
}
