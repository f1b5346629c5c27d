import { Provider as KubernetesProvider } from '@pulumi/kubernetes/provider';
import * as helm from '@pulumi/kubernetes/helm/v3';
import type * as k8sOutput from '@pulumi/kubernetes/types/output';
import * as pulumi from '@pulumi/pulumi';
import { NVIDIA_HELM_REPOSITORY_URL } from '../k8s/gpu/gpu-operator';
import { GPU_OPERATOR_CHART_VERSION, GpuOperatorHelmValues } from '../k8s/gpu/gpu-operator-values';
import { keepOutOfValueWalks } from './value-walks';

export interface GpuOperatorReleaseArgs {
  /**
   * The chart values: pass the object `gpuOperatorValues(...)` returns — e.g. `GpuOperator.values`, the
   * same object the cdk8s `GpuOperator` renders into its Flux HelmRelease — unchanged.
   */
  readonly values: GpuOperatorHelmValues;
  /** Kubernetes provider of the cluster. */
  readonly provider: KubernetesProvider;
  /** @default 'gpu-operator' */
  readonly namespace?: string;
  /** Chart version. @default GPU_OPERATOR_CHART_VERSION ('v26.7.0') */
  readonly version?: string;
  /** @default 'https://helm.ngc.nvidia.com/nvidia' */
  readonly repository?: string;
  /** Seconds Helm waits for the release's resources. @default 900 */
  readonly timeoutSeconds?: number;
}

/** A ConfigMap the operator's values name but the chart does not create (`config.create: false`). */
export interface ReferencedConfigMap {
  readonly namespace: string;
  readonly name: string;
  /** The values key that names it, e.g. `migManager.config.name`. */
  readonly valuesKey: string;
}

/**
 * The NVIDIA GPU operator as a Helm release (chart `gpu-operator` from NGC, namespace `gpu-operator`,
 * created by Helm) with gpufleet's typed values: driver and toolkit off on the EKS NVIDIA AMIs, the
 * MIG strategy, and the MIG manager reading gpufleet's mig-parted ConfigMap, which the platform
 * release applies (see `referencedConfigMaps`).
 */
export class GpuOperatorRelease extends pulumi.ComponentResource {
  public static readonly TYPE = 'gpufleet:cloud:GpuOperatorRelease';

  public readonly namespace: string;
  public readonly version: string;
  public readonly values: GpuOperatorHelmValues;
  public readonly release: helm.Release;
  /** Release status (name, revision, status) as Helm reports it. */
  public readonly status: pulumi.Output<k8sOutput.helm.v3.ReleaseStatus>;

  private static check(args: GpuOperatorReleaseArgs): Record<string, never> {
    const namespace = args.namespace ?? 'gpu-operator';
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
      throw new Error(`namespace: expected a DNS-1123 label, got ${JSON.stringify(namespace)}`);
    }
    const timeout = args.timeoutSeconds ?? 900;
    if (!Number.isInteger(timeout) || timeout < 60) {
      throw new Error(`timeoutSeconds: expected an integer >= 60, got ${JSON.stringify(args.timeoutSeconds)}`);
    }
    if (args.values === null || typeof args.values !== 'object' || typeof args.values.driver !== 'object') {
      throw new Error(`values: expected the object of gpuOperatorValues(...), got ${JSON.stringify(args.values)}`);
    }
    return {};
  }

  constructor(name: string, args: GpuOperatorReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before anything is registered, the component included.
    super(GpuOperatorRelease.TYPE, name, GpuOperatorRelease.check(args), opts);
    this.namespace = args.namespace ?? 'gpu-operator';
    const timeout = args.timeoutSeconds ?? 900;
    this.version = args.version ?? GPU_OPERATOR_CHART_VERSION;
    this.values = args.values;
    this.release = new helm.Release(
      `${name}-release`,
      {
        name: 'gpu-operator',
        chart: 'gpu-operator',
        version: this.version,
        repositoryOpts: { repo: args.repository ?? NVIDIA_HELM_REPOSITORY_URL },
        namespace: this.namespace,
        createNamespace: true,
        // The same object the cdk8s GpuOperator puts into its Flux HelmRelease: one source of values.
        values: args.values,
        timeout,
        atomic: false,
        cleanupOnFail: true,
      },
      { parent: this, provider: args.provider },
    );
    this.status = this.release.status;
    this.registerOutputs({ status: this.status });
    keepOutOfValueWalks(this, ['namespace', 'version', 'values', 'release', 'status']);
  }

  /** The ConfigMaps the values reference without the chart creating them (mig-parted, device-plugin). */
  public referencedConfigMaps(): ReferencedConfigMap[] {
    return GpuOperatorRelease.referencedConfigMaps(this.values, this.namespace);
  }

  /** The ConfigMaps `values` reference in `namespace` without the chart creating them. */
  public static referencedConfigMaps(values: GpuOperatorHelmValues, namespace: string = 'gpu-operator'): ReferencedConfigMap[] {
    const out: ReferencedConfigMap[] = [];
    const mig = values.migManager;
    if (mig?.enabled && mig.config && !mig.config.create) {
      out.push({ namespace, name: mig.config.name, valuesKey: 'migManager.config.name' });
    }
    const dp = values.devicePlugin;
    if (dp?.enabled && dp.config && !dp.config.create) {
      out.push({ namespace, name: dp.config.name, valuesKey: 'devicePlugin.config.name' });
    }
    return out;
  }
}
