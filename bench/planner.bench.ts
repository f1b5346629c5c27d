/**
 * Planner benchmarks (`npm run bench -- planner`):
 * 1. real profiles: scenarios of 6-11 models with the measured A100-80GB tables of the ParvaGPU
 *    SC'24 artifact (MIT), read at run time from ../shared — GPUs vs the rounded-up lower bound;
 * 2. long-tail fleets of 100 to 10,000 models with Zipf popularity — GPUs, ratio to the lower
 *    bound, savings vs the dedicated and no-MIG baselines, planning time, peak memory.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import type { Fleet, ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';
import { plan, verifyPlan } from '../constructs/planner';

const PARVA_DIR = resolve(__dirname, '../../shared/profiles/parvagpu-a100-80gb');
const ATTRIBUTION = 'profiles: ParvaGPU (Lee et al., SC 2024) artifact MunQ-Lee/ParvaGPU_SC24 prof_data/, MIT licence — read at run time from ../shared, not redistributed';

/**
 * GPU memory of one model instance (weights + workspace), GiB. Assumed by this bench (the tables
 * carry none): FP32 weight sizes of the public architectures plus about 0.2 GiB of workspace.
 */
const MEMORY_GIB: Record<string, number> = {
  bert: 1.6, densenet121: 0.3, densenet169: 0.4, densenet201: 0.5, inceptionv3: 0.4, mobilenetv2: 0.25,
  resnet50: 0.4, resnet101: 0.5, resnet152: 0.6, vgg16: 0.8, vgg19: 0.8,
};

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parses one ParvaGPU CSV (slice, batch, workers, throughput req/s, latency s); rows with 0 throughput (did not run) dropped. */
function parseParva(text: string): ProfileEntry[] {
  return text.trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map(Number))
    .filter((r) => r.length >= 5 && r[3] > 0 && r[4] > 0)
    .map((r) => ({ gpu: 'A100-80GB', slice: r[0] as SliceSize, batch: r[1], instances: r[2], throughput: r[3], latencyMs: Number((r[4] * 1000).toFixed(3)) }));
}

export function loadParva(): Map<string, ProfileEntry[]> | undefined {
  if (!existsSync(PARVA_DIR)) return undefined;
  const out = new Map<string, ProfileEntry[]>();
  for (const f of readdirSync(PARVA_DIR).filter((x) => x.endsWith('.csv')).sort()) {
    out.set(f.replace(/\.csv$/, ''), parseParva(readFileSync(join(PARVA_DIR, f), 'utf8')));
  }
  return out;
}

/**
 * Synthetic profile family used when ../shared is absent (clearly not measured): throughput grows
 * as slice^0.9 x batch^0.35, latency = batch / throughput.
 */
export function syntheticFamily(): Map<string, ProfileEntry[]> {
  const out = new Map<string, ProfileEntry[]>();
  const speeds: Record<string, number> = { 'synth-small': 400, 'synth-medium': 180, 'synth-large': 60, 'synth-xl': 25 };
  for (const [name, speed] of Object.entries(speeds)) {
    const entries: ProfileEntry[] = [];
    for (const slice of [1, 2, 3, 4, 7] as SliceSize[]) {
      for (const batch of [1, 2, 4, 8, 16, 32]) {
        const throughput = speed * Math.pow(slice, 0.9) * Math.pow(batch, 0.35);
        entries.push({ gpu: 'A100-80GB', slice, batch, instances: 1, throughput, latencyMs: (1000 * batch) / throughput });
      }
    }
    out.set(name, entries);
  }
  return out;
}

/** Fastest batch-1 latency of a model (ms), the yardstick for its SLO. */
function minLatency(entries: ProfileEntry[]): number {
  return Math.min(...entries.map((e) => e.latencyMs));
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ')).join('\n');
}

export function realScenarios(profiles: Map<string, ProfileEntry[]>): Fleet[] {
  const names = [...profiles.keys()];
  const fleets: Fleet[] = [];
  const r = rng(20241117);
  const sizes = [6, 7, 8, 9, 10, 11, 8, 11, 6, 10];
  sizes.forEach((n, s) => {
    const picked = names.slice().sort(() => r() - 0.5).slice(0, n).sort();
    const models: ModelSpec[] = picked.map((name) => {
      const entries = profiles.get(name)!;
      const slo = Math.round(minLatency(entries) * (8 + r() * 30)); // 8-38x the fastest batch
      const best7 = Math.max(...entries.filter((e) => e.slice === 7 && e.latencyMs <= 0.45 * slo).map((e) => e.throughput), 1);
      const rps = Math.round(best7 * (0.2 + r() * (s % 3 === 0 ? 3 : 1.2))); // 0.2-3.2 GPUs each
      return { name, team: 'bench', rps, latencySloMs: slo, memoryGiB: MEMORY_GIB[name] ?? 1, profiles: entries };
    });
    fleets.push({ name: `scenario-${s + 1}`, latencyHeadroom: 0.45, processOverheadGiB: 0.6, gpus: [{ type: 'A100-80GB', mig: true }], models });
  });
  return fleets;
}

/** Zipf fleet: model i gets avgRps x n x i^-alpha / H(n, alpha) rps; SLO 10-50x its fastest batch latency, at least 50 ms. */
export function zipfFleet(n: number, alpha: number, profiles: Map<string, ProfileEntry[]>, seed: number, avgRps = 100): Fleet {
  const r = rng(seed);
  const names = [...profiles.keys()];
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / Math.pow(i, alpha);
  const totalRps = avgRps * n;
  const models: ModelSpec[] = [];
  for (let i = 1; i <= n; i++) {
    const base = names[Math.floor(r() * names.length)];
    const entries = profiles.get(base)!;
    const slo = Math.round(Math.max(50, minLatency(entries) * (10 + r() * 40)));
    const rps = Math.max(0.1, Number(((totalRps / h) / Math.pow(i, alpha)).toFixed(2)));
    models.push({ name: `m${String(i).padStart(5, '0')}-${base}`, team: `team-${i % 17}`, rps, latencySloMs: slo, memoryGiB: MEMORY_GIB[base] ?? 0.5, profiles: entries });
  }
  return { name: `zipf-${n}`, latencyHeadroom: 0.5, processOverheadGiB: 0.6, gpus: [{ type: 'A100-80GB', mig: true }], models };
}

/** Wall and CPU time of fn, the heap it leaves allocated (after - before, MiB) and the process's peak RSS so far (MiB). */
function timed<T>(fn: () => T): { value: T; ms: number; cpuMs: number; heapMiB: number; peakRssMiB: number } {
  const before = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const after = process.memoryUsage().heapUsed;
  return {
    value, ms, cpuMs: (c.user + c.system) / 1000, heapMiB: Math.round((Math.max(after - before, 0) / 1048576) * 10) / 10,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

export async function run(): Promise<void> {
  const parva = loadParva();
  if (!parva) {
    console.log(`real-profile scenarios skipped: ${PARVA_DIR} is absent (the ParvaGPU tables live in ../shared beside the repo)`);
  } else {
    console.log(`\nreal profiles — ${ATTRIBUTION}`);
    console.log('latencyHeadroom 0.45; SLO 8-38x each model\'s fastest batch latency; memory per model assumed (bench/planner.bench.ts)');
    const rows: (string | number)[][] = [['scenario', 'models', 'total rps', 'LB', 'ceil(LB)', 'GPUs', 'GPUs-ceil', 'dedicated', 'noMig', 'valid', 'ms']];
    let exact = 0;
    let within1 = 0;
    const scenarios = realScenarios(parva);
    for (const f of scenarios) {
      const t = timed(() => plan(f));
      const p = t.value;
      const v = verifyPlan(f, p);
      const c = Math.ceil(p.summary.lowerBound - 1e-9);
      if (p.summary.gpuCount === c) exact++;
      if (p.summary.gpuCount <= c + 1) within1++;
      rows.push([f.name, f.models.length, Math.round(f.models.reduce((s, m) => s + m.rps, 0)), p.summary.lowerBound.toFixed(2), c, p.summary.gpuCount,
        `+${p.summary.gpuCount - c}`, p.summary.baselines.dedicated, p.summary.baselines.noMig, v.length === 0 ? 'yes' : `NO (${v.length})`, t.ms.toFixed(0)]);
    }
    console.log(table(rows));
    console.log(`exactly ceil(LB): ${exact}/${scenarios.length}; within ceil(LB)+1: ${within1}/${scenarios.length}`);
  }

  const family = parva ?? syntheticFamily();
  console.log(`\nlong-tail fleets — Zipf popularity, each model a copy of one ${parva ? 'ParvaGPU-profiled model (A100-80GB)' : 'SYNTHETIC profile family (not measured; ../shared absent)'};`
    + ' SLO 10-50x the model\'s fastest batch latency (>= 50 ms), latencyHeadroom 0.5');
  const cases: [number, number, number][] = [[100, 0.5, 100], [300, 0.9, 100], [300, 1.3, 100], [1000, 1.1, 100], [10000, 1.3, 100], [300, 0.9, 20]];
  const rows: (string | number)[][] = [['models', 'alpha', 'avg rps', 'LB', 'GPUs', 'GPUs/LB', 'dedicated', 'vs dedicated', 'noMig', 'vs noMig', 'configs', 'valid', 'wall ms', 'cpu ms', 'heap+ MiB', 'peak RSS MiB']];
  for (const [n, alpha, avg] of cases) {
    const f = zipfFleet(n, alpha, family, 7 + n, avg);
    const t = timed(() => plan(f));
    const p = t.value;
    const v = verifyPlan(f, p);
    const s = p.summary;
    rows.push([n, alpha, avg, s.lowerBound.toFixed(2), s.gpuCount, (s.gpuCount / s.lowerBound).toFixed(2), s.baselines.dedicated,
      `-${(100 * (1 - s.gpuCount / s.baselines.dedicated)).toFixed(1)}%`, s.baselines.noMig, `-${(100 * (1 - s.gpuCount / s.baselines.noMig)).toFixed(1)}%`,
      s.nodeConfigurations ?? '', v.length === 0 ? 'yes' : `NO (${v.length})`, t.ms.toFixed(0), t.cpuMs.toFixed(0), t.heapMiB, t.peakRssMiB]);
  }
  console.log(table(rows));
  console.log('heap+: heap left allocated by the plan; peak RSS: the bench process\'s peak resident memory so far (monotonic)');
  console.log('avg rps 20: a low-traffic tail is bound by rule 4 (each request waits for one batch of every neighbour), which the lower bound ignores');
  const ru = process.resourceUsage();
  console.log(`process peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB (whole bench process)`);
}
