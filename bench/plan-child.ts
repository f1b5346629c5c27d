/**
 * One in-process measurement of `parseFleet` + `plan()` on a fleet file, in its own process (so
 * peak memory is its own): prints one JSON line { parseMs, parseCpuMs, planMs, cpuMs, gpus, tight, peakRssMiB }
 * (cpuMs: parse + plan, every thread of the process, so the solver's too).
 * The solver worker is started first, as the CLI does. Run by bench/planner.bench.ts.
 */
import { readFileSync } from 'fs';
import { parseFleet } from '../constructs/fleet';
import { plan, warmUpSolver } from '../constructs/planner';

warmUpSolver({ baselineCompiler: true });
const file = process.argv[2];
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const fleet = parseFleet(readFileSync(file, 'utf8'), file);
const t1 = process.hrtime.bigint();
const c1 = process.cpuUsage(c0);
const p = plan(fleet);
const t2 = process.hrtime.bigint();
const c = process.cpuUsage(c0);
console.log(
  JSON.stringify({
    parseMs: Math.round(Number(t1 - t0) / 1e6),
    parseCpuMs: Math.round((c1.user + c1.system) / 1000),
    planMs: Math.round(Number(t2 - t1) / 1e6),
    cpuMs: Math.round((c.user + c.system) / 1000),
    gpus: p.summary.gpuCount,
    tight: p.summary.tightBound?.gpus,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
