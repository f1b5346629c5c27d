/**
 * Example GPU infrastructure: an H100-80GB MIG pool (p5.48xlarge, every GPU cut into 3g.40gb + 2g.20gb + 2 × 1g.10gb),
 * an L4 time-sliced pool (g6.xlarge, 4 pods per GPU), and the NVIDIA GPU operator with gpufleet's mig-parted and
 * device-plugin ConfigMaps, released by Flux.
 *
 * Run: `npx ts-node --transpile-only examples/gpu-infrastructure.ts [OUTDIR]` (default dist/gpu-infrastructure/): prints
 * what it declares and writes the manifests there.
 */
import * as path from 'path';
import { App, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { DEVICE_PLUGIN_CONFIG_LABEL, GpuNodePool, GpuOperator, MigLayout } from '../constructs/k8s';

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
export function buildGpuInfrastructure(
  scope: Construct,
  id: string = 'gpu-infrastructure',
  options: GpuInfrastructureOptions = {},
): GpuInfrastructure {
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

/** Writes the example into `outdir` and returns the lines it prints: what it declares and where it wrote it. */
export function main(outdir: string = path.join('dist', 'gpu-infrastructure')): string[] {
  const app = new App({ outdir });
  const infra = buildGpuInfrastructure(app);
  const objects = infra.chart.toJson();
  app.synth();
  const describePool = (p: GpuNodePool) =>
    `${p.name}: ${p.instanceTypes.map((t) => t.name).join(', ')} (${p.gpuType}), ` +
    (p.layout
      ? `MIG layout ${p.layout.name}`
      : p.labels[DEVICE_PLUGIN_CONFIG_LABEL]
        ? `whole GPUs shared by device-plugin config ${p.labels[DEVICE_PLUGIN_CONFIG_LABEL]}`
        : 'whole GPUs') +
    ', ' +
    `at most ${p.maxNodes} nodes`;
  // largest slices first, as operators read layouts
  const slices = (l: MigLayout) =>
    Object.entries(l.profileCounts()[0] ?? {})
      .sort(([a], [b]) => parseInt(b, 10) - parseInt(a, 10))
      .map(([k, n]) => `${n} x ${k}`)
      .join(' + ');
  return [
    `GPU operator in namespace ${infra.operator.namespace}, ` +
      `MIG layouts: ${infra.layouts.map((l) => `${l.name} (${slices(l)})`).join(', ')}`,
    `node pool ${describePool(infra.h100Pool)}`,
    `node pool ${describePool(infra.l4Pool)}`,
    `wrote ${objects.length} objects to ${path.join(outdir, `${infra.chart.node.id}.k8s.yaml`)}`,
  ];
}

if (require.main === module) {
  for (const line of main(process.argv[2])) console.log(line);
}
