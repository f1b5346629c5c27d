/**
 * From the SLO to the manifests (latency-budget.ts, docs/serving.md): each model's batching delay and each pool's
 * autoscaling target come from its models' latency SLOs and the fleet's headroom; and the signals the autoscalers
 * read move when the backlog grows, checked by evaluating the rendered PromQL over metrics of the Triton stand-in and
 * of the router (test/support/promql.ts).
 */
import * as net from 'net';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { MigLayout, ModelRepository, ServingPlatform, Team } from '../constructs/k8s';
import {
  firstTokenTargetMicroseconds,
  maxQueueDelayMicroseconds,
  queueBudgetMicroseconds,
  queueTargetMicroseconds,
} from '../constructs/k8s/serving/latency-budget';
import { PoolAutoscaling, routerWakeQuery } from '../constructs/k8s/serving/pool-autoscaling';
import { TritonModelConfig } from '../constructs/k8s/serving/triton-model-config';
import { TritonPool } from '../constructs/k8s/serving/triton-pool';
import { loadFleetFile } from '../constructs/fleet';
import { buildPlannedPlatform } from '../examples/planned-platform';
import { evaluate, parseExposition } from './support/promql';
import { startTritonStandin } from '../constructs/runtime/standin';
import { inferBody, killAll, request, startLocalRouter } from './support/triton-standin-procs';

afterAll(killAll);

const delayOf = (platform: ServingPlatform, model: string): number | undefined =>
  platform.repository.model(model).dynamicBatching?.maxQueueDelayMicroseconds;
const scaledObject = (objs: any[], pool: string): any => objs.find((o) => o.kind === 'ScaledObject' && o.metadata.name === pool);
const trigger = (so: any, name: string): any => so.spec.triggers.find((t: any) => t.name === name);

describe('the rule', () => {
  test('two models with different SLOs: their own batching delays; a pool serving both takes the stricter target', () => {
    const fast = { latencySloMs: 20, latencyHeadroom: 0.5 };
    const slow = { latencySloMs: 200, latencyHeadroom: 0.5 };
    // queueing budget = (1 − headroom) × SLO
    expect([queueBudgetMicroseconds(fast), queueBudgetMicroseconds(slow)]).toEqual([10_000, 100_000]);
    // batching delay = 10 % of it; autoscaling target = 20 % of the smallest budget of the pool's models
    expect([maxQueueDelayMicroseconds(fast), maxQueueDelayMicroseconds(slow)]).toEqual([1_000, 10_000]);
    expect([queueTargetMicroseconds([fast]), queueTargetMicroseconds([slow]), queueTargetMicroseconds([slow, fast])]).toEqual([
      2_000, 20_000, 2_000,
    ]);
    // the headroom moves all of it: less headroom, more time to wait
    expect(maxQueueDelayMicroseconds({ latencySloMs: 20, latencyHeadroom: 0.8 })).toBe(400);
    // decoupled models: time to first token = compute share + the same queueing target
    expect(firstTokenTargetMicroseconds([{ latencySloMs: 2000, latencyHeadroom: 0.5 }])).toBe(1_200_000);
    // no waiting time at all: the pool scales out on any queueing
    expect(queueTargetMicroseconds([{ latencySloMs: 20, latencyHeadroom: 1 }])).toBe(1);
  });

  test('fails on an SLO or headroom out of range', () => {
    expect(() => maxQueueDelayMicroseconds({ latencySloMs: 0, latencyHeadroom: 0.5 }, 'models.m')).toThrow(
      'models.m.latencySloMs: expected a number > 0, got 0',
    );
    expect(() => queueTargetMicroseconds([{ latencySloMs: 10, latencyHeadroom: 1.5 }], 'pools.p')).toThrow(
      'pools.p.models[0].latencyHeadroom: expected a number in (0, 1], got 1.5',
    );
    expect(() => queueTargetMicroseconds([], 'pools.p')).toThrow('pools.p: expected at least one model with a latency SLO, got none');
  });
});

describe('a hand-written platform', () => {
  const team: Team = {
    name: 'search',
    models: [
      { name: 'fast', platform: 'onnxruntime_onnx', maxBatchSize: 16, latencySloMs: 20 },
      { name: 'slow', platform: 'onnxruntime_onnx', maxBatchSize: 16, latencySloMs: 200 },
      { name: 'legacy', platform: 'onnxruntime_onnx', maxBatchSize: 16 },
      { name: 'pinned-delay', platform: 'onnxruntime_onnx', maxBatchSize: 16, latencySloMs: 200, maxQueueDelayMicroseconds: 50 },
    ],
    pools: [
      { name: 'fast-1g', slice: '1g.10gb', models: ['fast'], scaling: { kind: 'keda', maxReplicas: 4 } },
      { name: 'slow-1g', slice: '1g.10gb', models: ['slow', 'legacy'], scaling: { kind: 'hpa', maxReplicas: 4 } },
      {
        name: 'both-2g',
        slice: '2g.20gb',
        models: ['pinned-delay'],
        scaling: { kind: 'keda', maxReplicas: 2, targetQueueMicroseconds: 7_000 },
      },
    ],
  };
  const build = (latencyHeadroom?: number): { platform: ServingPlatform; objs: any[] } => {
    const chart = new Chart(Testing.app(), 'p');
    const platform = ServingPlatform.builder()
      .cluster({ name: 'c', nodeRole: 'r' })
      .nodePools({
        name: 'h100',
        gpuType: 'H100-80GB',
        layout: MigLayout.fromProfiles('h100-mixed', 'H100-80GB', { '2g.20gb': 1, '1g.10gb': 5 }),
      })
      .repository(ModelRepository.s3({ bucket: 'models', region: 'us-east-1' }))
      .teams(team)
      .with(latencyHeadroom === undefined ? {} : { latencyHeadroom })
      .build(chart, 'Platform');
    return { platform, objs: Testing.synth(chart) };
  };

  test('max_queue_delay_microseconds and the autoscaling targets come from the SLOs and the headroom', () => {
    const { platform, objs } = build();
    expect([delayOf(platform, 'fast'), delayOf(platform, 'slow'), delayOf(platform, 'legacy'), delayOf(platform, 'pinned-delay')]).toEqual([
      1_000, 10_000, 100, 50,
    ]);
    expect(platform.repository.model('fast').toPbtxt()).toContain('  max_queue_delay_microseconds: 1000\n');
    expect(trigger(scaledObject(objs, 'fast-1g'), 'queue-time').metadata.threshold).toBe('2000');
    // the HPA's Object metric target: the models with an SLO decide (legacy has none)
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'slow-1g');
    expect(hpa.spec.metrics[0].object.target).toEqual({ type: 'Value', value: 20_000 });
    // an explicit target wins
    expect(trigger(scaledObject(objs, 'both-2g'), 'queue-time').metadata.threshold).toBe('7000');
    const tighter = build(0.8);
    expect([delayOf(tighter.platform, 'fast'), delayOf(tighter.platform, 'slow')]).toEqual([400, 4_000]);
    expect(trigger(scaledObject(tighter.objs, 'fast-1g'), 'queue-time').metadata.threshold).toBe('800');
  });

  test('fails on a headroom out of range', () => {
    expect(() => build(0)).toThrow('latencyHeadroom: expected a number in (0, 1], got 0');
  });
});

describe('a planned platform (examples/long-tail.fleet.yaml)', () => {
  const fleetFile = path.join(__dirname, '..', 'examples', 'long-tail.fleet.yaml');
  const fleet = loadFleetFile(fleetFile);
  // effort 'fast' plans this fleet as the default effort does, byte for byte, in a fifth of the CPU (the delays and
  // targets follow from the SLOs and the pools, whatever the packing effort)
  const { chart, platform } = buildPlannedPlatform(Testing.app(), 'planned', { fleetFile, planOptions: { effort: 'fast' } });
  const objs = chart.toJson();

  test("each model's delay is 10 % of (1 − fleet headroom) × its SLO; each pool's target 20 % of its strictest model's", () => {
    const slos = new Set(fleet.models.map((m) => m.latencySloMs));
    expect(slos.size).toBeGreaterThan(2);
    for (const m of fleet.models) {
      const cfg = platform.repository.model(m.name);
      if (cfg.dynamicBatching === undefined) continue;
      expect([m.name, cfg.dynamicBatching.maxQueueDelayMicroseconds]).toEqual([
        m.name,
        Math.floor(0.1 * (1 - fleet.latencyHeadroom) * m.latencySloMs * 1000),
      ]);
    }
    let checked = 0;
    for (const [name, served] of platform.pools) {
      const so = scaledObject(objs, name);
      if (!so) continue;
      const strictest = Math.min(...served.pool.models.map((m) => fleet.models.find((x) => x.name === m)!.latencySloMs));
      expect([name, trigger(so, 'queue-time').metadata.threshold]).toEqual([
        name,
        String(Math.floor(0.2 * (1 - fleet.latencyHeadroom) * strictest * 1000)),
      ]);
      checked++;
    }
    expect(checked).toBeGreaterThan(1);
  });
});

describe('the signals move with the backlog: Triton pools (rendered PromQL over stand-in metrics)', () => {
  /** A pool of one model on a repository where the model has `config`, autoscaled with KEDA. */
  function scalingOf(config: TritonModelConfig): PoolAutoscaling {
    const chart = new Chart(Testing.app(), 't');
    const repository = new ModelRepository(chart, 'Repo', { storage: ModelRepository.pvc({ claimName: 'models' }) });
    repository.addModel(config);
    const pool = new TritonPool(chart, 'Pool', {
      name: 'llm',
      namespace: 'assistant',
      repository,
      models: [config.name],
      gpuType: 'H100-80GB',
      profile: 'whole',
    });
    return new PoolAutoscaling(chart, 'Scale', { pool, maxReplicas: 3 });
  }
  // what Prometheus adds to every series it scrapes from the pool's pod (ServiceMonitor target labels)
  const target = { namespace: 'assistant', pod: 'llm-7d9f8b6c5-x2kq9' };

  test("a vLLM pool: its first-token signal grows with the engine backlog, where Triton's queue time stays ~0", async () => {
    const scaling = scalingOf(new TritonModelConfig({ name: 'llama', backend: 'vllm' }));
    expect(scaling.signals.map((s) => s.name)).toEqual(['first-token']);
    const s = await startTritonStandin({
      defaultModelGiB: 1,
      loaded: ['llama'],
      metricsPort: 0,
      inferDelayMs: 40,
      decoupled: ['llama'],
      reportCustomMetrics: ['llama'],
      engineConcurrency: 1,
    });
    try {
      const scrape = async (): Promise<ReturnType<typeof parseExposition>> =>
        parseExposition((await request(s.metricsUrl!, 'GET', '/metrics')).body, Date.now() / 1000, target);
      const send = (n: number): Promise<unknown> =>
        Promise.all(Array.from({ length: n }, () => request(s.url, 'POST', '/v2/models/llama/infer', inferBody())));
      // light load: one request at a time
      const t0 = await scrape();
      for (let i = 0; i < 4; i++) await send(1);
      const t1 = await scrape();
      // a backlog: 16 at once on an engine that runs one (mean time to first token ≈ 8.5 × one request's)
      await send(16);
      const t2 = await scrape();
      const light = evaluate(scaling.signals[0].query, t0, t1)!;
      const backlog = evaluate(scaling.signals[0].query, t1, t2)!;
      expect(light).toBeGreaterThan(30_000);
      expect(backlog).toBeGreaterThan(3 * light);
      // the queue-time query the pool would have had: flat
      expect(evaluate(scaling.query, t1, t2)!).toBeLessThan(2_000);
    } finally {
      await s.close();
    }
  });

  test('a pool of non-decoupled models: its queue-time signal grows with the backlog', async () => {
    const scaling = scalingOf(new TritonModelConfig({ name: 'bert', platform: 'onnxruntime_onnx', maxBatchSize: 8 }));
    expect(scaling.signals.map((s) => s.name)).toEqual(['queue-time']);
    const s = await startTritonStandin({ defaultModelGiB: 1, loaded: ['bert'], metricsPort: 0, inferDelayMs: 20, instances: { bert: 1 } });
    try {
      const scrape = async (): Promise<ReturnType<typeof parseExposition>> =>
        parseExposition((await request(s.metricsUrl!, 'GET', '/metrics')).body, Date.now() / 1000, target);
      const t0 = await scrape();
      for (let i = 0; i < 3; i++) await request(s.url, 'POST', '/v2/models/bert/infer', inferBody());
      const t1 = await scrape();
      await Promise.all(Array.from({ length: 8 }, () => request(s.url, 'POST', '/v2/models/bert/infer', inferBody())));
      const t2 = await scrape();
      expect(evaluate(scaling.query, t0, t1)!).toBeLessThan(5_000);
      expect(evaluate(scaling.query, t1, t2)!).toBeGreaterThan(30_000);
    } finally {
      await s.close();
    }
  });
});

describe('the signals move with the backlog: a cache pool (rendered PromQL over router metrics)', () => {
  test("a cache pool at zero: the wake query on the router's own metrics is above 0 as soon as requests arrive", async () => {
    // the pool has no pods: its headless Service resolves to nothing; here, a backend that refuses connections
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    // the router in this process (its metrics are what is read, not its process)
    const router = await startLocalRouter({
      listen: '127.0.0.1:0',
      backends: [{ name: 'cache', url: `http://127.0.0.1:${closed}`, memoryGiB: 8 }],
      models: [
        { name: 't5-small', memoryGiB: 1 },
        { name: 'xlm-roberta', memoryGiB: 2 },
      ],
      refreshIntervalSeconds: 60,
    });
    // the router is ready (it takes the requests that wake the pool) although no backend is up
    expect((await request(router.url, 'GET', '/v2/health/ready')).status).toBe(200);
    const query = routerWakeQuery(['t5-small', 'xlm-roberta']);
    const scrape = async (): Promise<ReturnType<typeof parseExposition>> =>
      parseExposition((await request(router.url, 'GET', '/metrics')).body, Date.now() / 1000, { namespace: 'search' });
    const t0 = await scrape();
    await new Promise((r) => setTimeout(r, 200));
    const idle = await scrape();
    expect(evaluate(query, t0, idle)).toBe(0);
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => request(router.url, 'POST', '/v2/models/t5-small/infer', inferBody())),
    );
    expect(replies.map((r) => [r.status, r.headers['retry-after']])).toEqual(Array(5).fill([503, '5']));
    const busy = await scrape();
    expect(evaluate(query, idle, busy)!).toBeGreaterThan(0);
  });
});
