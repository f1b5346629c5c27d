import { checkPlatformObjects, collectFacts, containerRequests, podRequests } from '../constructs/k8s/platform/platform-checks';
import { parseQuantity } from '../constructs/k8s/common/quantity';

/** A consistent little platform as plain objects; each test breaks one thing. */
function fixture() {
  const migParted = [
    'version: v1',
    'mig-configs:',
    '  all-disabled:',
    '    - devices: all',
    '      mig-enabled: false',
    '  h100-mixed:',
    '    - devices: all',
    '      mig-enabled: true',
    '      mig-devices:',
    '        "3g.40gb": 1',
    '        "2g.20gb": 2',
    '',
  ].join('\n');
  const taints = [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }];
  const nodePool = (name: string, config: string) => ({
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name },
    spec: {
      template: {
        metadata: { labels: { 'nvidia.com/mig.config': config, 'gpufleet.io/node-pool': name } },
        spec: {
          taints,
          requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] }],
        },
      },
    },
  });
  const deployment = (name: string, ns: string, resource: string, config: string, models: string[], replicas = 1) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      template: {
        spec: {
          nodeSelector: { 'nvidia.com/mig.config': config },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'triton',
              args: ['tritonserver', '--model-repository=s3://m', ...models.map((m) => `--load-model=${m}`)],
              resources: { limits: { cpu: '2', [resource]: 1 } },
            },
          ],
        },
      },
    },
  });
  return {
    objects: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'mig-parted', namespace: 'gpu-operator' },
        data: { 'config.yaml': migParted },
      },
      nodePool('h100-mixed', 'h100-mixed'),
      nodePool('h100-whole', 'all-disabled'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vision', labels: { 'gpufleet.io/team': 'vision' } } },
      {
        apiVersion: 'v1',
        kind: 'ResourceQuota',
        metadata: { name: 'team-quota', namespace: 'vision' },
        spec: { hard: { 'requests.nvidia.com/mig-3g.40gb': 4, 'requests.nvidia.com/gpu': 1, 'requests.cpu': '64' } },
      },
      deployment('vision-3g', 'vision', 'nvidia.com/mig-3g.40gb', 'h100-mixed', ['resnet50', 'densenet'], 2),
      deployment('vision-llm', 'vision', 'nvidia.com/gpu', 'all-disabled', ['llama-7b']),
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'vision-3g', namespace: 'vision' },
        spec: { scaleTargetRef: { name: 'vision-3g' }, minReplicaCount: 0, maxReplicaCount: 4 },
      },
    ] as any[],
    repositoryModels: ['densenet', 'llama-7b', 'resnet50'],
  };
}

describe('platform checks: facts and GPU resources', () => {
  test('a consistent platform has no problems', () => {
    const { objects, repositoryModels } = fixture();
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([]);
  });

  test('collects node pool layouts, pool requests, scaling maxima and quotas', () => {
    const facts = collectFacts(fixture().objects);
    expect(facts.nodePools.map((n) => [n.name, n.resources, n.layout])).toEqual([
      ['h100-mixed', ['nvidia.com/mig-3g.40gb', 'nvidia.com/mig-2g.20gb'], '3g.40gb, 2g.20gb'],
      ['h100-whole', ['nvidia.com/gpu'], 'whole'],
    ]);
    expect(facts.nodePools[0].labels['node.kubernetes.io/instance-type']).toBe('p5.48xlarge');
    expect(facts.pools.map((p) => [p.name, p.gpuResources, p.maxReplicas, p.models])).toEqual([
      ['vision-3g', { 'nvidia.com/mig-3g.40gb': 1 }, 4, ['resnet50', 'densenet']],
      ['vision-llm', { 'nvidia.com/gpu': 1 }, 1, ['llama-7b']],
    ]);
    expect(facts.quotas).toEqual([
      {
        namespace: 'vision',
        team: 'vision',
        hard: { 'requests.nvidia.com/mig-3g.40gb': 4, 'requests.nvidia.com/gpu': 1, 'requests.cpu': 64 },
      },
    ]);
    expect(facts.pools.map((p) => [p.cpuRequest, p.memoryRequest])).toEqual([
      [2, 0],
      [2, 0],
    ]);
  });

  test('fails when no node pool layout provides the requested MIG resource', () => {
    const { objects, repositoryModels } = fixture();
    objects.push({
      ...objects[5],
      metadata: { name: 'vision-1g', namespace: 'vision' },
      spec: {
        ...objects[5].spec,
        template: {
          spec: {
            ...objects[5].spec.template.spec,
            nodeSelector: {},
            containers: [{ name: 'triton', args: [], resources: { limits: { 'nvidia.com/mig-1g.10gb': 1 } } }],
          },
        },
      },
    });
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-1g" requests nvidia.com/mig-1g.10gb, but no node pool\'s layout provides it (layouts: h100-mixed: 3g.40gb, ' +
        '2g.20gb; h100-whole: whole)',
    ]);
  });

  test('fails when the selected node pool does not provide the resource', () => {
    const { objects, repositoryModels } = fixture();
    objects[6].spec.template.spec.nodeSelector = { 'nvidia.com/mig.config': 'h100-mixed' };
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-llm" requests nvidia.com/gpu, but no node pool it selects (nvidia.com/mig.config=h100-mixed) provides it ' +
        '(layouts: h100-mixed: 3g.40gb, 2g.20gb)',
    ]);
  });
});

describe('platform checks: node selection and taints', () => {
  test('fails when the selector matches no node pool', () => {
    const { objects, repositoryModels } = fixture();
    objects[6].spec.template.spec.nodeSelector = { 'nvidia.com/mig.config': 'a100-mixed' };
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-llm" selects nodes with nvidia.com/mig.config=a100-mixed, but no node pool\'s nodes carry those labels (node ' +
        'pools: h100-mixed, h100-whole)',
    ]);
  });

  test('fails when a pool requests more than one slice', () => {
    const { objects, repositoryModels } = fixture();
    objects[6].spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'] = 2;
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-llm" requests 2 GPU resources (nvidia.com/gpu: 2); a Triton pool takes exactly one GPU or MIG slice',
      'team "vision" (namespace vision) quota allows 1 nvidia.com/gpu, but its pools may request 2 (vision-llm: 1 × 2)',
    ]);
  });

  test('fails when a pool does not tolerate the GPU taint', () => {
    const { objects, repositoryModels } = fixture();
    objects[5].spec.template.spec.tolerations = [];
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-3g" does not tolerate taint nvidia.com/gpu=true:NoSchedule of node pool "h100-mixed" (tolerations: none)',
    ]);
  });

  test('fails when a toleration matches no taint of the nodes', () => {
    const { objects, repositoryModels } = fixture();
    objects[5].spec.template.spec.tolerations = [
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'gpufleet.io/dedicated', operator: 'Equal', value: 'vision', effect: 'NoSchedule' },
    ];
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-3g" tolerates gpufleet.io/dedicated=vision:NoSchedule, but node pool "h100-mixed" has no such taint (taints: ' +
        'nvidia.com/gpu=true:NoSchedule)',
    ]);
  });
});

describe('platform checks: repository, quotas, limits, quantities', () => {
  test('fails when a loaded model is not in the repository', () => {
    const { objects } = fixture();
    expect(checkPlatformObjects(objects, { repositoryModels: ['densenet', 'llama-7b'] })).toEqual([
      'pool "vision-3g" loads model "resnet50", but the model repository has no model "resnet50" (repository: densenet, llama-7b)',
    ]);
  });

  test('fails when the team quota does not cover the pools at their maximum', () => {
    const { objects, repositoryModels } = fixture();
    objects[7].spec.maxReplicaCount = 6;
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'team "vision" (namespace vision) quota allows 4 nvidia.com/mig-3g.40gb, but its pools may request 6 (vision-3g: 6 × 1)',
    ]);
  });

  test("fails when the team quota does not cover the pools' CPU, memory or pods", () => {
    const { objects, repositoryModels } = fixture();
    objects[4].spec.hard = { ...objects[4].spec.hard, 'requests.cpu': '5', 'requests.memory': '4Gi', pods: 4 };
    objects[5].spec.template.spec.containers[0].resources.requests = { memory: '2Gi' };
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'team "vision" (namespace vision) quota allows requests.cpu 5, but its pools may request 10 (vision-3g: 4 × 2, vision-llm: 1 × 2)',
      'team "vision" (namespace vision) quota allows requests.memory 4Gi, but its pools may request 8Gi (vision-3g: 4 × 2Gi)',
      'team "vision" (namespace vision) quota allows pods 4, but its pools may request 5 (vision-3g: 4 × 1, vision-llm: 1 × 1)',
    ]);
  });

  test('fails when a LimitRange default limit is below the request of a container without a limit', () => {
    const { objects, repositoryModels } = fixture();
    objects.push({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'defaults', namespace: 'vision' },
      spec: { limits: [{ type: 'Container', default: { cpu: '1', memory: '1Gi' }, defaultRequest: { cpu: '500m' } }] },
    });
    objects[6].spec.template.spec.containers[0].resources = {
      requests: { cpu: '2', memory: '2Gi' },
      limits: { 'nvidia.com/gpu': 1, memory: '2Gi' },
    };
    expect(checkPlatformObjects(objects, { repositoryModels })).toEqual([
      'pool "vision-llm" requests cpu 2 without a limit, but the LimitRange of namespace "vision" gives such containers a default ' +
        'limit of 1; its pods would be rejected',
    ]);
  });

  test('parses Kubernetes quantities', () => {
    expect([
      parseQuantity('500m'),
      parseQuantity('2'),
      parseQuantity('8Gi'),
      parseQuantity('1.5G'),
      parseQuantity(3),
      parseQuantity('x'),
    ]).toEqual([0.5, 2, 8 * 2 ** 30, 1.5e9, 3, undefined]);
  });

  test('the single strategy advertises MIG devices as nvidia.com/gpu', () => {
    const { objects } = fixture();
    objects.push({
      apiVersion: 'nvidia.com/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'cluster-policy' },
      spec: { mig: { strategy: 'single' } },
    });
    expect(collectFacts(objects).nodePools[0].resources).toEqual(['nvidia.com/gpu']);
  });
});

describe('platform checks with time-slicing', () => {
  const tsConfig = (rename: boolean) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'gpufleet-device-plugin-config', namespace: 'gpu-operator' },
    data: {
      'no-sharing': 'version: v1\n',
      'l4-x4':
        `version: v1\nsharing:\n  timeSlicing:\n${rename ? '    renameByDefault: true\n' : ''}` +
        `    resources:\n      - name: nvidia.com/gpu\n        replicas: 4\n`,
    },
  });
  const l4Pool = {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'l4-shared' },
    spec: { template: { metadata: { labels: { 'nvidia.com/device-plugin.config': 'l4-x4' } }, spec: { taints: [] } } },
  };

  test('a time-sliced node pool provides nvidia.com/gpu, or nvidia.com/gpu.shared when renamed', () => {
    expect(collectFacts([tsConfig(false), l4Pool]).nodePools[0]).toMatchObject({
      resources: ['nvidia.com/gpu'],
      layout: 'whole GPUs (gpu time-sliced ×4)',
    });
    expect(collectFacts([tsConfig(true), l4Pool]).nodePools[0].resources).toEqual(['nvidia.com/gpu.shared']);
  });
});

describe('pod requests', () => {
  test('a request defaults to the limit when only the limit is set; a pod sums its containers', () => {
    expect(containerRequests({ resources: { limits: { cpu: '2', memory: '8Gi' } } })).toEqual({ cpu: 2, memory: 8 * 2 ** 30 });
    expect(containerRequests({ resources: { requests: { cpu: '500m' }, limits: { cpu: '2', memory: '1Gi' } } })).toEqual({
      cpu: 0.5,
      memory: 2 ** 30,
    });
    expect(containerRequests({})).toEqual({ cpu: 0, memory: 0 });
    expect(
      podRequests({
        containers: [{ resources: { requests: { cpu: '1', memory: '1Gi' } } }, { resources: { limits: { cpu: '250m', memory: '512Mi' } } }],
      }),
    ).toEqual({ cpu: 1.25, memory: 1.5 * 2 ** 30 });
    expect(podRequests(undefined)).toEqual({ cpu: 0, memory: 0 });
  });
});
