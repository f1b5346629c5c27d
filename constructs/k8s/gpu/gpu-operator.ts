/**
 * The NVIDIA GPU operator for GitOps: a Flux `HelmRepository` (NGC) and `HelmRelease` (chart gpu-operator,
 * pinned version) carrying gpufleet's typed values, the namespace, and gpufleet's mig-parted and device-plugin
 * ConfigMaps the values point at.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import {
  HelmRelease,
  HelmReleaseSpecChartSpecSourceRefKind,
  HelmReleaseSpecInstallCrds,
  HelmReleaseSpecUpgradeCrds,
} from '../../../imports/flux-helmrelease-helm.toolkit.fluxcd.io';
import { HelmRepository } from '../../../imports/flux-helmrepository-source.toolkit.fluxcd.io';
import { GPU_OPERATOR_CHART_VERSION, GpuOperatorHelmValues, GpuOperatorValuesOptions, gpuOperatorValues } from './gpu-operator-values';
import { MIG_ALL_DISABLED, MigConfig } from './mig-config';
import { assertDnsLabel } from '../common/names';
import { DEVICE_PLUGIN_NO_SHARING, TimeSlicingConfig } from './time-slicing-config';

/** The NGC Helm repository of the GPU operator chart. */
export const NVIDIA_HELM_REPOSITORY_URL = 'https://helm.ngc.nvidia.com/nvidia';

/** Props of `GpuOperator`. */
export interface GpuOperatorProps extends Omit<GpuOperatorValuesOptions, 'migConfigName' | 'devicePluginConfigName'> {
  /**
   * Namespace of the operator, its ConfigMaps and the Flux objects.
   * @default 'gpu-operator'
   */
  readonly namespace?: string;
  /**
   * Chart version.
   * @default 'v26.7.0'
   */
  readonly chartVersion?: string;
  /**
   * The mig-parted ConfigMap; it must be in `namespace`.
   * @default - a new `MigConfig` (child `MigConfig`) to which layouts are added with `migConfig.addLayout`
   */
  readonly migConfig?: MigConfig;
  /**
   * The device-plugin (time-slicing) ConfigMap; it must be in `namespace`.
   * @default - a new `TimeSlicingConfig` (child `TimeSlicing`) with only `no-sharing`
   */
  readonly timeSlicing?: TimeSlicingConfig;
  /**
   * Flux reconcile interval of the HelmRelease.
   * @default '1h'
   */
  readonly interval?: string;
  /**
   * Create the Namespace object.
   * @default true
   */
  readonly createNamespace?: boolean;
}

const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

/**
 * The NVIDIA GPU operator, released by Flux.
 *
 * ```ts
 * const op = new GpuOperator(chart, 'GpuOperator', { nodeImage: 'al2023-nvidia', migStrategy: 'mixed' });
 * op.migConfig.addLayout(MigLayout.fromProfiles('h100-balanced', 'H100-80GB', { '3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2 }));
 * op.timeSlicing.addConfig({ name: 'l4-x4', replicas: 4 });
 * ```
 */
export class GpuOperator extends Construct {
  public readonly namespace: string;
  public readonly chartVersion: string;
  /** The Helm values (plain JSON), also for a Pulumi `helm.v3.Release`. */
  public readonly values: GpuOperatorHelmValues;
  public readonly migConfig: MigConfig;
  public readonly timeSlicing: TimeSlicingConfig;
  public readonly helmRepository: HelmRepository;
  public readonly helmRelease: HelmRelease;
  public readonly namespaceObject?: k8s.KubeNamespace;

  public constructor(scope: Construct, id: string, props: GpuOperatorProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? 'gpu-operator';
    assertDnsLabel('namespace', this.namespace);
    this.chartVersion = props.chartVersion ?? GPU_OPERATOR_CHART_VERSION;
    if (!/^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$/.test(this.chartVersion)) {
      throw new Error(
        `chartVersion: expected a chart version such as ${GPU_OPERATOR_CHART_VERSION}, got ${JSON.stringify(this.chartVersion)}`,
      );
    }
    const interval = props.interval ?? '1h';
    if (!DURATION.test(interval)) throw new Error(`interval: expected a duration such as 1h or 10m, got ${JSON.stringify(interval)}`);

    if (props.createNamespace ?? true) {
      this.namespaceObject = new k8s.KubeNamespace(this, 'Namespace', {
        metadata: { name: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'gpufleet' } },
      });
    }
    this.migConfig = props.migConfig ?? new MigConfig(this, 'MigConfig', { namespace: this.namespace });
    this.timeSlicing = props.timeSlicing ?? new TimeSlicingConfig(this, 'TimeSlicing', { namespace: this.namespace });
    for (const [prop, given] of [
      ['migConfig', this.migConfig],
      ['timeSlicing', this.timeSlicing],
    ] as const) {
      if (given.namespace !== this.namespace) {
        throw new Error(
          `${prop}: expected a ConfigMap in namespace "${this.namespace}" (the operator reads it there), ` +
            `got namespace "${given.namespace}"`,
        );
      }
    }
    const migDefault = props.migDefaultConfig ?? MIG_ALL_DISABLED;
    // layouts and configs may still be added after construction: checked at synth
    this.node.addValidation({ validate: () => this.check(migDefault, props.devicePluginDefaultConfig) });

    this.values = gpuOperatorValues({
      ...props,
      migConfigName: this.migConfig.name,
      devicePluginConfigName: this.timeSlicing.name,
    });

    this.helmRepository = new HelmRepository(this, 'Repository', {
      metadata: { name: 'nvidia', namespace: this.namespace },
      spec: { url: NVIDIA_HELM_REPOSITORY_URL, interval: '24h' },
    });
    this.helmRelease = new HelmRelease(this, 'Release', {
      metadata: { name: 'gpu-operator', namespace: this.namespace },
      spec: {
        interval,
        releaseName: 'gpu-operator',
        chart: {
          spec: {
            chart: 'gpu-operator',
            version: this.chartVersion,
            sourceRef: { kind: HelmReleaseSpecChartSpecSourceRefKind.HELM_REPOSITORY, name: 'nvidia', namespace: this.namespace },
            interval: '24h',
          },
        },
        install: { crds: HelmReleaseSpecInstallCrds.CREATE_REPLACE, remediation: { retries: 3 } },
        upgrade: { crds: HelmReleaseSpecUpgradeCrds.CREATE_REPLACE, remediation: { retries: 3 } },
        values: this.values,
      },
    });
    // Order of the output (cdk8s topology): the namespace, then what lives in it; the release last, after the
    // ConfigMaps its values name (the MIG manager and device plugin fail to start without them).
    if (this.namespaceObject) {
      const inNamespace = [
        this.migConfig.configMap,
        this.migConfig.relayoutConfigMap,
        this.timeSlicing.configMap,
        this.helmRepository,
        this.helmRelease,
      ];
      for (const o of inNamespace) {
        if (!o) continue;
        o.addDependency(this.namespaceObject);
      }
    }
    this.helmRelease.addDependency(this.helmRepository, this.migConfig.configMap, this.timeSlicing.configMap);
  }

  private check(migDefault: string, dpDefault: string | undefined): string[] {
    const errors: string[] = [];
    if (this.values.mig.strategy === 'single') {
      for (const layout of this.migConfig.layouts) {
        try {
          layout.resourceCounts({ strategy: 'single' });
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    }
    if (!this.migConfig.configNames.includes(migDefault)) {
      errors.push(`migDefaultConfig: expected one of ${this.migConfig.configNames.join(', ')}, got "${migDefault}"`);
    }
    const dp = dpDefault ?? DEVICE_PLUGIN_NO_SHARING;
    if (!this.timeSlicing.configNames.includes(dp)) {
      errors.push(`devicePluginDefaultConfig: expected one of ${this.timeSlicing.configNames.join(', ')}, got "${dp}"`);
    }
    return errors;
  }
}
