/**
 * A named MIG layout for a GPU type: how every GPU of a node is cut into MIG instances. It becomes an entry of
 * the mig-parted ConfigMap (`MigConfig`) and the value of the node label `nvidia.com/mig.config`.
 */
import { GpuType, SlicePlacement, checkLayout, getMigProfile, placeProfiles, resolveGpuType, supportsMig } from '../../catalog';
import type { PlanMigConfig } from '../../planner/types';
import { MigStrategy, WHOLE_GPU_RESOURCE, migResourceName } from './gpu-resources';
import { assertLabelValue } from '../common/names';
import { compareText } from '../../catalog/text-order';

/** Profile name → number of instances on one GPU, e.g. `{ '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }`. */
export type MigProfileCounts = Readonly<Record<string, number>>;

/**
 * One GPU of a per-device layout: profile counts (placed by the catalog), explicit placements, or `'disabled'`
 * (MIG off: the GPU is used whole and advertised as `nvidia.com/gpu`).
 */
export type MigDeviceInput = MigProfileCounts | readonly SlicePlacement[] | 'disabled';

/** The layout of one GPU: its MIG instances sorted by start, or `undefined` slices when MIG is disabled. */
export interface MigDeviceLayout {
  /** MIG instances with their placement on the memory-slice axis; absent when MIG is disabled on this GPU. */
  readonly slices?: readonly SlicePlacement[];
}

/** Options of `MigLayout.resourceCounts`. */
export interface MigResourceCountOptions {
  /**
   * GPUs of the node. Per-device layouts must list exactly this many devices.
   * @default - 1 for layouts that apply to all GPUs (counts per GPU); the number of listed devices for per-device layouts
   */
  readonly gpusPerNode?: number;
  /**
   * The GPU operator's MIG strategy.
   * @default 'mixed'
   */
  readonly strategy?: MigStrategy;
}

function sortSlices(slices: readonly SlicePlacement[]): SlicePlacement[] {
  return slices.map((s) => ({ profile: s.profile, start: s.start })).sort((a, b) => a.start - b.start || compareText(a.profile, b.profile));
}

function countsOf(slices: readonly SlicePlacement[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of [...slices].sort((a, b) => compareText(a.profile, b.profile))) counts[s.profile] = (counts[s.profile] ?? 0) + 1;
  return counts;
}

/**
 * A validated, named MIG layout. Construct it with `MigLayout.fromProfiles`, `MigLayout.fromPlacements`,
 * `MigLayout.perDevice` or `MigLayout.fromPlan`; every GPU's layout is checked against the catalog
 * (`checkLayout`) and an illegal one throws naming the GPU type, the layout and the catalog's reason.
 */
export class MigLayout {
  /**
   * The same profile counts on every GPU of the node, placed by the catalog (`placeProfiles`).
   * `MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 })`
   */
  public static fromProfiles(name: string, gpuType: GpuType | string, counts: MigProfileCounts): MigLayout {
    const gpu = MigLayout.resolve(name, gpuType);
    return new MigLayout(name, gpu, [MigLayout.placeCounts(name, gpu, counts, 'profiles')], true);
  }

  /** The same explicit placements on every GPU of the node, e.g. `[{ profile: '4g.71gb', start: 0 }, { profile: '3g.71gb', start: 4 }]`. */
  public static fromPlacements(name: string, gpuType: GpuType | string, placements: readonly SlicePlacement[]): MigLayout {
    const gpu = MigLayout.resolve(name, gpuType);
    return new MigLayout(name, gpu, [MigLayout.checkPlacements(name, gpu, placements, 'placements')], true);
  }

  /**
   * One layout per GPU index of the node (mixed nodes): `devices[i]` applies to GPU `i`.
   * Each entry is profile counts, explicit placements or `'disabled'` (the GPU used whole).
   */
  public static perDevice(name: string, gpuType: GpuType | string, devices: readonly MigDeviceInput[]): MigLayout {
    const gpu = MigLayout.resolve(name, gpuType);
    if (!Array.isArray(devices) || devices.length === 0) {
      throw new Error(`MIG layout "${name}" devices: expected at least one device layout, got ${JSON.stringify(devices)}`);
    }
    const layouts = devices.map((d, i): MigDeviceLayout => {
      const path = `devices[${i}]`;
      if (d === 'disabled') return {};
      if (Array.isArray(d)) return MigLayout.checkPlacements(name, gpu, d as readonly SlicePlacement[], path);
      if (d && typeof d === 'object') return MigLayout.placeCounts(name, gpu, d as MigProfileCounts, path);
      throw new Error(`MIG layout "${name}" ${path}: expected profile counts, placements or "disabled", got ${JSON.stringify(d)}`);
    });
    return new MigLayout(name, gpu, layouts, false);
  }

  /**
   * The layout of a planner node configuration (`plan.migConfigs[i]`): one device entry means every GPU alike;
   * slices with profile `whole` mean MIG disabled on that GPU.
   */
  public static fromPlan(config: PlanMigConfig): MigLayout {
    const devices: MigDeviceInput[] = config.devices.map((slices) =>
      slices.length === 0 || slices.some((s) => s.profile === 'whole') ? 'disabled' : slices,
    );
    if (devices.length === 1 && devices[0] !== 'disabled') {
      return MigLayout.fromPlacements(config.name, config.gpuType, devices[0] as readonly SlicePlacement[]);
    }
    return MigLayout.perDevice(config.name, config.gpuType, devices);
  }

  private static resolve(name: string, gpuType: GpuType | string): GpuType {
    assertLabelValue('MIG layout name', name);
    if (name === 'all-disabled') {
      throw new Error('MIG layout name: "all-disabled" is reserved (MigConfig always renders it), choose another name');
    }
    const gpu = resolveGpuType(gpuType);
    if (!supportsMig(gpu)) {
      throw new Error(
        `MIG layout "${name}" gpuType: ${gpu.id} has no MIG profiles in the catalog` +
          `${gpu.migUnavailableReason ? ` (${gpu.migUnavailableReason})` : ''}; use it whole or time-sliced instead`,
      );
    }
    return gpu;
  }

  private static fail(name: string, gpu: GpuType, path: string, reasons: readonly string[]): never {
    throw new Error(`MIG layout "${name}" is illegal on ${gpu.id} (${path}): ${reasons.join('; ')}`);
  }

  private static placeCounts(name: string, gpu: GpuType, counts: MigProfileCounts, path: string): MigDeviceLayout {
    const names: string[] = [];
    const problems: string[] = [];
    for (const profile of Object.keys(counts ?? {}).sort()) {
      const n = counts[profile];
      if (!Number.isInteger(n) || n < 1) {
        problems.push(`${profile}: expected an integer count >= 1, got ${JSON.stringify(n)}`);
        continue;
      }
      try {
        getMigProfile(gpu, profile);
      } catch (e) {
        problems.push((e as Error).message);
        continue;
      }
      for (let i = 0; i < n; i++) names.push(profile);
    }
    if (problems.length > 0) MigLayout.fail(name, gpu, path, problems);
    if (names.length === 0) MigLayout.fail(name, gpu, path, ['expected at least one MIG instance, got none']);
    const placed = placeProfiles(gpu, names);
    if (!placed) MigLayout.fail(name, gpu, path, [MigLayout.whyUnplaceable(gpu, names)]);
    return MigLayout.checkPlacements(name, gpu, placed, path);
  }

  /** The reason `placeProfiles` found no placement, in the catalog's terms. */
  private static whyUnplaceable(gpu: GpuType, names: readonly string[]): string {
    const mig = gpu.mig!;
    const profiles = names.map((n) => getMigProfile(gpu, n));
    const counts = countsOf(names.map((profile) => ({ profile, start: 0 })));
    const reasons: string[] = [];
    for (const [profile, n] of Object.entries(counts)) {
      const max = getMigProfile(gpu, profile).maxInstances;
      if (n > max) reasons.push(`${profile}: ${n} instances, at most ${max} allowed on ${gpu.id}`);
    }
    const compute = profiles.reduce((s, p) => s + p.computeSlices, 0);
    if (compute > mig.computeSlices) reasons.push(`compute slices add up to ${compute}, more than the ${mig.computeSlices} of ${gpu.id}`);
    const memory = profiles.reduce((s, p) => s + p.memorySlices, 0);
    if (memory > mig.memorySlices) reasons.push(`memory slices add up to ${memory}, more than the ${mig.memorySlices} of ${gpu.id}`);
    if (profiles.filter((p) => p.mediaExtensions).length > 1) reasons.push('at most one media-extension (+me) profile per GPU');
    if (reasons.length === 0) reasons.push(`no combination of the legal placements of ${names.join(' + ')} fits on one GPU`);
    return reasons.join('; ');
  }

  private static checkPlacements(name: string, gpu: GpuType, placements: readonly SlicePlacement[], path: string): MigDeviceLayout {
    if (!Array.isArray(placements) || placements.length === 0) {
      MigLayout.fail(name, gpu, path, ['expected at least one MIG instance, got none']);
    }
    const problems = checkLayout(gpu, placements);
    if (problems.length > 0) MigLayout.fail(name, gpu, path, problems);
    return { slices: sortSlices(placements) };
  }

  /** The layout name: the mig-parted config name and the value of the `nvidia.com/mig.config` node label. */
  public readonly name: string;
  /** The GPU type the layout is for. */
  public readonly gpuType: GpuType;
  /** True when one layout applies to every GPU of the node (`devices: all`); false for per-device layouts. */
  public readonly allDevices: boolean;
  private readonly _devices: readonly MigDeviceLayout[];

  private constructor(name: string, gpuType: GpuType, devices: readonly MigDeviceLayout[], allDevices: boolean) {
    this.name = name;
    this.gpuType = gpuType;
    this._devices = devices;
    this.allDevices = allDevices;
  }

  /** Per device (one entry for `allDevices` layouts): the MIG instances sorted by start, or no slices when disabled. */
  public get devices(): MigDeviceLayout[] {
    return this._devices.map((d) => (d.slices ? { slices: d.slices.map((s) => ({ ...s })) } : {}));
  }

  /** Profile counts per device (`undefined` for a device with MIG disabled), profiles sorted by name. */
  public profileCounts(): (Record<string, number> | undefined)[] {
    return this._devices.map((d) => (d.slices ? countsOf(d.slices) : undefined));
  }

  /**
   * Extended resources the device plugin advertises on a node with this layout, resource names sorted,
   * e.g. `{ 'nvidia.com/mig-1g.10gb': 2, 'nvidia.com/mig-2g.20gb': 1, 'nvidia.com/mig-3g.40gb': 1 }` per GPU,
   * or × 8 with `{ gpusPerNode: 8 }`. GPUs with MIG disabled count as `nvidia.com/gpu`. Under the `single`
   * strategy every MIG device is an `nvidia.com/gpu` (and all slices of the node must be alike).
   */
  public resourceCounts(options: MigResourceCountOptions = {}): Record<string, number> {
    const strategy = options.strategy ?? 'mixed';
    const gpus = options.gpusPerNode ?? (this.allDevices ? 1 : this._devices.length);
    if (!Number.isInteger(gpus) || gpus < 1) throw new Error(`gpusPerNode: expected an integer >= 1, got ${gpus}`);
    if (!this.allDevices && gpus !== this._devices.length) {
      throw new Error(`gpusPerNode: MIG layout "${this.name}" lists ${this._devices.length} devices, got ${gpus} GPUs per node`);
    }
    const perNode = this.allDevices ? new Array<MigDeviceLayout>(gpus).fill(this._devices[0]) : this._devices;
    if (strategy === 'single') {
      const profiles = new Set(perNode.flatMap((d) => (d.slices ?? [{ profile: 'whole', start: 0 }]).map((s) => s.profile)));
      if (profiles.size > 1) {
        throw new Error(
          'strategy: "single" needs one profile on every GPU of the node, ' +
            `MIG layout "${this.name}" has ${[...profiles].sort().join(', ')}; use "mixed"`,
        );
      }
    }
    const totals = new Map<string, number>();
    for (const d of perNode) {
      for (const s of d.slices ?? [{ profile: 'whole', start: 0 }]) {
        const resource = s.profile === 'whole' || strategy === 'single' ? WHOLE_GPU_RESOURCE : migResourceName(s.profile);
        totals.set(resource, (totals.get(resource) ?? 0) + 1);
      }
    }
    return Object.fromEntries([...totals].sort(([a], [b]) => compareText(a, b)));
  }
}
