/**
 * The CLI on big fleet files (`npm run bench -- cli`): `gpufleet plan FILE --json` as it ships (compiled
 * lib/, no ts-node) on JSON fleets of 300, 1,000 and 10,000 models, every model with ~200 profile rows
 * (copies of the ParvaGPU tables, or of the synthetic family without ../shared), Zipf(0.9) popularity,
 * 40 rps per model on average, headroom 0.5, 50 teams — the fleets of issue 13.
 *
 * Per fleet, each in its own process: the CLI's wall time, CPU time (user + system, every thread: the
 * solver's worker too) and peak RSS (bench/peak-rss.js); the wall time of an empty Node.js process (`node -e 0`,
 * Node's own start-up, the floor under any command); and, for comparison, `parseFleet` + `plan()` in a
 * process of their own (bench/plan-child.ts, under ts-node's require hook). Files over the CLI's default
 * 16 MiB input limit are read with `--max-input-size` (docs/cli.md), as a user would. The machine's load
 * average is printed with the figures: on a shared machine wall times grow with it, CPU times much less.
 *
 * Each CLI command runs GPUFLEET_BENCH_CLI_RUNS times (default 3; 1 for 10,000 models and more): the table shows the
 * fastest, median and slowest wall time, the least CPU time and the largest peak RSS of those runs (on a shared machine the spread is
 * the load's, not the command's).
 *
 * Sizes: GPUFLEET_BENCH_CLI_MODELS=300,1000 (default 300,1000,10000).
 */
import { mkdtempSync, rmSync, statSync } from 'fs';
import { loadavg, tmpdir } from 'os';
import { join, resolve } from 'path';
import { child, fleetFile, loadParva, syntheticFamily, TS, zipfFleet } from './planner.bench';

const REPO = resolve(__dirname, '..');
const MIB = 1024 * 1024;

function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ')).join('\n');
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

export async function run(): Promise<void> {
  const sizes = (process.env.GPUFLEET_BENCH_CLI_MODELS ?? '300,1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const parva = loadParva();
  const family = parva ?? syntheticFamily();
  console.log(
    '\nthe CLI on JSON fleet files — Zipf(0.9), 40 rps per model, headroom 0.5, 50 teams; each model a copy of ' +
      (parva ? 'a ParvaGPU-profiled model (A100-80GB)' : 'a SYNTHETIC profile family (not measured; ../shared absent)'),
  );
  // the CLI rebuilds a stale lib/ before it runs: build first, so its time is the command's alone
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(join(REPO, 'scripts', 'build.js')).ensureBuild({ allowTypeErrors: true, log: (m: string) => console.log(`  (${m})`) });
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-bench-cli-'));
  const rows: (string | number)[][] = [
    [
      'models',
      'rows/model',
      'file MiB',
      'runs',
      'CLI wall ms',
      'median',
      'slowest',
      'CLI cpu ms',
      '(user+sys)',
      'CLI peak RSS MiB',
      'node -e 0 ms',
      'GPUs',
      'tight',
      'in-process parse ms',
      'plan ms',
      'load avg before',
    ],
  ];
  const commands: string[] = [];
  try {
    for (const n of sizes) {
      const f = zipfFleet(n, 0.9, family, 7 + n, 40, 0.5, 50);
      const file = fleetFile(f, dir);
      const bytes = statSync(file).size;
      const rowsPerModel = Math.round(f.models.reduce((s, m) => s + m.profiles.length, 0) / n);
      const limit = bytes > 16 * MIB ? ['--max-input-size', `${Math.ceil(bytes / MIB)}MiB`] : [];
      const args = [join(REPO, 'bin', 'gpufleet'), 'plan', file, '--json', ...limit];
      commands.push(`node bin/gpufleet plan ${f.name}.fleet.json --json ${limit.join(' ')}`.trim());
      const before = load();
      const runs = Number(process.env.GPUFLEET_BENCH_CLI_RUNS ?? (n >= 10000 ? 1 : 3));
      const all = Array.from({ length: Math.max(1, runs) }, () => child(args));
      const ok = all.every((r) => r.code === 0);
      const cli = { ...all.reduce((a, b) => (b.ms < a.ms ? b : a)), runs: all.length };
      const cpu = all.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
      const peakMiB = Math.max(...all.map((r) => r.peakMiB));
      const walls = all.map((r) => r.ms).sort((a, b) => a - b);
      // Node's own start-up in the same environment, timed the same way: the floor of any command's wall time
      const nodeStart = Math.min(...Array.from({ length: Math.max(1, runs) }, () => child(['-e', '0']).ms));
      const planned = ok ? (JSON.parse(cli.stdout) as { summary: { gpuCount: number; tightBound?: { gpus: number } } }).summary : undefined;
      const inproc = child([...TS, join(__dirname, 'plan-child.ts'), file]);
      const r = JSON.parse(inproc.stdout.trim().split('\n').pop() || '{}') as { parseMs?: number; planMs?: number };
      rows.push([
        n,
        rowsPerModel,
        (bytes / MIB).toFixed(1),
        cli.runs,
        ok ? cli.ms.toFixed(0) : `exit ${all.find((r) => r.code !== 0)?.code}`,
        ok ? walls[Math.floor((walls.length - 1) / 2)].toFixed(0) : '-',
        ok ? walls[walls.length - 1].toFixed(0) : '-',
        ok ? cpu.cpuMs.toFixed(0) : '-',
        ok ? `${cpu.userMs.toFixed(0)}+${cpu.sysMs.toFixed(0)}` : '-',
        ok ? peakMiB : '-',
        nodeStart.toFixed(0),
        planned?.gpuCount ?? '-',
        planned?.tightBound?.gpus ?? '-',
        r.parseMs ?? '-',
        r.planMs ?? '-',
        before,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(table(rows));
  console.log(
    "CLI: the commands below, run in the fleet's folder, each under `node -r bench/peak-rss.js`; wall = the process from spawn to exit",
  );
  console.log('(the fastest of the runs; median: the lower middle one), cpu the least of the runs, peak RSS the largest;');
  console.log("node -e 0: the fastest of as many runs of an empty Node.js process, spawned the same way (Node's own start-up:");
  console.log('NODE_EXTRA_CA_CERTS, when set, is read there, before any gpufleet code);');
  console.log('cpu = user + system of every thread of that process (the HiGHS worker included); parse/plan ms: parseFleet and plan() in a');
  console.log(
    "process of their own under ts-node (bench/plan-child.ts). 2 cores are enough for the CLI: the bound's LP runs beside the packing.",
  );
  for (const c of commands) console.log(`  ${c}`);
  console.log(`load average after: ${load()}`);
}
