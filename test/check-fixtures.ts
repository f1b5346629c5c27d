/**
 * Renderings for the `gpufleet check` tests, made in-process: the default platform (`npm run synth`), example fleets
 * rendered through the planner, and a 300-model long-tail fleet on A100-80GB.
 *
 * The long-tail fleet copies the measured ParvaGPU A100-80GB tables (MIT, Lee et al., SC'24), read at run time from
 * ../shared/profiles/parvagpu-a100-80gb/; when ../shared is absent it uses models with `throughputPerGpu` only
 * (planned by the documented estimate) and says so.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { App, Chart } from 'cdk8s';
import type { Fleet, ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';
import { ModelRepository, ServingPlatform } from '../constructs/k8s';
import { plan as planFleet } from '../constructs/planner';
import type { Plan } from '../constructs/planner/types';
import { buildDefaultPlatform } from '../examples/default-platform';
import { mulberry32 as rng } from '../constructs/planner/random';

export const PARVA_DIR = resolve(__dirname, '../../shared/profiles/parvagpu-a100-80gb');

/** A deep copy of objects, to change one thing and check again. */
export const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** The objects `npm run synth` writes (the default example platform). */
export function defaultObjects(): any[] {
  const { chart } = buildDefaultPlatform(new App(), 'default-platform');
  return chart.toJson();
}

/** A fleet rendered through the planner as examples/planned-platform.ts does (KEDA, one burst replica per pool). */
export function plannedObjects(fleet: Fleet, plan: Plan = planFleet(fleet)): { objects: any[]; platform: ServingPlatform; plan: Plan } {
  const chart = new Chart(new App(), 'planned-platform');
  const platform = ServingPlatform.fromPlan(chart, 'Platform', {
    fleet,
    plan,
    cluster: { name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' },
    repository: ModelRepository.s3({ bucket: 'gpufleet-models', prefix: fleet.name, region: 'us-east-1' }),
    scaling: { kind: 'keda', maxReplicas: 1 },
    extraReplicas: 1,
  });
  return { objects: chart.toJson(), platform, plan };
}

/** The ParvaGPU tables (slice, batch, workers, throughput req/s, latency s), rows that did not run dropped; undefined without ../shared. */
function parvaProfiles(): Map<string, ProfileEntry[]> | undefined {
  if (!existsSync(PARVA_DIR)) return undefined;
  const out = new Map<string, ProfileEntry[]>();
  for (const f of readdirSync(PARVA_DIR)
    .filter((x) => x.endsWith('.csv'))
    .sort()) {
    const rows = readFileSync(join(PARVA_DIR, f), 'utf8')
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(',').map(Number));
    out.set(
      f.replace(/\.csv$/, ''),
      rows
        .filter((r) => r.length >= 5 && r[3] > 0 && r[4] > 0)
        .map((r) => ({
          gpu: 'A100-80GB',
          slice: r[0] as SliceSize,
          batch: r[1],
          instances: r[2],
          throughput: r[3],
          latencyMs: Number((r[4] * 1000).toFixed(3)),
        })),
    );
  }
  return out;
}

/**
 * A long-tail fleet of `n` models on A100-80GB: Zipf(0.9) popularity, 100 rps per model on average, each model a
 * copy of a profiled ParvaGPU model (SLO 10-50× its fastest batch, at least 50 ms); 17 teams.
 */
export function longTailA100(n: number = 300): { fleet: Fleet; measured: boolean } {
  const parva = parvaProfiles();
  const r = rng(7 + n);
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / Math.pow(i, 0.9);
  const memory: Record<string, number> = { bert: 1.6, vgg16: 0.8, vgg19: 0.8, resnet152: 0.6, densenet201: 0.5, resnet101: 0.5 };
  const names = parva ? [...parva.keys()] : ['small', 'medium', 'large'];
  const models: ModelSpec[] = [];
  for (let i = 1; i <= n; i++) {
    const base = names[Math.floor(r() * names.length)];
    const rps = Math.max(0.1, Number(((100 * n) / h / Math.pow(i, 0.9)).toFixed(2)));
    const common = { name: `m${String(i).padStart(4, '0')}-${base}`, team: `team-${i % 17}`, rps, memoryGiB: memory[base] ?? 0.4 };
    if (parva) {
      const entries = parva.get(base)!;
      const fastest = Math.min(...entries.map((e) => e.latencyMs));
      models.push({ ...common, latencySloMs: Math.round(Math.max(50, fastest * (10 + r() * 40))), profiles: entries });
    } else {
      const perGpu = { small: 4000, medium: 1500, large: 400 }[base]!;
      models.push({ ...common, latencySloMs: Math.round(50 + r() * 200), profiles: [], throughputPerGpu: { 'A100-80GB': perGpu } });
    }
  }
  return {
    fleet: { name: `long-tail-${n}`, latencyHeadroom: 0.5, processOverheadGiB: 0.6, gpus: [{ type: 'A100-80GB', mig: true }], models },
    measured: !!parva,
  };
}

/** The objects of `kind` (and name, when given). */
export function find(objects: readonly any[], kind: string, name?: string, namespace?: string): any[] {
  return objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata?.name === name) &&
      (namespace === undefined || o.metadata?.namespace === namespace),
  );
}
