/**
 * The mig-parted ConfigMap the GPU operator's MIG manager reads (`migManager.config.name`), and the script
 * that changes a node's layout safely (the MIG manager itself does not drain user pods).
 */
import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { MigLayout } from './mig-layout';
import { assertDnsLabel } from '../common/names';
import { relayoutScript } from './mig-config-relayout';
import { compareText } from '../../catalog/text-order';

/** The config every mig-parted ConfigMap of gpufleet carries: MIG mode off on every GPU. */
export const MIG_ALL_DISABLED = 'all-disabled';

/** Props of `MigConfig`. */
export interface MigConfigProps {
  /**
   * Name of the ConfigMap (the GPU operator's `migManager.config.name`).
   * @default 'gpufleet-mig-parted-config'
   */
  readonly name?: string;
  /**
   * Namespace; the MIG manager reads the ConfigMap from the GPU operator's namespace.
   * @default 'gpu-operator'
   */
  readonly namespace?: string;
  /**
   * Layouts to add (more with `addLayout`).
   * @default - none: only `all-disabled`
   */
  readonly layouts?: readonly MigLayout[];
  /**
   * Also render the re-layout script (cordon, drain, relabel, wait, uncordon) into a ConfigMap `<name>-relayout`.
   * @default true
   */
  readonly relayoutScript?: boolean;
}

/** One entry of a mig-parted config (`mig-configs.<name>[i]`). */
export interface MigPartedDeviceConfig {
  readonly 'device-filter'?: readonly string[];
  readonly devices: 'all' | readonly number[];
  readonly 'mig-enabled': boolean;
  readonly 'mig-devices'?: Readonly<Record<string, number>>;
}

/** The mig-parted config file (`config.yaml` of the ConfigMap). */
export interface MigPartedConfig {
  readonly version: 'v1';
  readonly 'mig-configs': Readonly<Record<string, readonly MigPartedDeviceConfig[]>>;
}

/** The mig-parted entries of one layout: `devices: all`, or devices with identical layouts grouped by index. */
export function migPartedEntries(layout: MigLayout): MigPartedDeviceConfig[] {
  const filter = [...layout.gpuType.pciDeviceIds];
  const counts = layout.profileCounts();
  const entry = (devices: 'all' | number[], c: Record<string, number> | undefined): MigPartedDeviceConfig =>
    c
      ? { 'device-filter': filter, devices: devices, 'mig-enabled': true, 'mig-devices': c }
      : { 'device-filter': filter, devices: devices, 'mig-enabled': false };
  if (layout.allDevices) return [entry('all', counts[0])];
  const groups = new Map<string, { devices: number[]; counts: Record<string, number> | undefined }>();
  counts.forEach((c, i) => {
    const key = JSON.stringify(c ?? null);
    const g = groups.get(key) ?? { devices: [], counts: c };
    g.devices.push(i);
    groups.set(key, g);
  });
  return [...groups.values()].sort((a, b) => a.devices[0] - b.devices[0]).map((g) => entry(g.devices, g.counts));
}

/**
 * The mig-parted ConfigMap (`version: v1`, `mig-configs`) with `all-disabled` and every added layout, filtered
 * by the GPU's PCI device ids. mig-parted takes profile counts, not starts: the MIG manager places the instances
 * itself; gpufleet guarantees that a legal placement of every layout's counts exists.
 *
 * ```ts
 * const mig = new MigConfig(chart, 'MigConfig');
 * mig.addLayout(MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }));
 * ```
 */
export class MigConfig extends Construct {
  /** ConfigMap name, for `migManager.config.name`. */
  public readonly name: string;
  public readonly namespace: string;
  /** The ConfigMap holding `config.yaml`. */
  public readonly configMap: k8s.KubeConfigMap;
  /** The ConfigMap holding `relayout.sh`, when rendered. */
  public readonly relayoutConfigMap?: k8s.KubeConfigMap;
  private readonly _layouts = new Map<string, MigLayout>();

  public constructor(scope: Construct, id: string, props: MigConfigProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'gpufleet-mig-parted-config';
    this.namespace = props.namespace ?? 'gpu-operator';
    assertDnsLabel('name', this.name);
    assertDnsLabel('namespace', this.namespace);
    for (const layout of props.layouts ?? []) this.addLayout(layout);

    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'gpufleet' } },
      data: Lazy.any({ produce: () => ({ 'config.yaml': this.configYaml() }) }) as Record<string, string>,
    });
    if (props.relayoutScript ?? true) {
      this.relayoutConfigMap = new k8s.KubeConfigMap(this, 'Relayout', {
        metadata: { name: `${this.name}-relayout`, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'gpufleet' } },
        data: Lazy.any({ produce: () => ({ 'relayout.sh': this.relayoutScript() }) }) as Record<string, string>,
      });
    }
  }

  /** Adds a layout; throws when a layout of the same name was added already. */
  public addLayout(layout: MigLayout): this {
    if (!(layout instanceof MigLayout)) throw new Error(`layout: expected a MigLayout, got ${JSON.stringify(layout)}`);
    if (this._layouts.has(layout.name)) {
      throw new Error(
        `layout: a MIG layout named "${layout.name}" was already added to MigConfig ${this.name}; layout names must be unique`,
      );
    }
    this._layouts.set(layout.name, layout);
    return this;
  }

  /** The added layouts, sorted by name. */
  public get layouts(): MigLayout[] {
    return [...this._layouts.values()].sort((a, b) => compareText(a.name, b.name));
  }

  /** The layout of this name, or undefined. */
  public findLayout(name: string): MigLayout | undefined {
    return this._layouts.get(name);
  }

  /** Names of every config of the ConfigMap: `all-disabled` first, then the layouts sorted by name. */
  public get configNames(): string[] {
    return [MIG_ALL_DISABLED, ...this.layouts.map((l) => l.name)];
  }

  /** The mig-parted config: `all-disabled` first, then the layouts sorted by name. */
  public toMigParted(): MigPartedConfig {
    const configs: Record<string, MigPartedDeviceConfig[]> = {
      [MIG_ALL_DISABLED]: [{ devices: 'all', 'mig-enabled': false }],
    };
    for (const layout of this.layouts) configs[layout.name] = migPartedEntries(layout);
    return { version: 'v1', 'mig-configs': configs };
  }

  /** `config.yaml` as the MIG manager reads it. */
  public configYaml(): string {
    return stringify(this.toMigParted(), { lineWidth: 0 });
  }

  /** The re-layout script (see `relayoutScript`), limited to this ConfigMap's config names. */
  public relayoutScript(): string {
    return relayoutScript(this.configNames);
  }
}
