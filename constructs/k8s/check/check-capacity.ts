/**
 * `gpufleet check`, rules `provisioning`, `scheduling` and `capacity`: every GPU pod template can be provisioned by
 * some Karpenter NodePool (labels by Karpenter's rules, taints, Karpenter's view of the GPU resources) and scheduled
 * on the node it gets (the device plugin's resources, CPU and memory); and every NodePool's limits hold its pods at
 * their minimum and maximum replicas, with the CPU and memory of a full node.
 */
import type { InstanceType } from '../../catalog';
import { GpuWorkload, NodePoolModel, RenderingModel, launchLabels } from './check-model';
import { deviceView, karpenterView, podRoom, untoleratedTaints } from './check-nodes';
import { KARPENTER_WELL_KNOWN_LABELS, incompatibility, labelsSatisfy } from '../gpu/karpenter-requirements';

/** The rules of `gpufleet check`. */
export type CheckRule = 'provisioning' | 'scheduling' | 'capacity' | 'quota' | 'layout' | 'autoscaling' | 'prerequisites' | 'relayout';

/** One finding: the rule, the object it is about, what is wrong. */
export interface CheckFinding {
  readonly rule: CheckRule;
  readonly object: string;
  readonly message: string;
}

const cpu = (m: number) => (m % 1000 === 0 ? `${m / 1000}` : `${Math.round(m) / 1000}`);
const mem = (mib: number) => (mib >= 1024 ? `${Math.round((mib / 1024) * 100) / 100}Gi` : `${Math.round(mib)}Mi`);
const resShort = (r: Readonly<Record<string, number>>) =>
  Object.entries(r)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ') || 'no GPU resource';

/** How a NodePool serves one workload. */
interface Fit {
  readonly np: NodePoolModel;
  /** Why Karpenter does not consider the NodePool at all (labels, taints), if so. */
  readonly excluded?: string;
  /** Instance types Karpenter may launch for the pods (its view holds their requests). */
  readonly launchable: readonly InstanceType[];
  /** Of those, the ones whose real node holds the pods (device plugin resources, CPU and memory). */
  readonly schedulable: readonly InstanceType[];
  readonly why: readonly string[];
}

function fits(have: Readonly<Record<string, number>>, want: Readonly<Record<string, number>>): boolean {
  return Object.entries(want).every(([r, n]) => (have[r] ?? 0) >= n);
}

function fitOf(model: RenderingModel, np: NodePoolModel, w: GpuWorkload): Fit {
  const reasons = w.terms.map((t) => incompatibility(np.requirements, np.instanceTypes, t));
  if (reasons.every((r) => r !== undefined)) return { np, excluded: reasons[0], launchable: [], schedulable: [], why: [] };
  const taints = untoleratedTaints(np, w);
  if (taints.length > 0)
    return { np, excluded: `the pods do not tolerate its taint ${taints.join(', ')}`, launchable: [], schedulable: [], why: [] };
  const launchable: InstanceType[] = [];
  const schedulable: InstanceType[] = [];
  const why: string[] = [];
  for (const it of np.instanceTypes) {
    const karp = karpenterView(model, np, it);
    const room = podRoom(np, it);
    const small = w.cpuMillis <= room.cpuMillis && w.memoryMiB <= room.memoryMiB;
    if (!fits(karp.capacity, w.gpu)) {
      const missing = Object.keys(w.gpu).filter((r) => !((karp.capacity[r] ?? 0) >= w.gpu[r]));
      const gate = model.prerequisites?.karpenterNodeOverlay
        ? ''
        : '; the NodeOverlay feature gate is not declared on (prerequisites), so Karpenter applies no NodeOverlay';
      why.push(
        `Karpenter sees ${missing.map((r) => `${karp.capacity[r] ?? 0} ${r}`).join(', ')} on ${it.name}` +
          `${karp.overlays.length ? ` (NodeOverlays ${karp.overlays.join(', ')})` : ''}${gate}`,
      );
      continue;
    }
    if (!small) {
      why.push(
        `the pods request ${cpu(w.cpuMillis)} CPU and ${mem(w.memoryMiB)}, ` +
          `a ${it.name} leaves ${cpu(room.cpuMillis)} CPU and ${mem(room.memoryMiB)} for pods`,
      );
      continue;
    }
    launchable.push(it);
    const dev = deviceView(model, np, it);
    const labels = { ...launchLabels(np, it), ...dev.gfdLabels };
    if (!w.terms.some((t) => labelsSatisfy(labels, t))) {
      why.push(
        `once running, a ${it.name} carries ${Object.entries(dev.gfdLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} (GPU feature discovery), which the pods' node requirements exclude`,
      );
    } else if (fits(dev.resources, w.gpu)) schedulable.push(it);
    else
      why.push(
        `the device plugin of a ${it.name} advertises ${resShort(dev.resources)} (${dev.layout})` +
          `${dev.problems.length ? `: ${dev.problems[0]}` : ''}`,
      );
  }
  return { np, launchable, schedulable, why };
}

/** Required keys that no NodePool defines and Karpenter does not know (every alternative term has one). */
function unknownKeys(model: RenderingModel, w: GpuWorkload): string[] {
  const known = (k: string) => KARPENTER_WELL_KNOWN_LABELS.has(k) || model.nodePools.some((np) => np.requirements.has(k));
  const perTerm = w.terms.map((t) =>
    t.filter((r) => r.operator !== 'NotIn' && r.operator !== 'DoesNotExist' && !known(r.key)).map((r) => r.key),
  );
  return perTerm.length > 0 && perTerm.every((k) => k.length > 0) ? [...new Set(perTerm[0])].sort() : [];
}

/** The NodePools each workload provisions and schedules on, and the findings of rules provisioning and scheduling. */
export function checkProvisioning(model: RenderingModel): { findings: CheckFinding[]; homes: Map<GpuWorkload, NodePoolModel[]> } {
  const findings: CheckFinding[] = [];
  const homes = new Map<GpuWorkload, NodePoolModel[]>();
  const pools = model.nodePools.map((n) => n.name).join(', ') || 'none';
  for (const np of model.nodePools) {
    if (np.instanceTypes.length === 0 || np.unknownInstanceTypes.length > 0) {
      findings.push({
        rule: 'provisioning',
        object: np.ref,
        message:
          'its node.kubernetes.io/instance-type requirement names ' +
          (np.unknownInstanceTypes.length
            ? `instance types the catalog does not know (${np.unknownInstanceTypes.join(', ')})`
            : 'no instance type') +
          '; the nodes it launches can not be checked',
      });
    }
  }
  for (const w of model.workloads) {
    const want = resShort(w.gpu);
    const unknown = unknownKeys(model, w);
    if (unknown.length > 0) {
      for (const key of unknown) {
        findings.push({
          rule: 'provisioning',
          object: w.ref,
          message:
            `requires node label "${key}", which no NodePool declares and Karpenter does not know (NodePools: ${pools}): ` +
            'Karpenter finds every NodePool incompatible ("label does not have known values") and its pods stay Pending',
        });
      }
      homes.set(w, []);
      continue;
    }
    const fitsAll = model.nodePools.map((np) => fitOf(model, np, w));
    const admitted = fitsAll.filter((f) => f.excluded === undefined);
    for (const f of admitted) {
      f.launchable
        .filter((i) => !f.schedulable.includes(i))
        .forEach((it) => {
          const reason = f.why.find((x) => x.includes(`a ${it.name} `)) ?? 'it can not run them';
          findings.push({
            rule: 'scheduling',
            object: w.ref,
            message:
              `Karpenter may launch a ${it.name} of ${f.np.ref} for its pods (${want} each), ` +
              `but ${reason}: the pods stay Pending on it`,
          });
        });
    }
    const home = admitted.filter((f) => f.schedulable.length > 0).map((f) => f.np);
    homes.set(w, home);
    if (home.length > 0) continue;
    const why =
      admitted.length > 0
        ? admitted.map((f) => `${f.np.name}: ${f.why.join('; ') || 'no instance type'}`).join(' | ')
        : fitsAll.map((f) => `${f.np.name}: ${f.excluded}`).join(' | ') || 'no NodePool in the rendering';
    findings.push({
      rule: 'provisioning',
      object: w.ref,
      message: `no NodePool can launch a node its pods (${want}, ${cpu(w.cpuMillis)} CPU, ${mem(w.memoryMiB)}) run on: ${why}`,
    });
  }
  return { findings, homes };
}

/** Nodes the limits of a NodePool allow: per limited resource, the limit over the most a node of it may count. */
function nodesAllowed(model: RenderingModel, np: NodePoolModel): { nodes: number; why: string } {
  let nodes = Infinity;
  let why = 'no limits';
  for (const [r, limit] of Object.entries(np.limits)) {
    const per = Math.max(...np.instanceTypes.map((it) => karpenterView(model, np, it).capacity[r] ?? 0));
    if (per <= 0) continue;
    const n = Math.floor(limit / per + 1e-9);
    if (n < nodes) {
      nodes = n;
      why = `limits.${r} ${limit} / ${per} per node`;
    }
  }
  return { nodes, why };
}

/** Units of each resource one node surely holds: the least over the instance types. */
function unitsOf(perType: readonly Readonly<Record<string, number>>[], resources: readonly string[]): Record<string, number> {
  const units: Record<string, number> = {};
  for (const r of resources) units[r] = Math.min(...perType.map((x) => x[r] ?? 0));
  return units;
}

/** Nodes the workloads need at `pick` replicas: per resource the total over the units a node holds. */
function nodesFor(
  mine: readonly GpuWorkload[],
  resources: readonly string[],
  units: Readonly<Record<string, number>>,
  pick: (w: GpuWorkload) => number,
): { needed: number; parts: string[] } {
  let needed = 0;
  const parts: string[] = [];
  for (const r of resources) {
    const total = mine.reduce((s, w) => s + pick(w) * (w.gpu[r] ?? 0), 0);
    if (total === 0) continue;
    needed = Math.max(needed, units[r] > 0 ? Math.ceil(total / units[r]) : Infinity);
    parts.push(
      `${total} ${r} (${mine
        .filter((w) => w.gpu[r])
        .map((w) => `${w.name}: ${pick(w)}`)
        .join(', ')}), ${units[r]} per node`,
    );
  }
  return { needed, parts };
}

/**
 * Nodes each NodePool needs for the GPU pods that run there at their maximum replicas (by the device plugin's
 * resources per node), e.g. to size the cluster-autoscaler node groups that carry the same pools.
 */
export function nodesAtMaximum(model: RenderingModel, homes: ReadonlyMap<GpuWorkload, readonly NodePoolModel[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const np of model.nodePools) {
    const mine = model.workloads.filter((w) => homes.get(w)?.[0] === np);
    if (mine.length === 0 || np.instanceTypes.length === 0) continue;
    const resources = [...new Set(mine.flatMap((w) => Object.keys(w.gpu)))].sort();
    const units = unitsOf(
      np.instanceTypes.map((it) => deviceView(model, np, it).resources),
      resources,
    );
    out.set(np.name, nodesFor(mine, resources, units, (w) => w.maxReplicas).needed);
  }
  return out;
}

/** Rule capacity: pods at minimum and maximum replicas within each NodePool's limits, and a full node's CPU and memory. */
export function checkCapacity(model: RenderingModel, homes: ReadonlyMap<GpuWorkload, readonly NodePoolModel[]>): CheckFinding[] {
  const findings: CheckFinding[] = [];
  for (const np of model.nodePools) {
    // a workload with several homes is counted on the first (by name)
    const mine = model.workloads.filter((w) => homes.get(w)?.[0] === np);
    if (mine.length === 0 || np.instanceTypes.length === 0) continue;
    const views = np.instanceTypes.map((it) => ({ it, dev: deviceView(model, np, it), karp: karpenterView(model, np, it) }));
    const resources = [...new Set(mine.flatMap((w) => Object.keys(w.gpu)))].sort();
    // Karpenter sizes launches by its view; a different real count strands pods or launches idle nodes
    for (const { it, dev, karp } of views) {
      for (const r of resources) {
        if ((karp.capacity[r] ?? 0) !== (dev.resources[r] ?? 0)) {
          findings.push({
            rule: 'capacity',
            object: np.ref,
            message:
              `Karpenter counts ${karp.capacity[r] ?? 0} ${r} per ${it.name}` +
              (karp.overlays.length ? ` (NodeOverlays ${karp.overlays.join(', ')})` : ' (no NodeOverlay applies)') +
              `, the device plugin advertises ${dev.resources[r] ?? 0} (${dev.layout}): Karpenter launches ` +
              ((karp.capacity[r] ?? 0) > (dev.resources[r] ?? 0) ? 'too few nodes and pods stay Pending' : 'a node per pod'),
          });
        }
      }
    }
    const units = unitsOf(
      views.map((v) => v.dev.resources),
      resources,
    );
    const allowed = nodesAllowed(model, np);
    for (const [label, pick] of [
      ['maximum', (w: GpuWorkload) => w.maxReplicas],
      ['minimum', (w: GpuWorkload) => w.minReplicas],
    ] as const) {
      const { needed, parts } = nodesFor(mine, resources, units, pick);
      if (needed > allowed.nodes) {
        findings.push({
          rule: 'capacity',
          object: np.ref,
          message:
            `its pods at ${label} replicas need ${needed} node(s): ${parts.join('; ')}; ` +
            `its limits allow ${allowed.nodes} (${allowed.why}): ` +
            (label === 'maximum' ? 'the autoscalers scale to pods that stay Pending' : 'pods stay Pending'),
        });
        break;
      }
    }
    // a full node: every unit the pods may take, each by the largest pod per unit of that resource
    for (const { it, dev } of views) {
      const room = podRoom(np, it);
      let cpuNeed = 0;
      let memNeed = 0;
      const who: string[] = [];
      for (const r of resources) {
        const users = mine.filter((w) => w.gpu[r]);
        const total = users.reduce((s, w) => s + w.maxReplicas * w.gpu[r], 0);
        const slots = Math.min(dev.resources[r] ?? 0, total);
        if (slots === 0) continue;
        const big = users.reduce((a, b) => (b.cpuMillis / b.gpu[r] > a.cpuMillis / a.gpu[r] ? b : a));
        cpuNeed += slots * Math.max(...users.map((w) => w.cpuMillis / w.gpu[r]));
        memNeed += slots * Math.max(...users.map((w) => w.memoryMiB / w.gpu[r]));
        who.push(`${slots} × ${r} (${big.ref}: ${cpu(big.cpuMillis)} CPU, ${mem(big.memoryMiB)})`);
      }
      if (cpuNeed > room.cpuMillis + 1e-6 || memNeed > room.memoryMiB + 1e-6) {
        findings.push({
          rule: 'capacity',
          object: np.ref,
          message:
            `a full ${it.name} holds ${who.join(' + ')}: ${cpu(cpuNeed)} CPU and ${mem(memNeed)}, ` +
            `but leaves ${cpu(room.cpuMillis)} CPU and ${mem(room.memoryMiB)} for GPU pods ` +
            '(allocatable after kube-reserved, eviction threshold and DaemonSets): its GPU slots stay idle while pods stay Pending',
        });
      }
    }
  }
  return findings;
}
