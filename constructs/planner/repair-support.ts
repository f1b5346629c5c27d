/**
 * Helpers of the repairs (lns-repair.ts, slice-repair.ts): a seeded generator and the check that
 * a re-packed neighbourhood passes verifyPlan on its own.
 */
import type { Fleet, ModelSpec } from '../fleet/types';
import type { GpuOption } from './gpu-options';
import { assemble } from './nodes';
import type { PackResult } from './pack';
import type { Item } from './pattern-model';
import { verifyPlan } from './verify-plan';
import { mulberry32 as rng } from './random';

/** verifyPlan on the neighbourhood alone: its GPUs must serve the demand it had (rules 1-6). */
export function verified(opt: GpuOption, fleet: Fleet, items: readonly Item[], res: PackResult): boolean {
  const asm = assemble([{ opt, pack: res }], false);
  const sub: Fleet = {
    ...fleet,
    gpus: fleet.gpus.filter((g) => g.type === opt.type && g.mig === opt.mig),
    models: items.map((it): ModelSpec => ({ ...it.input.model, rps: it.rps })),
    coldBelowRps: undefined,
  };
  const problems = verifyPlan(sub, {
    fleet: fleet.name,
    gpus: asm.gpus,
    summary: { gpuCount: asm.gpus.length, costPerHour: 0, lowerBound: 0, baselines: { dedicated: 0, noMig: 0 } },
  });
  return problems.length === 0;
}

export { rng };
