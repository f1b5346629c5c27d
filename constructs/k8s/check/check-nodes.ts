/**
 * A node of a NodePool two ways: as Karpenter sees it before launch (the instance type's capacity, replaced by the
 * NodeOverlays that match, when the NodeOverlay gate is on) and as it is once the GPU operator has run (the resources
 * the device plugin advertises for the node's mig-parted config, MIG strategy and time-slicing).
 *
 * Upstream semantics encoded here:
 * - NodeOverlay capacity replaces the instance's entry per resource (`ApplyCapacityOverlay`: `lo.Assign`), higher
 *   weight first, equal weights in name order (kubernetes-sigs/karpenter v1.14.1 pkg/cloudprovider/types.go,
 *   pkg/controllers/nodeoverlay/store.go); without the gate no overlay applies (pkg/operator/options/options.go).
 * - mixed strategy: `nvidia.com/mig-<profile>` per MIG device (`+` → `.`), `nvidia.com/gpu` per GPU with MIG off;
 *   single strategy: every MIG device is an `nvidia.com/gpu`, and all devices of a node must be one profile
 *   (NVIDIA/k8s-device-plugin v0.20.0); time-slicing multiplies a resource by its replicas, renamed `<r>.shared`
 *   with `renameByDefault`.
 * - mig-parted applies to a GPU the entry whose `device-filter` matches its PCI id and whose `devices` include its
 *   index (NVIDIA/mig-parted v0.15.0).
 */
import { findMigProfile, placeProfiles, type InstanceType } from '../../catalog';
import { GpuWorkload, MigPartedEntry, NodePoolModel, RenderingModel, launchLabels } from './check-model';
import { labelsSatisfy } from '../gpu/karpenter-requirements';
import { CpuMemory, podAllocatable, VM_MEMORY_OVERHEAD_PERCENT } from '../gpu/node-allocatable';
import { compareText } from '../../catalog/text-order';

/** GPU resources of one node, and why some GPU advertises nothing. */
export interface DeviceView {
  readonly resources: Readonly<Record<string, number>>;
  readonly problems: readonly string[];
  /** How the node is cut, for messages (`h100-balanced: 8 × 1g.10gb×2 2g.20gb 3g.40gb`). */
  readonly layout: string;
  /**
   * Labels GPU feature discovery writes once the node runs (they replace any launch label of the same key):
   * `nvidia.com/gpu.product` — the product under the mixed strategy, `<product>-MIG-<profile>` under the single
   * strategy, with `-SHARED` appended when time-slicing shares the resource without renaming it
   * (k8s-device-plugin v0.20.0 internal/lm/resource.go getProductName).
   */
  readonly gfdLabels: Readonly<Record<string, string>>;
}

function entryFor(entries: readonly MigPartedEntry[], pciIds: readonly string[], index: number): MigPartedEntry | undefined {
  const norm = (s: string) => s.toLowerCase();
  return entries.find((e) => {
    const filter = e['device-filter'];
    const ids = filter === undefined ? undefined : (typeof filter === 'string' ? [filter] : filter).map(norm);
    if (ids && !pciIds.some((p) => ids.includes(norm(p)))) return false;
    return e.devices === 'all' || (Array.isArray(e.devices) && e.devices.includes(index));
  });
}

function showCounts(c: Readonly<Record<string, number>>): string {
  return Object.entries(c)
    .map(([p, n]) => `${p}×${n}`)
    .join(' ');
}

/** What the device plugin advertises on a node of `np` on instance type `it`. */
export function deviceView(model: RenderingModel, np: NodePoolModel, it: InstanceType): DeviceView {
  const strategy = model.operator?.strategy ?? 'mixed';
  const gpu = np.gpuType;
  const problems: string[] = [];
  const resources: Record<string, number> = {};
  const add = (r: string, n: number) => {
    resources[r] = (resources[r] ?? 0) + n;
  };
  const configName = np.migConfig ?? model.operator?.migDefault ?? 'all-disabled';
  const migCapable = !!gpu?.mig && gpu.mig.profiles.length > 0;
  const entries = migCapable ? model.migConfigs.get(configName) : undefined;
  const cuts: string[] = [];
  const singleProfiles = new Set<string>();
  for (let i = 0; i < it.gpuCount; i++) {
    if (!migCapable) {
      add('nvidia.com/gpu', 1);
      cuts.push('whole');
      continue;
    }
    if (!entries) {
      problems.push(`mig-parted config "${configName}" is not in ${model.migConfigSource ?? "the MIG manager's ConfigMap (none found)"}`);
      break;
    }
    const e = entryFor(entries, gpu.pciDeviceIds, i);
    if (!e) {
      problems.push(
        `no entry of mig-parted config "${configName}" applies to GPU ${i} of ${it.name} (${gpu.id}, PCI ${gpu.pciDeviceIds.join('/')})`,
      );
      continue;
    }
    if (e['mig-enabled'] === false || !e['mig-devices']) {
      add('nvidia.com/gpu', 1);
      cuts.push('whole');
      continue;
    }
    const counts = e['mig-devices'];
    const names: string[] = [];
    const unknown = Object.keys(counts).filter((p) => !findMigProfile(gpu, p));
    if (unknown.length > 0) {
      problems.push(`mig-parted config "${configName}" names ${unknown.join(', ')}, not MIG profiles of ${gpu.id}`);
      continue;
    }
    for (const [p, n] of Object.entries(counts)) for (let k = 0; k < n; k++) names.push(p);
    if (!placeProfiles(gpu, names)) {
      problems.push(
        `mig-parted config "${configName}" cuts GPU ${i} into ${showCounts(counts)}, ` +
          `which no legal placement on ${gpu.id} holds: the MIG manager fails`,
      );
      continue;
    }
    cuts.push(showCounts(counts));
    for (const [p, n] of Object.entries(counts)) {
      if (strategy === 'single') {
        singleProfiles.add(p);
        add('nvidia.com/gpu', n);
      } else add(`nvidia.com/mig-${p.replace(/\+/g, '.')}`, n);
    }
  }
  const mixedSingle = strategy === 'single' && singleProfiles.size > 1;
  if (mixedSingle) {
    problems.push(
      'the single MIG strategy needs one profile on every GPU of a node, ' +
        `mig-parted config "${configName}" has ${[...singleProfiles].sort().join(', ')}`,
    );
  }
  const dpName = np.devicePluginConfig ?? model.operator?.devicePluginDefault;
  if (np.devicePluginConfig !== undefined && !model.devicePluginConfigs.has(np.devicePluginConfig)) {
    problems.push(`device-plugin config "${np.devicePluginConfig}" is not in the device plugin's ConfigMap`);
  }
  const ts = dpName === undefined ? undefined : model.devicePluginConfigs.get(dpName);
  if (ts) {
    for (const [r, replicas] of ts.replicas) {
      if (!(r in resources)) continue;
      const n = resources[r] * replicas;
      delete resources[r];
      add(ts.renameByDefault ? `${r}.shared` : r, n);
    }
  }
  const gfdLabels: Record<string, string> = {};
  const product = gpu?.productLabels[0];
  if (product !== undefined) {
    const single = strategy === 'single' && singleProfiles.size === 1 ? [...singleProfiles][0] : undefined;
    const shared = ts !== undefined && (ts.replicas.get('nvidia.com/gpu') ?? 0) > 1 && !ts.renameByDefault;
    gfdLabels['nvidia.com/gpu.product'] = `${product}${single ? `-MIG-${single}` : ''}${shared ? '-SHARED' : ''}`;
  }
  const distinct = [...new Set(cuts)];
  const timeSliced = ts ? ` (time-sliced ${[...ts.replicas].map(([r, n]) => `${r.replace('nvidia.com/', '')}×${n}`).join(', ')})` : '';
  const cut = distinct.length === 1 ? `${it.gpuCount} × ${distinct[0]}` : cuts.join(' | ');
  const layout = `${migCapable ? `${configName}: ` : ''}${cut}${timeSliced}`;
  // a node the single strategy can not describe: the device plugin advertises nothing
  return { resources: mixedSingle ? {} : resources, problems, layout, gfdLabels };
}

/** Karpenter's view of a node of `np` on `it`: instance capacity, replaced by matching NodeOverlays when the gate is on. */
export function karpenterView(
  model: RenderingModel,
  np: NodePoolModel,
  it: InstanceType,
): { capacity: Record<string, number>; overlays: string[] } {
  const memMiB = Math.round(it.memoryGiB * 1024);
  const capacity: Record<string, number> = {
    cpu: it.vcpu,
    memory: (memMiB - Math.ceil(memMiB * VM_MEMORY_OVERHEAD_PERCENT)) * 2 ** 20,
    'nvidia.com/gpu': it.gpuCount,
  };
  const applied: string[] = [];
  if (!model.prerequisites?.karpenterNodeOverlay) return { capacity, overlays: applied };
  const labels = launchLabels(np, it);
  const set = new Set<string>();
  const ordered = [...model.overlays].sort((a, b) => b.weight - a.weight || compareText(a.name, b.name));
  for (const o of ordered) {
    if (!labelsSatisfy(labels, o.requirements)) continue;
    let used = false;
    for (const [r, n] of Object.entries(o.capacity)) {
      if (set.has(r)) continue;
      set.add(r);
      capacity[r] = n;
      used = true;
    }
    if (used) applied.push(o.name);
  }
  return { capacity, overlays: applied };
}

/** What GPU pods may request on a node of `np` on `it` (allocatable after the EC2NodeClass's reservations and DaemonSets). */
export function podRoom(np: NodePoolModel, it: InstanceType): CpuMemory {
  const a = np.allocatable;
  return podAllocatable(it, {
    ...(a.kubeReservedMemoryMiB !== undefined ? { kubeReservedMemoryMiB: a.kubeReservedMemoryMiB } : {}),
    ...(a.kubeReservedCpuMillis !== undefined ? { kubeReservedCpuMillis: a.kubeReservedCpuMillis } : {}),
    ...(a.evictionHardMemoryMiB !== undefined ? { evictionHardMemoryMiB: a.evictionHardMemoryMiB } : {}),
    systemReserved: { cpuMillis: a.systemReserved?.cpuMillis ?? 0, memoryMiB: a.systemReserved?.memoryMiB ?? 0 },
  });
}

/** Whether a pod tolerates every NoSchedule / NoExecute taint of the NodePool's nodes. */
export function untoleratedTaints(np: NodePoolModel, w: GpuWorkload): string[] {
  const tolerations: any[] = w.podSpec?.tolerations ?? [];
  const ok = (taint: { key: string; value?: string; effect: string }) =>
    tolerations.some((t) => {
      if (t.effect && t.effect !== taint.effect) return false;
      if (!t.key) return t.operator === 'Exists';
      if (t.key !== taint.key) return false;
      return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
    });
  return np.taints
    .filter((t) => t.effect !== 'PreferNoSchedule' && !ok(t))
    .map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`);
}
