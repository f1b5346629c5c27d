/**
 * A fleet (its plan) on a platform file: the one rendering behind `gpufleet synth`, the cdk8s app with
 * `GPUFLEET_FLEET`/`GPUFLEET_PLATFORM`, and the Pulumi program with `gpufleet:fleetFile`/`gpufleet:platformFile`.
 * Each of them reads the two files, plans the fleet and calls `renderFleetPlatform` (or `synthesizeFleet`, which also
 * writes the files); the Pulumi program passes `overrides` for what its stack owns (the cluster it creates, the bucket,
 * the node image of its AMI type, the prerequisites it installs).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart, Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import type { Fleet } from '../../fleet/types';
import type { Plan } from '../../planner/types';
import type { GpuOperatorProps } from '../gpu/gpu-operator';
import { ModelRepository, type ModelRepositoryStorage } from '../serving/model-repository';
import { PlatformFileError, type PlatformFile } from './platform-file';
import type { PlatformPrerequisites } from './platform-prerequisites';
import { ServingPlatform } from './serving-platform';
import type { PlatformCluster, PlatformPlan, ServingPlatformProps } from './serving-platform-props';
import type { PoolScaling } from '../teams/team-contract';

/** Id of the chart: its manifest is `<outdir>/gpufleet.k8s.yaml`. */
export const FLEET_CHART_ID = 'gpufleet';
/** The plan document written beside the manifests (what `gpufleet plan --out` writes). */
export const PLAN_FILE = 'plan.json';
/** The manifest file of the chart. */
export const MANIFEST_FILE = `${FLEET_CHART_ID}.k8s.yaml`;

/** What an environment decides instead of the platform file (the Pulumi stack). */
export interface FleetPlatformOverrides {
  readonly cluster?: PlatformCluster;
  readonly repository?: ModelRepositoryStorage;
  readonly gpuOperator?: GpuOperatorProps;
  readonly prerequisites?: PlatformPrerequisites;
  readonly monitoringNamespace?: string;
}

/** A fleet, its plan and the platform file it runs on. */
export interface FleetPlatformOptions {
  readonly fleet: Fleet;
  readonly plan: Plan;
  readonly platform: PlatformFile;
  /** @default - none: everything comes from the platform file */
  readonly overrides?: FleetPlatformOverrides;
}

/**
 * The `ServingPlatform.fromPlan` props of a fleet on a platform file. Throws `PlatformFileError` when the file lacks
 * what the rendering needs and no override gives it (`cluster`, `repository`).
 */
export function fleetPlatformProps(options: FleetPlatformOptions): Omit<ServingPlatformProps, 'plan'> & PlatformPlan {
  const { fleet, plan, platform: file, overrides = {} } = options;
  const cluster = overrides.cluster ?? file.cluster;
  const repository = overrides.repository ?? file.repository;
  const missing: string[] = [];
  if (!cluster) missing.push(`${file.source}: cluster: required, expected { name, nodeRole } of the cluster the GPU nodes join`);
  if (!repository)
    missing.push(`${file.source}: repository: required, expected { s3: { bucket, prefix, region } } or { pvc: { claimName } }`);
  if (missing.length > 0 || !cluster || !repository) throw new PlatformFileError(file.source, missing);

  const s = file.scaling;
  const scaling: PoolScaling | undefined =
    !s || s.engine === 'fixed'
      ? undefined
      : {
          kind: s.engine,
          // a floor: the plan's replicas + extraReplicas is the pools' maximum (PlanRenderOptions)
          maxReplicas: 1,
          ...(s.scaleDownStabilizationSeconds !== undefined
            ? { scaleDownStabilization: Duration.seconds(s.scaleDownStabilizationSeconds) }
            : {}),
          ...(s.prometheusAddress !== undefined ? { prometheusAddress: s.prometheusAddress } : {}),
        };
  const nc = file.nodeClass;
  const rt = file.routes;
  const monitoringNamespace = overrides.monitoringNamespace ?? file.namespaces?.monitoring;
  const prerequisites = overrides.prerequisites ?? file.prerequisites;
  return {
    fleet,
    plan,
    cluster,
    repository,
    gpuOperator: overrides.gpuOperator ?? {
      nodeImage: file.gpuOperator?.nodeImage ?? 'al2023-nvidia',
      migStrategy: file.gpuOperator?.migStrategy ?? 'mixed',
    },
    ...(nc ? { nodePoolDefaults: nc } : {}),
    ...(rt
      ? {
          routes: {
            ...(rt.hostnames ? { hostnames: rt.hostnames } : {}),
            ...(rt.gateway ? { gateway: rt.gateway } : {}),
            ...(rt.requestTimeoutSeconds !== undefined ? { requestTimeout: Duration.seconds(rt.requestTimeoutSeconds) } : {}),
          },
        }
      : {}),
    ...(scaling ? { scaling, extraReplicas: s!.extraReplicas } : {}),
    ...(file.coldTier ? { router: file.coldTier } : {}),
    ...(file.namespaces?.shared ? { sharedNamespace: file.namespaces.shared } : {}),
    ...(file.namespaces?.gateway ? { gatewayNamespace: file.namespaces.gateway } : {}),
    ...(monitoringNamespace ? { monitoringNamespace } : {}),
    ...(prerequisites ? { prerequisites } : {}),
  };
}

/** Renders the fleet's plan on the platform into a new chart `chartId` of `scope`. */
export function renderFleetPlatform(
  scope: Construct,
  options: FleetPlatformOptions,
  chartId: string = FLEET_CHART_ID,
): { chart: Chart; platform: ServingPlatform } {
  const props = fleetPlatformProps(options);
  const chart = new Chart(scope, chartId);
  const platform = ServingPlatform.fromPlan(chart, 'Platform', props);
  return { chart, platform };
}

/** What `synthesizeFleet` wrote. */
export interface FleetSynthesis {
  readonly platform: ServingPlatform;
  /** Written files, relative to the output folder, sorted. */
  readonly files: readonly string[];
  /** Kubernetes objects in the manifest. */
  readonly objectCount: number;
}

/**
 * Renders and writes a fleet on a platform into `outdir` (`app` defaults to `new App({ outdir })`):
 * `gpufleet.k8s.yaml` (every Kubernetes object), `model-repository/<model>/config.pbtxt` and `plan.json` (the plan
 * document). Everything is built and validated before the first file is written.
 */
export function synthesizeFleet(options: FleetPlatformOptions & { readonly outdir: string; readonly app?: App }): FleetSynthesis {
  const app = options.app ?? new App({ outdir: options.outdir });
  const { chart, platform } = renderFleetPlatform(app, options);
  // counted, not rendered: chart.toJson() would validate and serialise every object once more than app.synth() does
  const objectCount = chart.node.findAll().filter((c) => ApiObject.isApiObject(c) && Chart.of(c) === chart).length;
  app.synth();
  const configs = ModelRepository.writeAllConfigs(app, app.outdir);
  fs.writeFileSync(path.join(app.outdir, PLAN_FILE), `${JSON.stringify(options.plan, null, 2)}\n`);
  const files = [MANIFEST_FILE, PLAN_FILE, ...configs.map((f) => path.relative(app.outdir, path.resolve(app.outdir, f)))];
  return { platform, files: files.map((f) => f.split(path.sep).join('/')).sort(), objectCount };
}
