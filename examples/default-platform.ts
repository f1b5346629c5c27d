/**
 * The default example platform (`npm run synth` → dist/): three teams share H100-80GB GPUs cut into
 * MIG slices, whole H100s for a 7B LLM, and time-sliced L4s for a small embedding model.
 *
 * - vision: CNNs on 1g.10gb and 2g.20gb slices, a ViT on 3g.40gb;
 * - search: BERT-class encoders on 1g.10gb and 3g.40gb slices, plus a cold pool that scales to zero;
 * - assistant: a 7B LLM (vLLM backend) on whole GPUs and an embedding model on a time-sliced L4.
 *
 * The model repository is S3 (read through IRSA); pools autoscale with KEDA or an HPA on the
 * request-weighted Triton queue time.
 */
import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { MigLayout, ModelRepository, ServingPlatform, Team } from '../constructs/k8s';

/** Options of `buildDefaultPlatform`. */
export interface DefaultPlatformOptions extends ChartProps {
  /** EKS cluster name. @default 'gpufleet' */
  readonly clusterName?: string;
  /** IAM role of the GPU nodes. @default 'KarpenterNodeRole-gpufleet' */
  readonly nodeRole?: string;
  /** Declare teams, their models and pools in reverse order (the output must not change; determinism test). @default false */
  readonly reversed?: boolean;
}

/**
 * Demand for a pool scaled to zero, as the gateway sees it: requests the gateway routed to the pool's
 * Service, answered or not (an Istio gateway reports them with the destination Service even when the
 * pool has no pods and the answer is 503).
 */
function gatewayDemand(namespace: string, service: string): string {
  return `sum(rate(istio_requests_total{destination_service_namespace="${namespace}",destination_service_name="${service}"}[2m]))`;
}

const vision: Team = {
  name: 'vision',
  models: [
    { name: 'resnet50', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [8, 16] },
    { name: 'mobilenet-v3', platform: 'onnxruntime_onnx', maxBatchSize: 64, preferredBatchSizes: [32] },
    { name: 'efficientnet-b0', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [16] },
    { name: 'densenet121', platform: 'tensorrt_plan', maxBatchSize: 16, preferredBatchSizes: [8] },
    { name: 'yolov8m', platform: 'tensorrt_plan', maxBatchSize: 8, preferredBatchSizes: [4], instances: 2 },
    { name: 'vit-base', platform: 'tensorrt_plan', maxBatchSize: 16, preferredBatchSizes: [8] },
  ],
  pools: [
    {
      name: 'vision-1g', slice: '1g.10gb', models: ['resnet50', 'mobilenet-v3', 'efficientnet-b0'], replicas: 4,
      scaling: { kind: 'keda', minReplicas: 2, maxReplicas: 8 },
    },
    { name: 'vision-2g', slice: '2g.20gb', models: ['densenet121', 'yolov8m'], replicas: 2, scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 4 } },
    { name: 'vision-3g', slice: '3g.40gb', models: ['vit-base'], replicas: 1, scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 2 } },
  ],
};

const search: Team = {
  name: 'search',
  group: 'oidc:search-engineers',
  models: [
    { name: 'bert-base', platform: 'tensorrt_plan', maxBatchSize: 32, preferredBatchSizes: [16, 32] },
    { name: 'roberta-base', platform: 'tensorrt_plan', maxBatchSize: 32, preferredBatchSizes: [16] },
    { name: 'distilbert', platform: 'onnxruntime_onnx', maxBatchSize: 64, preferredBatchSizes: [32] },
    { name: 'minilm-l6', platform: 'onnxruntime_onnx', maxBatchSize: 128, preferredBatchSizes: [64] },
    { name: 't5-small', platform: 'onnxruntime_onnx', maxBatchSize: 8 },
    { name: 'xlm-roberta', platform: 'onnxruntime_onnx', maxBatchSize: 16 },
  ],
  pools: [
    { name: 'search-1g', slice: '1g.10gb', models: ['distilbert', 'minilm-l6'], replicas: 2, scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 6 } },
    { name: 'search-3g', slice: '3g.40gb', models: ['bert-base', 'roberta-base'], replicas: 2, scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 4 } },
    {
      // Rarely used models: scaled to zero when idle, woken by demand at the gateway.
      name: 'search-cold', slice: '1g.10gb', models: ['t5-small', 'xlm-roberta'], replicas: 1,
      scaling: { kind: 'keda', minReplicas: 0, maxReplicas: 2, wake: { query: gatewayDemand('search', 'search-cold'), threshold: 20 } },
    },
  ],
};

const assistant: Team = {
  name: 'assistant',
  quota: { cpu: '96', memory: '512Gi' },
  models: [
    { name: 'llama-2-7b-chat', platform: 'vllm', maxBatchSize: 0 },
    { name: 'bge-small', platform: 'onnxruntime_onnx', maxBatchSize: 32, preferredBatchSizes: [16] },
  ],
  pools: [
    { name: 'assistant-llm', slice: 'whole', nodePool: 'h100-whole', models: ['llama-2-7b-chat'], replicas: 2, scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 3 } },
    {
      name: 'assistant-embed', slice: 'whole', nodePool: 'l4-shared', models: ['bge-small'], replicas: 2,
      scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 4 },
    },
  ],
};

function reverse(team: Team): Team {
  return { ...team, models: [...team.models].reverse(), pools: [...(team.pools ?? [])].reverse() };
}

/** Builds the default platform into a new chart `id` of `scope`. */
export function buildDefaultPlatform(scope: Construct, id: string = 'default-platform', options: DefaultPlatformOptions = {}): { chart: Chart; platform: ServingPlatform } {
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
    .repository(ModelRepository.s3({
      bucket: 'gpufleet-models',
      prefix: 'prod',
      region: 'us-east-1',
      roleArn: 'arn:aws:iam::123456789012:role/gpufleet-model-reader',
    }))
    .routes({ hostnames: ['inference.example.com'] })
    // Karpenter (NodeOverlay gate on), Prometheus operator, prometheus-adapter, KEDA, a Gateway API implementation
    // and Flux are the defaults; the cold pool's wake trigger also reads Istio's request metrics
    .with({ prerequisites: { metricsSources: ['istio'] } })
    .teams(...teams)
    .build(chart, 'Platform');
  return { chart, platform };
}
