/**
 * Typed Helm values of the NVIDIA GPU operator chart (v26.7.0), as a pure function. The same plain object goes
 * into the Flux HelmRelease (`GpuOperator`) and into a Pulumi `helm.v3.Release`. Only keys gpufleet sets are
 * typed; every key exists in the chart's `values.yaml` at v26.7.0.
 */
import type { MigStrategy } from './gpu-resources';
import { GPU_TAINT } from './gpu-resources';
import { assertImageReference, type ImageReference } from '../common/image-reference';
import { assertDnsLabel, assertLabelValue } from '../common/names';
import { sortRecord } from '../common/order';

/** The chart version gpufleet pins. */
export const GPU_OPERATOR_CHART_VERSION = 'v26.7.0';

/**
 * The node image of the GPU nodes:
 * - `al2023-nvidia`: EKS AL2023 NVIDIA AMI, driver and container toolkit preinstalled (operator driver and toolkit off)
 * - `bottlerocket-nvidia`: Bottlerocket NVIDIA variant, driver, toolkit and a host device plugin built in
 *   (operator driver, toolkit and device plugin off)
 * - `generic`: an image without NVIDIA software (the operator installs driver and toolkit)
 */
export type GpuNodeImage = 'al2023-nvidia' | 'bottlerocket-nvidia' | 'generic';

/** A toleration as the chart takes it. */
export interface HelmToleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * A component image as the chart takes it: `<repository>/<image>:<version>` for the operator Deployment and the
 * validator (chart `_helpers.tpl`), and through the operator's `ImagePath` for the operands, which joins with
 * `@` when `version` starts with `sha256:` (gpu-operator v26.7.0 `internal/image/image.go`).
 */
export interface HelmImage {
  readonly repository?: string;
  readonly image?: string;
  readonly version?: string;
}

/**
 * Components of the GPU operator whose image `gpuOperatorValues` can pin (values.yaml keys). The driver is
 * not among them: the operator appends the node's OS to a driver tag (`controllers/object_controls.go`
 * resolveDriverTag), and gpufleet's node images ship the driver.
 */
export const GPU_OPERATOR_IMAGE_COMPONENTS = [
  'operator',
  'validator',
  'toolkit',
  'devicePlugin',
  'gfd',
  'migManager',
  'dcgmExporter',
] as const;
export type GpuOperatorImageComponent = (typeof GPU_OPERATOR_IMAGE_COMPONENTS)[number];

/** Pinned images of GPU operator components (`repository:tag`, `repository@sha256:...` or both). */
export type GpuOperatorImages = Partial<Record<GpuOperatorImageComponent, ImageReference>>;

/** The Helm values gpufleet sets (a subset of the chart's values.yaml). Plain JSON. */
export interface GpuOperatorHelmValues {
  readonly driver: { readonly enabled: boolean };
  readonly toolkit: { readonly enabled: boolean } & HelmImage;
  readonly nfd: { readonly enabled: boolean };
  readonly mig: { readonly strategy: MigStrategy };
  readonly migManager: HelmImage & {
    readonly enabled: boolean;
    readonly config?: { readonly create: false; readonly name: string; readonly default: string };
  };
  readonly devicePlugin: HelmImage & {
    readonly enabled: boolean;
    readonly config?: { readonly create: false; readonly name: string; readonly default: string };
  };
  readonly dcgmExporter: HelmImage & {
    readonly enabled: boolean;
    readonly serviceMonitor: {
      readonly enabled: boolean;
      readonly interval: string;
      readonly additionalLabels: Readonly<Record<string, string>>;
    };
  };
  readonly daemonsets: { readonly tolerations: readonly HelmToleration[] };
  readonly operator: HelmImage & { readonly nodeSelector: Readonly<Record<string, string>> };
  /** Present only when its image is pinned (`images.validator`). */
  readonly validator?: HelmImage;
  /** Present only when its image is pinned (`images.gfd`). */
  readonly gfd?: HelmImage;
  readonly 'node-feature-discovery': { readonly worker: { readonly tolerations: readonly HelmToleration[] } };
}

/** Options of `gpuOperatorValues`. */
export interface GpuOperatorValuesOptions {
  /**
   * The node image of the GPU nodes; decides `driver.enabled`, `toolkit.enabled` and, on Bottlerocket, `devicePlugin.enabled`.
   * @default 'al2023-nvidia'
   */
  readonly nodeImage?: GpuNodeImage;
  /**
   * The device plugin's MIG strategy (`mig.strategy`). Use `mixed` when nodes have different profiles or MIG off on some GPUs.
   * @default 'mixed'
   */
  readonly migStrategy?: MigStrategy;
  /**
   * Run the MIG manager (`migManager.enabled`).
   * @default true
   */
  readonly migManager?: boolean;
  /**
   * Name of gpufleet's mig-parted ConfigMap (`migManager.config.name`, e.g. `MigConfig.name`).
   * @default - the MIG manager's own generated config
   */
  readonly migConfigName?: string;
  /**
   * The mig-parted config for nodes without an `nvidia.com/mig.config` label (`migManager.config.default`).
   * @default 'all-disabled'
   */
  readonly migDefaultConfig?: string;
  /**
   * Name of the device-plugin ConfigMap (`devicePlugin.config.name`, e.g. `TimeSlicingConfig.name`).
   * @default - no device-plugin config (no time-slicing)
   */
  readonly devicePluginConfigName?: string;
  /**
   * The device-plugin config for nodes without an `nvidia.com/device-plugin.config` label (`devicePlugin.config.default`).
   * @default 'no-sharing'
   */
  readonly devicePluginDefaultConfig?: string;
  /**
   * Run the operator's device plugin. On Bottlerocket the host runs its own, so it is off there unless set.
   * @default - false on `bottlerocket-nvidia`, true otherwise
   */
  readonly devicePlugin?: boolean;
  /**
   * Create a ServiceMonitor for the DCGM exporter (needs the Prometheus operator CRDs).
   * @default true
   */
  readonly serviceMonitor?: boolean;
  /**
   * Labels of the ServiceMonitor (e.g. the `release` label a Prometheus selects).
   * @default {}
   */
  readonly serviceMonitorLabels?: Readonly<Record<string, string>>;
  /**
   * Scrape interval of the DCGM exporter.
   * @default '15s'
   */
  readonly scrapeInterval?: string;
  /**
   * Deploy node-feature-discovery with the operator (`nfd.enabled`); turn off when the cluster runs it already.
   * @default true
   */
  readonly nodeFeatureDiscovery?: boolean;
  /**
   * Extra tolerations of the operator's DaemonSets, besides the GPU taint `nvidia.com/gpu`.
   * @default []
   */
  readonly extraTolerations?: readonly HelmToleration[];
  /**
   * Node selector of the operator Deployment (keep it off GPU nodes).
   * @default { 'kubernetes.io/os': 'linux' }
   */
  readonly operatorNodeSelector?: Readonly<Record<string, string>>;
  /**
   * Pinned images of operator components, e.g. `{ devicePlugin: 'nvcr.io/nvidia/k8s-device-plugin:v0.20.0@sha256:...' }`:
   * each becomes the component's `repository`, `image` and `version`. With a tag and a digest the version is
   * `<tag>@sha256:...` (the digest decides what is pulled); a digest alone works for operands but not for
   * `operator` and `validator`, which the chart joins with `:` (give a tag with the digest there).
   * @default - the chart's images, pinned by tag in its values.yaml
   */
  readonly images?: GpuOperatorImages;
}

/** The chart's repository, image and version for a pinned reference of `component`. */
export function helmImage(component: GpuOperatorImageComponent, ref: string): HelmImage {
  const r = assertImageReference(`images.${component}`, ref);
  if (r.tag === undefined && (component === 'operator' || component === 'validator')) {
    throw new Error(
      `images.${component}: the chart writes <repository>/<image>:<version> for the ${component}, so a digest alone ` +
        `gives an invalid reference; give a tag with it (repository:tag@sha256:...), got ${JSON.stringify(ref)}`,
    );
  }
  const slash = r.repository.lastIndexOf('/');
  return {
    // A bare Docker Hub name (busybox) normalizes to docker.io/library/busybox; the chart needs the repository part.
    repository: slash === -1 ? 'docker.io/library' : r.repository.slice(0, slash),
    image: slash === -1 ? r.repository : r.repository.slice(slash + 1),
    version: r.tag !== undefined && r.digest !== undefined ? `${r.tag}@${r.digest}` : (r.tag ?? r.digest)!,
  };
}

const INTERVAL = /^[0-9]+(ms|s|m|h)$/;

/** Tolerations of the chart's DaemonSets: the GPU taint (any value), then `extra`. */
function tolerations(extra: readonly HelmToleration[]): HelmToleration[] {
  return [{ key: GPU_TAINT.key, operator: 'Exists', effect: GPU_TAINT.effect }, ...extra.map((t) => ({ ...t }))];
}

/**
 * The GPU operator's Helm values for gpufleet. Pure: the same options give the same object.
 *
 * ```ts
 * const values = gpuOperatorValues({ migConfigName: mig.name, devicePluginConfigName: ts.name });
 * new k8s.helm.v3.Release('gpu-operator', { chart: 'gpu-operator', version: GPU_OPERATOR_CHART_VERSION, values });
 * ```
 */
export function gpuOperatorValues(options: GpuOperatorValuesOptions = {}): GpuOperatorHelmValues {
  const image = options.nodeImage ?? 'al2023-nvidia';
  if (!['al2023-nvidia', 'bottlerocket-nvidia', 'generic'].includes(image)) {
    throw new Error(`nodeImage: expected "al2023-nvidia", "bottlerocket-nvidia" or "generic", got ${JSON.stringify(image)}`);
  }
  const strategy = options.migStrategy ?? 'mixed';
  if (strategy !== 'mixed' && strategy !== 'single') {
    throw new Error(`migStrategy: expected "mixed" or "single", got ${JSON.stringify(strategy)}`);
  }
  if (options.migConfigName !== undefined) assertDnsLabel('migConfigName', options.migConfigName);
  if (options.devicePluginConfigName !== undefined) assertDnsLabel('devicePluginConfigName', options.devicePluginConfigName);
  const migDefault = options.migDefaultConfig ?? 'all-disabled';
  assertLabelValue('migDefaultConfig', migDefault);
  const dpDefault = options.devicePluginDefaultConfig ?? 'no-sharing';
  assertLabelValue('devicePluginDefaultConfig', dpDefault);
  const interval = options.scrapeInterval ?? '15s';
  if (!INTERVAL.test(interval)) throw new Error(`scrapeInterval: expected a duration such as 15s or 1m, got ${JSON.stringify(interval)}`);
  const images: Partial<Record<GpuOperatorImageComponent, HelmImage>> = {};
  for (const [component, ref] of Object.entries(options.images ?? {})) {
    if (!(GPU_OPERATOR_IMAGE_COMPONENTS as readonly string[]).includes(component)) {
      throw new Error(`images.${component}: unknown component; allowed: ${GPU_OPERATOR_IMAGE_COMPONENTS.join(', ')}`);
    }
    if (ref !== undefined) images[component as GpuOperatorImageComponent] = helmImage(component as GpuOperatorImageComponent, ref);
  }
  const migManager = options.migManager ?? true;
  const devicePlugin = options.devicePlugin ?? image !== 'bottlerocket-nvidia';
  const tol = tolerations(options.extraTolerations ?? []);

  return {
    // EKS AL2023 NVIDIA and Bottlerocket NVIDIA AMIs ship the driver (and the container toolkit)
    driver: { enabled: image === 'generic' },
    toolkit: { enabled: image === 'generic', ...images.toolkit },
    nfd: { enabled: options.nodeFeatureDiscovery ?? true },
    mig: { strategy },
    migManager: {
      enabled: migManager,
      ...images.migManager,
      ...(options.migConfigName ? { config: { create: false as const, name: options.migConfigName, default: migDefault } } : {}),
    },
    devicePlugin: {
      enabled: devicePlugin,
      ...images.devicePlugin,
      ...(options.devicePluginConfigName
        ? { config: { create: false as const, name: options.devicePluginConfigName, default: dpDefault } }
        : {}),
    },
    dcgmExporter: {
      enabled: true,
      ...images.dcgmExporter,
      serviceMonitor: {
        enabled: options.serviceMonitor ?? true,
        interval,
        additionalLabels: sortRecord(options.serviceMonitorLabels ?? {}),
      },
    },
    daemonsets: { tolerations: tol },
    operator: { ...images.operator, nodeSelector: sortRecord(options.operatorNodeSelector ?? { 'kubernetes.io/os': 'linux' }) },
    ...(images.validator ? { validator: images.validator } : {}),
    ...(images.gfd ? { gfd: images.gfd } : {}),
    'node-feature-discovery': {
      worker: {
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Equal', value: '', effect: 'NoSchedule' }, ...tol],
      },
    },
  };
}
