/**
 * Load: thousands of mixed requests through the router process, across many models whose memory exceeds the
 * backends', while loads and evictions happen on two Triton stand-in processes that behave as Triton r25.08 does
 * (asynchronous unload: memory is free only once the model is destroyed; a load into memory still held fails as an
 * out-of-memory and is counted). Backend a is loaded over HTTP, b over gRPC. Every request must get exactly one
 * well-formed answer, and no load may be sent into memory not yet free.
 */
import * as http from 'http';
import { inferBody, killAll, Proc, request, standinStats, startRouter, startStandin, waitFor } from './support/triton-standin-procs';
import { mulberry32 as rng } from '../constructs/planner/random';

const TOTAL = 3000;
const CONCURRENCY = 48;
const MODELS = Array.from({ length: 24 }, (_, i) => `model-${String(i).padStart(2, '0')}`);

let a: Proc;
let b: Proc;
let router: Proc;

beforeAll(async () => {
  const standin = {
    memoryGiB: 5,
    defaultModelGiB: 1,
    models: { big: 10 },
    loadDelayMs: 15,
    unloadDelayMs: 10,
    inferDelayMs: 1,
    failLoads: ['broken'],
  };
  [a, b] = await Promise.all([startStandin(standin), startStandin({ ...standin, grpcPort: 0 })]);
  router = await startRouter(
    {
      listen: '127.0.0.1:0',
      backends: [
        { name: 'a', url: a.url, memoryGiB: 5 },
        { name: 'b', url: b.url, memoryGiB: 5, grpcPort: b.grpcPort },
      ],
      models: [
        { name: 'hot', memoryGiB: 1, pinned: true },
        ...MODELS.map((name) => ({ name, memoryGiB: 1 })),
        { name: 'big', memoryGiB: 10 },
        { name: 'broken', memoryGiB: 1 },
      ],
      maxQueuePerModel: 64,
      loadTimeoutSeconds: 30,
      refreshIntervalSeconds: 0.5,
    },
    ['--log-level', 'warn'],
  );
  await waitFor('router ready', async () => (await request(router.url, 'GET', '/v2/health/ready')).status === 200);
}, 60000);

afterAll(killAll);

type Kind = 'infer' | 'metadata' | 'ready' | 'unknown' | 'big' | 'broken';
interface Planned {
  kind: Kind;
  model: string;
  id: string;
}

function plan(): Planned[] {
  const r = rng(42);
  // Zipf-like popularity over MODELS plus the pinned hot model
  const weights = MODELS.map((_, i) => 1 / (i + 1));
  const sum = weights.reduce((s, w) => s + w, 0);
  const pickModel = (): string => {
    let x = r() * sum;
    for (let i = 0; i < MODELS.length; i++) {
      x -= weights[i];
      if (x <= 0) return MODELS[i];
    }
    return MODELS[MODELS.length - 1];
  };
  return Array.from({ length: TOTAL }, (_, i) => {
    const x = r();
    const id = `r${i}`;
    if (x < 0.15) return { kind: 'infer', model: 'hot', id };
    if (x < 0.85) return { kind: 'infer', model: pickModel(), id };
    if (x < 0.9) return { kind: 'metadata', model: pickModel(), id };
    if (x < 0.94) return { kind: 'ready', model: pickModel(), id };
    if (x < 0.97) return { kind: 'unknown', model: `nope-${i % 7}`, id };
    if (x < 0.985) return { kind: 'big', model: 'big', id };
    return { kind: 'broken', model: 'broken', id };
  });
}

/** One request with its own counting of response events: resolves with every answer seen. */
function send(agent: http.Agent, p: Planned): Promise<{ status: number; body: string; responses: number; error?: string }> {
  const u = new URL(router.url);
  const isInfer = p.kind === 'infer' || p.kind === 'unknown' || p.kind === 'big' || p.kind === 'broken';
  const payload = isInfer ? JSON.stringify(inferBody(p.id)) : undefined;
  const path = isInfer ? `/v2/models/${p.model}/infer` : p.kind === 'metadata' ? `/v2/models/${p.model}` : `/v2/models/${p.model}/ready`;
  return new Promise((resolve) => {
    let responses = 0;
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: isInfer ? 'POST' : 'GET',
        path,
        agent,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        responses++;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), responses }));
        res.on('error', (e) => resolve({ status: 0, body: '', responses, error: e.message }));
      },
    );
    req.setTimeout(60000, () => req.destroy(new Error('no answer within 60s')));
    req.on('error', (e) => resolve({ status: 0, body: '', responses, error: e.message }));
    req.end(payload);
  });
}

test(`answers each of ${TOTAL} mixed requests exactly once, well-formed, while models load and get evicted`, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const planned = plan();
  const results: Array<Awaited<ReturnType<typeof send>>> = new Array(planned.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < planned.length) {
      const i = next++;
      results[i] = await send(agent, planned[i]);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();

  const problems: string[] = [];
  const byStatus = new Map<number, number>();
  planned.forEach((p, i) => {
    const r = results[i];
    byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    if (!r || r.error || r.responses !== 1) {
      problems.push(`${p.id} ${p.kind} ${p.model}: ${r?.error ?? `responses=${r?.responses}`}`);
      return;
    }
    const fail = (why: string): void => {
      problems.push(`${p.id} ${p.kind} ${p.model}: ${why}: ${r.status} ${r.body.slice(0, 200)}`);
    };
    switch (p.kind) {
      case 'infer': {
        if (r.status !== 200) return fail('expected 200');
        const j = JSON.parse(r.body);
        if (j.model_name !== p.model || j.id !== p.id || !Array.isArray(j.outputs)) fail('wrong infer answer');
        return;
      }
      case 'metadata':
        if (r.status !== 200 || JSON.parse(r.body).name !== p.model) fail('expected metadata');
        return;
      case 'ready':
        if (r.status !== 200 || r.body !== '') fail('expected empty 200');
        return;
      case 'unknown':
        if (r.status !== 404 || typeof JSON.parse(r.body).error !== 'string') fail('expected 404 JSON');
        return;
      case 'big':
        if (r.status !== 507 || !JSON.parse(r.body).error.includes('more than the largest backend budget')) fail('expected 507 JSON');
        return;
      case 'broken':
        if (r.status !== 503 || !JSON.parse(r.body).error.includes('protobuf parsing failed')) fail('expected 503 JSON');
        return;
    }
  });
  process.stdout.write(
    `router-load: ${TOTAL} requests in ${seconds.toFixed(1)}s, by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}\n`,
  );
  expect(problems.slice(0, 30)).toEqual([]);

  // the router counted every request once, and the backends saw loads and evictions but never ran out of memory
  const metrics = (await request(router.url, 'GET', '/metrics')).body;
  const counted = [...metrics.matchAll(/^gpufleet_router_requests_total\{[^}]*\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
  expect(counted).toBe(TOTAL);
  const [sa, sb] = await Promise.all([standinStats(a.url), standinStats(b.url)]);
  const brokenLoads = planned.filter((p) => p.kind === 'broken').length;
  expect(sa.loads + sb.loads).toBeGreaterThan(MODELS.length); // evictions forced reloads
  expect(sa.unloads + sb.unloads).toBeGreaterThan(0);
  expect(sa.failedLoads + sb.failedLoads).toBeLessThanOrEqual(brokenLoads); // only the broken model fails
  // no load was ever sent into memory still held by a model being unloaded, nor beyond the memory at all
  expect([sa.loadsIntoUnfreedMemory, sb.loadsIntoUnfreedMemory, sa.oomLoads, sb.oomLoads]).toEqual([0, 0, 0, 0]);
  expect(Math.max(sa.maxUsedGiB, sb.maxUsedGiB)).toBeLessThanOrEqual(5);
  expect(sa.notLoaded + sb.notLoaded).toBe(0); // never forwarded to a backend without the model
  expect(sb.grpcCalls).toBeGreaterThan(0); // b loads over gRPC
  expect(Object.keys(sb.paths).filter((p) => p.endsWith('/load'))).toEqual([]);
  expect([...sa.loaded, ...sb.loaded]).toContain('hot');
}, 120000);
