/**
 * The default example platform (`npm run synth` → dist/): three teams share H100-80GB GPUs cut into
 * MIG slices, whole H100s for a 7B LLM, and time-sliced L4s for a small embedding model.
 *
 * - vision: CNNs on 1g.10gb and 2g.20gb slices, a ViT on 3g.40gb;
 * - search: BERT-class encoders on 1g.10gb and 3g.40gb slices, plus rarely used models in a cache pool that the
 *   search team's model router loads on demand and that scales to zero, woken by the router's own request counters;
 * - assistant: a 7B LLM (vLLM backend) on whole GPUs and an embedding model on a time-sliced L4.
 *
 * The model repository is S3 (read through IRSA). Every model states its latency SLO: it sets the model's batching
 * delay and its pool's autoscaling target (docs/serving.md). Pools autoscale with KEDA or an HPA on the
 * request-weighted Triton queue time, the LLM pool on its engine's time to first token.
 *
 * `npm run synth` renders it into dist/. Run on its own, `npx ts-node --transpile-only examples/default-platform.ts
 * [OUTDIR]` (default dist/default-platform/) prints its teams and pools and writes it there.
 */
import * as path from 'path';
import { App, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { MigLayout, ModelRepository, ServingPlatform, Team, routerWakeQuery } from '../constructs/k8s';

/** Options of `buildDefaultPlatform`. */
export interface DefaultPlatformOptions extends ChartProps {
  /** EKS cluster name. @default 'gpufleet' */
  readonly clusterName?: string;
  /** IAM role of the GPU nodes. @default 'KarpenterNodeRole-gpufleet' */
  readonly nodeRole?: string;
  /** Declare teams, their models and pools in reverse order (the output must not change; determinism test). @default false */
  readonly reversed?: boolean;
}

const vision: Team = {
  name: 'vision',
  models: [
    { name: 'resnet50', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [8, 16], latencySloMs: 100 },
    { name: 'mobilenet-v3', platform: 'onnxruntime_onnx', maxBatchSize: 64, preferredBatchSizes: [32], latencySloMs: 50 },
    { name: 'efficientnet-b0', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [16], latencySloMs: 80 },
    { name: 'densenet121', platform: 'tensorrt_plan', maxBatchSize: 16, preferredBatchSizes: [8], latencySloMs: 150 },
    { name: 'yolov8m', platform: 'tensorrt_plan', maxBatchSize: 8, preferredBatchSizes: [4], instances: 2, latencySloMs: 200 },
    { name: 'vit-base', platform: 'tensorrt_plan', maxBatchSize: 16, preferredBatchSizes: [8], latencySloMs: 250 },
  ],
  pools: [
    {
      name: 'vision-1g',
      slice: '1g.10gb',
      models: ['resnet50', 'mobilenet-v3', 'efficientnet-b0'],
      replicas: 4,
      scaling: { kind: 'keda', minReplicas: 2, maxReplicas: 8 },
    },
    {
      name: 'vision-2g',
      slice: '2g.20gb',
      models: ['densenet121', 'yolov8m'],
      replicas: 2,
      scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 4 },
    },
    { name: 'vision-3g', slice: '3g.40gb', models: ['vit-base'], replicas: 1, scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 2 } },
  ],
};

const search: Team = {
  name: 'search',
  group: 'oidc:search-engineers',
  models: [
    { name: 'bert-base', platform: 'tensorrt_plan', maxBatchSize: 32, preferredBatchSizes: [16, 32], latencySloMs: 50 },
    { name: 'roberta-base', platform: 'tensorrt_plan', maxBatchSize: 32, preferredBatchSizes: [16], latencySloMs: 60 },
    { name: 'distilbert', platform: 'onnxruntime_onnx', maxBatchSize: 64, preferredBatchSizes: [32], latencySloMs: 40 },
    { name: 'minilm-l6', platform: 'onnxruntime_onnx', maxBatchSize: 128, preferredBatchSizes: [64], latencySloMs: 20 },
    { name: 't5-small', platform: 'onnxruntime_onnx', maxBatchSize: 8, latencySloMs: 500, memoryGiB: 0.6 },
    { name: 'xlm-roberta', platform: 'onnxruntime_onnx', maxBatchSize: 16, latencySloMs: 300, memoryGiB: 2.2 },
  ],
  pools: [
    {
      name: 'search-1g',
      slice: '1g.10gb',
      models: ['distilbert', 'minilm-l6'],
      replicas: 2,
      scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 6 },
    },
    {
      name: 'search-3g',
      slice: '3g.40gb',
      models: ['bert-base', 'roberta-base'],
      replicas: 2,
      scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 4 },
    },
    {
      // Rarely used models: a cache pool behind the search team's model router, scaled to zero when idle and woken by
      // the demand the router itself counts (requests answered or refused while the pool is at zero, and requests
      // waiting for a load), which the platform's ServiceMonitor on the router scrapes.
      name: 'search-cold',
      slice: '1g.10gb',
      models: ['t5-small', 'xlm-roberta'],
      replicas: 1,
      cache: true,
      scaling: {
        kind: 'keda',
        minReplicas: 0,
        maxReplicas: 2,
        wake: { query: routerWakeQuery(['t5-small', 'xlm-roberta']), threshold: 20 },
      },
    },
  ],
};

const assistant: Team = {
  name: 'assistant',
  quota: { cpu: '96', memory: '512Gi' },
  models: [
    // vLLM (decoupled): KIND_MODEL, engine metrics on; its SLO is the time to first token
    { name: 'llama-2-7b-chat', platform: 'vllm', maxBatchSize: 0, latencySloMs: 2000 },
    { name: 'bge-small', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [16], latencySloMs: 50 },
  ],
  pools: [
    {
      name: 'assistant-llm',
      slice: 'whole',
      nodePool: 'h100-whole',
      models: ['llama-2-7b-chat'],
      replicas: 2,
      scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 3 },
    },
    {
      name: 'assistant-embed',
      slice: 'whole',
      nodePool: 'l4-shared',
      models: ['bge-small'],
      replicas: 2,
      scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 4 },
    },
  ],
};

function reverse(team: Team): Team {
  return { ...team, models: [...team.models].reverse(), pools: [...(team.pools ?? [])].reverse() };
}

/** Builds the default platform into a new chart `id` of `scope`. */
export function buildDefaultPlatform(
  scope: Construct,
  id: string = 'default-platform',
  options: DefaultPlatformOptions = {},
): { chart: Chart; platform: ServingPlatform } {
  const { clusterName = 'gpufleet', nodeRole = 'KarpenterNodeRole-gpufleet', reversed = false, ...chartProps } = options;
  const chart = new Chart(scope, id, chartProps);
  const teams = reversed ? [assistant, search, vision].map(reverse) : [vision, search, assistant];

  const platform = ServingPlatform.builder()
    .cluster({ name: clusterName, nodeRole })
    .gpuOperator({ nodeImage: 'al2023-nvidia', migStrategy: 'mixed' })
    .nodePools(
      {
        name: 'h100-mig',
        gpuType: 'H100-80GB',
        instanceType: 'p5.48xlarge',
        layout: MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }),
      },
      { name: 'h100-whole', gpuType: 'H100-80GB', instanceType: 'p5.48xlarge' },
      { name: 'l4-shared', gpuType: 'L4', instanceType: 'g6.xlarge', timeSlicing: 4 },
    )
    .repository(
      ModelRepository.s3({
        bucket: 'gpufleet-models',
        prefix: 'prod',
        region: 'us-east-1',
        roleArn: 'arn:aws:iam::123456789012:role/gpufleet-model-reader',
      }),
    )
    .routes({ hostnames: ['inference.example.com'] })
    // prerequisites: the defaults (Karpenter with the NodeOverlay gate, Prometheus operator, prometheus-adapter, KEDA,
    // a Gateway API implementation, Flux); the cold tier wakes on the router's own request counters
    .teams(...teams)
    .build(chart, 'Platform');
  return { chart, platform };
}

/** Writes the example into `outdir` (manifests and config.pbtxt files); returns the lines it prints. */
export function main(outdir: string = path.join('dist', 'default-platform')): string[] {
  const app = new App({ outdir });
  const { platform } = buildDefaultPlatform(app, 'default-platform');
  app.synth();
  const configs = ModelRepository.writeAllConfigs(app, app.outdir);
  return [
    ...[...platform.pools.values()].map(
      ({ pool, owner, maxReplicas }) =>
        `team ${owner}: pool ${pool.name} (${pool.gpuResource}) serves ${pool.models.join(', ')}, up to ${maxReplicas} replicas`,
    ),
    `wrote ${path.join(outdir, 'default-platform.k8s.yaml')} and ` +
      `${configs.length} config.pbtxt under ${path.join(outdir, 'model-repository')}`,
  ];
}

if (require.main === module) {
  for (const line of main(process.argv[2])) console.log(line);
}
