/**
 * Random-fleet properties (`npm run bench -- fleet-properties`, issue 14): random valid fleets
 * (test/support/random-fleets.ts: measured profiles and `throughputPerGpu` estimates, one to three GPU types,
 * MIG and whole GPUs, cold tiers on about a third) planned and checked by `checkFleetProperties`:
 * - crashes: `plan` threw anything but a PlanError (the CLI's exit 1 "this is a bug");
 * - rejected: plans `verifyPlan` refuses;
 * - worse than noMig / dedicated: a GPU type of the plan uses more GPUs than that baseline of its own models;
 * - cold worse: a cold tier costs more than no cold tier, or its `gpusSaved` / `gpusWithSeats` are not that plan's.
 * Every figure but "fleets" and "unplannable" must be 0; the bench sets exit code 1 otherwise.
 *
 * Two runs: 2,000 fleets with the packing heuristics alone (`effort: 'fast', solver: 'none'`), then 200 as
 * `gpufleet plan` plans them by default (HiGHS bound and repair; about 1 s a fleet on one core).
 * `GPUFLEET_BENCH_FLEETS=2000,200` sets the two counts. The test suite runs 40 fleets
 * (test/planner-hardening.test.ts).
 */
import type { PlanOptions } from '../constructs/planner/types';
import { checkFleetProperties, randomFleet } from '../test/support/random-fleets';

interface Figures {
  fleets: number;
  planned: number;
  unplannable: number;
  crashes: number;
  rejected: number;
  worseNoMig: number;
  worseDedicated: number;
  coldWorse: number;
  seconds: number;
  slowest: string;
  examples: string[];
}

function runOnce(count: number, options: PlanOptions, firstSeed: number): Figures {
  const f: Figures = {
    fleets: 0,
    planned: 0,
    unplannable: 0,
    crashes: 0,
    rejected: 0,
    worseNoMig: 0,
    worseDedicated: 0,
    coldWorse: 0,
    seconds: 0,
    slowest: '',
    examples: [],
  };
  let slowest = 0;
  const started = process.hrtime.bigint();
  for (let seed = firstSeed; seed < firstSeed + count; seed++) {
    const t = process.hrtime.bigint();
    const o = checkFleetProperties(randomFleet(seed), options);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (ms > slowest) {
      slowest = ms;
      f.slowest = `seed ${seed}, ${(ms / 1000).toFixed(2)} s`;
    }
    f.fleets++;
    if (o.unplannable) f.unplannable++;
    if (o.plan) f.planned++;
    const problems: string[] = [];
    if (o.crash) {
      f.crashes++;
      problems.push(`crash: ${o.crash}`);
    }
    if (o.rejected.length > 0) {
      f.rejected++;
      problems.push(`rejected: ${o.rejected[0]}`);
    }
    if (o.worse.some((w) => w.includes('noMig'))) f.worseNoMig++;
    if (o.worse.some((w) => w.includes('dedicated'))) f.worseDedicated++;
    if (o.worse.some((w) => w.startsWith('cold'))) f.coldWorse++;
    problems.push(...o.worse.map((w) => `worse: ${w}`));
    if (problems.length > 0 && f.examples.length < 10) f.examples.push(`seed ${seed}: ${problems[0]}`);
  }
  f.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return f;
}

function print(title: string, f: Figures): void {
  console.log(`\n${title}`);
  const rows: [string, string | number][] = [
    ['fleets tried', f.fleets],
    ['planned', f.planned],
    ['unplannable (PlanError, e.g. an SLO below every entry)', f.unplannable],
    ['crashes', f.crashes],
    ['plans the checker rejects', f.rejected],
    ['worse than the noMig baseline of their type', f.worseNoMig],
    ['worse than the dedicated baseline of their type', f.worseDedicated],
    ['cold tier worse than none (or figures wrong)', f.coldWorse],
    ['time', `${f.seconds.toFixed(1)} s (${((1000 * f.seconds) / Math.max(1, f.fleets)).toFixed(0)} ms a fleet; slowest ${f.slowest})`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  for (const e of f.examples) console.log(`  ! ${e}`);
}

export async function run(): Promise<void> {
  const [heuristics, full] = (process.env.GPUFLEET_BENCH_FLEETS ?? '2000,200').split(',').map((x) => Number(x));
  const runs: [string, number, PlanOptions][] = [
    [`${heuristics} random fleets, packing heuristics (effort fast, solver none)`, heuristics, { effort: 'fast', solver: 'none' }],
    [`${full} random fleets as \`gpufleet plan\` plans them (default effort, HiGHS bound and repair)`, full, {}],
  ];
  let bad = 0;
  for (const [title, count, options] of runs) {
    if (!(count > 0)) continue;
    const f = runOnce(count, options, 0);
    print(title, f);
    bad += f.crashes + f.rejected + f.worseNoMig + f.worseDedicated + f.coldWorse;
  }
  if (bad > 0) {
    console.log(`\n${bad} property failures`);
    process.exitCode = 1;
  }
}
