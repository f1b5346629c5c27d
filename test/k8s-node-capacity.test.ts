/**
 * The upstream rules gpufleet's capacity and provisioning reasoning rests on, one by one:
 * - Karpenter's allocatable (aws/karpenter-provider-aws v1.14.1 pkg/providers/instancetype/types.go:
 *   kubeReservedResources, memory(), evictionThreshold; options.go VM_MEMORY_OVERHEAD_PERCENT 0.075);
 * - Karpenter's label compatibility (kubernetes-sigs/karpenter v1.14.1 pkg/scheduling/requirements.go Compatible:
 *   undefined custom keys are denied unless the operator is NotIn or DoesNotExist, well-known keys are allowed
 *   undefined; Intersects on keys both define);
 * - the node pool sizing that keeps autoscaler maxima backed by nodes.
 */
import { getInstanceType } from '../constructs/catalog';
import { incompatibility, instanceTypeLabels, nodePoolRequirements } from '../constructs/k8s/gpu/karpenter-requirements';
import { kubeReservedCpuMillis, nodeAllocatable, podShare } from '../constructs/k8s/gpu/node-allocatable';
import { CapacityNodePool, sizeCapacity } from '../constructs/k8s/platform/serving-platform-capacity';

describe('Karpenter allocatable', () => {
  test('kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% beyond', () => {
    expect(kubeReservedCpuMillis(1)).toBe(60);
    expect(kubeReservedCpuMillis(4)).toBe(60 + 10 + 10);
    expect(kubeReservedCpuMillis(96)).toBe(60 + 10 + 10 + 230);
    expect(kubeReservedCpuMillis(192)).toBe(60 + 10 + 10 + 470);
  });

  test('g6.xlarge (4 vCPU, 16 GiB): 3920m CPU and 13590Mi after the VM overhead, kube-reserved for 110 pods and eviction', () => {
    // 16384Mi − ceil(16384 × 0.075) = 15155Mi; − (11 × 110 + 255)Mi − 100Mi
    expect(nodeAllocatable(getInstanceType('g6.xlarge'))).toEqual({ cpuMillis: 3920, memoryMiB: 13590 });
    // four time-sliced pods share it after 500m / 1Gi for DaemonSets
    expect(podShare(getInstanceType('g6.xlarge'), 4)).toEqual({ cpuMillis: 855, memoryMiB: 3141 });
  });
});

describe('Karpenter label compatibility', () => {
  const np = nodePoolRequirements({
    metadata: { name: 'h100-mig' },
    spec: {
      template: {
        metadata: { labels: { 'gpufleet.io/pool': 'h100-mig', 'nvidia.com/mig.config': 'h100-balanced' } },
        spec: {
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'h100-mig' },
          requirements: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] }],
        },
      },
    },
  });
  const its = [getInstanceType('p5.48xlarge')];
  const req = (key: string, operator: string, values?: string[]) => [{ key, operator, ...(values ? { values } : {}) }];

  test('a custom label the NodePool does not define makes it incompatible, unless NotIn / DoesNotExist', () => {
    expect(incompatibility(np, its, req('nvidia.com/gpu.product', 'In', ['NVIDIA-H100-80GB-HBM3']))).toBe(
      'label "nvidia.com/gpu.product" does not have known values',
    );
    expect(incompatibility(np, its, req('nvidia.com/gpu.product', 'Exists'))).toBe(
      'label "nvidia.com/gpu.product" does not have known values',
    );
    expect(incompatibility(np, its, req('nvidia.com/gpu.product', 'NotIn', ['x']))).toBeUndefined();
    expect(incompatibility(np, its, req('nvidia.com/gpu.product', 'DoesNotExist'))).toBeUndefined();
  });

  test('labels the NodePool defines must intersect', () => {
    expect(incompatibility(np, its, req('gpufleet.io/pool', 'In', ['h100-mig']))).toBeUndefined();
    expect(incompatibility(np, its, req('karpenter.sh/nodepool', 'In', ['h100-mig']))).toBeUndefined();
    expect(incompatibility(np, its, req('karpenter.k8s.aws/ec2nodeclass', 'In', ['h100-mig']))).toBeUndefined();
    expect(incompatibility(np, its, req('nvidia.com/mig.config', 'In', ['other']))).toMatch(
      /^key nvidia.com\/mig.config, nvidia.com\/mig.config In \[other\] not in nvidia.com\/mig.config In \[h100-balanced\]/,
    );
    expect(incompatibility(np, its, req('gpufleet.io/pool', 'DoesNotExist'))).toMatch(/^key gpufleet.io\/pool/);
  });

  test("well-known labels the NodePool leaves open match the instance types' values", () => {
    expect(instanceTypeLabels(getInstanceType('p4de.24xlarge'))).toMatchObject({
      'karpenter.k8s.aws/instance-gpu-name': 'a100',
      'karpenter.k8s.aws/instance-gpu-count': '8',
      'karpenter.k8s.aws/instance-gpu-memory': '81920',
    });
    expect(incompatibility(np, its, req('karpenter.k8s.aws/instance-gpu-name', 'In', ['h100']))).toBeUndefined();
    expect(incompatibility(np, its, req('beta.kubernetes.io/instance-type', 'In', ['p5.48xlarge']))).toBeUndefined();
    expect(incompatibility(np, its, req('karpenter.k8s.aws/instance-gpu-name', 'In', ['l4']))).toBe(
      'no instance type of the pool (p5.48xlarge) matches karpenter.k8s.aws/instance-gpu-name In [l4]',
    );
    expect(incompatibility(np, its, req('topology.kubernetes.io/zone', 'In', ['us-east-1a']))).toBeUndefined();
  });
});

describe('sizeCapacity', () => {
  const pool = (maxNodes?: number): CapacityNodePool => ({
    name: 'h100',
    instanceTypes: [getInstanceType('p5.4xlarge')],
    atLeast: 2,
    maxNodes,
    resourcesPerNode: (gpus) => ({ 'nvidia.com/gpu': 0, 'nvidia.com/mig-1g.10gb': 7 * gpus }),
  });
  const d = (name: string, min: number, max: number, fixed = false) => ({
    pool: name,
    nodePool: 'h100',
    resource: 'nvidia.com/mig-1g.10gb',
    minReplicas: min,
    maxReplicas: max,
    fixed,
  });

  test('grows the node pool to hold every pool at its maximum', () => {
    const s = sizeCapacity([pool()], [d('a', 2, 10), d('b', 1, 9)]);
    expect(s.maxNodes.get('h100')).toBe(3); // 19 slices / 7 per node
    expect([...s.maxReplicas]).toEqual([
      ['a', 10],
      ['b', 9],
    ]);
    expect(s.notes).toEqual([]);
  });

  test('a fixed size keeps every minimum and shares the rest one replica at a time, and says which maxima came down', () => {
    const s = sizeCapacity([pool(1)], [d('a', 2, 10), d('b', 1, 9)]);
    expect(s.maxNodes.get('h100')).toBe(1);
    expect([...s.maxReplicas]).toEqual([
      ['a', 4],
      ['b', 3],
    ]);
    expect(s.notes).toEqual([
      'pool "a": maxReplicas 10 → 4 (node pool "h100", maxNodes 1, holds 7 nvidia.com/mig-1g.10gb)',
      'pool "b": maxReplicas 9 → 3 (node pool "h100", maxNodes 1, holds 7 nvidia.com/mig-1g.10gb)',
    ]);
  });

  test('fails when even the minima do not fit, and for a resource the nodes do not advertise', () => {
    expect(() => sizeCapacity([pool(1)], [d('a', 5, 5, true), d('b', 3, 9)])).toThrow(
      'nodePools["h100"].maxNodes: 1 node(s) hold 7 nvidia.com/mig-1g.10gb, but its pools need more at their minimum replicas (a: ' +
        '5, b: 3); raise maxNodes to at least 2',
    );
    expect(() => sizeCapacity([pool()], [{ ...d('a', 1, 1), resource: 'nvidia.com/gpu' }])).toThrow(
      'pool "a" requests nvidia.com/gpu, but a node of node pool "h100" advertises none',
    );
  });
});
