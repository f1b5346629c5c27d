/**
 * One measurement of the rendering benchmark, in its own process (so peak memory is its own):
 * `floor N CHARTS`: a bare cdk8s-plus-28 app, N Deployments + Services spread over CHARTS charts;
 * `platform FLEET.json PLAN.json`: the fleet and its plan rendered by ServingPlatform.fromPlan.
 * Both synthesize the app with `app.synthYaml()` (validations included, as `cdk8s synth` runs them) and print one JSON line:
 * { ms, objects, rssBeforeMiB, peakRssMiB }. Run by bench/planner.bench.ts.
 */
import { readFileSync } from 'fs';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

function measure(build: () => App): void {
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const yaml = build().synthYaml();
  const objects = yaml.split(/^apiVersion:/m).length - 1;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    JSON.stringify({
      ms: Math.round(ms),
      objects,
      rssBeforeMiB: Math.round(before / 1048576),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'floor') {
  const n = Number(a);
  const charts = Number(b);
  measure(() => {
    const app = new App();
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
    return app;
  });
} else if (mode === 'platform') {
  // loaded here, not at the top: the floor process pays for none of gpufleet's modules
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parseFleet } = require('../constructs/fleet') as typeof import('../constructs/fleet');
  const { ModelRepository, ServingPlatform } = require('../constructs/k8s') as typeof import('../constructs/k8s');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const fleet = parseFleet(readFileSync(a, 'utf8'), a);
  const plan = JSON.parse(readFileSync(b, 'utf8'));
  measure(() => {
    const app = new App();
    const chart = new Chart(app, 'planned-platform');
    ServingPlatform.fromPlan(chart, 'Platform', {
      fleet,
      plan,
      cluster: { name: 'gpufleet', nodeRole: 'KarpenterNodeRole-gpufleet' },
      repository: ModelRepository.s3({ bucket: 'gpufleet-models', prefix: fleet.name, region: 'us-east-1' }),
      scaling: { kind: 'keda', maxReplicas: 1 },
      extraReplicas: 1,
      routes: { hostnames: ['inference.example.com'] },
    });
    return app;
  });
} else {
  console.error('usage: render-child.ts floor N CHARTS | platform FLEET.json PLAN.json');
  process.exit(2);
}
