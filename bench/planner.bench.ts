/**
 * Planner benchmarks (`npm run bench -- planner`; the CLI on fleet files is bench/cli.bench.ts):
 * 1. the six SLO scenarios of the ParvaGPU SC'24 artifact on its measured A100-80GB tables (MIT;
 *    profiles from ../shared, scenarios from the artifact named by GPUFLEET_PARVAGPU_ARTIFACT, both
 *    read at run time) — GPUs against the tight bound;
 * 2. long-tail fleets of 300 to 10,000 models with Zipf popularity at 20-67 rps per model — GPUs,
 *    tight bound, DESIGN.md bound, ratios, planning time.
 * The rendering floor (fleet → manifests against a bare cdk8s-plus-28 app) is bench/render.bench.ts.
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import type { Fleet, ModelSpec, ProfileEntry, SliceSize } from '../constructs/fleet/types';
import { plan, verifyPlan, warmUpSolver } from '../constructs/planner';
import { forgetSolverAnswers } from '../constructs/planner/lp-solver';
import { EXACT_SEAT_SETS, EXACT_SMALL_FLEET } from '../constructs/planner/plan';
import { artifactDir, ParvaArtifact, readArtifact } from './parvagpu-artifact';
import { mulberry32 as rng } from '../constructs/planner/random';

const REPO = resolve(__dirname, '..');

const PARVA_DIR = resolve(__dirname, '../../shared/profiles/parvagpu-a100-80gb');
const ATTRIBUTION =
  'profiles: ParvaGPU (Lee et al., SC 2024) artifact MunQ-Lee/ParvaGPU_SC24 prof_data/, MIT licence — ' +
  'read at run time from ../shared, not redistributed';

/**
 * GPU memory of one model instance (weights + workspace), GiB. Assumed by this bench (the tables
 * carry none): FP32 weight sizes of the public architectures plus about 0.2 GiB of workspace.
 */
const MEMORY_GIB: Record<string, number> = {
  bert: 1.6,
  densenet121: 0.3,
  densenet169: 0.4,
  densenet201: 0.5,
  inceptionv3: 0.4,
  mobilenetv2: 0.25,
  resnet50: 0.4,
  resnet101: 0.5,
  resnet152: 0.6,
  vgg16: 0.8,
  vgg19: 0.8,
};

/** Parses one ParvaGPU CSV (slice, batch, workers, throughput req/s, latency s); rows with 0 throughput (did not run) dropped. */
function parseParva(text: string): ProfileEntry[] {
  return text
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(',').map(Number))
    .filter((r) => r.length >= 5 && r[3] > 0 && r[4] > 0)
    .map((r) => ({
      gpu: 'A100-80GB',
      slice: r[0] as SliceSize,
      batch: r[1],
      instances: r[2],
      throughput: r[3],
      latencyMs: Number((r[4] * 1000).toFixed(3)),
    }));
}

/**
 * The ParvaGPU profile tables: ../shared's copy, else the artifact's prof_data/ (GPUFLEET_PARVAGPU_ARTIFACT); undefined when
 * neither is there.
 */
export function loadParva(): Map<string, ProfileEntry[]> | undefined {
  const art = artifactDir().dir;
  const dir = existsSync(PARVA_DIR) ? PARVA_DIR : art ? join(art, 'prof_data') : undefined;
  if (!dir) return undefined;
  const out = new Map<string, ProfileEntry[]>();
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.csv'))
    .sort()) {
    out.set(f.replace(/\.csv$/, ''), parseParva(readFileSync(join(dir, f), 'utf8')));
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

/** The six SLO scenarios of the ParvaGPU artifact (read at run time, bench/parvagpu-artifact.ts) on its own A100-80GB profiles. */
export function parvaScenarios(artifact: ParvaArtifact, profiles: Map<string, ProfileEntry[]>, headroom = 0.45): Fleet[] {
  return artifact.scenarios.map((sc) => {
    const models: ModelSpec[] = sc.models.map((m) => {
      const entries = profiles.get(m.name);
      if (!entries) throw new Error(`${artifact.dir}: scenario ${sc.name} names model ${m.name}, which has no profile table`);
      return {
        name: m.name,
        team: 'bench',
        rps: m.rps,
        latencySloMs: m.latencySloMs,
        memoryGiB: MEMORY_GIB[m.name] ?? 1,
        profiles: entries,
      };
    });
    return { name: sc.name, latencyHeadroom: headroom, processOverheadGiB: 0.6, gpus: [{ type: 'A100-80GB', mig: true }], models };
  });
}

/**
 * Zipf fleet: model i gets avgRps x n x i^-alpha / H(n, alpha) rps; SLO 10-50x its fastest batch
 * latency, at least 50 ms; teams `team-(i mod teams)`.
 */
export function zipfFleet(
  n: number,
  alpha: number,
  profiles: Map<string, ProfileEntry[]>,
  seed: number,
  avgRps = 100,
  headroom = 0.5,
  teams = 17,
): Fleet {
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
    const rps = Math.max(0.1, Number((totalRps / h / Math.pow(i, alpha)).toFixed(2)));
    models.push({
      name: `m${String(i).padStart(5, '0')}-${base}`,
      team: `team-${i % teams}`,
      rps,
      latencySloMs: slo,
      memoryGiB: MEMORY_GIB[base] ?? 0.5,
      profiles: entries,
    });
  }
  return { name: `zipf-${n}`, latencyHeadroom: headroom, processOverheadGiB: 0.6, gpus: [{ type: 'A100-80GB', mig: true }], models };
}

/** Wall and CPU time of fn, the heap it leaves allocated (after - before, MiB) and the process's peak RSS so far (MiB). */
function timed<T>(fn: () => T): { value: T; ms: number; cpuMs: number; heapMiB: number; peakRssMiB: number } {
  forgetSolverAnswers(); // times the solves, not the process's memo of earlier answers
  const before = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const after = process.memoryUsage().heapUsed;
  return {
    value,
    ms,
    cpuMs: (c.user + c.system) / 1000,
    heapMiB: Math.round((Math.max(after - before, 0) / 1048576) * 10) / 10,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** A fleet as a fleet file (JSON), every model with its own copy of its profile rows. */
export function fleetFile(f: Fleet, dir: string): string {
  const file = join(dir, `${f.name}.fleet.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: f.name,
      latencyHeadroom: f.latencyHeadroom,
      gpus: f.gpus.map((g) => ({ type: g.type })),
      models: f.models.map((m) => ({
        name: m.name,
        team: m.team,
        rps: m.rps,
        latencySloMs: m.latencySloMs,
        memoryGiB: m.memoryGiB,
        profiles: m.profiles,
      })),
    }),
  );
  return file;
}

/** Runs a command under bench/peak-rss.js: wall ms, peak RSS MiB, CPU ms (user + system, every thread), stdout. */
export function child(args: string[]): {
  ms: number;
  peakMiB: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  stdout: string;
  code: number | null;
} {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', join(__dirname, 'peak-rss.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /peak-rss-kib (\d+)/.exec(r.stderr ?? '');
  const c = /cpu-us (\d+) (\d+)/.exec(r.stderr ?? '');
  const said = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('peak-rss-kib') && !l.startsWith('cpu-us'));
  if (r.status !== 0)
    console.log(
      `  (${args
        .filter((a) => !a.startsWith('-'))
        .map((a) => a.split('/').pop())
        .join(' ')}: exit ${r.status}: ${said.slice(-3).join(' | ')})`,
    );
  const userMs = c ? Number(c[1]) / 1000 : NaN;
  const sysMs = c ? Number(c[2]) / 1000 : NaN;
  return {
    ms,
    peakMiB: m ? Math.round(Number(m[1]) / 1024) : NaN,
    cpuMs: userMs + sysMs,
    userMs,
    sysMs,
    stdout: r.stdout ?? '',
    code: r.status,
  };
}

export const TS = ['-r', 'ts-node/register/transpile-only'];

/** Section 1: the ParvaGPU SC'24 scenarios planned against the tight bound and ParvaGPU's own maps (or why they are skipped). */
function benchParvaScenarios(parva: Map<string, ProfileEntry[]> | undefined, art: ReturnType<typeof artifactDir>): void {
  if (!parva || !art.dir) {
    console.log(`ParvaGPU scenarios skipped: ${!art.dir ? art.skip : `no profile tables (${PARVA_DIR} is absent)`}`);
  } else {
    const artifact = readArtifact(art.dir);
    console.log(
      `\nParvaGPU SC'24 scenarios — ${ATTRIBUTION}; ` +
        `scenarios (SLO/SLO_req_rate.csv, SLO/SLO_latency.csv) and ParvaGPU's deployment maps read at run time from ${art.dir}`,
    );
    console.log(
      'latencyHeadroom 0.45; memory per model assumed (bench/planner.bench.ts); ' +
        'ParvaGPU = GPUs of its own deployment maps (its rules, not ours)',
    );
    console.log(
      `planned with default options (effort thorough; exact stage: ${EXACT_SEAT_SETS} seat sets, ` +
        `${EXACT_SMALL_FLEET.maxSets} for packings of at most ${EXACT_SMALL_FLEET.maxModels} models); ` +
        'method exact = no valid plan with fewer GPUs exists (every seat set enumerated), lp/milp = the relaxation',
    );
    const rows: (string | number)[][] = [
      ['scenario', 'models', 'total rps', 'DESIGN LB', 'tight', 'method', 'GPUs', 'GPUs/tight', 'ParvaGPU', 'valid', 'ms', 'cpu ms'],
    ];
    let equal = 0;
    let total = 0;
    let parvaTotal = 0;
    const scenarios = parvaScenarios(artifact, parva);
    scenarios.forEach((f, i) => {
      const t = timed(() => plan(f));
      const p = t.value;
      const v = verifyPlan(f, p);
      const tb = p.summary.tightBound;
      if (tb && tb.gpus === p.summary.gpuCount) equal++;
      total += p.summary.gpuCount;
      const own = artifact.scenarios[i].parvaGpus;
      parvaTotal += own ?? 0;
      rows.push([
        f.name,
        f.models.length,
        Math.round(f.models.reduce((s, m) => s + m.rps, 0)),
        p.summary.lowerBound.toFixed(2),
        tb?.gpus ?? '-',
        tb?.method ?? '-',
        p.summary.gpuCount,
        tb ? (p.summary.gpuCount / tb.gpus).toFixed(2) : '-',
        own ?? '-',
        v.length === 0 ? 'yes' : `NO (${v.length})`,
        t.ms.toFixed(0),
        t.cpuMs.toFixed(0),
      ]);
    });
    console.log(table(rows));
    console.log(
      `plan = tight bound (provably fewest GPUs) on ${equal}/${scenarios.length}; ${total} GPUs in all (ParvaGPU's maps: ${parvaTotal})`,
    );
  }
}

/** Section 2: long-tail Zipf fleets of 300 to 10,000 models — GPUs against the tight and DESIGN.md bounds, planning time. */
function benchLongTail(family: Map<string, ProfileEntry[]>, measured: boolean): void {
  console.log(
    '\nlong-tail fleets — Zipf popularity, each model a copy of one ' +
      `${measured ? 'ParvaGPU-profiled model (A100-80GB)' : 'SYNTHETIC profile family (not measured; ../shared absent)'};` +
      " SLO 10-50x the model's fastest batch latency (>= 50 ms); tight = summary.tightBound, DESIGN LB = summary.lowerBound",
  );
  const cases: [number, number, number, number][] = [
    [300, 0.9, 20000 / 300, 0.45],
    [300, 0.9, 20, 0.5],
    [300, 0.9, 60, 0.5],
    [1000, 0.9, 40, 0.5],
    [10000, 0.9, 40, 0.5],
  ];
  const rows: (string | number)[][] = [
    [
      'models',
      'alpha',
      'avg rps',
      'headroom',
      'GPUs',
      'tight',
      'method',
      'GPUs/tight',
      'DESIGN LB',
      'GPUs/LB',
      'dedicated',
      'valid',
      'wall ms',
      'cpu ms',
    ],
  ];
  for (const [n, alpha, avg, headroom] of cases) {
    const f = zipfFleet(n, alpha, family, 7 + n, avg, headroom);
    const t = timed(() => plan(f));
    const s = t.value.summary;
    const v = verifyPlan(f, t.value);
    rows.push([
      n,
      alpha,
      avg.toFixed(1),
      headroom,
      s.gpuCount,
      s.tightBound?.gpus ?? '-',
      s.tightBound?.method ?? '-',
      s.tightBound ? (s.gpuCount / s.tightBound.gpus).toFixed(2) : '-',
      s.lowerBound.toFixed(2),
      (s.gpuCount / s.lowerBound).toFixed(2),
      s.baselines.dedicated,
      v.length === 0 ? 'yes' : `NO (${v.length})`,
      t.ms.toFixed(0),
      t.cpuMs.toFixed(0),
    ]);
  }
  console.log(table(rows));
  console.log('first row: the 300-model case of issue 13 (20,000 rps over 300 copies of the 11 profiled models, headroom 0.45)');
  console.log("wall/cpu: plan() in this process (the bound's LP runs in the solver thread in parallel, so cpu can exceed wall)");
}

export async function run(): Promise<void> {
  warmUpSolver();
  const parva = loadParva();
  benchParvaScenarios(parva, artifactDir());
  const family = parva ?? syntheticFamily();
  benchLongTail(family, parva !== undefined);
  const ru = process.resourceUsage();
  console.log(`\nprocess peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MiB (whole bench process)`);
}
