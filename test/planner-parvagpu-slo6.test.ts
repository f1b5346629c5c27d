/**
 * ParvaGPU SC'24 scenario slo-6 (11 models, 39,342 rps on A100-80GB) with default options plans the
 * tight bound's 16 GPUs: its packing of 17 is re-packed by the exact seat-set stage with the budget
 * small packings get by default (plan.ts, EXACT_SMALL_FLEET; docs/planner.md, "Exact seat-set
 * stage"). The bench (`npm run bench -- planner`) shows all six scenarios.
 *
 * Needs the profile tables in ../shared/profiles/parvagpu-a100-80gb and the artifact's scenario
 * tables (GPUFLEET_PARVAGPU_ARTIFACT, a checkout of MunQ-Lee/ParvaGPU_SC24), both read at run time;
 * skipped with the reason printed when either is absent. About 3-5 s of CPU.
 */
import { existsSync } from 'fs';
import { resolve } from 'path';
import { plan, verifyPlan } from '../constructs/planner';
import { artifactDir, readArtifact } from '../bench/parvagpu-artifact';
import { describeIf } from './support/notes';

const PARVA_DIR = resolve(__dirname, '../../shared/profiles/parvagpu-a100-80gb');
const art = artifactDir();
const skip = !existsSync(PARVA_DIR) ? `${PARVA_DIR} is absent` : art.skip;

describeIf(skip === undefined, `needs ${PARVA_DIR} and the artifact: ${skip}`)('ParvaGPU slo-6 with default options', () => {
  test('plans the tight bound: 16 GPUs, a plan verifyPlan accepts', async () => {
    // the bench's scenario builder (loaded only when the test runs)
    const { loadParva, parvaScenarios } = await import('../bench/planner.bench');
    const fleet = parvaScenarios(readArtifact(art.dir!), loadParva()!).find((f) => f.name === 'slo-6')!;
    expect(fleet.models).toHaveLength(11);
    const p = plan(fleet);
    expect(verifyPlan(fleet, p)).toEqual([]);
    expect(p.summary.tightBound!.gpus).toBe(16);
    expect(p.summary.gpuCount).toBe(16);
  });
});
