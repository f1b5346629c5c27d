/**
 * Scale-from-zero: the node cluster-autoscaler imagines for an empty GPU node group must be the node the group really
 * gets, or pending pods either never scale it up or scale it up for nothing.
 *
 * cluster-autoscaler-1.33.1 `cloudprovider/aws/aws_manager.go` buildNodeFromTemplate: capacity starts from the
 * instance type (cpu, memory, `nvidia.com/gpu` = the instance's GPUs, 110 pods), then every
 * `k8s.io/cluster-autoscaler/node-template/resources/<r>` tag overwrites `<r>`; labels come from
 * `node-template/label/<k>` tags (and the managed node group's labels), taints from `node-template/taint/<k>`
 * (`<value>:<effect>`); allocatable = capacity. `templateNode` below does the same from the tags the group renders.
 *
 * The real node (k8s-device-plugin v0.20.0, FIDELITY.md): mixed strategy — `nvidia.com/mig-<profile>` per MIG device,
 * `nvidia.com/gpu` only for GPUs with MIG off, product label the bare product; single strategy — every MIG device an
 * `nvidia.com/gpu`, product label `<product>-MIG-<profile>`.
 */
import type { Plan } from '../constructs/planner/types';
import { findInstanceType } from '../constructs/catalog';
import { loadFleetFile } from '../constructs/fleet';
import { nodesNeededAtMaximum } from '../constructs/k8s/check/check-rendering';
import { plannedObjects } from './check-fixtures';
import { settle, setupPulumiMocks } from './support/pulumi-mocks';
import * as pulumi from '@pulumi/pulumi';

const mocks = setupPulumiMocks();
let cloud: typeof import('../constructs/cloud');

beforeAll(async () => {
  cloud = await import('../constructs/cloud');
});
beforeEach(() => mocks.reset());

const CA = 'k8s.io/cluster-autoscaler/node-template/';

/** The template node of buildNodeFromTemplate, from an instance type and the group's tags. */
function templateNode(instanceType: string, tags: Record<string, string>, groupLabels: Record<string, string>) {
  const it = findInstanceType(instanceType)!;
  const capacity: Record<string, number> = { cpu: it.vcpu, pods: 110, 'nvidia.com/gpu': it.gpuCount };
  const labels: Record<string, string> = {};
  const taints: string[] = [];
  for (const [k, v] of Object.entries(tags)) {
    if (k.startsWith(`${CA}resources/`)) capacity[k.slice(`${CA}resources/`.length)] = Number(v);
    if (k.startsWith(`${CA}label/`)) labels[k.slice(`${CA}label/`.length)] = v;
    if (k.startsWith(`${CA}taint/`) && /:(NoSchedule|NoExecute|PreferNoSchedule)$/.test(v))
      taints.push(`${k.slice(`${CA}taint/`.length)}=${v}`);
  }
  return { capacity, labels: { ...groupLabels, ...labels }, taints };
}

function plan(devices: { profile: string; start: number }[][], name: string): Plan {
  return {
    fleet: 'f',
    gpus: [],
    summary: { gpuCount: 8, costPerHour: 1, lowerBound: 1, baselines: { dedicated: 8, noMig: 8 } },
    migConfigs: [{ name, gpuType: 'A100-80GB', instanceType: 'p4de.24xlarge', nodes: 1, devices }],
    nodes: [{ name: 'node-0', instanceType: 'p4de.24xlarge', gpuType: 'A100-80GB', migConfig: name, gpus: [] }],
  };
}
const all1g = [[0, 1, 2, 3, 4, 5, 6].map((start) => ({ profile: '1g.10gb', start }))];

async function group(p: Plan, strategy: 'mixed' | 'single') {
  // a cluster the node group joins (its own resources are tested in cloud-cluster.test.ts)
  const cluster = {
    clusterName: pulumi.output('gpufleet-dev'),
    nodeRoleArn: pulumi.output('arn:aws:iam::123456789012:role/nodes'),
    subnetIds: pulumi.output(['subnet-1']),
    nodeRoleDependencies: [],
  };
  cloud.GpuNodeGroup.fromPlan('gpu', p, { cluster, migStrategy: strategy });
  await settle();
  const ng = mocks.ofType('aws:eks/nodeGroup:NodeGroup')[0];
  return templateNode('p4de.24xlarge', ng.inputs.tags, ng.inputs.labels);
}

describe('cluster-autoscaler scale-from-zero templates of GPU node groups', () => {
  test("fails: a mixed-strategy MIG group's template counts the instance's 8 whole GPUs unless it tags nvidia.com/gpu: 0", async () => {
    const t = await group(plan(all1g, 'a100-1g'), 'mixed');
    // a p4de.24xlarge cut into 56 × 1g.10gb advertises no whole GPU; without the tag the template would say 8, and a
    // pending whole-GPU pod would scale this group up for nothing
    expect(t.capacity['nvidia.com/gpu']).toBe(0);
    expect(t.capacity['nvidia.com/mig-1g.10gb']).toBe(56);
    expect(t.labels['nvidia.com/gpu.product']).toBe('NVIDIA-A100-SXM4-80GB');
    expect(t.labels['nvidia.com/mig.config']).toBe('a100-1g');
    expect(t.taints).toEqual(['nvidia.com/gpu=true:NoSchedule']);
  });

  test("fails: a single-strategy group's template has the bare product; the device plugin labels <product>-MIG-<profile>", async () => {
    const t = await group(plan(all1g, 'a100-1g'), 'single');
    expect(t.labels['nvidia.com/gpu.product']).toBe('NVIDIA-A100-SXM4-80GB-MIG-1g.10gb');
    // under the single strategy every MIG device is an nvidia.com/gpu: 7 per GPU × 8
    expect(t.capacity['nvidia.com/gpu']).toBe(56);
    expect(Object.keys(t.capacity).filter((r) => r.startsWith('nvidia.com/mig-'))).toEqual([]);
  });

  test("whole GPUs keep the instance's count and the bare product", async () => {
    const t = await group(plan([[{ profile: 'whole', start: 0 }]], 'all-disabled'), 'mixed');
    expect(t.capacity['nvidia.com/gpu']).toBe(8);
    expect(t.labels['nvidia.com/gpu.product']).toBe('NVIDIA-A100-SXM4-80GB');
  });

  test('a per-device layout with one GPU left whole advertises exactly that GPU', async () => {
    const t = await group(plan([[{ profile: 'whole', start: 0 }], ...Array(7).fill(all1g[0])], 'a100-mixed-dev'), 'mixed');
    expect(t.capacity['nvidia.com/gpu']).toBe(1);
    expect(t.capacity['nvidia.com/mig-1g.10gb']).toBe(49);
  });

  test("groups of one pool on several instance types share the pool's label (what the Triton pods require)", () => {
    const p: Plan = {
      fleet: 'f',
      gpus: [],
      summary: { gpuCount: 5, costPerHour: 1, lowerBound: 1, baselines: { dedicated: 5, noMig: 5 } },
      nodes: [
        {
          name: 'node-0',
          instanceType: 'g6.12xlarge',
          gpuType: 'L4',
          migConfig: 'all-disabled',
          gpus: ['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3'],
        },
        { name: 'node-1', instanceType: 'g6.xlarge', gpuType: 'L4', migConfig: 'all-disabled', gpus: ['gpu-4'] },
      ],
    };
    const { groups } = cloud.GpuNodeGroup.argsFromPlan(p);
    expect(groups.map((g) => [g.pool, g.poolLabel])).toEqual([
      ['l4-whole-l4-g6-12xlarge', 'l4-whole'],
      ['l4-whole-l4-g6-xlarge', 'l4-whole'],
    ]);
  });

  test("a group may grow to the nodes its pool's pods need at their maximum replicas; a smaller maxSize is a problem", () => {
    const p = plan(all1g, 'a100-1g');
    expect(cloud.GpuNodeGroup.argsFromPlan(p, { nodesNeeded: new Map([['a100-1g', 3]]) }).groups[0].maxSize).toBe(3);
    expect(cloud.GpuNodeGroup.argsFromPlan(p, { maxSize: 2, nodesNeeded: new Map([['a100-1g', 3]]) }).problems).toEqual([
      'plan.migConfigs[0] (a100-1g): maxSize 2, but the pods of pool "a100-1g" need 3 node(s) at their maximum replicas; raise ' +
        "maxSize or lower the autoscalers' maxReplicas",
    ]);
  });

  test.each(['payments-and-vision.fleet.yaml', 'payments-and-vision-h100.fleet.yaml'])(
    "%s: every Triton pod selects labels a node group of the plan carries, and the groups may grow to the pods' maximum",
    (file) => {
      const { objects, plan: p } = plannedObjects(loadFleetFile(`${__dirname}/../examples/${file}`));
      const needed = nodesNeededAtMaximum(objects);
      const { groups, problems } = cloud.GpuNodeGroup.argsFromPlan(p, { nodesNeeded: needed });
      expect(problems).toEqual([]);
      const carried = groups.map((g) => ({ 'gpufleet.io/pool': g.poolLabel ?? g.pool, 'nvidia.com/mig.config': g.migConfig }));
      const triton = objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/name'] === 'triton');
      expect(triton.length).toBeGreaterThan(0);
      for (const d of triton) {
        const reqs: { key: string; values: string[] }[] =
          d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions;
        expect([
          d.metadata.name,
          carried.some((labels: Record<string, string>) => reqs.every((r) => r.values.includes(labels[r.key]))),
        ]).toEqual([d.metadata.name, true]);
      }
      for (const g of groups) expect(g.maxSize!).toBeGreaterThanOrEqual(needed.get(g.poolLabel ?? g.pool) ?? 0);
      expect([...needed.values()].some((n) => n > 0)).toBe(true);
    },
  );
});
