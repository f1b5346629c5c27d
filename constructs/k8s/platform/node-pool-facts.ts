/**
 * A Karpenter NodePool of a rendering as the platform checks see it (`platform-checks.ts`): the labels its nodes
 * carry, its taints, and the GPU resources its MIG layout provides — read from the mig-parted configs, the device
 * plugin's time-slicing configs and the GPU operator's MIG strategy found among the same objects.
 */
import { parse as parseYaml } from 'yaml';
import { WHOLE_GPU_RESOURCE } from '../gpu/gpu-resources';
import { LabelRequirement, nodePoolInstanceTypes, nodePoolRequirements } from '../gpu/karpenter-requirements';
import { DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL } from '../common/labels';
import type { InstanceType } from '../../catalog';
import { compareText } from '../../catalog/text-order';

/** A node pool as the checks see it. */
export interface NodePoolFacts {
  readonly name: string;
  /** Labels its nodes carry (template labels and single-valued `In` requirements, plus `karpenter.sh/nodepool`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** GPU resources its layout provides, in layout order. */
  readonly resources: readonly string[];
  /** Profiles of the layout for messages, e.g. `3g.40gb, 2g.20gb`, or `whole GPUs`. */
  readonly layout: string;
  /** Karpenter's requirements of the pool by key (`nodePoolRequirements`). @default - `labels` as `In` requirements */
  readonly requirements?: ReadonlyMap<string, readonly LabelRequirement[]>;
  /** Catalog instance types the pool may launch. @default - none known */
  readonly instanceTypes?: readonly InstanceType[];
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

interface MigConfigEntry {
  readonly 'mig-enabled'?: boolean;
  readonly 'mig-devices'?: Record<string, number>;
}

/** mig-parted configs found in ConfigMaps (`version` + `mig-configs` documents in any data key). */
function migConfigs(objects: readonly any[]): Map<string, MigConfigEntry[]> {
  const out = new Map<string, MigConfigEntry[]>();
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || !o.data) continue;
    for (const text of Object.values(o.data)) {
      if (typeof text !== 'string' || !text.includes('mig-configs')) continue;
      let doc: any;
      try {
        doc = parseYaml(text);
      } catch {
        continue;
      }
      for (const [name, entries] of Object.entries(doc?.['mig-configs'] ?? {})) {
        if (Array.isArray(entries)) out.set(name, entries as MigConfigEntry[]);
      }
    }
  }
  return out;
}

interface TimeSlicing {
  readonly renameByDefault?: boolean;
  readonly resources?: readonly { readonly name: string; readonly replicas: number }[];
}

/** Device-plugin configs with time-slicing, by config name (the ConfigMap data key). */
function timeSlicingConfigs(objects: readonly any[]): Map<string, TimeSlicing> {
  const out = new Map<string, TimeSlicing>();
  for (const o of objects) {
    if (o?.kind !== 'ConfigMap' || !o.data) continue;
    for (const [key, text] of Object.entries(o.data)) {
      if (typeof text !== 'string' || !text.includes('timeSlicing')) continue;
      try {
        const ts = parseYaml(text)?.sharing?.timeSlicing;
        if (ts) out.set(key.replace(/\.ya?ml$/, ''), ts as TimeSlicing);
      } catch {
        continue;
      }
    }
  }
  return out;
}

/** Applies a time-slicing config to a layout's resources: a shared resource keeps its name, or gets `.shared` with `renameByDefault`. */
function timeSliced(base: { resources: string[]; layout: string }, ts: TimeSlicing | undefined): { resources: string[]; layout: string } {
  if (!ts) return base;
  const shared = new Map((ts.resources ?? []).map((r) => [r.name, r.replicas]));
  const resources = base.resources.map((r) => (shared.has(r) && ts.renameByDefault ? `${r}.shared` : r));
  const notes = base.resources.filter((r) => shared.has(r)).map((r) => `${r.replace('nvidia.com/', '')} time-sliced ×${shared.get(r)}`);
  return { resources, layout: notes.length ? `${base.layout} (${notes.join(', ')})` : base.layout };
}

/** Strategy of the GPU operator (ClusterPolicy or HelmRelease values), `mixed` when none is found. */
function migStrategy(objects: readonly any[]): 'mixed' | 'single' {
  for (const o of objects) {
    const s = o?.kind === 'ClusterPolicy' ? o.spec?.mig?.strategy : o?.kind === 'HelmRelease' ? o.spec?.values?.mig?.strategy : undefined;
    if (s === 'single' || s === 'mixed') return s;
  }
  return 'mixed';
}

function layoutOf(
  config: string | undefined,
  configs: Map<string, MigConfigEntry[]>,
  strategy: 'mixed' | 'single',
): { resources: string[]; layout: string } {
  const entries = config === undefined ? undefined : configs.get(config);
  if (!entries) {
    // No MIG config (or all-disabled, or one this tree does not render): whole GPUs.
    return {
      resources: [WHOLE_GPU_RESOURCE],
      layout: config === undefined || config === 'all-disabled' ? 'whole GPUs' : `${config} (not rendered)`,
    };
  }
  const resources: string[] = [];
  const profiles: string[] = [];
  const add = (list: string[], v: string) => (list.includes(v) ? undefined : list.push(v));
  for (const e of entries) {
    if (e['mig-enabled'] === false || !e['mig-devices']) {
      add(resources, WHOLE_GPU_RESOURCE);
      add(profiles, 'whole');
      continue;
    }
    for (const profile of Object.keys(e['mig-devices'])) {
      add(profiles, profile);
      add(resources, strategy === 'single' ? WHOLE_GPU_RESOURCE : `nvidia.com/mig-${profile.replace(/\+/g, '.')}`);
    }
  }
  // largest slices first, as operators read layouts (`3g.40gb, 2g.20gb, 1g.10gb`); whole GPUs first of all
  const size = (p: string) => (p === 'whole' ? 8 : parseInt(p, 10) || 0);
  return { resources, layout: [...profiles].sort((a, b) => size(b) - size(a) || compareText(a, b)).join(', ') };
}

/** Karpenter NodePools: labels (with single-value `In` requirements), taints, the GPU resources and layout of a node. */
export function nodePoolFactsOf(objects: readonly any[]): NodePoolFacts[] {
  const configs = migConfigs(objects);
  const strategy = migStrategy(objects);
  const sharing = timeSlicingConfigs(objects);
  const nodePools: NodePoolFacts[] = [];
  for (const o of objects) {
    if (o?.kind !== 'NodePool' || !String(o.apiVersion).startsWith('karpenter.sh/')) continue;
    const template = o.spec?.template ?? {};
    const labels: Record<string, string> = { 'karpenter.sh/nodepool': o.metadata?.name, ...(template.metadata?.labels ?? {}) };
    for (const r of template.spec?.requirements ?? []) {
      if (r.operator === 'In' && Array.isArray(r.values) && r.values.length === 1) labels[r.key] = r.values[0];
    }
    const { resources, layout } = timeSliced(
      layoutOf(labels[MIG_CONFIG_LABEL], configs, strategy),
      sharing.get(labels[DEVICE_PLUGIN_CONFIG_LABEL]),
    );
    const requirements = nodePoolRequirements(o);
    nodePools.push({
      name: o.metadata?.name,
      labels,
      taints: template.spec?.taints ?? [],
      resources,
      layout,
      requirements,
      instanceTypes: nodePoolInstanceTypes(requirements),
    });
  }

  return nodePools;
}
