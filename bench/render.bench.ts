/**
 * Rendering benchmark (`npm run bench -- render`): fleet → manifests against the bare cdk8s-plus-28 floor, same run.
 * - floor: a bare cdk8s-plus-28 app, 1,000 Deployments + Services in 50 charts, `app.synth()` into a temp folder;
 * - gpufleet: a 1,000-model, 50-team Zipf(0.9) fleet (bench/planner.bench.ts `zipfFleet`, as bench/cli.bench.ts),
 *   planned in this process (plan time printed apart), then rendered and written in a child process by
 *   `synthesizeFleet` on examples/platform.yaml — what `gpufleet synth` runs after planning.
 * Each child runs under bench/peak-rss.js (peak RSS, CPU of every thread) and reports its own rendering time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir, loadavg } from 'os';
import { join, resolve } from 'path';
import { plan } from '../constructs/planner';
import { child, fleetFile, loadParva, syntheticFamily, TS, zipfFleet } from './planner.bench';

const PLATFORM = resolve(__dirname, '../examples/platform.yaml');

interface Rendered {
  ms: number;
  cpuMs: number;
  objects: number;
  loadMs: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padStart(widths[i])).join('  ')).join('\n');
}

function measured(args: string[]): { r: Rendered; wallMs: number; cpuMs: number; peakMiB: number } {
  const c = child([...TS, join(__dirname, 'render-child.ts'), ...args]);
  const r = JSON.parse(c.stdout.trim().split('\n').pop() || '{}') as Rendered;
  return { r, wallMs: c.ms, cpuMs: c.cpuMs, peakMiB: c.peakMiB };
}

export function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gpufleet-bench-render-'));
  try {
    const family = loadParva() ?? syntheticFamily();
    const f = { ...zipfFleet(1000, 0.9, family, 1007, 40, 0.5, 50), name: 'render-1000' };
    const file = fleetFile(f, dir);
    const planFile = join(dir, 'render-1000.plan.json');
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const p = plan(f);
    const planMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const planCpu = process.cpuUsage(c0);
    writeFileSync(planFile, JSON.stringify(p));
    console.log(
      `fleet: 1,000 models, 50 teams, ${p.summary.gpuCount} GPUs; plan() ${planMs.toFixed(0)} ms wall, ` +
        `${((planCpu.user + planCpu.system) / 1000).toFixed(0)} ms cpu (in this process, not part of the rendering below)`,
    );
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const fl = measured(['floor', '1000', '50', join(dir, 'floor')]);
    const pl = measured(['platform', file, planFile, PLATFORM, join(dir, 'platform')]);
    const row = (name: string, m: typeof fl): (string | number)[] => [
      name,
      m.r.objects,
      m.r.ms,
      m.r.cpuMs,
      m.r.rssBeforeMiB,
      m.r.peakRssMiB,
      m.r.peakRssMiB - m.r.rssBeforeMiB,
      m.r.loadMs,
      Math.round(m.wallMs),
      Math.round(m.cpuMs),
    ];
    console.log(
      table([
        [
          '',
          'objects',
          'render ms',
          'render cpu ms',
          'RSS before MiB',
          'peak RSS MiB',
          'RSS added MiB',
          'load ms',
          'process ms',
          'process cpu ms',
        ],
        row('floor: 1,000 Deployments + Services, 50 charts', fl),
        row('gpufleet synthesizeFleet: 1,000 models, 50 teams', pl),
      ]),
    );
    const ratio = (a: number, b: number): string => (a / Math.max(1, b)).toFixed(2);
    console.log(
      `ratio gpufleet / floor: render ${ratio(pl.r.ms, fl.r.ms)}x wall, ${ratio(pl.r.cpuMs, fl.r.cpuMs)}x cpu; ` +
        `peak RSS ${ratio(pl.r.peakRssMiB, fl.r.peakRssMiB)}x, ` +
        `RSS added while rendering ${ratio(pl.r.peakRssMiB - pl.r.rssBeforeMiB, fl.r.peakRssMiB - fl.r.rssBeforeMiB)}x`,
    );
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      'render: building the app and writing its files ' +
        '(floor: app.synth(); gpufleet: synthesizeFleet, manifests + config.pbtxt + plan.json); ' +
        'load: reading fleet, plan and platform files and loading gpufleet modules; process: the whole child, ts-node included',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return Promise.resolve();
}
