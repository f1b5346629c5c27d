/**
 * `gpufleet check` over renderings made in-process: the default platform of `npm run synth`, every example fleet
 * rendered through the planner and a 300-model long-tail fleet on A100-80GB have no findings; and each defect of the
 * platform as it was rendered before (issue "Would it serve?") is a finding, reproduced by changing one thing in a
 * clean rendering back to how it was.
 *
 * The rules encode the consumers' behaviour, not gpufleet's: Karpenter's label compatibility (kubernetes-sigs/karpenter
 * v1.14.1 pkg/scheduling/requirements.go), NodeOverlay capacity and its feature gate (pkg/cloudprovider/types.go,
 * pkg/operator/options/options.go), the device plugin's resources and product labels (NVIDIA/k8s-device-plugin v0.20.0
 * internal/lm/resource.go), Karpenter's allocatable (aws/karpenter-provider-aws v1.14.1
 * pkg/providers/instancetype/types.go) and prometheus-adapter's `rules.existing` namespace (FIDELITY.md).
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import { loadFleetFile } from '../constructs/fleet';
import { plan as planFleet, verifyPlan } from '../constructs/planner';
import { checkPlatformObjects } from '../constructs/k8s/platform/platform-checks';
import { CheckResult, checkRendering, formatFinding, summarizeCheck } from '../constructs/k8s/check/check-rendering';
import { MigLayout, ModelRepository, ServingPlatform } from '../constructs/k8s';
import { App, Chart } from 'cdk8s';
import { clone, defaultObjects, find, longTailA100, plannedObjects } from './check-fixtures';
import { noteReduced } from './support/notes';

const lines = (r: CheckResult) => r.findings.map(formatFinding);
const terms = (d: any) => d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
const container = (d: any) => d.spec.template.spec.containers[0];

const base = defaultObjects();

describe('gpufleet check: renderings that serve', () => {
  test('the default platform (npm run synth → dist/) has no findings', () => {
    const r = checkRendering(base);
    expect(lines(r)).toEqual([]);
    expect(r.gpuWorkloads).toBe(8);
    expect(r.nodePools).toBe(3);
    expect(summarizeCheck(r)).toMatch(
      /^gpufleet check: no findings \(8 GPU workload\(s\), 3 NodePool\(s\), 8 autoscaler\(s\), \d+ objects\)/,
    );
  });

  const examples = readdirSync(join(__dirname, '../examples'))
    .filter((f) => f.endsWith('.fleet.yaml'))
    .sort();
  // long-tail.fleet.yaml is planned with effort 'fast': for this fleet it is the default effort's plan byte for byte
  // (checked when it was introduced; test/planner-cold.test.ts has the cold tier's plans) for a fifth of the CPU
  const FAST_IS_DEFAULT = new Set(['long-tail.fleet.yaml']);
  test.each(examples)('example %s rendered through the planner has no findings', (file) => {
    const fleet = loadFleetFile(join(__dirname, '../examples', file));
    const { objects, platform } = plannedObjects(fleet, planFleet(fleet, FAST_IS_DEFAULT.has(file) ? { effort: 'fast' } : {}));
    expect(lines(checkRendering(objects))).toEqual([]);
    expect(platform.capacityNotes).toEqual([]);
  });

  test('a 300-model long-tail fleet on A100-80GB has no findings', () => {
    const { fleet, measured } = longTailA100(300);
    if (!measured) noteReduced('../shared/profiles is absent: the models use throughputPerGpu (estimated) instead of the ParvaGPU tables');
    // planned with effort 'fast': the rendering of 300 models is what is checked here, and a fast plan is as valid a
    // plan (verifyPlan) for 1/15 of the CPU; full-effort plans of long tails are measured by `npm run bench -- planner`
    const fast = planFleet(fleet, { effort: 'fast' });
    expect(verifyPlan(fleet, fast)).toEqual([]);
    const { objects, plan } = plannedObjects(fleet, fast);
    const r = checkRendering(objects);
    expect(lines(r)).toEqual([]);
    expect(r.nodePools).toBe(new Set(plan.nodes!.map((n) => n.migConfig)).size);
    expect(r.gpuWorkloads).toBeGreaterThan(20);
  });
});

describe('gpufleet check: the defects it was written for (node labels, time-slicing)', () => {
  test('fails: a pool that requires nvidia.com/gpu.product gets no node from Karpenter (the label is written after boot)', () => {
    // how TritonPool selected nodes before: GPU feature discovery's product label, which no NodePool declares
    const objs = clone(base);
    const d = find(objs, 'Deployment', 'vision-1g')[0];
    terms(d)[0].matchExpressions.unshift({
      key: 'nvidia.com/gpu.product',
      operator: 'In',
      values: ['NVIDIA-H100-80GB-HBM3', 'NVIDIA-H100-PCIe'],
    });
    expect(lines(checkRendering(objs))).toEqual([
      'provisioning: Deployment vision/vision-1g: requires node label "nvidia.com/gpu.product", which no NodePool declares and ' +
        'Karpenter does not know (NodePools: h100-mig, h100-whole, l4-shared): Karpenter finds every NodePool incompatible ("label ' +
        'does not have known values") and its pods stay Pending',
    ]);
    // the construct's own cross-check says the same, naming the workload, the key and the node pools
    expect(checkPlatformObjects(objs)).toContain(
      'pool "vision-1g" requires node label "nvidia.com/gpu.product", which no node pool declares and Karpenter does not know (node ' +
        'pools: h100-mig, h100-whole, l4-shared); Karpenter launches no node for its pods',
    );
    // the rendering as it is selects the pool's own label
    expect(terms(find(base, 'Deployment', 'vision-1g')[0])[0].matchExpressions.map((e: any) => e.key)).toEqual([
      'gpufleet.io/pool',
      'nvidia.com/mig.config',
    ]);
  });

  test('a Karpenter well-known label is fine when some instance type of the pool matches, a finding when none does', () => {
    const ok = clone(base);
    terms(find(ok, 'Deployment', 'assistant-llm')[0])[0].matchExpressions.push({
      key: 'karpenter.k8s.aws/instance-gpu-name',
      operator: 'In',
      values: ['h100'],
    });
    expect(lines(checkRendering(ok))).toEqual([]);
    const bad = clone(base);
    terms(find(bad, 'Deployment', 'assistant-llm')[0])[0].matchExpressions.push({
      key: 'karpenter.k8s.aws/instance-gpu-name',
      operator: 'In',
      values: ['a100'],
    });
    const found = lines(checkRendering(bad));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(
        /^provisioning: Deployment assistant\/assistant-llm: no NodePool can launch a node its pods .*h100-whole: no /.source +
          /instance type of the pool \(p5\.48xlarge\) matches karpenter\.k8s\.aws\/instance-gpu-name In \[a100\]/.source,
      ),
    );
  });

  test('fails: a time-sliced L4 pod requiring NVIDIA-L4 stays Pending even on a running node (labelled NVIDIA-L4-SHARED)', () => {
    // even where the NodePool declares the product label, GPU feature discovery rewrites it on the time-sliced node
    const objs = clone(base);
    find(objs, 'NodePool', 'l4-shared')[0].spec.template.metadata.labels['nvidia.com/gpu.product'] = 'NVIDIA-L4';
    terms(find(objs, 'Deployment', 'assistant-embed')[0])[0].matchExpressions.push({
      key: 'nvidia.com/gpu.product',
      operator: 'In',
      values: ['NVIDIA-L4'],
    });
    const found = lines(checkRendering(objs));
    expect(found).toContain(
      'scheduling: Deployment assistant/assistant-embed: Karpenter may launch a g6.xlarge of NodePool l4-shared for its pods (1 ' +
        'nvidia.com/gpu each), but once running, a g6.xlarge carries nvidia.com/gpu.product=NVIDIA-L4-SHARED (GPU feature discovery), ' +
        "which the pods' node requirements exclude: the pods stay Pending on it",
    );
    expect(
      found.some((l) => l.startsWith('provisioning: Deployment assistant/assistant-embed: no NodePool can launch a node its pods')),
    ).toBe(true);
  });

  test("fails: time-slicing ×4 buys nothing when one Triton pod's CPU and memory fill a g6.xlarge (former 2 CPU / 8Gi requests)", () => {
    const objs = clone(base);
    const c = container(find(objs, 'Deployment', 'assistant-embed')[0]);
    c.resources.requests.cpu = '2';
    c.resources.limits.cpu = '2';
    c.resources.requests.memory = '8Gi';
    c.resources.limits.memory = '8Gi';
    expect(lines(checkRendering(objs))).toEqual([
      'capacity: NodePool l4-shared: a full g6.xlarge holds 4 × nvidia.com/gpu (Deployment assistant/assistant-embed: 2 CPU, 8Gi): ' +
        '8 CPU and 32Gi, but leaves 3.42 CPU and 12.27Gi for GPU pods (allocatable after kube-reserved, eviction threshold and ' +
        'DaemonSets): its GPU slots stay idle while pods stay Pending',
    ]);
    // the platform now sizes the pods to the node's share: 4 fit on a g6.xlarge
    const sized = container(find(base, 'Deployment', 'assistant-embed')[0]).resources.requests;
    expect([sized.cpu, sized.memory]).toEqual(['855m', '3141Mi']);
    // and rejects requests that do not fit, naming the pool and the share
    expect(() => buildWith({ poolDefaults: { resources: { cpu: '2', memory: '8Gi' } } })).toThrow(
      'pools["assistant-embed"].resources: requests 2 CPU and 8Gi, but a full node of node pool "l4-shared" leaves 855m CPU and ' +
        '3141Mi per pod; pods beyond the first would stay Pending',
    );
  });
});

describe('gpufleet check: the defects it was written for (node pool capacity, NodeOverlay)', () => {
  test('fails: burst replicas beyond the NodePool limits stay Pending (the planned example with its former limits)', () => {
    const { objects, plan } = plannedObjects(loadFleetFile(join(__dirname, '../examples/payments-and-vision-h100.fleet.yaml')));
    expect(lines(checkRendering(objects))).toEqual([]);
    // the former limit: max(planned nodes, 2) nodes, while every pool may add one replica for bursts
    const objs = clone(objects);
    for (const c of plan.migConfigs!) {
      const np = find(objs, 'NodePool', c.name)[0];
      np.spec.limits = { cpu: Math.max(c.nodes, 2) * 16 }; // p5.4xlarge: 16 vCPUs
    }
    const found = lines(checkRendering(objs));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      new RegExp(
        /^capacity: NodePool h100-80gb-[0-9a-f]{8}: its pods at maximum replicas need 3 node\(s\): .*its limits allow 2 /.source +
          /\(limits\.cpu 32 \/ 16 per node\): the autoscalers scale to pods that stay Pending$/.source,
      ),
    );
  });

  test("a node pool of fixed size lowers the pools' maximum replicas to what it holds, and says which", () => {
    const fleet = loadFleetFile(join(__dirname, '../examples/payments-and-vision-h100.fleet.yaml'));
    const chart = new Chart(new App(), 'capped');
    const platform = ServingPlatform.fromPlan(chart, 'Platform', {
      fleet,
      cluster: { name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' },
      repository: ModelRepository.s3({ bucket: 'gpufleet-models', prefix: fleet.name, region: 'us-east-1' }),
      scaling: { kind: 'keda', maxReplicas: 1 },
      extraReplicas: 1,
      nodePoolDefaults: { maxNodes: 2 },
    });
    expect(platform.capacityNotes.length).toBeGreaterThan(0);
    for (const note of platform.capacityNotes)
      expect(note).toMatch(
        /^pool "[a-z0-9-]+": maxReplicas \d+ → \d+ \(node pool "h100-80gb-[0-9a-f]{8}", maxNodes 2, holds \d+ nvidia\.com\/mig-/,
      );
    const objects = chart.toJson();
    expect(lines(checkRendering(objects))).toEqual([]);
    const lowered = platform.capacityNotes.map((n) => /^pool "([^"]+)": maxReplicas \d+ → (\d+)/.exec(n)!);
    for (const [note, pool, max] of lowered) {
      const so = find(objects, 'ScaledObject', pool)[0];
      expect(so.spec.maxReplicaCount).toBe(Number(max));
      expect(so.metadata.annotations['gpufleet.io/max-replicas-lowered']).toBe(platform.capacityNotes.find((n) => n.startsWith(note)));
    }
  });

  test("fails: without Karpenter's NodeOverlay gate no MIG pod gets a node, and a time-sliced node counts one GPU", () => {
    const objs = clone(base);
    const cm = find(objs, 'ConfigMap', 'gpufleet-prerequisites')[0];
    cm.data['prerequisites.yaml'] = cm.data['prerequisites.yaml'].replace('nodeOverlay: true', 'nodeOverlay: false');
    const found = lines(checkRendering(objs));
    for (const pool of ['search-1g', 'search-3g', 'search-cold', 'vision-1g', 'vision-2g', 'vision-3g']) {
      expect(
        found.some(
          (l) =>
            l.startsWith(`provisioning: Deployment ${pool.split('-')[0]}/${pool}: no NodePool can launch`) &&
            l.includes('the NodeOverlay feature gate is not declared on'),
        ),
      ).toBe(true);
    }
    expect(found).toContain(
      'capacity: NodePool l4-shared: Karpenter counts 1 nvidia.com/gpu per g6.xlarge (no NodeOverlay applies), the device plugin ' +
        'advertises 4 (1 × whole (time-sliced gpu×4)): Karpenter launches a node per pod',
    );
    expect(found).toContain(
      "prerequisites: NodeOverlay h100-mig-gpu-capacity: needs Karpenter's NodeOverlay feature gate " +
        '(prerequisites.karpenterNodeOverlay), which is not declared installed (2 object(s) of kind NodeOverlay); nothing acts on them',
    );
  });
});

describe('gpufleet check: the defects it was written for (prerequisites, metrics, layouts, quotas)', () => {
  test('fails: prerequisites nobody declared (the rendering before they were)', () => {
    const objs = clone(base).filter((o) => o.metadata?.name !== 'gpufleet-prerequisites');
    const found = lines(checkRendering(objs));
    expect(found.filter((l) => l.startsWith('prerequisites: '))).toHaveLength(6);
    expect(found).toContain(
      'autoscaling: HorizontalPodAutoscaler search/search-1g: reads metric gpufleet_triton_queue_us_per_request through the custom ' +
        'metrics API, but prometheus-adapter is not declared (prerequisites.prometheusAdapter)',
    );
    // the cold tier wakes on the router's own counters, which only a declared Prometheus operator scrapes
    expect(found).toContain(
      'autoscaling: ScaledObject search/search-cold: trigger wake reads metric gpufleet_router_requests_total: gpufleet router ' +
        'metrics are scraped only by a declared Prometheus operator',
    );
  });

  test("fails: prometheus-adapter rules outside the adapter's namespace serve nothing", () => {
    const objs = buildWith({ prerequisites: { metricsSources: ['istio'], prometheusAdapter: { namespace: 'custom-metrics' } } });
    expect(find(objs, 'ConfigMap', 'gpufleet-adapter-rules')[0].metadata.namespace).toBe('custom-metrics');
    expect(lines(checkRendering(objs))).toEqual([]);
    find(objs, 'ConfigMap', 'gpufleet-adapter-rules')[0].metadata.namespace = 'monitoring';
    expect(lines(checkRendering(objs))).toContain(
      'autoscaling: HorizontalPodAutoscaler search/search-1g: reads metric gpufleet_triton_queue_us_per_request, but no ' +
        'prometheus-adapter rule in namespace custom-metrics (where the adapter reads rules.existing) serves it',
    );
  });

  // vllm_backend r25.08 src/utils/metrics.py
  test('vLLM engine metrics count only where a ServiceMonitor scrapes Triton pods of the vllm backend', () => {
    const objs = clone(base).filter((o) => !(o.kind === 'ServiceMonitor' && o.metadata.name === 'assistant-llm'));
    const found = lines(checkRendering(objs));
    expect(
      found.some((l) =>
        l.startsWith(
          'autoscaling: ScaledObject assistant/assistant-llm: trigger first-token reads metric ' +
            'vllm:time_to_first_token_seconds_sum: no ServiceMonitor or PodMonitor scrapes Triton vllm-backend pods',
        ),
      ),
    ).toBe(true);
  });

  test('an autoscaler whose target is gone, a layout the MIG manager does not have, a quota below the maximum', () => {
    const objs = clone(base).filter((o) => !(o.kind === 'Deployment' && o.metadata.name === 'vision-3g'));
    find(objs, 'NodePool', 'h100-mig')[0].spec.template.metadata.labels['nvidia.com/mig.config'] = 'h100-typo';
    find(objs, 'ResourceQuota', undefined, 'vision')[0].spec.hard['requests.nvidia.com/mig-1g.10gb'] = '4';
    const found = lines(checkRendering(objs));
    expect(found).toContain(
      'autoscaling: ScaledObject vision/vision-3g: scales Deployment vision/vision-3g, which is not in the rendering',
    );
    expect(found).toContain(
      'layout: NodePool h100-mig: mig-parted config "h100-typo" is not in ConfigMap gpu-operator/gpufleet-mig-parted-config (node ' +
        'label nvidia.com/mig.config=h100-typo)',
    );
    expect(
      found.some(
        (l) =>
          l.startsWith('quota: ResourceQuota vision/') &&
          l.includes("allows requests.nvidia.com/mig-1g.10gb 4, but the namespace's pods at maximum replicas request 8"),
      ),
    ).toBe(true);
  });

  test("an illegal layout in the MIG manager's ConfigMap is a finding (4g + 4g on one A100-class GPU)", () => {
    const objs = clone(base);
    const cm = find(objs, 'ConfigMap', 'gpufleet-mig-parted-config')[0];
    cm.data['config.yaml'] = cm.data['config.yaml'].replace(/1g\.10gb: 2/, '4g.40gb: 2');
    const found = lines(checkRendering(objs));
    expect(
      found.some((l) =>
        new RegExp(
          /^layout: ConfigMap gpu-operator\/gpufleet-mig-parted-config: mig-configs\.h100-balanced\[0\] \(.*4g\.40gb×2.*\) /.source +
            /is not a legal layout of H100-80GB/.source,
        ).test(l),
      ),
    ).toBe(true);
  });
});

/** The default platform with some props changed. */
function buildWith(props: Record<string, unknown>): any[] {
  const chart = new Chart(new App(), 'x');
  const layout = MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
  const teams = defaultTeams();
  ServingPlatform.builder()
    .cluster({ name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' })
    .nodePools(
      { name: 'h100-mig', gpuType: 'H100-80GB', instanceType: 'p5.48xlarge', layout },
      { name: 'h100-whole', gpuType: 'H100-80GB', instanceType: 'p5.48xlarge' },
      { name: 'l4-shared', gpuType: 'L4', instanceType: 'g6.xlarge', timeSlicing: 4 },
    )
    .repository(ModelRepository.s3({ bucket: 'gpufleet-models', prefix: 'prod', region: 'us-east-1' }))
    .with({ prerequisites: { metricsSources: ['istio'] }, ...props })
    .teams(...teams)
    .build(chart, 'Platform');
  return chart.toJson();
}

/** Teams shaped like the default platform's (KEDA and HPA pools, a cold tier woken by gateway demand, a time-sliced L4 pool). */
function defaultTeams(): any[] {
  const gatewayDemand =
    'sum(rate(istio_requests_total{destination_service_namespace="search",destination_service_name="search-cold"}[2m]))';
  return [
    {
      name: 'vision',
      models: [{ name: 'resnet50' }, { name: 'vit-base' }],
      pools: [
        {
          name: 'vision-1g',
          slice: '1g.10gb',
          models: ['resnet50'],
          replicas: 2,
          scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 4 },
        },
        {
          name: 'vision-3g',
          slice: '3g.40gb',
          models: ['vit-base'],
          replicas: 1,
          scaling: { kind: 'keda', minReplicas: 1, maxReplicas: 2 },
        },
      ],
    },
    {
      name: 'search',
      models: [{ name: 'bert-base' }, { name: 't5-small' }],
      pools: [
        {
          name: 'search-1g',
          slice: '1g.10gb',
          models: ['bert-base'],
          replicas: 2,
          scaling: { kind: 'hpa', minReplicas: 2, maxReplicas: 6 },
        },
        {
          name: 'search-cold',
          slice: '1g.10gb',
          models: ['t5-small'],
          replicas: 1,
          scaling: { kind: 'keda', minReplicas: 0, maxReplicas: 2, wake: { query: gatewayDemand, threshold: 20 } },
        },
      ],
    },
    {
      name: 'assistant',
      models: [{ name: 'llama', platform: 'vllm', maxBatchSize: 0 }, { name: 'bge-small' }],
      pools: [
        {
          name: 'assistant-llm',
          slice: 'whole',
          nodePool: 'h100-whole',
          models: ['llama'],
          replicas: 1,
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
    },
  ];
}
