/**
 * One measurement of the rendering benchmark (bench/render.bench.ts), in its own process so peak memory is its own:
 * `floor N CHARTS OUTDIR`: a bare cdk8s-plus-28 app, N Deployments + Services spread over CHARTS charts, `app.synth()`
 * into OUTDIR (one manifest per chart, validations included, as `cdk8s synth` runs them);
 * `platform FLEET.json PLAN.json PLATFORM.yaml OUTDIR`: the fleet and its plan on the platform file, rendered and written
 * by `synthesizeFleet` — the function behind `gpufleet synth` (manifests, each model's config.pbtxt, plan.json).
 * Prints one JSON line: { ms, cpuMs, objects, loadMs, rssBeforeMiB, peakRssMiB } where ms/cpuMs cover building and
 * writing the app only (loadMs: reading the input files, before).
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

function countObjects(outdir: string): number {
  let n = 0;
  for (const f of readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'))) {
    n += readFileSync(join(outdir, f), 'utf8').split(/^apiVersion:/m).length - 1;
  }
  return n;
}

function measure(outdir: string, loadMs: number, render: () => void): void {
  const before = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  render();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  console.log(
    JSON.stringify({
      ms: Math.round(ms),
      cpuMs: Math.round((c.user + c.system) / 1000),
      objects: countObjects(outdir),
      loadMs: Math.round(loadMs),
      rssBeforeMiB: Math.round(before / 1048576),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'floor' && args.length === 3) {
  const [n, charts, outdir] = [Number(args[0]), Number(args[1]), args[2]];
  measure(outdir, 0, () => {
    const app = new App({ outdir });
    const cs = Array.from({ length: charts }, (_, i) => new Chart(app, `team-${i}`, { namespace: `team-${i}` }));
    for (let i = 0; i < n; i++) {
      const d = new kplus.Deployment(cs[i % charts], `model-${i}`, {
        replicas: 1,
        containers: [
          { image: 'nvcr.io/nvidia/tritonserver:25.08-py3', ports: [{ number: 8000 }], securityContext: { ensureNonRoot: false } },
        ],
      });
      d.exposeViaService({ ports: [{ port: 8000 }] });
    }
    app.synth();
  });
} else if (mode === 'platform' && args.length === 4) {
  const [fleetPath, planPath, platformPath, outdir] = args;
  const t0 = process.hrtime.bigint();
  // loaded here, not at the top: the floor process pays for none of gpufleet's modules
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parseFleet } = require('../constructs/fleet') as typeof import('../constructs/fleet');
  const { loadPlatformFile, synthesizeFleet } = require('../constructs/k8s') as typeof import('../constructs/k8s');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const fleet = parseFleet(readFileSync(fleetPath, 'utf8'), fleetPath);
  const plan = JSON.parse(readFileSync(planPath, 'utf8'));
  const platform = loadPlatformFile(platformPath, '--platform');
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  measure(outdir, loadMs, () => {
    synthesizeFleet({ fleet, plan, platform, outdir });
  });
} else {
  console.error('usage: render-child.ts floor N CHARTS OUTDIR | platform FLEET.json PLAN.json PLATFORM.yaml OUTDIR');
  process.exit(2);
}
