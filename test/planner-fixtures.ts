/** Hand-built fleets for the planner tests (synthetic numbers, not measured data). */
import type { Fleet, FleetGpu, ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';

/**
 * A synthetic profile family on a MIG GPU: throughput grows sub-linearly with slice size and batch,
 * latency of one batch grows with batch. `speed` scales throughput (requests/s on a 1g slice, batch 1).
 */
export function synthProfiles(gpu: string, speed: number, opts: { sizes?: SliceSize[]; batches?: number[]; instances?: number[] } = {}): ProfileEntry[] {
  const out: ProfileEntry[] = [];
  for (const slice of opts.sizes ?? [1, 2, 3, 4, 7]) {
    for (const batch of opts.batches ?? [1, 4, 16]) {
      for (const instances of opts.instances ?? [1, 2]) {
        const throughput = speed * Math.pow(slice, 0.9) * Math.pow(batch, 0.35) * (instances === 1 ? 1 : 1.15);
        const latencyMs = (1000 * batch * instances) / throughput;
        out.push({ gpu, slice, batch, instances, throughput: Number(throughput.toFixed(3)), latencyMs: Number(latencyMs.toFixed(3)) });
      }
    }
  }
  return out;
}

export function model(name: string, rps: number, sloMs: number, memoryGiB: number, profiles: ProfileEntry[], extra: Partial<ModelSpec> = {}): ModelSpec {
  return { name, team: 'team-a', rps, latencySloMs: sloMs, memoryGiB, profiles, ...extra };
}

export function fleetOf(models: ModelSpec[], gpus: FleetGpu[] = [{ type: 'A100-80GB', mig: true }], extra: Partial<Fleet> = {}): Fleet {
  return { name: 'test-fleet', latencyHeadroom: 0.5, processOverheadGiB: 0.6, gpus, models, ...extra };
}

/** Six models on A100-80GB with mixed rates and SLOs. */
export function mixedFleet(): Fleet {
  const g = 'A100-80GB';
  return fleetOf([
    model('alpha', 1200, 100, 1.5, synthProfiles(g, 300)),
    model('bravo', 90, 200, 0.8, synthProfiles(g, 120)),
    model('charlie', 15, 300, 2.0, synthProfiles(g, 60)),
    model('delta', 400, 80, 1.0, synthProfiles(g, 500)),
    model('echo', 3, 500, 4.0, synthProfiles(g, 20)),
    model('foxtrot', 700, 150, 0.5, synthProfiles(g, 250)),
  ]);
}
