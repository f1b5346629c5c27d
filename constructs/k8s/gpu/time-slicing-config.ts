/**
 * The NVIDIA device-plugin config ConfigMap (`devicePlugin.config.name` of the GPU operator) with time-slicing
 * configs for GPUs without MIG. Each data key is a config; a node picks one with the label
 * `nvidia.com/device-plugin.config=<key>`, nodes without the label get `devicePlugin.config.default`.
 */
import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { WHOLE_GPU_RESOURCE } from './gpu-resources';
import { assertDnsLabel, assertLabelValue } from '../common/names';
import { compareText } from '../../catalog/text-order';

/** The config key every gpufleet device-plugin ConfigMap carries: no sharing (MIG nodes and dedicated GPUs). */
export const DEVICE_PLUGIN_NO_SHARING = 'no-sharing';

/** One shared resource of a time-slicing config. */
export interface TimeSlicedResource {
  /** Resource name, `nvidia.com/gpu` or a mixed-strategy MIG resource such as `nvidia.com/mig-1g.10gb`. */
  readonly name: string;
  /** How many pods may share one device (integer >= 2). */
  readonly replicas: number;
}

/** One time-slicing config (a data key of the ConfigMap). */
export interface TimeSlicingOptions {
  /** Config name: data key and value of the node label `nvidia.com/device-plugin.config`. */
  readonly name: string;
  /**
   * Pods per GPU for `nvidia.com/gpu`; ignored when `resources` is given.
   * @default - required unless `resources` is given
   */
  readonly replicas?: number;
  /**
   * The shared resources.
   * @default [{ name: 'nvidia.com/gpu', replicas }]
   */
  readonly resources?: readonly TimeSlicedResource[];
  /**
   * Advertise `<name>.shared` (e.g. `nvidia.com/gpu.shared`) instead of `<name>`.
   * @default false
   */
  readonly renameByDefault?: boolean;
  /**
   * Fail pods that request more than one shared device (they would not get more GPU time).
   * @default false
   */
  readonly failRequestsGreaterThanOne?: boolean;
}

/** Props of `TimeSlicingConfig`. */
export interface TimeSlicingConfigProps {
  /**
   * ConfigMap name (the GPU operator's `devicePlugin.config.name`).
   * @default 'gpufleet-device-plugin-config'
   */
  readonly name?: string;
  /**
   * Namespace: the GPU operator's namespace.
   * @default 'gpu-operator'
   */
  readonly namespace?: string;
  /**
   * Time-slicing configs (more with `addConfig`).
   * @default - none: only `no-sharing`
   */
  readonly configs?: readonly TimeSlicingOptions[];
}

/** A device-plugin config file (`version: v1`). */
export interface DevicePluginConfigFile {
  readonly version: 'v1';
  readonly sharing?: {
    readonly timeSlicing: {
      readonly renameByDefault?: boolean;
      readonly failRequestsGreaterThanOne?: boolean;
      readonly resources: readonly TimeSlicedResource[];
    };
  };
}

const RESOURCE_NAME = /^nvidia\.com\/(gpu|mig-[0-9]+g\.[0-9]+gb(\.[a-z]+)?)$/;

/**
 * The device-plugin ConfigMap with time-slicing configs for non-MIG GPUs, plus `no-sharing`.
 *
 * ```ts
 * const ts = new TimeSlicingConfig(chart, 'TimeSlicing', { configs: [{ name: 'l4-x4', replicas: 4 }] });
 * ```
 */
export class TimeSlicingConfig extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly configMap: k8s.KubeConfigMap;
  private readonly _configs = new Map<string, DevicePluginConfigFile>();

  public constructor(scope: Construct, id: string, props: TimeSlicingConfigProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'gpufleet-device-plugin-config';
    this.namespace = props.namespace ?? 'gpu-operator';
    assertDnsLabel('name', this.name);
    assertDnsLabel('namespace', this.namespace);
    this._configs.set(DEVICE_PLUGIN_NO_SHARING, { version: 'v1' });
    (props.configs ?? []).forEach((c) => this.addConfig(c));
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: { name: this.name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'gpufleet' } },
      data: Lazy.any({ produce: () => this.data() }) as Record<string, string>,
    });
  }

  /** Adds a time-slicing config; throws for a duplicate name or bad replicas. Returns the config name. */
  public addConfig(options: TimeSlicingOptions): string {
    const name = options?.name;
    assertLabelValue('configs.name', name);
    if (this._configs.has(name)) {
      throw new Error(`configs.name: a device-plugin config named "${name}" already exists in ${this.name}; names must be unique`);
    }
    const resources = options.resources ?? [{ name: WHOLE_GPU_RESOURCE, replicas: options.replicas as number }];
    if (resources.length === 0) throw new Error(`configs["${name}"].resources: expected at least one resource, got none`);
    const seen = new Set<string>();
    resources.forEach((r, i) => {
      const path = options.resources ? `configs["${name}"].resources[${i}]` : `configs["${name}"]`;
      if (!RESOURCE_NAME.test(r.name)) {
        throw new Error(`${path}.name: expected nvidia.com/gpu or nvidia.com/mig-<profile>, got ${JSON.stringify(r.name)}`);
      }
      if (seen.has(r.name)) throw new Error(`${path}.name: "${r.name}" is listed twice`);
      seen.add(r.name);
      if (!Number.isInteger(r.replicas) || r.replicas < 2) {
        throw new Error(`${path}.replicas: expected an integer >= 2, got ${JSON.stringify(r.replicas)}`);
      }
    });
    this._configs.set(name, {
      version: 'v1',
      sharing: {
        timeSlicing: {
          ...(options.renameByDefault !== undefined ? { renameByDefault: options.renameByDefault } : {}),
          ...(options.failRequestsGreaterThanOne !== undefined ? { failRequestsGreaterThanOne: options.failRequestsGreaterThanOne } : {}),
          resources: [...resources].map((r) => ({ name: r.name, replicas: r.replicas })).sort((a, b) => compareText(a.name, b.name)),
        },
      },
    });
    return name;
  }

  /** Config names, sorted (`no-sharing` included). */
  public get configNames(): string[] {
    return [...this._configs.keys()].sort();
  }

  /** The config file of a name, or undefined. */
  public config(name: string): DevicePluginConfigFile | undefined {
    const c = this._configs.get(name);
    return c ? (JSON.parse(JSON.stringify(c)) as DevicePluginConfigFile) : undefined;
  }

  /** The ConfigMap data: config name → YAML config file. */
  public data(): Record<string, string> {
    return Object.fromEntries(this.configNames.map((n) => [n, stringify(this._configs.get(n), { lineWidth: 0 })]));
  }
}
