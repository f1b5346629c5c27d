import { Testing } from 'cdk8s';
import { GpuNodePool, GpuNodePoolProps } from '../constructs/k8s/gpu/gpu-node-pool';
import { MigLayout } from '../constructs/k8s/gpu/mig-layout';
import { validateObjects } from './support/validate';

const base = { clusterName: 'prod', nodeRole: 'KarpenterNodeRole-prod' };
const balanced = () => MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 });
const synthPool = (props: GpuNodePoolProps) => {
  const chart = Testing.chart();
  const pool = new GpuNodePool(chart, 'Pool', props);
  return { pool, objs: Testing.synth(chart) };
};
const byKind = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);

describe('GpuNodePool with a MIG layout', () => {
  const { pool, objs } = synthPool({
    ...base,
    name: 'h100-mig',
    gpuType: 'H100-80GB',
    instanceTypes: ['p5.48xlarge'],
    migLayout: balanced(),
  });
  const [nodePool] = byKind(objs, 'NodePool');
  const [nodeClass] = byKind(objs, 'EC2NodeClass');

  test('labels nodes with the layout and the pool, taints them for GPU pods', () => {
    expect(nodePool.metadata.name).toBe('h100-mig');
    expect(nodePool.spec.template.metadata.labels).toEqual({ 'gpufleet.io/pool': 'h100-mig', 'nvidia.com/mig.config': 'h100-balanced' });
    expect(nodePool.spec.template.spec.taints).toEqual([{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    expect(pool.migConfigName).toBe('h100-balanced');
  });

  test('requires the GPU instance types and capacity type, limits nodes by CPU (2 × 192 vCPUs)', () => {
    expect(nodePool.spec.template.spec.requirements).toEqual([
      { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] },
      { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] },
      { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
    ]);
    // CPU: a NodeOverlay can not change it (kubernetes-sigs/karpenter v1.14.1 nodeoverlay_validation.go rejects
    // well-known resources), so the limit counts nodes whatever the overlay says about nvidia.com/gpu
    expect(nodePool.spec.limits).toEqual({ cpu: 384 });
    expect(pool.maxNodes).toBe(2);
  });

  test('EC2NodeClass pins kube-reserved memory for 110 pods (11 MiB × 110 + 255 MiB)', () => {
    expect(nodeClass.spec.kubelet).toEqual({ kubeReserved: { memory: '1465Mi' } });
  });

  test('disrupts only empty nodes, one at a time', () => {
    expect(nodePool.spec.disruption).toEqual({ consolidationPolicy: 'WhenEmpty', consolidateAfter: '30m', budgets: [{ nodes: '1' }] });
  });

  test('EC2NodeClass: AL2023 alias, role, discovery selectors, a large encrypted root volume', () => {
    expect(nodePool.spec.template.spec.nodeClassRef).toEqual({ group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'h100-mig' });
    expect(nodeClass.spec.amiSelectorTerms).toEqual([{ alias: 'al2023@latest' }]);
    expect(nodeClass.spec.role).toBe('KarpenterNodeRole-prod');
    expect(nodeClass.spec.subnetSelectorTerms).toEqual([{ tags: { 'karpenter.sh/discovery': 'prod' } }]);
    expect(nodeClass.spec.securityGroupSelectorTerms).toEqual([{ tags: { 'karpenter.sh/discovery': 'prod' } }]);
    expect(nodeClass.spec.blockDeviceMappings).toEqual([
      {
        deviceName: '/dev/xvda',
        rootVolume: true,
        ebs: { volumeSize: '200Gi', volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
      },
    ]);
    expect(pool.nodeImage).toBe('al2023-nvidia');
  });

  test('NodeOverlay advertises the layout MIG resources of a p5.48xlarge (8 GPUs) and no whole GPU', () => {
    const [overlay] = byKind(objs, 'NodeOverlay');
    expect(overlay.apiVersion).toBe('karpenter.sh/v1alpha1');
    expect(overlay.metadata.name).toBe('h100-mig-gpu-capacity');
    // mixed strategy: GPUs in MIG mode advertise no nvidia.com/gpu (k8s-device-plugin v0.20.0); the overlay replaces
    // Karpenter's 8 (ApplyCapacityOverlay, karpenter v1.14.1 pkg/cloudprovider/types.go), so a whole-GPU pod never
    // makes Karpenter launch this pool's nodes
    expect(overlay.spec.capacity).toEqual({
      'nvidia.com/gpu': 0,
      'nvidia.com/mig-1g.10gb': 16,
      'nvidia.com/mig-2g.20gb': 8,
      'nvidia.com/mig-3g.40gb': 8,
    });
    expect(overlay.spec.requirements).toEqual([
      { key: 'gpufleet.io/pool', operator: 'In', values: ['h100-mig'] },
      { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] },
    ]);
  });

  test('every object validates against its CRD', () => {
    expect(validateObjects(objs)).toEqual([]);
  });
});

describe('GpuNodePool variants', () => {
  test('time-sliced L4 pool: device-plugin label, no MIG label, spot allowed', () => {
    const { objs } = synthPool({
      ...base,
      name: 'l4',
      gpuType: 'L4',
      instanceTypes: ['g6.xlarge', 'g6.2xlarge'],
      devicePluginConfig: 'l4-x4',
      capacityTypes: ['spot', 'on-demand'],
      maxNodes: 3,
    });
    const [np] = byKind(objs, 'NodePool');
    expect(np.spec.template.metadata.labels).toEqual({ 'gpufleet.io/pool': 'l4', 'nvidia.com/device-plugin.config': 'l4-x4' });
    expect(np.spec.template.spec.requirements[0].values).toEqual(['g6.2xlarge', 'g6.xlarge']);
    expect(np.spec.template.spec.requirements[1].values).toEqual(['on-demand', 'spot']);
    expect(np.spec.limits).toEqual({ cpu: 24 });
    expect(byKind(objs, 'NodeOverlay')).toEqual([]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('time-sliced ×4: a NodeOverlay tells Karpenter each g6.xlarge takes 4 nvidia.com/gpu pods', () => {
    // Without it Karpenter counts the instance's one GPU and launches a node per pod (time-slicing is the NodeOverlay
    // design's first use case: kubernetes-sigs/karpenter v1.14.1 designs/node-overlay.md, issue #729).
    const { pool, objs } = synthPool({
      ...base,
      name: 'l4',
      gpuType: 'L4',
      instanceTypes: ['g6.xlarge'],
      devicePluginConfig: 'l4-x4',
      timeSlicingReplicas: 4,
    });
    const [overlay] = byKind(objs, 'NodeOverlay');
    expect(overlay.spec.capacity).toEqual({ 'nvidia.com/gpu': 4 });
    expect(pool.gpuResourcesPerNode(1)).toEqual({ 'nvidia.com/gpu': 4 });
    expect(validateObjects(objs)).toEqual([]);
  });

  test('MIG GPU without a layout gets all-disabled; default instance type from the catalog', () => {
    const { pool, objs } = synthPool({ ...base, name: 'a100-whole', gpuType: 'A100-80GB' });
    expect(pool.instanceTypes.map((i) => i.name)).toEqual(['p4de.24xlarge']);
    expect(byKind(objs, 'NodePool')[0].spec.template.metadata.labels['nvidia.com/mig.config']).toBe('all-disabled');
  });

  test('Bottlerocket: OS and data volumes', () => {
    const { pool, objs } = synthPool({
      ...base,
      name: 'br',
      gpuType: 'L4',
      amiFamily: 'bottlerocket',
      amiVersion: 'v1.40.0',
      volumeSize: '300Gi',
    });
    const [nc] = byKind(objs, 'EC2NodeClass');
    expect(nc.spec.amiSelectorTerms).toEqual([{ alias: 'bottlerocket@v1.40.0' }]);
    expect(nc.spec.blockDeviceMappings.map((b: any) => [b.deviceName, b.ebs.volumeSize])).toEqual([
      ['/dev/xvda', '4Gi'],
      ['/dev/xvdb', '300Gi'],
    ]);
    expect(pool.nodeImage).toBe('bottlerocket-nvidia');
    expect(validateObjects(objs)).toEqual([]);
  });

  test('one NodeOverlay per GPU count among the instance types', () => {
    const layout = MigLayout.fromProfiles('h100-1g', 'H100-80GB', { '1g.10gb': 7 });
    const { objs } = synthPool({
      ...base,
      name: 'h100',
      gpuType: 'H100-80GB',
      instanceTypes: ['p5.48xlarge', 'p5.4xlarge'],
      migLayout: layout,
    });
    const overlays = byKind(objs, 'NodeOverlay');
    expect(overlays.map((o) => [o.metadata.name, o.spec.capacity['nvidia.com/mig-1g.10gb']])).toEqual([
      ['h100-gpu-capacity-1gpu', 7],
      ['h100-gpu-capacity-8gpu', 56],
    ]);
    expect(validateObjects(objs)).toEqual([]);
  });

  test('extra labels are kept beside the pool labels', () => {
    const { objs } = synthPool({ ...base, name: 'l4', gpuType: 'L4', labels: { 'example.com/team': 'vision' } });
    expect(byKind(objs, 'NodePool')[0].spec.template.metadata.labels).toEqual({ 'example.com/team': 'vision', 'gpufleet.io/pool': 'l4' });
  });

  test('nodeOverlay: false leaves the overlay out', () => {
    const { objs } = synthPool({ ...base, name: 'h100', gpuType: 'H100-80GB', migLayout: balanced(), nodeOverlay: false });
    expect(byKind(objs, 'NodeOverlay')).toEqual([]);
  });
});

describe('GpuNodePool errors', () => {
  const props = { ...base, name: 'pool', gpuType: 'H100-80GB' };
  test('fails for an instance type of another GPU', () => {
    expect(() => synthPool({ ...props, instanceTypes: ['g6.xlarge'] })).toThrow(
      'instanceTypes[0]: g6.xlarge carries L4 GPUs, the pool "pool" is for H100-80GB',
    );
  });
  test('fails for an unknown instance type', () => {
    expect(() => synthPool({ ...props, instanceTypes: ['p9.huge'] })).toThrow(/^instanceTypes\[0\]: unknown instance type "p9.huge"/);
  });
  test('fails for a layout of another GPU type', () => {
    const layout = MigLayout.fromProfiles('a100', 'A100-80GB', { '7g.80gb': 1 });
    expect(() => synthPool({ ...props, migLayout: layout })).toThrow(
      'migLayout: layout "a100" is for A100-80GB, the pool "pool" has H100-80GB',
    );
  });
  test('fails for a per-device layout that does not match the GPU count', () => {
    const layout = MigLayout.perDevice('two', 'H100-80GB', [{ '7g.80gb': 1 }, 'disabled']);
    expect(() => synthPool({ ...props, migLayout: layout, instanceTypes: ['p5.48xlarge'] })).toThrow(
      'migLayout: layout "two" lists 2 devices, p5.48xlarge has 8 GPUs',
    );
  });
  test('fails for bad names and values', () => {
    expect(() => synthPool({ ...props, name: 'H100_Pool' })).toThrow(/^name: expected a DNS-1123 label/);
    expect(() => synthPool({ ...props, nodeRole: 'role with spaces' })).toThrow('nodeRole: expected an IAM role name');
    expect(() => synthPool({ ...props, capacityTypes: ['cheap' as any] })).toThrow(
      'capacityTypes[0]: expected "on-demand", "spot" or "reserved", got "cheap"',
    );
    expect(() => synthPool({ ...props, maxNodes: 0 })).toThrow('maxNodes: expected an integer >= 1, got 0');
    expect(() => synthPool({ ...props, consolidateAfter: 'soon' })).toThrow(
      'consolidateAfter: expected a duration such as 30m, 1h or Never, got "soon"',
    );
    expect(() => synthPool({ ...props, volumeSize: '200' })).toThrow('volumeSize: expected a size such as 200Gi, got "200"');
    expect(() => synthPool({ ...props, amiFamily: 'ubuntu' as any })).toThrow(
      'amiFamily: expected "al2023" or "bottlerocket", got "ubuntu"',
    );
    expect(() => synthPool({ ...props, amiVersion: 'newest' })).toThrow(
      'amiVersion: expected "latest" or a release such as v20260801 / v1.40.0, got "newest"',
    );
    expect(() => synthPool({ ...props, labels: { 'nvidia.com/mig.config': 'x' } })).toThrow(
      'labels: "nvidia.com/mig.config" is set by GpuNodePool from its props, remove it from labels',
    );
    expect(() => synthPool({ ...props, gpuType: 'Z100' })).toThrow('unknown GPU type "Z100"');
    expect(() => synthPool({ ...props, labels: { 'karpenter.sh/team': 'a' } })).toThrow(
      'labels: "karpenter.sh/team" is a label Karpenter reserves',
    );
    expect(() => synthPool({ ...props, labels: { 'bad key!': 'a' } })).toThrow(
      'labels: expected label keys of the form [prefix/]name, got "bad key!"',
    );
    expect(() => synthPool({ ...props, labels: { team: 'a b' } })).toThrow('labels["team"]: expected a label value');
  });
  test('fails for a NodeOverlay without a layout', () => {
    expect(() => synthPool({ ...props, nodeOverlay: true })).toThrow(
      'nodeOverlay: needs a migLayout or timeSlicingReplicas (the overlay advertises their GPU resources)',
    );
    expect(() => synthPool({ ...props, gpuType: 'L4', timeSlicingReplicas: 4 })).toThrow(
      'timeSlicingReplicas: needs the devicePluginConfig that time-slices the GPUs',
    );
    expect(() => synthPool({ ...props, gpuType: 'L4', devicePluginConfig: 'x', timeSlicingReplicas: 1 })).toThrow(
      'timeSlicingReplicas: expected an integer >= 2, got 1',
    );
  });
});
