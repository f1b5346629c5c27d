/** Hand-built fleets for the planner tests (synthetic numbers, not measured data). */
import fc from 'fast-check';
import type { Fleet, FleetGpu, ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';

/**
 * A synthetic profile family on a MIG GPU: throughput grows sub-linearly with slice size and batch,
 * latency of one batch grows with batch. `speed` scales throughput (requests/s on a 1g slice, batch 1).
 */
export function synthProfiles(
  gpu: string,
  speed: number,
  opts: { sizes?: SliceSize[]; batches?: number[]; instances?: number[] } = {},
): ProfileEntry[] {
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

export function model(
  name: string,
  rps: number,
  sloMs: number,
  memoryGiB: number,
  profiles: ProfileEntry[],
  extra: Partial<ModelSpec> = {},
): ModelSpec {
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

const GPU_CHOICES: FleetGpu[][] = [
  [{ type: 'A100-80GB', mig: true }],
  [{ type: 'H100-80GB', mig: true }],
  [{ type: 'A100-80GB', mig: false }],
  [
    { type: 'L4', mig: false },
    { type: 'H100-80GB', mig: true },
  ],
  [{ type: 'A30', mig: true }],
];

const sizesOf = (gpu: FleetGpu): SliceSize[] => (gpu.type === 'L4' ? [7] : gpu.type === 'A30' ? [1, 2, 4] : [1, 2, 3, 4, 7]);

/** Small random fleets: 1-6 models, measured (synthetic) or estimated, random rates, SLOs and memory. */
export const arbFleet: fc.Arbitrary<Fleet> = fc
  .record({
    gpus: fc.integer({ min: 0, max: GPU_CHOICES.length - 1 }),
    headroom: fc.constantFrom(0.45, 0.5, 0.8),
    models: fc.array(
      fc.record({
        speed: fc.integer({ min: 5, max: 600 }),
        rps: fc.double({ min: 0.05, max: 3000, noNaN: true }),
        sloFactor: fc.double({ min: 2.2, max: 40, noNaN: true }),
        memoryGiB: fc.double({ min: 0.1, max: 6, noNaN: true }),
        estimated: fc.boolean(),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ gpus, headroom, models }) => {
    const fleetGpus = GPU_CHOICES[gpus];
    const specs: ModelSpec[] = models.map((m, i) => {
      const profiles = m.estimated
        ? []
        : fleetGpus.flatMap((g) => synthProfiles(g.type, m.speed, { sizes: sizesOf(g), batches: [1, 4, 16], instances: [1, 2] }));
      // batch-1 latency on the smallest slice is 1000 / speed ms (estimated: 1000 / (speed x 7 x 1/7 x 0.8))
      const slo = (1000 / (m.estimated ? m.speed * 0.8 : m.speed)) * (m.sloFactor / headroom);
      return model(
        `m${i}`,
        Number(m.rps.toFixed(3)),
        Number(slo.toFixed(3)) + 0.001,
        Number(m.memoryGiB.toFixed(2)),
        profiles,
        m.estimated ? { throughputPerGpu: Object.fromEntries(fleetGpus.map((g) => [g.type, m.speed * 7])) } : {},
      );
    });
    return fleetOf(specs, fleetGpus, { latencyHeadroom: headroom });
  });
