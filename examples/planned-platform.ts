/**
 * A platform produced by the planner: the fleet file is planned (`plan(fleet)`) and the plan is
 * rendered by `ServingPlatform.fromPlan` — one node pool per node configuration with its MIG layout,
 * Triton pools per (slice kind, model set) with the plan's replicas, model configs from the chosen
 * profile entries, routes and team quotas sized from the pools. A fleet with `coldBelowRps`
 * (examples/long-tail.fleet.yaml) also gets its cold tier: cache pools and the model router in front of them.
 *
 * Run: `npx ts-node --transpile-only examples/planned-platform.ts [FLEET] [OUTDIR]`
 * (defaults: examples/payments-and-vision-h100.fleet.yaml, dist/planned/; `npm run synth` clears dist/).
 */
import * as path from 'path';
import { App, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { loadFleetFile } from '../constructs/fleet';
import { ModelRepository, ServingPlatform } from '../constructs/k8s';
import { plan as planFleet, type PlanOptions } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';

/** The fleet the example plans by default. */
export const DEFAULT_FLEET_FILE = path.join(__dirname, 'payments-and-vision-h100.fleet.yaml');
/** A long-tail fleet: most models below `coldBelowRps`, served from cache slices through the model router. */
export const LONG_TAIL_FLEET_FILE = path.join(__dirname, 'long-tail.fleet.yaml');

export interface PlannedPlatformOptions extends ChartProps {
  /** Fleet file (YAML or JSON). @default DEFAULT_FLEET_FILE */
  readonly fleetFile?: string;
  /** Options of the plan (docs/planner.md: PlanOptions). @default - the planner's defaults, as `gpufleet plan` */
  readonly planOptions?: PlanOptions;
}

/** Plans the fleet file and renders the plan into a new chart `id` of `scope`. */
export function buildPlannedPlatform(
  scope: Construct,
  id: string = 'planned-platform',
  options: PlannedPlatformOptions = {},
): { chart: Chart; platform: ServingPlatform; plan: Plan } {
  const { fleetFile = DEFAULT_FLEET_FILE, planOptions, ...chartProps } = options;
  const fleet = loadFleetFile(fleetFile);
  const plan = planFleet(fleet, planOptions);
  const chart = new Chart(scope, id, chartProps);
  const platform = ServingPlatform.fromPlan(chart, 'Platform', {
    fleet,
    plan,
    cluster: { name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' },
    repository: ModelRepository.s3({ bucket: 'gpufleet-models', prefix: fleet.name, region: 'us-east-1' }),
    // the plan sizes replicas for the demand; KEDA may add one more per pool for bursts
    scaling: { kind: 'keda', maxReplicas: 1 },
    extraReplicas: 1,
    routes: { hostnames: ['inference.example.com'] },
  });
  return { chart, platform, plan };
}

/** Plans `fleetFile`, writes the platform into `outdir`; returns the lines it prints. */
export function main(fleetFile: string = DEFAULT_FLEET_FILE, outdir: string = path.join('dist', 'planned')): string[] {
  const app = new App({ outdir });
  const { platform } = buildPlannedPlatform(app, 'planned-platform', { fleetFile });
  app.synth();
  ModelRepository.writeAllConfigs(app, app.outdir);
  return [
    ...platform.capacityNotes.map((note) => `capacity: ${note}`),
    `wrote ${path.join(outdir, 'planned-platform.k8s.yaml')} and ${path.join(outdir, 'model-repository')}/`,
  ];
}

if (require.main === module) {
  for (const line of main(process.argv[2], process.argv[3])) console.log(line);
}
